"""NN810: gradients that vanish or explode on their way through the network, or that grow
without bound from step to step.

The layers with a weight matrix are ordered as the first training forward runs them; at each
measured step (GradientChecks publishes the norms) the root mean square of the gradient of
the first layer is compared with the last layer's.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch
from torch import nn

from nnlint.trace.checks.base import Backward, Check, ModuleCall, Step, StepMeasured
from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

# Gradients per value of the first and the last layer more than this factor apart.
SPAN = 1e4
# The total gradient norm growing by more than this factor from its smallest value, and still
# growing over the last GROWING_STEPS steps.
GROWTH = 1e4
GROWING_STEPS = 3
_NOT_LAYERS = (nn.Embedding, nn.EmbeddingBag)


@dataclass
class _Step:
    first: float  # root mean square gradient of the first layer
    last: float
    total: float  # norm of all gradients


class GradientFlow(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._order: dict[int, nn.Module] = {}  # weight's id -> its layer, in the order of the forward
        self._ordering = True
        self._steps: list[_Step] = []
        self._optimizer: torch.optim.Optimizer | None = None
        self._step_site: Site | None = None  # where the measured optimizer steps, if its creation was not seen

    def module_enter(self, call: ModuleCall) -> None:
        if not self._ordering or call.module._modules or not torch.is_grad_enabled():
            return
        weight = call.module._parameters.get("weight")
        if weight is not None and weight.requires_grad and weight.dim() >= 2 and \
                not isinstance(call.module, _NOT_LAYERS):
            self._order.setdefault(id(weight), call.module)

    def after_backward(self, backward: Backward) -> None:
        self._ordering = False

    def before_step(self, step: Step) -> None:
        if self._step_site is None and step.optimizer is (self._optimizer or step.optimizer):
            self._step_site = step.site

    def notice(self, event: object) -> None:
        if not isinstance(event, StepMeasured) or len(self._order) < 2:
            return
        if self._optimizer is None:
            self._optimizer = event.optimizer
        if event.optimizer is not self._optimizer:
            return
        measured = {id(p): (norm, p.numel()) for p, norm in zip(event.parameters, event.gradient_norms)}
        layers = [measured[key] for key in self._order if key in measured]
        if len(layers) < 2:
            return
        (first, first_size), (last, last_size) = layers[0], layers[-1]
        total = math.sqrt(sum(norm * norm for norm in event.gradient_norms))
        self._steps.append(_Step(first / math.sqrt(first_size), last / math.sqrt(last_size), total))

    def finish(self) -> None:
        if not self._steps or self._optimizer is None:
            return
        layers = list(self._order.values())
        index = ModelIndex(root.module for root in self.run.roots.values())
        first, last = index.describe(layers[0]), index.describe(layers[-1])
        # A first layer without any gradient (its input is zero) is another bug, not a vanishing gradient.
        spans = [s.first / s.last for s in self._steps if s.first > 0 and s.last > 0]
        spans = [span for span in spans if math.isfinite(span)]
        span = statistics.median(spans) if spans else 1.0
        totals = [s.total for s in self._steps if math.isfinite(s.total)]
        created = self.run.created_at(self._optimizer) or self._step_site
        related = [self.run.created_at(layers[0]), self.run.created_at(layers[-1])]
        evidence = {"first_layer_rms": [s.first for s in self._steps], "last_layer_rms": [s.last for s in self._steps]}
        if span < 1 / SPAN:
            self.run.report(
                "NN810", created,
                f"vanishing gradients: per value, the gradient of the first layer {first} is {span:.2g} times the "
                f"last layer's {last} (median over {len(spans)} steps): the first layers barely learn; use "
                "ReLU-like activations instead of sigmoid/tanh chains, residual connections, normalisation layers "
                "or a variance-preserving initialisation", related=related, evidence=evidence, distinct="span",
            )
        elif span > SPAN:
            self.run.report(
                "NN810", created,
                f"exploding gradients: per value, the gradient of the first layer {first} is {span:.2g} times the "
                f"last layer's {last} (median over {len(spans)} steps): the gradients grow on their way back to the "
                "input; use normalisation layers, a smaller initialisation, or clip the gradient norm",
                related=related, evidence=evidence, distinct="span",
            )
        self._check_growth(totals, created)

    def _check_growth(self, totals: list[float], created: Site | None) -> None:
        if len(totals) < GROWING_STEPS or min(totals[:-1]) <= 0:
            return
        lowest = min(totals[:-1])
        growing = all(b > a for a, b in zip(totals[-GROWING_STEPS:], totals[-GROWING_STEPS + 1:]))
        if growing and totals[-1] > GROWTH * lowest:
            self.run.report(
                "NN810", created,
                f"exploding gradients: the gradient norm grew from {lowest:.3g} to {totals[-1]:.3g} over "
                f"{len(totals)} steps, and is still growing: training is diverging; lower the learning rate or clip "
                "the gradient norm", evidence={"gradient_norms": totals}, distinct="growth",
            )

    def release(self) -> None:
        self._order.clear()
        self._steps.clear()
        self._optimizer = None
        self._step_site = None
