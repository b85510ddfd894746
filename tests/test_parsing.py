"""Parsing without node validation gives libcst's own tree, and leaves validation on afterwards."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from nnlint.parsing import parse_module

FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").rglob("*.py"))


@pytest.mark.parametrize("path", FIXTURES[::4], ids=lambda p: p.name)
def test_the_tree_is_libcsts_own(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = parse_module(text)
    assert tree.deep_equals(cst.parse_module(text))
    assert tree.code == text


def test_nodes_built_after_a_parse_are_validated() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")


def test_validation_comes_back_when_the_parse_fails() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")
