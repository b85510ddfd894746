"""Each fixture script under fixtures/trace makes the tracer report exactly the (line, code)
pairs its `# expect:` comments name; the healthy script makes it report nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from helpers import FIXTURES, expected_findings  # noqa: E402
from nnlint.trace.runner import FINISHED, STOPPED, trace_script  # noqa: E402

TRACE = FIXTURES / "trace"
BUGGY = sorted(TRACE.glob("nn*.py"))


def _runtime_findings(script: Path, argv: tuple[str, ...] = ()) -> set[tuple[int, str]]:
    run = trace_script(script, argv)
    assert run.outcome in (FINISHED, STOPPED), run.error
    assert not run.internal_errors
    return {(f.line, f.code) for f in run.findings if f.path == str(script.resolve())}


def test_every_fixture_names_what_it_expects() -> None:
    assert BUGGY
    for script in BUGGY:
        assert expected_findings(script.read_text(encoding="utf-8")), f"{script.name} marks no line with # expect:"


@pytest.mark.parametrize("script", BUGGY, ids=lambda p: p.stem)
def test_fixture_is_reported_at_the_marked_lines(script: Path) -> None:
    assert _runtime_findings(script) == expected_findings(script.read_text(encoding="utf-8"))


def test_healthy_training_script_yields_nothing() -> None:
    script = TRACE / "healthy.py"
    run = trace_script(script, steps=None)
    assert run.outcome == FINISHED and run.steps == 6
    assert run.findings == [] and not run.internal_errors


def test_a_project_is_traced_across_its_files() -> None:
    script = TRACE / "project" / "train.py"
    run = trace_script(script, ["--classes", "3"])
    assert run.outcome == FINISHED
    assert {(f.line, f.code) for f in run.findings} == expected_findings(script.read_text(encoding="utf-8"))
    assert run.files == sorted(str(p.resolve()) for p in (TRACE / "project").glob("*.py"))
