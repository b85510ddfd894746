"""NN302: zero_grad() after backward() and before step(): the step applies zero gradients."""

from __future__ import annotations

from functools import partial
from typing import Iterator

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.program import AttributeEvent
from nnlint.facts.pytorch.optimizers import same_iteration, zeroes_for
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.fixes import Fix
from nnlint.fixes.moves import moved
from nnlint.rules import Report, Rule


def _fix(reset: Action, backward: Action, facts: FileFacts) -> Fix | None:
    """The zero_grad() line moved to the top of the iteration (before backward() outside a loop)."""
    here, anchor = reset.parting_from(backward)
    return moved(facts.statements, here, anchor, "top of the loop", "zero the gradients before backward()")


def _misplaced_reset(trace: list[Action], position: int) -> tuple[Action, Action] | None:
    """The reset between the step at `position` and the backward before it, and that backward."""
    step = trace[position]
    steps = [a for a in trace if a.effect is Effect.STEP and same_iteration(a, step)]
    reset = None
    for action in reversed(trace[:position]):
        if not same_iteration(action, step):
            continue
        if action.effect is Effect.BACKWARD:
            return (reset, action) if reset is not None else None
        if action.effect is Effect.ZERO_GRAD and not _one_tensor(action) \
                and zeroes_for(action, step, steps, trust_unknown=False):
            reset = action
    return None


def _one_tensor(reset: Action) -> bool:
    """`model.head.weight.grad = None`: one parameter's gradient cleared by hand, to keep it frozen for
    this step (clearing them all takes a loop over the parameters, an iteration of its own)."""
    return isinstance(reset.event, AttributeEvent)


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for position, action in enumerate(trace):
            if action.effect is not Effect.STEP:
                continue
            misplaced = _misplaced_reset(trace, position)
            if misplaced is not None:
                reset, backward = misplaced
                if backward.node is action.node and reset.node is action.node:
                    # All three from one call of another file's function: its summary keeps neither its
                    # loops' nesting nor its branches, and its own file judges the order it makes.
                    continue
                yield Report(
                    reset.node,
                    "zero_grad() runs after backward() and before step(): the step applies zeroed gradients "
                    "and the weights never change; zero the gradients before backward() or after step()",
                    partial(_fix, reset, backward, facts),
                )


RULE = Rule(
    code="NN302",
    name="zero-grad-between-backward-and-step",
    severity=Severity.ERROR,
    summary="zero_grad() is called after backward() and before step(), so the step uses zero gradients.",
    check=check,
    triggers=("zero_grad", ".grad"),
    fixes=(Applicability.SAFE,),
)
