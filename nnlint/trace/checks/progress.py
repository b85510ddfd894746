"""The loss of each optimizer step, and NN804: with --overfit-batch, a model that cannot
overfit the one batch it is fed again and again.

A model, its loss and its optimizer that work together drive the loss on a single batch
close to its minimum within a hundred steps; one that does not has a bug in how they are
wired (a detached output, a learning rate of 0, a loss against the wrong target) or far too
little capacity. The first loss is compared with the loss at the end of the run.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch

from nnlint.trace.checks.base import Backward, Check, Step
from nnlint.trace.checks.tensors import untraced
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

# The loss at the end (the median of the last steps, as dropout makes it noisy) must fall
# below this fraction of the first step's loss.
OVERFIT_FRACTION = 0.1
MIN_OVERFIT_STEPS = 10
LAST_STEPS = 5
# A loss that moves by less than this, relative to its first value, did not move at all.
UNCHANGED = 1e-6

PASSED, FAILED, INCONCLUSIVE = "passed", "failed", "inconclusive"


@dataclass(frozen=True)
class OverfitVerdict:
    """Whether the model overfit the held batch, in a sentence."""

    status: str
    summary: str


class LossCurve(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.losses: list[float] = []
        self._pending: list[float] = []
        self._site: Site | None = None

    def before_backward(self, backward: Backward) -> None:
        tensor = backward.tensors
        if isinstance(tensor, (tuple, list)) and len(tensor) == 1:
            tensor = tensor[0]
        if isinstance(tensor, torch.Tensor) and tensor.numel() == 1 and tensor.is_floating_point():
            with untraced():
                self._pending.append(float(tensor.detach().float()))
            if self._site is None:
                self._site = backward.site

    def after_step(self, step: Step) -> None:
        if self._pending:
            self.losses.append(statistics.fmean(self._pending))
            self._pending = []

    def finish(self) -> None:
        self.run.measurements["loss"] = list(self.losses)
        if self.run.overfit_batch:
            self.run.measurements["overfit"] = self._judge()

    def _judge(self) -> OverfitVerdict:
        losses = self.losses
        if len(losses) < MIN_OVERFIT_STEPS:
            return OverfitVerdict(INCONCLUSIVE, f"only {len(losses)} optimizer steps with a scalar loss ran; "
                                                f"at least {MIN_OVERFIT_STEPS} are needed (raise --steps, or the "
                                                "script's epochs)")
        first, last = losses[0], statistics.median(losses[-LAST_STEPS:])
        if not (math.isfinite(first) and math.isfinite(last)) or first <= 0:
            return OverfitVerdict(INCONCLUSIVE, f"the loss went from {first:.4g} to {last:.4g}: the test needs a "
                                                "finite, positive loss")
        change = f"the loss went from {first:.4g} to {last:.4g} ({_percent(last / first)} of its first value) in " \
                 f"{len(losses)} steps"
        if last <= OVERFIT_FRACTION * first:
            return OverfitVerdict(PASSED, change)
        held = ", ".join(self.run.held) or "nothing (no DataLoader, model input or loss target was seen)"
        self.run.report(
            "NN804", self._site,
            f"the model cannot overfit one batch: fed the same batch at every step, {change}, where a model, loss "
            f"and optimizer that work together get it below {OVERFIT_FRACTION:.0%}; {self._cause(first)} "
            f"(loss per step: {_curve(losses)}; held: {held})",
            evidence={"first_loss": first, "last_loss": last, "steps": len(losses), "held": list(self.run.held)},
        )
        return OverfitVerdict(FAILED, change)

    def _cause(self, first: float) -> str:
        moved = max(abs(loss - first) for loss in self.losses) / first
        if moved < UNCHANGED:
            return ("the loss never changed: no parameter that it depends on moved (a learning rate of 0, an output "
                    "detached from the model, parameters that are frozen or in no optimizer)")
        if statistics.median(self.losses[-LAST_STEPS:]) > 0.9 * first:
            return ("the loss barely moved: a learning rate far too small, gradients that hardly reach the "
                    "parameters, or a loss computed against the wrong target")
        return ("the loss fell, but not far: too small a learning rate, too much regularisation (dropout, weight "
                "decay), too little capacity, or labels that the inputs cannot predict")


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}" if fraction >= 0.01 else f"{100 * fraction:.1g}%"


def _curve(losses: list[float]) -> str:
    """The loss at five evenly spaced steps, the first and the last included."""
    picks = sorted({round(i * (len(losses) - 1) / 4) for i in range(5)})
    return ", ".join(f"step {i + 1}: {losses[i]:.4g}" for i in picks)
