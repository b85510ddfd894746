"""Re-created real bugs (fixtures/recall): each case's findings are exactly its expected bug lines,
less the misses and plus the false findings that fixtures/recall/known_misses.toml lists, and each
clean look-alike is silent but for listed false findings. scripts/recall.py measures the same."""

from __future__ import annotations

import sys

import pytest
from helpers import REPO, expected_findings

sys.path.insert(0, str(REPO / "scripts"))
import recall  # noqa: E402

CASES = recall.cases()
KNOWN = recall.known()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_findings_are_the_expected_lines_less_the_known_misses(case: recall.Case) -> None:
    result = recall.measure(case)
    missed = {finding for finding in KNOWN["missed"] if finding[0] in case.files()}
    false = {finding for finding in KNOWN["false"] if finding[0] in case.files()}
    assert result.found == (result.expected - missed) | false
    assert result.clean_found == {finding for finding in KNOWN["false"] if finding[0] in case.clean_files()}


def test_each_case_cites_its_thread_and_has_a_look_alike_without_expectations() -> None:
    for case in CASES:
        assert case.thread.startswith("https://"), case.name
        assert recall.expectations(case.buggy), f"{case.name} expects no finding"
        assert case.clean.exists(), f"{case.name} has no clean look-alike"
        for file in recall.python_files(case.clean):
            assert not expected_findings(file.read_text(encoding="utf-8")), f"{file} is clean: no expect comments"
    assert {p.name for p in recall.CLEAN.iterdir()} == {case.clean.name for case in CASES}


def test_listed_misses_are_expected_lines_and_listed_false_findings_are_not() -> None:
    expected = {finding for case in CASES for finding in recall.expectations(case.buggy)}
    assert set(KNOWN["missed"]) <= expected
    assert not set(KNOWN["false"]) & expected
    all_files = {path for case in CASES for path in case.files() | case.clean_files()}
    for kind in ("missed", "false"):
        for finding, reason in KNOWN[kind].items():
            assert finding[0] in all_files, finding
            assert reason.strip(), finding
