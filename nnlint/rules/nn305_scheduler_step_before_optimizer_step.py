"""NN305: lr_scheduler.step() before optimizer.step() in the same iteration."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.optimizers import within_iteration
from nnlint.facts.training import Action, Effect
from nnlint.rules import Report, Rule


def _steps_too_early(trace: list[Action], position: int) -> bool:
    scheduler_step = trace[position]
    earlier_steps = (a for a in trace[:position] if a.effect in (Effect.STEP, Effect.MAYBE_STEP))
    if any(within_iteration(a, scheduler_step) for a in earlier_steps):
        return False
    return any(a.effect is Effect.STEP and within_iteration(a, scheduler_step) for a in trace[position + 1:])


def check(facts: FileFacts) -> Iterator[Report]:
    for _, trace in facts.training.traces():
        for position, action in enumerate(trace):
            if action.effect is not Effect.SCHEDULER_STEP or action.event.args:
                continue  # step(metric): ReduceLROnPlateau follows a validation metric, not the update count
            if _steps_too_early(trace, position):
                yield Report(
                    action.node,
                    "lr_scheduler.step() runs before optimizer.step() in the same iteration: the first value of "
                    "the schedule is skipped and every update uses the next step's learning rate; "
                    "call scheduler.step() after optimizer.step()",
                )


RULE = Rule(
    code="NN305",
    name="scheduler-step-before-optimizer-step",
    severity=Severity.WARNING,
    summary="lr_scheduler.step() is called before optimizer.step() in the same iteration.",
    check=check,
    triggers=("sched",),
)
