"""Review gating: --write-baseline records findings, --baseline fails only on new ones."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import run_nnlint
from test_notebooks import BUG, IMPORTS, write

HEADER = "import torch.nn as nn\nimport torch.nn.functional as F\n\ncriterion = nn.CrossEntropyLoss()\n\n"


def bug(name: str) -> str:
    return f"{name} = criterion(F.softmax(logits, dim=1), labels)\n"


def project(tmp_path: Path, body: str) -> Path:
    source = tmp_path / "src" / "train.py"
    source.parent.mkdir(exist_ok=True)
    source.write_text(HEADER + body, encoding="utf-8")
    return source


def lint(tmp_path: Path, *options: str):
    return run_nnlint("--no-cache", *options, "src", cwd=tmp_path)


def test_baseline_accepts_recorded_findings(tmp_path: Path) -> None:
    project(tmp_path, bug("a") + bug("b"))
    written = lint(tmp_path, "--write-baseline", "nnlint-baseline.json")
    assert written.returncode == 0
    assert written.stdout == b""
    assert b"wrote 2 findings to nnlint-baseline.json" in written.stderr
    recorded = json.loads((tmp_path / "nnlint-baseline.json").read_text())
    assert [(f["path"], f["code"], f["line"]) for f in recorded["findings"]] == [
        ("src/train.py", "NN201", 6), ("src/train.py", "NN201", 7)]

    gated = lint(tmp_path, "--baseline", "nnlint-baseline.json")
    assert gated.returncode == 0
    assert gated.stdout == b""
    assert b"no new findings (2 accepted by the baseline)" in gated.stderr


def test_identity_survives_edits_that_shift_lines(tmp_path: Path) -> None:
    project(tmp_path, bug("a") + bug("b"))
    lint(tmp_path, "--write-baseline", "baseline.json")
    project(tmp_path, '"""A docstring added above."""\n\n\ndef helper():\n    return 1\n\n' + bug("a") + "\n\n" + bug("b"))
    assert lint(tmp_path, "--baseline", "baseline.json").returncode == 0


def test_only_new_findings_are_reported(tmp_path: Path) -> None:
    project(tmp_path, bug("a"))
    lint(tmp_path, "--write-baseline", "baseline.json")
    project(tmp_path, bug("fresh") + bug("a"))
    gated = lint(tmp_path, "--baseline", "baseline.json")
    assert gated.returncode == 1
    lines = gated.stdout.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("src/train.py:6:9: NN201 ")
    assert b"(1 accepted by the baseline)" in gated.stderr


def test_a_second_identical_line_is_new(tmp_path: Path) -> None:
    project(tmp_path, bug("a"))
    lint(tmp_path, "--write-baseline", "baseline.json")
    project(tmp_path, bug("a") + bug("a"))
    gated = lint(tmp_path, "--baseline", "baseline.json")
    assert gated.returncode == 1
    assert len(gated.stdout.decode().splitlines()) == 1


def test_fixed_findings_leave_the_run_clean(tmp_path: Path) -> None:
    project(tmp_path, bug("a") + bug("b"))
    lint(tmp_path, "--write-baseline", "baseline.json")
    project(tmp_path, bug("a"))
    assert lint(tmp_path, "--baseline", "baseline.json").returncode == 0


def test_paths_are_relative_to_the_baseline_file(tmp_path: Path) -> None:
    project(tmp_path, bug("a"))
    lint(tmp_path, "--write-baseline", "baseline.json")
    from_inside = run_nnlint("--no-cache", "--baseline", "../baseline.json", ".", cwd=tmp_path / "src")
    assert from_inside.returncode == 0, from_inside.stdout.decode()
    absolute = run_nnlint("--no-cache", "--baseline", str(tmp_path / "baseline.json"), str(tmp_path / "src"))
    assert absolute.returncode == 0, absolute.stdout.decode()


def test_notebook_findings_survive_a_cell_inserted_above(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    write(tmp_path / "src" / "train.ipynb", ("code", IMPORTS), ("code", BUG))
    lint(tmp_path, "--write-baseline", "baseline.json")
    write(tmp_path / "src" / "train.ipynb", ("code", IMPORTS), ("markdown", "# New"), ("code", "x = 1\n"), ("code", "\n" + BUG))
    assert lint(tmp_path, "--baseline", "baseline.json").returncode == 0


def test_stdin_is_fingerprinted_too(tmp_path: Path) -> None:
    source = (HEADER + bug("a")).encode()
    write_run = run_nnlint("--write-baseline", "b.json", "--stdin-filename", "train.py", "-", cwd=tmp_path, stdin=source)
    assert write_run.returncode == 0
    assert json.loads((tmp_path / "b.json").read_text())["findings"][0]["fingerprint"]
    gated = run_nnlint("--baseline", "b.json", "--stdin-filename", "train.py", "-", cwd=tmp_path, stdin=source)
    assert gated.returncode == 0


def test_sarif_carries_the_fingerprints(tmp_path: Path) -> None:
    project(tmp_path, bug("a"))
    first = json.loads(lint(tmp_path, "--output-format", "sarif").stdout)["runs"][0]["results"][0]
    project(tmp_path, "\n\n\n" + bug("a"))
    moved = json.loads(lint(tmp_path, "--output-format", "sarif").stdout)["runs"][0]["results"][0]
    assert first["partialFingerprints"]["nnlint/v1"] == moved["partialFingerprints"]["nnlint/v1"]
    assert first["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    assert moved["locations"][0]["physicalLocation"]["region"]["startLine"] == 9


def test_bad_baseline_files_are_usage_errors(tmp_path: Path) -> None:
    project(tmp_path, bug("a"))
    missing = lint(tmp_path, "--baseline", "missing.json")
    assert missing.returncode == 2 and b"cannot read baseline" in missing.stderr
    (tmp_path / "bad.json").write_text("{not json")
    invalid = lint(tmp_path, "--baseline", "bad.json")
    assert invalid.returncode == 2 and b"invalid JSON" in invalid.stderr
    (tmp_path / "other.json").write_text('{"findings": 3}')
    other = lint(tmp_path, "--baseline", "other.json")
    assert other.returncode == 2 and b"not a baseline file" in other.stderr
    both = lint(tmp_path, "--baseline", "x.json", "--write-baseline", "y.json")
    assert both.returncode == 2
