"""NN306: gradient clipping after optimizer.step(): the update already used the unclipped gradients."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.optimizers import within_iteration
from nnlint.facts.training import Action, Effect
from nnlint.rules import Report, Rule


def _clips_stale_gradients(trace: list[Action], position: int) -> bool:
    """A step ran since the last backward, and nothing uses the clipped gradients before the next one."""
    clip = trace[position]
    before = [a for a in trace[:position] if within_iteration(a, clip)]
    after = [a for a in trace[position + 1:] if within_iteration(a, clip)]
    last_gradient_event = next((a for a in reversed(before) if a.effect in (Effect.STEP, Effect.BACKWARD)), None)
    if last_gradient_event is None or last_gradient_event.effect is not Effect.STEP:
        return False
    uses = (Effect.STEP, Effect.MAYBE_STEP, Effect.GRAD_READ)  # a manual update reads the clipped .grad
    following = (a for a in after if a.effect in (*uses, Effect.BACKWARD))
    next_gradient_event = next(following, None)
    return next_gradient_event is None or next_gradient_event.effect is Effect.BACKWARD


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for position, action in enumerate(trace):
            if action.effect is Effect.CLIP and _clips_stale_gradients(trace, position):
                yield Report(
                    action.node,
                    "gradients are clipped after optimizer.step(): the update already used the unclipped "
                    "gradients, so clipping does nothing; clip after backward() and before step()",
                )


RULE = Rule(
    code="NN306",
    name="grad-clip-after-step",
    severity=Severity.WARNING,
    summary="clip_grad_norm_ / clip_grad_value_ is called after optimizer.step(), where it has no effect.",
    check=check,
    triggers=("clip_grad",),
)
