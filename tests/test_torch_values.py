"""Tensor values the interpreter's torch knowledge tracks beyond a kind per value.

A concatenation keeps its parts and their widths along its axis, and a selection along that axis
with constant bounds holds what the parts it falls in hold (facts/core/values.py for the generic
parts, facts/pytorch/semantics.py for what torch calls and subscripts mean). One-hot label rows
weighted by probabilities stay probabilities."""

from __future__ import annotations

import ast
import textwrap
from dataclasses import replace

import libcst as cst
import pytest

from nnlint.facts import FileFacts
from nnlint.facts.core.names import ImportTable, import_aliases
from nnlint.facts.core.values import UNKNOWN, Kind, Value, join

RAW = Value(Kind.LOGITS, "raw", axis=-1, width=4)
ONE = Value(Kind.SIGMOID_PROBS, "one", axis=-1, width=1)
OPEN = Value(Kind.SIGMOID_PROBS, "open")
CONCATENATED = Value(Kind.UNKNOWN, "cat", axis=-1, parts=(RAW, ONE, OPEN))


@pytest.mark.parametrize("start, stop, kind", [
    (0, 4, Kind.LOGITS), (1, 3, Kind.LOGITS), (4, 5, Kind.SIGMOID_PROBS), (5, None, Kind.SIGMOID_PROBS),
    (4, None, Kind.SIGMOID_PROBS), (5, 9, Kind.SIGMOID_PROBS), (3, 5, Kind.UNKNOWN), (0, None, Kind.UNKNOWN),
    (-1, None, Kind.UNKNOWN), (2, 2, Kind.UNKNOWN),
])
def test_a_range_holds_what_its_parts_hold(start: int, stop: int | None, kind: Kind) -> None:
    assert CONCATENATED.between(start, stop).kind is kind


def test_after_a_part_of_unknown_width_nothing_is_placed() -> None:
    middle = Value(Kind.UNKNOWN, "cat", axis=-1, parts=(ONE, Value(Kind.SIGMOID_PROBS), RAW))
    assert middle.between(0, 1).kind is Kind.SIGMOID_PROBS
    assert middle.between(1, 2).kind is Kind.UNKNOWN  # the second part, or already the raw one
    assert middle.between(1, None).kind is Kind.UNKNOWN


def test_negative_bounds_count_from_the_end_when_the_width_is_known() -> None:
    known = Value(Kind.UNKNOWN, "cat", axis=1, width=5, parts=(replace(RAW, axis=1), replace(ONE, axis=1)))
    assert known.between(-1, None).kind is Kind.SIGMOID_PROBS
    assert known.between(0, -1).kind is Kind.LOGITS
    assert known.between(-2, None).kind is Kind.UNKNOWN


def test_widths_along_another_axis_are_not_widths_of_parts() -> None:
    other_axis = Value(Kind.UNKNOWN, "cat", axis=1, parts=(RAW, ONE))
    assert other_axis.between(4, 5).kind is Kind.UNKNOWN


def test_join_keeps_only_the_shape_both_paths_agree_on() -> None:
    assert join(CONCATENATED, CONCATENATED) is CONCATENATED
    assert join(CONCATENATED, UNKNOWN) is UNKNOWN
    assert join(UNKNOWN, CONCATENATED) is UNKNOWN
    other = Value(Kind.UNKNOWN, "cat", axis=-1, parts=(ONE, RAW))
    assert join(CONCATENATED, other) is UNKNOWN
    narrower = join(ONE, OPEN)
    assert narrower.kind is Kind.SIGMOID_PROBS and narrower.width is None and narrower.axis is None


def _arguments(source: str) -> dict[str, Value]:
    """What each `use(name=...)` call of the source passes, by keyword."""
    text = textwrap.dedent(source)
    facts = FileFacts("sample.py", text, cst.parse_module(text), ImportTable(import_aliases(ast.parse(text))))
    found: dict[str, Value] = {}
    for event in facts.dataflow.calls():
        if isinstance(event.node.func, cst.Name) and event.node.func.value == "use":
            found.update(event.kwargs)
    return found


HEAD = """
    import torch
    import torch.nn as nn

    def head(x, w):
        box = x[..., :4]
        out = torch.cat([box, torch.sigmoid(x[..., 4:5]), x[..., 5:].sigmoid()], dim=-1)
        use(conf=out[..., 4:5], entry=out[..., 4], classes=out[..., 5:], box=out[..., 1:3],
            straddling=out[..., 3:5], other_axis=out[:, 4:5], floated=out.float()[..., 5:],
            viewed=out.view(-1, 85)[..., 4:5], box_width=box)
"""


def test_selections_of_a_concatenation() -> None:
    passed = _arguments(HEAD)
    kinds = {name: value.kind for name, value in passed.items()}
    assert kinds == {
        "conf": Kind.SIGMOID_PROBS, "entry": Kind.SIGMOID_PROBS, "classes": Kind.SIGMOID_PROBS,
        "box": Kind.UNKNOWN, "straddling": Kind.UNKNOWN, "other_axis": Kind.UNKNOWN,
        "floated": Kind.SIGMOID_PROBS, "viewed": Kind.UNKNOWN, "box_width": Kind.UNKNOWN,
    }
    assert (passed["conf"].axis, passed["conf"].width) == (-1, 1)
    assert passed["entry"].axis is None  # an entry, not a range: the axis is gone
    assert (passed["box_width"].axis, passed["box_width"].width) == (-1, 4)


LAYERS = """
    import torch
    import torch.nn as nn

    offsets = nn.Linear(64, 2)
    presence = nn.Linear(64, 1)
    classes = nn.Linear(64, 10)

    def scores(x, flag):
        out = torch.cat((offsets(x), torch.sigmoid(presence(x)), classes(x)), 1)
        last = torch.cat((offsets(x), torch.sigmoid(presence(x)), classes(x)), -1)
        either = last if flag else offsets(x)
        use(on_axis_1=out[:, 2], last=last[..., 2:3], from_end=last[..., -10:], either=either[..., 2:3])
"""


def test_a_linear_layer_gives_its_width_along_the_last_axis() -> None:
    kinds = {name: value.kind for name, value in _arguments(LAYERS).items()}
    # Widths are along the last axis: `dim=1` is another axis as written, so nothing is placed there.
    assert kinds == {"on_axis_1": Kind.UNKNOWN, "last": Kind.SIGMOID_PROBS, "from_end": Kind.LOGITS,
                     "either": Kind.UNKNOWN}


ONE_HOT = """
    import torch
    import torch.nn.functional as F

    def scores(sim, labels, n, values):
        probs = sim.softmax(dim=-1)
        one_hot = F.one_hot(labels, n).float()
        rows = torch.eye(n)[labels]
        use(one_hot=one_hot, rows=rows, columns=torch.eye(n)[:, labels], viewed=one_hot.view(-1),
            by_operator=probs @ rows, by_keyword=torch.bmm(probs, mat2=one_hot), by_method=probs.matmul(one_hot),
            values=probs @ values, logits=sim @ one_hot, reversed=one_hot @ probs)
"""


def test_probabilities_weighting_one_hot_rows_stay_probabilities() -> None:
    kinds = {name: value.kind for name, value in _arguments(ONE_HOT).items()}
    assert kinds == {
        "one_hot": Kind.ONE_HOT, "rows": Kind.ONE_HOT, "columns": Kind.UNKNOWN, "viewed": Kind.UNKNOWN,
        "by_operator": Kind.PROBS, "by_keyword": Kind.PROBS, "by_method": Kind.PROBS,
        "values": Kind.UNKNOWN, "logits": Kind.UNKNOWN, "reversed": Kind.UNKNOWN,
    }
