"""`nnlint trace`: output formats, statuses of static findings, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import nnlint
from helpers import FIXTURES, expected_findings, run_nnlint

torch = pytest.importorskip("torch")

from nnlint.trace.cli import main  # noqa: E402

TRACE = FIXTURES / "trace"
NNLINT_PACKAGE = Path(nnlint.__file__).resolve().parent


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    status = main(["--output-format", "json", *argv])
    return status, json.loads(capsys.readouterr().out)


def test_statuses_of_static_findings(capsys: pytest.CaptureFixture[str]) -> None:
    status, findings = _json(capsys, str(TRACE / "nn201_softmax_into_cross_entropy.py"))
    assert status == 1
    statuses = {(f["line"], f["code"]): f["message"].rsplit(" (", 1)[1] for f in findings}
    assert statuses == {
        (28, "NN201"): "not exercised: this code never ran)",
        (41, "NN201"): "confirmed at runtime)",  # `SoftmaxClassifier().to(DEVICE)` keeps its facts
        (42, "NN201"): "observed at runtime)",
    }


def test_a_static_finding_is_confirmed(capsys: pytest.CaptureFixture[str]) -> None:
    status, findings = _json(capsys, str(TRACE / "nn301_missing_zero_grad.py"))
    assert status == 1
    assert [(f["line"], f["code"], f["message"].endswith("(confirmed at runtime)")) for f in findings] == [
        (20, "NN301", True)]


@pytest.mark.parametrize("script, code", [
    ("nn205_confined_logits_into_cross_entropy.py", "NN205"),
    ("nn206_single_logit_cross_entropy.py", "NN206"),
])
def test_loss_input_findings_are_confirmed_where_the_linter_reports_them(
        capsys: pytest.CaptureFixture[str], script: str, code: str) -> None:
    _, findings = _json(capsys, str(TRACE / script))
    marked = expected_findings((TRACE / script).read_text(encoding="utf-8"))
    expected = {line for line, expected_code in marked if expected_code == code}
    assert {f["line"] for f in findings if f["code"] == code and f["message"].endswith("(confirmed at runtime)")} \
        == expected


def test_healthy_script_exits_0_and_reports_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert _json(capsys, str(TRACE / "healthy.py")) == (0, [])


def test_script_arguments_follow_a_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    status, findings = _json(capsys, str(TRACE / "project" / "train.py"), "--", "--classes", "3")
    assert status == 1
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [
        ("fixtures/trace/project/train.py", 26, "NN201")]


def test_a_failing_script_exits_2_with_its_own_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(TRACE / "crashes.py")]) == 2
    err = capsys.readouterr().err
    traceback = err[err.index("Traceback"):]
    assert 'crashes.py", line 18, in main' in traceback
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied" in traceback
    frames = [Path(file).resolve() for file in re.findall(r'^  File "(.+)", line \d+', traceback, re.MULTILINE)]
    assert frames and frames[0].name == "crashes.py"
    # Only the script's own frames: none of nnlint's (whatever the checkout's folder is called) or runpy's.
    assert not [frame for frame in frames if frame.is_relative_to(NNLINT_PACKAGE) or frame.name == "runpy.py"], frames


def test_an_interrupted_script_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(TRACE / "interrupted.py")]) == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("output_format", ["sarif", "github", "gitlab", "junit", "full"])
def test_other_output_formats(capsys: pytest.CaptureFixture[str], output_format: str) -> None:
    script = TRACE / "nn802_initial_loss_far_from_chance.py"
    assert main(["--output-format", output_format, str(script)]) == 1
    out = capsys.readouterr().out
    if output_format == "sarif":
        results = json.loads(out)["runs"][0]["results"]
        assert [r["ruleId"] for r in results] == ["NN802"]
    elif output_format == "github":
        assert out.startswith("::warning file=fixtures/trace/nn802_initial_loss_far_from_chance.py,line=27,")
    elif output_format == "gitlab":
        [issue] = json.loads(out)
        assert (issue["check_name"], issue["location"]["lines"]["begin"]) == ("NN802", 27) and issue["fingerprint"]
    elif output_format == "junit":
        assert '<testcase classname="nnlint" name="fixtures/trace/nn802_initial_loss_far_from_chance.py">' in out
        assert out.count("<failure ") == 1
    else:
        finding, source, caret = out.splitlines()[:3]
        assert finding.startswith("fixtures/trace/nn802_initial_loss_far_from_chance.py:27:")
        assert source == script.read_text().splitlines()[26] and caret.endswith("^")


def test_the_command_runs_end_to_end() -> None:
    result = run_nnlint("trace", "--steps", "2", str(TRACE / "nn501_view_instead_of_permute.py"))
    assert result.returncode == 1, result.stderr.decode()
    # The static NN501 finding on that line is what the run confirms.
    line = result.stdout.decode().splitlines()[-1]
    assert line.startswith("fixtures/trace/nn501_view_instead_of_permute.py:13:12: NN501 ")
    assert line.endswith("(confirmed at runtime)")


@pytest.mark.parametrize("script, expected", [
    ("nn101_output_never_reaches_loss.py", {(20, "observed"), (22, "confirmed")}),
    ("nn102_submodule_never_runs.py", {(15, "confirmed")}),
    ("nn103_bias_before_batchnorm.py", {(15, "confirmed"), (24, "confirmed")}),
    ("nn104_unregistered_module.py", {(14, "confirmed")}),
])
def test_model_rules_are_confirmed_at_the_static_line(capsys: pytest.CaptureFixture[str], script: str,
                                                      expected: set[tuple[int, str]]) -> None:
    status, findings = _json(capsys, str(TRACE / script))
    assert status == 1
    assert {(f["line"], f["message"].rsplit(" (", 1)[1].split()[0]) for f in findings} == expected
