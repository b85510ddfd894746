"""NN501: view/reshape used to reorder a tensor's axes, which only permute/transpose can do."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.layout import ReorderingView
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for view in facts.layout.reordering_views:
        order = ", ".join(view.written_order)
        yield Report(
            view.node,
            f"{view.method}({', '.join(view.sizes)}){_inside(facts, view)} reads the axes of `{view.tensor_name}` in "
            f"the order ({order}), "
            f"but {view.method} only reinterprets memory and does not move data: the values end up scrambled; "
            f"use permute/transpose to reorder axes (then .reshape to merge or split them)",
            related=((view.helper.view, f"{view.helper.name}() makes the {view.method} here"),)
            if view.helper is not None and view.helper.view is not None else (),
            elsewhere=((view.helper.place, f"{view.helper.name}() makes the {view.method} here"),)
            if view.helper is not None and view.helper.place is not None else (),
        )


def _inside(facts: FileFacts, view: ReorderingView) -> str:
    """` in split_heads() (see line 3)` for a view made by a helper with the call's sizes."""
    helper = view.helper
    if helper is None:
        return ""
    place = facts.where(helper.view) if helper.view is not None else (
        helper.place.line_text if helper.place is not None else "")
    return f" in {helper.name}()" + (f" (see {place})" if place else "")


RULE = Rule(
    code="NN501",
    name="view-instead-of-permute",
    severity=Severity.ERROR,
    summary="view/reshape used to reorder a tensor's axes: it reinterprets memory instead of moving data.",
    check=check,
    triggers=("view", "reshape"),
)
