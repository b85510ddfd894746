"""The domain-free interpreter on its own (no semantics): where branches meet, where parameters
go, and what an object's attributes are when a method is called on it."""

from __future__ import annotations

import textwrap

import libcst as cst

from nnlint.facts.core.dataflow import CallEvent, Dataflow
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.values import Kind, Value


def _dataflow(source: str) -> Dataflow:
    return Dataflow(cst.parse_module(textwrap.dedent(source)), ImportTable({}))


def _calls(dataflow: Dataflow, name: str) -> list[CallEvent]:
    """The recorded calls of `name` (a function, or a method by its attribute), in order, outside specialized analyses."""
    return [event for event in dataflow.calls() if not event.specialized and isinstance(event.node, cst.Call)
            and (event.method or getattr(event.node.func, "value", None)) == name]


def _shown(dataflow: Dataflow) -> list[Value]:
    return [event.args[0] for event in _calls(dataflow, "show")]


_BOX = """
class Box:
    def __init__(self, label=None):
        self.label = label

    def fill(self, items):
        return items
"""


def test_an_attribute_one_branch_leaves_unset_keeps_what_it_held_before() -> None:
    dataflow = _dataflow(_BOX + """
def label(box_flag):
    box = Box()
    if box_flag:
        box.label = "train"
    show(box.label)
""")
    [shown] = _shown(dataflow)
    assert shown.kind is Kind.STRING and shown.detail == "train"  # "train", or the None the class starts with


def test_an_attribute_set_in_a_loop_keeps_what_it_held_before() -> None:
    dataflow = _dataflow(_BOX + """
def label(names):
    box = Box()
    for name in names:
        box.label = "train"
    show(box.label)
""")
    [shown] = _shown(dataflow)
    assert shown.kind is Kind.STRING and shown.detail == "train"


def test_a_name_one_branch_leaves_unbound_is_not_known() -> None:
    dataflow = _dataflow("""
def label(flag):
    if flag:
        name = "train"
    show(name)
""")
    [shown] = _shown(dataflow)
    assert shown.kind is Kind.UNKNOWN


def test_branches_that_disagree_still_give_an_unknown_attribute() -> None:
    dataflow = _dataflow(_BOX + """
def label(flag):
    box = Box()
    if flag:
        box.label = "train"
    else:
        box.label = "test"
    show(box.label)
""")
    [shown] = _shown(dataflow)
    assert shown.kind is Kind.UNKNOWN


def test_a_method_called_on_a_parameter_is_a_use_of_it() -> None:
    dataflow = _dataflow("""
def describe(frame, names):
    summary = frame.describe()
    return show(summary, names)
""")
    function = next(node for node in dataflow.functions if node.name.value == "describe")
    uses = {(use.param, use.event.method, use.position, use.receiver) for use in dataflow.parameter_uses(function)}
    assert uses == {("frame", "describe", None, True), ("names", None, 1, False)}


def _unset(source: str, method: str = "fill") -> list[bool]:
    dataflow = _dataflow(_BOX + source)
    return [dataflow.unset_at(call, "label") for call in _calls(dataflow, method)]


def test_an_attribute_the_constructor_leaves_none_is_unset_at_the_first_call() -> None:
    assert _unset("""
def first(items):
    box = Box()
    box.fill(items)
    box.fill(items)
""") == [True, False]


def test_an_attribute_the_constructor_is_given_is_set() -> None:
    assert _unset("""
def given(items, name):
    box = Box(name)
    return box.fill(items)


def by_keyword(items, name):
    return Box(label=name).fill(items)
""") == [False, False]


def test_an_object_handed_to_a_call_or_assigned_to_may_be_set() -> None:
    assert _unset("""
def handed(items):
    box = Box()
    prepare(box)
    return box.fill(items)


def assigned(items):
    box = Box()
    box.label = items
    return box.fill(items)
""") == [False, False]


def test_an_object_built_elsewhere_or_on_some_paths_only_is_not_known_unset() -> None:
    assert _unset("""
shared = Box()


def global_box(items):
    return shared.fill(items)


def maybe_built(items, flag):
    box = None
    if flag:
        box = Box()
    return box.fill(items)


class Owner:
    def __init__(self):
        self.box = Box()

    def use(self, items):
        return self.box.fill(items)
""") == [False, False, False]
