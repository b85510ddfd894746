"""Static linting runs on untrusted pull requests: it never imports torch, and never imports or
runs the code it reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO

HOSTILE = """\
import pathlib
pathlib.Path({marker!r}).write_text("executed")
import torch
import hostile_helper
raise SystemExit(3)
"""


def test_linting_neither_runs_the_code_nor_imports_torch(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "evil.py").write_text(HOSTILE.format(marker=str(marker)))
    (tmp_path / "hostile_helper.py").write_text(HOSTILE.format(marker=str(marker)))
    (tmp_path / "setup.py").write_text(HOSTILE.format(marker=str(marker)))  # read for its torch requirement
    probe = (
        "import sys, nnlint.cli\n"
        f"code = nnlint.cli.run(['--no-cache', '--jobs', '1', {str(tmp_path)!r}])\n"
        "print('torch' in sys.modules, 'hostile_helper' in sys.modules, code)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == "False False 0", result.stderr
    assert not marker.exists()
