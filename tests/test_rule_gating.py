"""Which rules run on a file: text triggers, and what imported files may stand in for them."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from nnlint.analysis import _applicable
from nnlint.facts import FileFacts
from nnlint.facts.core.names import ImportTable, import_aliases
from nnlint.facts.summary import SymbolSummary
from nnlint.rules import all_rules

REPO = Path(__file__).parent.parent
FILE_LOCAL = [rule for rule in all_rules() if rule.check and not rule.cross_file]
BUGGY = sorted((REPO / "fixtures" / "buggy").rglob("*.py"))
SOME_VIEW = {"project.helpers.make_head": SymbolSummary(None, ("backward",))}


def test_in_a_project_only_rules_reading_other_files_run_without_their_triggers() -> None:
    rules = [rule for rule in all_rules() if rule.check and rule.triggers]
    text = "x = 1\n"
    assert _applicable(rules, text, in_project=False) == []
    in_project = _applicable(rules, text, in_project=True)
    assert in_project and all(rule.cross_file for rule in in_project)
    assert {rule.code for rule in rules if rule.cross_file} == {rule.code for rule in in_project}


@pytest.mark.parametrize("rule", FILE_LOCAL, ids=lambda rule: rule.code)
def test_file_local_rules_never_read_facts_from_other_files(rule) -> None:
    """The dataflow carries the summaries of imported files: a rule that reads it is cross-file."""
    for path in BUGGY:
        text = path.read_text(encoding="utf-8")
        facts = FileFacts(str(path), text, cst.parse_module(text), ImportTable(import_aliases(ast.parse(text))),
                          SOME_VIEW)
        list(rule.check(facts))
        assert "dataflow" not in vars(facts), f"{rule.code} read the dataflow on {path.name}"
