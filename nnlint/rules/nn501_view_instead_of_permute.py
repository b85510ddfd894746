"""NN501: view/reshape used to reorder a tensor's axes, which only permute/transpose can do."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for view in facts.layout.reordering_views:
        order = ", ".join(view.written_order)
        yield Report(
            view.node,
            f"{view.method}({', '.join(view.sizes)}) reads the axes of `{view.tensor_name}` in the order ({order}), "
            f"but {view.method} only reinterprets memory and does not move data: the values end up scrambled; "
            f"use permute/transpose to reorder axes (then .reshape to merge or split them)",
        )


RULE = Rule(
    code="NN501",
    name="view-instead-of-permute",
    severity=Severity.ERROR,
    summary="view/reshape used to reorder a tensor's axes: it reinterprets memory instead of moving data.",
    check=check,
    triggers=("view", "reshape"),
    cross_file=False,
)
