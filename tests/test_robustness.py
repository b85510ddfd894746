"""Hostile inputs, through the real command: each gets one clear NN001/NN002 line (or lints
normally), the run goes on with the good file next to it, no traceback, no hang."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from program_strategies import HEADER

GOOD = (
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "\n"
    "criterion = nn.CrossEntropyLoss()\n"
    "loss = criterion(F.softmax(logits, dim=1), labels)\n"
)
GOOD_FINDING = "good.py:5:8: NN201 "
TIME_LIMIT = 240  # seconds for one run: generous for slow CI machines, far from a hang


def lint_dir(directory: Path) -> list[str]:
    """Lint `directory` with good.py added; the output lines that are not good.py's finding."""
    (directory / "good.py").write_text(GOOD, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "nnlint", "--no-cache", "-j", "2", str(directory)],
        cwd=REPO, capture_output=True, timeout=TIME_LIMIT, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    stderr = result.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, stderr
    assert result.returncode == 1, stderr
    lines = result.stdout.decode(errors="replace").splitlines()
    assert sum(GOOD_FINDING in line for line in lines) == 1, lines  # the run went on
    assert not any(" NN000 " in line for line in lines), lines
    return [line for line in lines if GOOD_FINDING not in line]


def assert_one_diagnostic(lines: list[str], name: str, where: str, code: str, message: str) -> None:
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{name}:{where}: {code} ") or f"/{name}:{where}: {code} " in lines[0], lines
    assert message in lines[0], lines


# ----------------------------------------------------------------------------- bad bytes
@pytest.mark.parametrize("data, code, message", [
    (b"import torch\x00\nx = 1\n", "NN002", "NUL bytes"),
    (b"x = '\xe9t\xe9'\n", "NN002", "cannot decode as utf-8"),
    (b"# -*- coding: klingon -*-\nx = 1\n", "NN002", "unknown encoding"),
    (b"# coding: ascii\nx = '\xc3\xa9'\n", "NN002", "cannot decode as ascii"),
    (b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "NN002", "encoding problem"),
    (bytes(range(1, 256)) * 4, "NN002", "cannot decode"),
])
def test_undecodable_bytes(tmp_path: Path, data: bytes, code: str, message: str) -> None:
    (tmp_path / "bad.py").write_bytes(data)
    lines = lint_dir(tmp_path)
    assert_one_diagnostic(lines, "bad.py", "1:1", code, message)


@pytest.mark.parametrize("data", [
    b"\xef\xbb\xbf" + GOOD.replace("good", "other").encode(),                 # UTF-8 BOM
    GOOD.replace("\n", "\r\n").encode(),                                       # CRLF
    GOOD.replace("\n", "\r").encode(),                                         # old Mac CR
    b"# -*- coding: latin-1 -*-\n" + GOOD.encode() + b"name = '\xe9t\xe9'\n",  # latin-1 cookie
    GOOD.replace("loss =", "if True:\n\tloss =").encode(),                     # tabs
    b"\x0c\n" + GOOD.encode(),                                                 # form feed line
])
def test_unusual_but_valid_encodings_and_line_ends(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "odd.py").write_bytes(data)
    lines = lint_dir(tmp_path)
    assert len(lines) == 1 and "odd.py:" in lines[0] and " NN201 " in lines[0], lines


def test_bug_positions_survive_bom_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "odd.py").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    lines = lint_dir(tmp_path)
    assert_one_diagnostic(lines, "odd.py", "5:8", "NN201", "softmax")


def test_inconsistent_tabs(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_bytes(b"if True:\n        x = 1\n\ty = 2\n")
    lines = lint_dir(tmp_path)
    assert len(lines) == 1 and "bad.py:3:" in lines[0] and " NN001 cannot parse: " in lines[0], lines


# ----------------------------------------------------------------------------- size and depth
def test_hundred_thousand_lines(tmp_path: Path) -> None:
    body = "".join(f"x{i} = model(batch{i % 7})\n" for i in range(100_000))
    (tmp_path / "big.py").write_text("import torch\n" + body + GOOD.split("\n", 2)[2], encoding="utf-8")
    lines = lint_dir(tmp_path)
    assert lines == [], lines


@pytest.mark.parametrize("source, where, message", [
    ("x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n", "1:", "cannot parse: too many nested parentheses"),
    ("x = " + "[" * 100_000 + "]" * 100_000 + "\n", "1:", "cannot parse: too many nested parentheses"),
    ("x = " + "+".join(["1"] * 50_000) + "\n", "1:1", "nested"),
    ("import torch\nx = (" + " and ".join(["a"] * 10_000) + ")\n", "2:1", "cannot analyse: code nested more than"),
    ("import torch\ny = torch.softmax(a" + ".b" * 20_000 + ")\n", "2:1", "cannot analyse: code nested more than"),
    ("import torch\ny = f(a" + "[0]" * 5_000 + ")\n", "2:1", "cannot analyse: code nested more than"),
    ("import torch\ny = (" + " ".join(["'s'"] * 10_000) + ")\n", "2:1", "cannot analyse: code nested more than"),
    ("import torch\ndef f():\n    return " + "a if b else " * 2_000 + "c\n", "3:5", "cannot analyse: code nested more than"),
])
def test_deeply_nested_code(tmp_path: Path, source: str, where: str, message: str) -> None:
    (tmp_path / "deep.py").write_text(source, encoding="utf-8")
    lines = lint_dir(tmp_path)
    assert len(lines) == 1 and f"deep.py:{where}" in lines[0] and " NN001 " in lines[0] and message in lines[0], lines


def test_nesting_that_real_code_reaches_is_analysed(tmp_path: Path) -> None:
    nested = "[" * 150 + "]" * 150
    chain = "+".join(["F.softmax(logits, dim=1)"] * 100)
    (tmp_path / "nested.py").write_text(GOOD + f"x = {nested}\ny = criterion({chain}, labels)\n", encoding="utf-8")
    lines = lint_dir(tmp_path)
    assert not any(" NN001 " in line for line in lines), lines


# ----------------------------------------------------------------------------- the file system
def test_directory_loop_through_symlinks(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "sub" / "loop").symlink_to(tmp_path / "pkg", target_is_directory=True)
    (tmp_path / "self").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "pkg" / "sub" / "bad.py").write_bytes(b"\x00")
    lines = lint_dir(tmp_path)
    assert_one_diagnostic(lines, "bad.py", "1:1", "NN002", "NUL bytes")


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "gone.py").symlink_to(tmp_path / "nowhere.py")
    lines = lint_dir(tmp_path)
    assert_one_diagnostic(lines, "gone.py", "1:1", "NN002", "cannot read file: No such file or directory")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text("x = 1\n")
    locked.chmod(0)
    try:
        lines = lint_dir(tmp_path)
    finally:
        locked.chmod(0o644)
    assert_one_diagnostic(lines, "locked.py", "1:1", "NN002", "cannot read file: Permission denied")


# Tests run as root, whom file modes do not stop: the run below sees a folder without permission
# as an unprivileged user does. The folder itself can be examined (its parent is readable);
# listing it, or examining or opening anything in it, fails.
LOCKED_FOLDER_RUN = """
import os, sys
import nnlint.cli as cli

locked = os.path.abspath(sys.argv[1])
real_scandir, real_stat, real_open = os.scandir, os.stat, os.open


def denied(path, itself):
    if isinstance(path, int):
        return False
    path = os.path.abspath(os.fsdecode(path))
    return path.startswith(locked + os.sep) or (itself and path == locked)


def refuse(path):
    raise PermissionError(13, "Permission denied", os.fsdecode(path))


def scandir(path="."):
    return refuse(path) if denied(path, True) else real_scandir(path)


def stat(path, *args, **kwargs):
    return refuse(path) if denied(path, False) else real_stat(path, *args, **kwargs)


def open_(path, *args, **kwargs):
    return refuse(path) if denied(path, False) else real_open(path, *args, **kwargs)


os.scandir, os.stat, os.open = scandir, stat, open_
sys.exit(cli.main(sys.argv[2:]))
"""


def run_in_locked_folder(cwd: Path, locked: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOCKED_FOLDER_RUN, str(locked), "--no-cache", *args],
        cwd=cwd, capture_output=True, timeout=TIME_LIMIT, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def test_a_folder_without_permission_in_the_tree_is_skipped_with_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "pkg" / "locked"
    (locked / "sub").mkdir(parents=True)
    (locked / "sub" / "bad.py").write_bytes(b"\x00")
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    result = run_in_locked_folder(tmp_path.parent, locked, tmp_path.name)
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and result.returncode == 1, stderr
    lines = result.stdout.decode().splitlines()
    assert lines == [f"{tmp_path.name}/good.py:5:8: NN201 " + lines[0].split(" NN201 ", 1)[1],
                     f"{tmp_path.name}/pkg/locked:1:1: NN002 cannot read directory: Permission denied"], lines


def test_a_folder_without_permission_named_on_the_command_line(tmp_path: Path) -> None:
    locked = tmp_path / "pkg" / "locked"
    locked.mkdir(parents=True)
    (locked / "pyproject.toml").write_text('[tool.nnlint]\nselect = ["NN3"]\n')
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    result = run_in_locked_folder(tmp_path.parent, locked, f"{tmp_path.name}/pkg/locked", f"{tmp_path.name}/good.py")
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and result.returncode == 1, stderr
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 2 and " NN201 " in lines[0], lines
    assert lines[1] == f"{tmp_path.name}/pkg/locked:1:1: NN002 cannot read directory: Permission denied"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_python_is_skipped_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.py")
    lines = lint_dir(tmp_path)
    assert lines == []


VANISHING_RUN = """
import os, sys
import nnlint.cli as cli

discover = cli.discover

def discover_then_delete(*args):
    found = list(discover(*args))
    os.remove(sys.argv[1])
    return found

cli.discover = discover_then_delete
sys.exit(cli.main(sys.argv[2:]))
"""


def test_file_vanishing_between_discovery_and_reading(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    victim = tmp_path / "victim.py"
    victim.write_text("x = 1\n")
    result = subprocess.run(
        [sys.executable, "-c", VANISHING_RUN, str(victim), "--no-cache", str(tmp_path)],
        cwd=REPO, capture_output=True, timeout=TIME_LIMIT, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert b"Traceback" not in result.stderr
    lines = result.stdout.decode().splitlines()
    assert sum(GOOD_FINDING in line for line in lines) == 1
    assert_one_diagnostic([line for line in lines if GOOD_FINDING not in line], "victim.py", "1:1", "NN002",
                          "cannot read file: No such file or directory")


# ----------------------------------------------------------------------------- odd but valid Python
@pytest.mark.parametrize("source", [
    "",
    "\n\n\n",
    "# only a comment\n",
    "\ufeff",
    "class Trainer:\n    def fit(self):\n        class Inner:\n            def step(self):\n                pass\n        return Inner()\n",
    "import torch\nasync def f():\n    async with a as b:\n        await b\n",
    "import torch\nmatch x:\n    case [1, *rest] if rest:\n        loss.backward()\n    case {'k': v}:\n        pass\n",
    "import torch\ndef f[T](x: T) -> T:\n    return x\n" if sys.version_info >= (3, 12) else "import torch\n",
    "import torch\nx = lambda: (yield)\n",
    "import torch\n" + "if x:\n    pass\n" + "".join(f"elif x == {i}:\n    loss.backward()\n" for i in range(250)),
])
def test_odd_valid_python_lints_without_internal_errors(tmp_path: Path, source: str) -> None:
    if source.startswith("import torch\n"):
        source = HEADER + source  # every rule's trigger: no rule is skipped
    (tmp_path / "odd.py").write_text(source, encoding="utf-8")
    lines = lint_dir(tmp_path)
    assert not any(" NN00" in line for line in lines), lines


BUGGY_READER_RUN = """
import sys
import nnlint.analysis as analysis

read_source = analysis.read_source

def read_source_with_a_bug(path, data):
    if path.endswith("boom.py"):
        raise IndexError("a bug in nnlint")
    return read_source(path, data)

analysis.read_source = read_source_with_a_bug
sys.exit(__import__("nnlint.cli").cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bug_while_reading_one_file_costs_that_file_only(tmp_path: Path, jobs: str) -> None:
    (tmp_path / "good.py").write_text(GOOD, encoding="utf-8")
    (tmp_path / "boom.py").write_text("x = 1\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", BUGGY_READER_RUN, "--no-cache", "-j", jobs, str(tmp_path)],
        cwd=REPO, capture_output=True, timeout=TIME_LIMIT, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert b"Traceback" not in result.stderr
    lines = result.stdout.decode().splitlines()
    assert sum(GOOD_FINDING in line for line in lines) == 1
    assert_one_diagnostic([line for line in lines if GOOD_FINDING not in line], "boom.py", "1:1", "NN000",
                          "internal error in reading the file: IndexError: a bug in nnlint")
