"""The def-use facts: which reads see which bindings, through branches, loops and scopes."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
import hypothesmith

from nnlint.facts import FileFacts
from nnlint.facts.core.defuse import DefUse, Definition, Role
from nnlint.facts.core.names import ImportTable, import_aliases
from nnlint.facts.pytorch.torch_api import QUERY_METHODS
from nnlint.rules import all_rules


def _defuse(code: str) -> DefUse:
    return DefUse(cst.parse_module(textwrap.dedent(code)), QUERY_METHODS)


def _binding(facts: DefUse, source: str) -> Definition:
    """The definition whose statement's code is `source`."""
    empty = cst.Module(body=[])
    return next(d for d in facts.definitions if empty.code_for_node(d.node).strip() == source)


def test_rebinding_kills_an_unread_value():
    facts = _defuse("""
        def f(x, a, b):
            h = a(x)
            h = b(x)
            return h
    """)
    first, second = _binding(facts, "h = a(x)"), _binding(facts, "h = b(x)")
    assert first.reads == [] and first.killers == [second]
    assert len(second.reads) == 1


def test_a_value_read_on_one_branch_is_read():
    facts = _defuse("""
        def f(x, a, b, flag):
            h = a(x)
            if flag:
                h = b(x)
            return h
    """)
    assert len(_binding(facts, "h = a(x)").reads) == 1


def test_loop_carried_values_reach_the_next_iteration():
    facts = _defuse("""
        def f(x, blocks):
            h = x
            for blk in blocks:
                h = blk(h)
            return h
    """)
    in_loop = _binding(facts, "h = blk(h)")
    assert any(read.loops for read in in_loop.reads), "the next iteration reads it"
    assert in_loop in in_loop.killers


def test_break_and_continue_leave_the_loop_with_their_values():
    facts = _defuse("""
        def f(items, g):
            found = None
            for item in items:
                value = g(item)
                if value:
                    found = value
                    break
                continue
            return found
    """)
    assert len(_binding(facts, "found = value").reads) == 1


def test_closures_and_globals_escape():
    facts = _defuse("""
        total = 0

        def f(x, layer):
            hidden = layer(x)

            def readout():
                return hidden

            return readout

        def g():
            global total
            total = 1
    """)
    assert _binding(facts, "hidden = layer(x)").escaped
    assert _binding(facts, "total = 0").escaped


def test_comprehension_targets_do_not_touch_locals():
    facts = _defuse("""
        def f(x, layers):
            y = x
            outs = [y for y in layers]
            return y, outs
    """)
    outer = _binding(facts, "y = x")
    assert outer.killers == [] and len(outer.reads) == 1


def test_roles_of_reads():
    facts = _defuse("""
        def f(x, blk, i, layers):
            a = blk(x.view(-1), n=x.shape[0])
            b = layers[i](x)
            return a, b
    """)
    roles = {(read.name, read.role) for read in _binding(facts, "a = blk(x.view(-1), n=x.shape[0])").value_reads}
    assert roles == {("blk", Role.CALLEE), ("x", Role.DATA), ("x", Role.META)}
    roles = {(read.name, read.role) for read in _binding(facts, "b = layers[i](x)").value_reads}
    assert roles == {("layers", Role.CALLEE), ("i", Role.CALLEE), ("x", Role.DATA)}


def test_try_handlers_see_every_state_of_the_body():
    facts = _defuse("""
        def f(x, fast, slow):
            try:
                out = fast(x)
            except RuntimeError:
                out = slow(x)
            return out
    """)
    assert len(_binding(facts, "out = fast(x)").reads) == 1


@pytest.mark.parametrize("code", [
    "match x:\n    case [a, *rest] if a:\n        y = a\n    case {'k': v, **kw}:\n        y = v\n",
    "async def f(xs):\n    async for x in xs:\n        async with x as y:\n            z = y\n    return z\n",
    "def f():\n    try:\n        pass\n    except* ValueError as e:\n        e = 1\n    finally:\n        return\n",
    "class A:\n    x = 1\n    y = [x for _ in range(3)]\n    def m(self, z=lambda q: q):\n        del self.x\n",
    "def f(x):\n    while (n := len(x)) > 0:\n        x = x[1:]\n    else:\n        n = 0\n    return n\n",
])
def test_unusual_syntax_is_handled(code: str):
    _defuse(code)


MODEL_RULES = [rule for rule in all_rules() if rule.code.startswith("NN1") and rule.check is not None]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_model_rules_never_crash_on_valid_python(source: str):
    try:
        module = cst.parse_module(source)
        aliases = import_aliases(ast.parse(source))
    except Exception:
        return
    facts = FileFacts("generated.py", source, module, ImportTable(aliases))
    for rule in MODEL_RULES:
        list(rule.check(facts))
