"""How static findings and runtime facts are reported together (no torch needed)."""

from __future__ import annotations

import os

from nnlint.diagnostics import Finding, Severity
from nnlint.trace.findings import TraceFinding
from nnlint.trace.merge import merge
from nnlint.trace.run import Clearance

PATH = os.path.realpath("train.py")


def _static(code: str, line: int, end_line: int = 0) -> Finding:
    return Finding("train.py", line, 5, code, "static message", "rule-name", Severity.ERROR, end_line or line, 9)


def _runtime(code: str, line: int, related: tuple[tuple[str, int], ...] = ()) -> TraceFinding:
    return TraceFinding(code, PATH, line, 3, "runtime message", related=related)


def _merge(static, runtime, ran=True, keep=lambda code, path: True):
    return [(f.line, f.code, f.message) for f in merge(static, runtime, lambda *_: ran, keep)]


def test_a_static_finding_seen_at_runtime_is_confirmed() -> None:
    assert _merge([_static("NN201", 7)], [_runtime("NN201", 7)]) == [
        (7, "NN201", "static message (confirmed at runtime)")]


def test_the_runtime_finding_may_point_at_the_static_line_through_a_related_line() -> None:
    runtime = _runtime("NN104", 30, related=((PATH, 12),))
    assert _merge([_static("NN104", 12)], [runtime]) == [(12, "NN104", "static message (confirmed at runtime)")]


def test_a_multi_line_static_finding_matches_any_of_its_lines() -> None:
    assert _merge([_static("NN301", 7, end_line=9)], [_runtime("NN301", 8)])[0][2].endswith("(confirmed at runtime)")


def test_codes_must_match() -> None:
    assert sorted(_merge([_static("NN201", 7)], [_runtime("NN202", 7)])) == [
        (7, "NN201", "static message (not observed at runtime)"),
        (7, "NN202", "runtime message (observed at runtime)"),
    ]


def test_a_static_finding_whose_code_never_ran_is_not_exercised() -> None:
    assert _merge([_static("NN201", 7)], [], ran=False) == [
        (7, "NN201", "static message (not exercised: this code never ran)")]


def test_unknown_coverage_leaves_a_finding_not_observed() -> None:
    assert _merge([_static("NN201", 7)], [], ran=None)[0][2].endswith("(not observed at runtime)")


def test_a_code_the_tracer_cannot_check_says_so() -> None:
    assert _merge([_static("NN999", 7)], [])[0][2].endswith("(not checked at runtime)")


def test_the_selection_applies_to_runtime_findings() -> None:
    assert _merge([], [_runtime("NN801", 7)], keep=lambda code, path: code != "NN801") == []


def test_an_overwritten_output_is_confirmed_by_a_layer_of_the_same_function() -> None:
    runtime = TraceFinding("NN101", PATH, 21, 13, "runtime message", scope=(19, 23))
    assert _merge([_static("NN101", 22)], [runtime]) == [(22, "NN101", "static message (confirmed at runtime)")]
    assert _merge([_static("NN101", 30)], [runtime])[1][2].endswith("(not observed at runtime)")


def _merge_cleared(static, runtime, clearances):
    return [(f.line, f.code, f.message) for f in merge(static, runtime, lambda *_: True, lambda *_: True, clearances)]


def test_a_static_finding_the_run_shows_to_be_wrong_is_disproved() -> None:
    cleared = [Clearance("NN401", PATH, 7, "the model ran in eval mode")]
    assert [m for _, _, m in _merge_cleared([_static("NN401", 7)], [], cleared)] == [
        "static message (disproved at runtime: the model ran in eval mode)"]
    # A runtime finding at the line wins: the line ran both ways.
    assert _merge_cleared([_static("NN401", 7)], [_runtime("NN401", 7)], cleared)[0][2].endswith(
        "(confirmed at runtime)")
    assert _merge_cleared([_static("NN201", 7)], [], cleared)[0][2].endswith("(not observed at runtime)")
