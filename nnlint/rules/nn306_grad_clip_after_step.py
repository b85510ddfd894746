"""NN306: gradient clipping after optimizer.step(): the update already used the unclipped gradients."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.optimizers import within_iteration
from nnlint.facts.core.syntax import dotted_name
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.fixes import Fix
from nnlint.fixes.moves import moved
from nnlint.rules import Report, Rule


def _scaled(step: Action) -> bool:
    """`scaler.step(optimizer)`: the gradients are scaled until `scaler.unscale_(optimizer)`."""
    node = step.node
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
        "scaler" in (dotted_name(node.func.value) or "").lower()


def _fix(clip: Action, step: Action, facts: FileFacts) -> Fix | None:
    """The clipping line moved just before the statement that steps the optimizer (not under AMP,
    where clipping needs `scaler.unscale_(optimizer)` first)."""
    if _scaled(step):
        return None
    here, anchor = clip.parting_from(step)
    return moved(facts.statements, here, anchor, "before", "clip before optimizer.step()")


def _stale_step(trace: list[Action], position: int) -> Action | None:
    """The step that already used the gradients the clip at `position` clips, where nothing uses
    the clipped gradients before the next backward."""
    clip = trace[position]
    before = [a for a in trace[:position] if within_iteration(a, clip)]
    after = [a for a in trace[position + 1:] if within_iteration(a, clip)]
    last_gradient_event = next((a for a in reversed(before) if a.effect in (Effect.STEP, Effect.BACKWARD)), None)
    if last_gradient_event is None or last_gradient_event.effect is not Effect.STEP:
        return None
    uses = (Effect.STEP, Effect.MAYBE_STEP, Effect.GRAD_READ)  # a manual update reads the clipped .grad
    following = (a for a in after if a.effect in (*uses, Effect.BACKWARD))
    next_gradient_event = next(following, None)
    if next_gradient_event is None or next_gradient_event.effect is Effect.BACKWARD:
        return last_gradient_event
    return None


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for position, action in enumerate(trace):
            step = _stale_step(trace, position) if action.effect is Effect.CLIP else None
            if step is not None:
                yield Report(
                    action.node,
                    "gradients are clipped after optimizer.step(): the update already used the unclipped "
                    "gradients, so clipping does nothing; clip after backward() and before step()",
                    partial(_fix, action, step, facts),
                )


RULE = Rule(
    code="NN306",
    name="grad-clip-after-step",
    severity=Severity.WARNING,
    summary="clip_grad_norm_ / clip_grad_value_ is called after optimizer.step(), where it has no effect.",
    check=check,
    triggers=("clip_grad",),
    fixes=(Applicability.SAFE,),
)
