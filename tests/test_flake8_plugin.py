"""`flake8 --select NN` (and so every editor running flake8) shows what nnlint shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import FIXTURES, REPO, parse_text_output, run_nnlint


def _positions(stdout: str) -> set[tuple[str, int, int, str]]:
    return {(f["path"], f["line"], f["col"], f["code"]) for f in parse_text_output(stdout)}


def test_flake8_reports_the_same_findings_at_the_same_positions() -> None:
    files = sorted(str(p.relative_to(REPO)) for sub in ("buggy", "clean") for p in (FIXTURES / sub).rglob("*.py"))
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "NN", "--isolated", *files],
        cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600,
    )
    assert flake8.returncode in (0, 1), flake8.stderr
    ours = run_nnlint("--no-cache", *files)
    expected = _positions(ours.stdout.decode())
    assert expected, "the fixtures must produce findings for this comparison to mean anything"
    assert _positions(flake8.stdout) == expected


def test_flake8_lints_a_file_under_its_projects_torch_requirement(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("torch>=2.6\n")
    (tmp_path / "train.py").write_text("import torch\n\nstate = torch.load('m.pt')\n"
                                       "model = torch.load('m.pt', weights_only=False)\n")
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "NN", "--isolated", "train.py"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600,
    )
    assert [f["line"] for f in parse_text_output(flake8.stdout)] == [4], flake8.stderr
