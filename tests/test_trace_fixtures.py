"""Each fixture script under fixtures/trace makes the tracer report exactly the (line, code)
pairs its `# expect:` comments name; the healthy script makes it report nothing; fixed with
`nnlint --fix --unsafe-fixes`, the scripts of rules with fixes no longer show their bug."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")

from helpers import FIXTURES, RULE_PAGES, expected_findings, fixture_options, run_nnlint  # noqa: E402
from nnlint.rules import all_rules  # noqa: E402
from nnlint.trace.cli import main as trace_main  # noqa: E402
from nnlint.trace.runner import FINISHED, STOPPED, trace_script  # noqa: E402
from test_rule_pages import CODE_BLOCK  # noqa: E402

TRACE = FIXTURES / "trace"
BUGGY = sorted(TRACE.glob("nn*.py"))


def _runtime_findings(script: Path, argv: tuple[str, ...] = ()) -> set[tuple[int, str]]:
    """What the tracer reports in the script, run as its `# nnlint-fixture:` options say
    (`--overfit-batch`, `--steps N`)."""
    options = fixture_options(script.read_text(encoding="utf-8"))
    steps = int(options[options.index("--steps") + 1]) if "--steps" in options else 5
    run = trace_script(script, argv, steps=steps, overfit_batch="--overfit-batch" in options)
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


# The trace fixtures of the static rules (NN1xx-NN7xx) that have no fix, and what a fix would have to decide.
RULES_WITHOUT_FIX = {
    "NN101": "which value the next layer should read is the author's call",
    "NN102": "whether to use the unused layer or delete it is the author's call",
    "NN108": "how to compute the loss without cutting the graph depends on what the cut was for",
    "NN205": "which layer's output should be the logits is the author's call",
    "NN206": "BCEWithLogitsLoss on one logit or two outputs changes the model and its labels",
    "NN308": "which model the optimizer should hold is the author's call",
    "NN501": "the axis order the data is in is known only to the author",
}
# Trace fixtures of a rule with fixes whose traced bug --fix does not reach.
NOT_FIXED = {
    "nn104_parameters_that_never_train.py": "the linter reports NN308 there (the optimizer misses the backbone), "
                                            "which has no fix; the tracer's NN104 is about the same parameters",
}
# Runtime findings the fixed script still has: the text of their line, and why.
LEFT_AFTER_FIX = {
    "nn201_softmax_into_cross_entropy.py": ("normalised(head(inputs))", "a softmax written by hand (exp / sum) that "
                                            "only the tracer sees, so the linter has nothing to fix there"),
}
STATIC_RULE_FIXTURES = sorted(TRACE.glob("nn[1-7]*.py"))
FIXED_BY_THE_LINTER = [script for script in STATIC_RULE_FIXTURES
                       if script.name[:5].upper() not in RULES_WITHOUT_FIX and script.name not in NOT_FIXED]


def test_the_rules_listed_without_fix_have_none() -> None:
    fixes = {rule.code: rule.fixes for rule in all_rules()}
    assert {code for code in RULES_WITHOUT_FIX if fixes[code]} == set()
    assert {script.name[:5].upper() for script in STATIC_RULE_FIXTURES} >= set(RULES_WITHOUT_FIX)
    assert all((TRACE / name).is_file() for name in (*NOT_FIXED, *LEFT_AFTER_FIX))


@pytest.mark.parametrize("script", FIXED_BY_THE_LINTER, ids=lambda p: p.stem)
def test_fixed_fixture_no_longer_shows_its_bug(script: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = script.name[:5].upper()
    copy = tmp_path / script.name
    copy.write_text(script.read_text(encoding="utf-8"), encoding="utf-8")
    fixed = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", str(copy))
    assert fixed.returncode in (0, 1), fixed.stderr.decode()
    text = copy.read_text(encoding="utf-8")
    assert text != script.read_text(encoding="utf-8"), "--fix changed nothing"
    lines = text.splitlines()

    status = trace_main(["--output-format", "json", str(copy)])
    findings = [f for f in json.loads(capsys.readouterr().out) if f["code"] == code]
    assert status in (0, 1)
    assert not [f for f in findings if f["message"].endswith("(confirmed at runtime)")]
    left_line, _ = LEFT_AFTER_FIX.get(script.name, (None, ""))
    assert [f for f in findings if left_line is None or left_line not in lines[f["line"] - 1]] == []
