"""`--diff`: what `--fix` would change, as a unified diff that `git apply` and `patch -p1` read."""

from __future__ import annotations

import difflib
import io
import tokenize

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """The change from `old` to `new` of the file at `path` (relative paths as a/... b/...)."""
    encoding = _encoding(old)
    old_lines = _lines(old.decode(encoding))
    new_lines = _lines(new.decode(encoding))
    name = path.lstrip("/") if not path.startswith("./") else path[2:]
    hunks = difflib.unified_diff(old_lines, new_lines, f"a/{name}", f"b/{name}")
    out = []
    for line in hunks:
        if line.endswith(("\n", "\r")):
            out.append(line)
        else:  # the file's last line, without a line break
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


def _lines(text: str) -> list[str]:
    return io.StringIO(text, newline="").readlines()


def _encoding(data: bytes) -> str:
    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError:
        return "utf-8"
