"""The progress bar: drawn on a terminal, never into a pipe or a file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import REPO
from nnlint.progress import ERASE_LINE, Progress

pty = pytest.importorskip("pty")

TRAINING_FILE = "".join(
    f"import torch\nimport torch.nn as nn\n\n\nclass Model{i}(nn.Module):\n"
    f"    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(10, 2)\n\n"
    f"    def forward(self, x):\n        return self.fc(x)\n\n\n"
    f"def train{i}(model, loader, optimizer):\n    criterion = nn.CrossEntropyLoss()\n"
    f"    for x, y in loader:\n        optimizer.zero_grad()\n        loss = criterion(model(x), y)\n"
    f"        loss.backward()\n        optimizer.step()\n\n\n"
    for i in range(6)
)


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_nothing_is_drawn_into_a_pipe_or_a_file() -> None:
    stream = io.StringIO()
    progress = Progress(stream, delay=0)
    progress.phase("linting", 10)
    progress.advance(5)
    progress.close()
    assert not progress.enabled
    assert stream.getvalue() == ""


def test_bar_is_drawn_on_a_terminal_and_erased_at_the_end() -> None:
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        with Progress(terminal, delay=0) as progress:
            assert progress.enabled
            progress.phase("linting", 10)
            progress.advance(10)
    drawn = read_all(master).decode()
    os.close(master)
    assert "nnlint linting [" in drawn
    assert "10/10 files" in drawn
    assert drawn.endswith(ERASE_LINE)


def test_nothing_is_drawn_before_the_delay() -> None:
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        with Progress(terminal, delay=60) as progress:
            progress.phase("linting", 10)
            progress.advance(10)
    drawn = read_all(master)
    os.close(master)
    assert drawn == b""


def long_run(tmp_path: Path, stderr: int) -> subprocess.Popen:
    for index in range(80):
        (tmp_path / f"train_{index}.py").write_text(TRAINING_FILE, encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "nnlint", "--no-cache", "-j", "1", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )


def test_the_command_draws_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    process = long_run(tmp_path, subprocess.PIPE)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0
    assert stderr.decode() == "nnlint: 80 files checked, no findings\n"


def test_the_command_draws_a_bar_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    process = long_run(tmp_path, slave)
    os.close(slave)
    drawn = read_all(master).decode()
    os.close(master)
    assert process.wait(timeout=600) == 0
    assert "nnlint linting [" in drawn, drawn
    assert "/80 files" in drawn
    # The bar is erased before the summary, which stands alone on its line.
    assert drawn.endswith(ERASE_LINE + "nnlint: 80 files checked, no findings\r\n"), drawn[-200:]
