"""NN402: model.eval() inside the epoch loop, never undone before the next training step."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.modes import EvalLeftOn
from nnlint.facts.core.syntax import descendants, dotted_name
from nnlint.fixes import Fix, InsertBefore, safe_fix
from nnlint.fixes.build import statement_line
from nnlint.rules import Report, Rule


def _fix(left_on: EvalLeftOn, facts: FileFacts) -> Fix | None:
    """`model.train()` first in the iteration that trains: of the loop that holds both the
    eval() and the training step (the epoch loop), else of the loop around the training step
    (every batch, when the eval() is in a helper)."""
    model = dotted_name(left_on.training_call.func)
    line = facts.statements.line_of(left_on.training_call)
    if model is None or line is None:
        return None
    loops = facts.statements.enclosing_loops(line)
    if not loops:
        return None
    around_eval = [loop for loop in loops if any(node is left_on.eval_call for node in descendants(loop))]
    loop = around_eval[0] if around_eval else loops[0]
    if not isinstance(loop.body, cst.IndentedBlock):
        return None
    return safe_fix(f"call {model}.train() at the top of the training iteration",
                    InsertBefore(loop.body.body[0], (statement_line(f"{model}.train()"),)))


def check(facts: FileFacts) -> Iterator[Report]:
    for left_on in facts.modes.eval_left_on.values():
        yield Report(
            left_on.eval_call,
            f"`{left_on.model}` is switched to eval mode here and never back: from the next iteration on it "
            f"trains with Dropout off and BatchNorm statistics frozen; call {left_on.model}.train() before "
            f"the training steps",
            partial(_fix, left_on, facts),
        )


RULE = Rule(
    code="NN402",
    name="missing-train-after-eval",
    severity=Severity.ERROR,
    summary="model.eval() in the epoch loop is never undone by model.train() before the next training step.",
    check=check,
    triggers=(".eval(", "train(False", "train(mode=False"),
    fixes=(Applicability.SAFE,),
)
