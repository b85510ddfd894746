"""Each fixture script under fixtures/trace makes the tracer report exactly the (line, code)
pairs its `# expect:` comments name; the healthy script makes it report nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from helpers import FIXTURES, RULE_PAGES, expected_findings  # noqa: E402
from nnlint.rules import all_rules  # noqa: E402
from nnlint.trace.runner import FINISHED, STOPPED, trace_script  # noqa: E402
from test_rule_pages import CODE_BLOCK  # noqa: E402

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


@pytest.mark.parametrize("script", sorted(TRACE.glob("healthy*.py")), ids=lambda p: p.stem)
def test_healthy_training_script_yields_nothing(script: Path) -> None:
    run = trace_script(script, steps=None)
    assert run.outcome == FINISHED and run.steps >= 4
    assert run.findings == [] and not run.internal_errors


def test_a_generator_that_has_not_stepped_yet_is_not_cut_off() -> None:
    """Stopped before the WGAN's generator first steps, its detached fake batch is no NN108."""
    assert _runtime_findings(TRACE / "healthy_wgan.py") == set()


def test_a_project_is_traced_across_its_files() -> None:
    script = TRACE / "project" / "train.py"
    run = trace_script(script, ["--classes", "3"])
    assert run.outcome == FINISHED
    assert {(f.line, f.code) for f in run.findings} == expected_findings(script.read_text(encoding="utf-8"))
    assert run.files == sorted(str(p.resolve()) for p in (TRACE / "project").glob("*.py"))


RUNTIME_ONLY = [rule.code for rule in all_rules() if rule.check is None and rule.code.startswith("NN8")]


@pytest.mark.parametrize("code", RUNTIME_ONLY)
def test_runtime_rule_page_examples(code: str, tmp_path: Path) -> None:
    """The Bad script of a runtime-only rule's page is reported at its marked line; the Good one is not."""
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    for heading, expect_something in (("## Bad", True), ("## Good", False)):
        section = page[page.index(heading):]
        script = tmp_path / f"{heading[3:].lower()}.py"
        script.write_text(CODE_BLOCK.search(section).group(1), encoding="utf-8")
        expected = expected_findings(script.read_text(encoding="utf-8"))
        assert bool(expected) == expect_something
        assert _runtime_findings(script) == expected
