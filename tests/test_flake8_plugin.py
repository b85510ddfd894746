"""`flake8 --select NN` (and so every editor running flake8) shows what nnlint shows."""

from __future__ import annotations

import json
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


def _flake8(*args: str, cwd: Path = REPO, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flake8", "--isolated", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)


def test_flake8_sees_across_the_files_it_was_given_in_parallel_and_serially() -> None:
    projects = ["fixtures/projects/softmax_head_across_files", "fixtures/projects/update_helper_zeroes_too_late"]
    expected = _positions(run_nnlint("--no-cache", *projects).stdout.decode())
    assert {code for *_, code in expected} >= {"NN201", "NN302"}
    for jobs in ("2", "1"):
        flake8 = _flake8("--select", "NN", "--jobs", jobs, *projects)
        assert _positions(flake8.stdout) == expected, flake8.stderr


def test_flake8_runs_a_rule_that_is_off_by_default_when_it_is_selected() -> None:
    nn702 = "fixtures/buggy/nn702"
    assert "NN702" not in _flake8("--select", "NN", nn702).stdout
    expected = _positions(run_nnlint("--no-cache", "--select", "NN702", nn702).stdout.decode())
    assert expected
    assert _positions(_flake8("--select", "NN702", nn702).stdout) == expected
    extended = _positions(_flake8("--select", "NN", "--extend-select", "NN7", nn702).stdout)
    assert {finding for finding in extended if finding[3] == "NN702"} == expected


def test_flake8_lints_source_from_stdin_alone() -> None:
    source = "import torch\nloss = torch.nn.CrossEntropyLoss()(torch.softmax(x, dim=1), y)\n"
    flake8 = _flake8("--select", "NN", "--stdin-display-name", "train.py", "-", stdin=source)
    assert [(f["path"], f["line"], f["code"]) for f in parse_text_output(flake8.stdout)] == [("train.py", 2, "NN201")]


def _modules_after_flake8(*args: str) -> set[str]:
    script = ("import json, sys\nfrom flake8.main import cli\ncli.main(sys.argv[1:])\n"
              "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", script, "--isolated", "--jobs", "1", *args], cwd=REPO,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    return set(json.loads(result.stdout.splitlines()[-1]))


def test_a_flake8_run_that_selects_no_nn_code_never_imports_the_engine() -> None:
    path = "fixtures/buggy/nn201/functional_spellings.py"
    assert "nnlint.engine" in _modules_after_flake8("--select", "NN", path)
    unused = _modules_after_flake8("--select", "E,F,W", path)
    assert "nnlint.flake8_plugin" in unused
    assert not {"nnlint.engine", "nnlint.analysis", "libcst"} & unused
