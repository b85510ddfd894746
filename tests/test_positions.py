"""Positions measured per statement agree with libcst's whole-module PositionProvider."""

from __future__ import annotations

import libcst as cst
import pytest
from helpers import FIXTURES
from libcst.metadata import MetadataWrapper, PositionProvider

from nnlint.facts.core.syntax import descendants
from nnlint.files import decode_source
from nnlint.positions import node_positions

TRICKY = {
    "decorators and comments": "# header\n\n@a\n# between\n@b(\n  1)\nclass C:\n    @property\n    def f(self): return 1\n",
    "async": "import x\n\n@dec\nasync def f():\n    async with x as y:\n        await y\n",
    "semicolons": "a = 1; b = a\nc = b;\nif a: d = 1; e = 2\n",
    "continuations": "x = 1 + \\\n    2\ny = (\n  3,\n)\ns = '''\nline\n'''\nz = s\n",
    "crlf and tabs": "if True:\r\n\tx = 1\r\n\ty = x\r\n",
    "form feed": "x = 1\n\x0c\ndef f():\n    return x\n",
    "empty lines at end": "x = 1\n\n\n",
    "only comments": "# nothing\n",
    "match": "match x:\n    case [a, b]:\n        y = a\n    case _:\n        pass\n",
}


def _assert_same(text: str) -> None:
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = list(descendants(module))
    found = node_positions(module, text, nodes[1:])  # the module itself is never reported
    assert {node: found.get(node) for node in nodes[1:]} == {node: expected[node] for node in nodes[1:]}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_layouts(name: str) -> None:
    _assert_same(TRICKY[name])


def test_every_fixture() -> None:
    for path in sorted(FIXTURES.rglob("*.py")):
        _assert_same(decode_source(path.read_bytes()))


def test_nodes_of_another_tree_are_left_out() -> None:
    module, other = cst.parse_module("x = 1\n"), cst.parse_module("y = 2\n")
    assert node_positions(module, "x = 1\n", [other.body[0]]) == {}
