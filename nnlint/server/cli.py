"""`nnlint server`: the language server, over stdin and stdout, for an editor to start."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

EXIT_CLEAN, EXIT_USAGE = 0, 2
INSTALL_HINT = "pip install 'nnlint[server]'"
SERVER_PACKAGES = ("pygls", "lsprotocol", "cattrs")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, f"nnlint server: error: {message}\n")


def main(argv: Sequence[str]) -> int:
    _Parser(
        prog="nnlint server",
        description="A language server (LSP) over stdio: live diagnostics, quick fixes and rule pages "
                    "for Python files and notebooks. Settings (initializationOptions or "
                    "workspace/didChangeConfiguration): select, extend-select, ignore, unsafe-fixes, config.",
        epilog=f"Needs the server extra: {INSTALL_HINT}",
    ).parse_args(argv)
    try:
        from nnlint.server.server import serve
    except ImportError as err:
        if (err.name or "").partition(".")[0] not in SERVER_PACKAGES:
            raise
        print(f"nnlint server: error: {err.name} is not installed; {INSTALL_HINT}", file=sys.stderr)
        return EXIT_USAGE
    return serve()
