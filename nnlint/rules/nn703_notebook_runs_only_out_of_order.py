"""NN703: a notebook cell uses a name that only a later cell, or no cell, defines."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for use in facts.cell_order.early_uses:
        name = use.node.value
        if use.defined_in is None:
            where = "is defined in no cell (a deleted cell?)"
        elif use.same_cell:
            where = f"is defined only further down this cell (line {use.line_in_cell})"
        else:
            where = f"is defined only in a later cell (cell {use.defined_in})"
        yield Report(
            use.node,
            f"`{name}` {where}: the notebook works only in a kernel that already holds it; run from the top, "
            "this line raises NameError",
        )


RULE = Rule(
    code="NN703",
    name="notebook-runs-only-out-of-order",
    severity=Severity.WARNING,
    summary="In a notebook, a cell uses a name that only a later cell, or no cell, defines.",
    check=check,
    cross_file=False,
    notebooks_only=True,
)
