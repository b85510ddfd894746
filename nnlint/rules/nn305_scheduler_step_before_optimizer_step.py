"""NN305: lr_scheduler.step() before optimizer.step() in the same iteration."""

from __future__ import annotations

from functools import partial
from typing import Iterator

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.optimizers import within_iteration
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.fixes import Fix
from nnlint.fixes.moves import moved
from nnlint.rules import Report, Rule


def _optimizer_step_after(trace: list[Action], position: int) -> Action | None:
    """The optimizer step that the scheduler step at `position` comes before, in its iteration."""
    scheduler_step = trace[position]
    earlier_steps = (a for a in trace[:position] if a.effect in (Effect.STEP, Effect.MAYBE_STEP))
    if any(within_iteration(a, scheduler_step) for a in earlier_steps):
        return None
    later = (a for a in trace[position + 1:] if a.effect is Effect.STEP and within_iteration(a, scheduler_step))
    return next(later, None)


def _fix(scheduler_step: Action, optimizer_step: Action, facts: FileFacts) -> Fix | None:
    """The scheduler.step() line moved after the statement that steps the optimizer (after the
    inner loop, for a scheduler stepped once per epoch)."""
    here, anchor = scheduler_step.parting_from(optimizer_step)
    return moved(facts.statements, here, anchor, "after", "step the scheduler after the optimizer")


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for position, action in enumerate(trace):
            if action.effect is not Effect.SCHEDULER_STEP or action.event.args:
                continue  # step(metric): ReduceLROnPlateau follows a validation metric, not the update count
            optimizer_step = _optimizer_step_after(trace, position)
            if optimizer_step is not None:
                yield Report(
                    action.node,
                    "lr_scheduler.step() runs before optimizer.step() in the same iteration: the first value of "
                    "the schedule is skipped and every update uses the next step's learning rate; "
                    "call scheduler.step() after optimizer.step()",
                    partial(_fix, action, optimizer_step, facts),
                )


RULE = Rule(
    code="NN305",
    name="scheduler-step-before-optimizer-step",
    severity=Severity.WARNING,
    summary="lr_scheduler.step() is called before optimizer.step() in the same iteration.",
    check=check,
    triggers=("sched",),
    fixes=(Applicability.SAFE,),
)
