"""Every fixture is linted and must produce exactly the findings its `# expect:` comments name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import FIXTURES, expected_cell_findings, expected_findings, fixture_options, run_nnlint

SINGLE_FILES = sorted(p for sub in ("buggy", "clean") for p in (FIXTURES / sub).rglob("*.py"))
NOTEBOOKS = sorted(p for sub in ("buggy", "clean") for p in (FIXTURES / sub).rglob("*.ipynb"))
PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir()) if (FIXTURES / "projects").is_dir() else []


def _lint(paths: list[Path], options: list[str]) -> dict[str, set[tuple[int, str]]]:
    result = run_nnlint("--output-format", "json", *options, *map(str, paths))
    assert result.returncode in (0, 1), result.stderr.decode()
    found: dict[str, set[tuple[int, str]]] = {}
    for finding in json.loads(result.stdout):
        found.setdefault(str(Path(finding["path"]).resolve()), set()).add((finding["line"], finding["code"]))
    return found


@pytest.mark.parametrize("fixture", SINGLE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_file(fixture: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    found = _lint([fixture], fixture_options(text)).get(str(fixture.resolve()), set())
    assert found == expected_findings(text)


@pytest.mark.parametrize("fixture", NOTEBOOKS, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_notebook(fixture: Path) -> None:
    """A notebook's `# expect:` comments name the findings at their cell and line in it."""
    result = run_nnlint("--output-format", "json", str(fixture))
    assert result.returncode in (0, 1), result.stderr.decode()
    found = {(finding["cell"], finding["line"], finding["code"]) for finding in json.loads(result.stdout)}
    assert found == expected_cell_findings(fixture.read_bytes())


def _expectations(fixture: Path) -> set:
    if fixture.suffix == ".ipynb":
        return expected_cell_findings(fixture.read_bytes())
    return expected_findings(fixture.read_text(encoding="utf-8"))


def test_clean_fixtures_expect_nothing() -> None:
    for fixture in [*(FIXTURES / "clean").rglob("*.py"), *(FIXTURES / "clean").rglob("*.ipynb")]:
        assert not _expectations(fixture), f"{fixture} is clean: no expect comments"


def test_buggy_fixtures_expect_something() -> None:
    for fixture in [*(FIXTURES / "buggy").rglob("*.py"), *(FIXTURES / "buggy").rglob("*.ipynb")]:
        assert _expectations(fixture), f"{fixture} is buggy: it needs an expect comment"


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_fixture_project(project: Path) -> None:
    """A multi-file project is linted as one run; each file's expectations must hold."""
    files = sorted(project.rglob("*.py"))
    found = _lint([project], [])
    for file in files:
        assert found.get(str(file.resolve()), set()) == expected_findings(file.read_text(encoding="utf-8")), file


def test_project_results_depend_on_neither_file_order_nor_jobs() -> None:
    project = FIXTURES / "projects" / "softmax_head_across_files"
    files = sorted(str(p) for p in project.rglob("*.py"))
    runs = [
        run_nnlint("--jobs", "1", *files).stdout,
        run_nnlint("--jobs", "2", *reversed(files)).stdout,
        run_nnlint("--jobs", "2", str(project)).stdout,
    ]
    assert runs[0] and runs[0] == runs[1] == runs[2]


def test_a_file_linted_alone_still_works_with_less_knowledge() -> None:
    train = FIXTURES / "projects" / "softmax_head_across_files" / "train.py"
    result = run_nnlint(str(train))
    assert result.returncode == 0, result.stdout
    assert b"checked, no findings" in result.stderr
