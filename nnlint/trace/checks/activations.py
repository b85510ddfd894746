"""NN809: dead units, a ReLU layer whose outputs are zero for every sample of every traced
step for more than half of its units.

During the first training steps each ReLU (or ReLU6) module call ORs, per unit, whether any
sample made it positive (one reduction, no synchronisation); the units are the channels
after a convolution (dimension 1) and the features otherwise (the last dimension). Nothing
is read before the run is over. When the samples of the model's input never differ (a
constant input, NN806), one sample says nothing about dead units and none are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from nnlint.trace.checks.base import Check, ModuleCall
from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import untraced
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

ACTIVATION_STEPS = 10
DEAD_FRACTION = 0.5
_RELU = (nn.ReLU, nn.ReLU6)
_CHANNELS_FIRST = (nn.modules.conv._ConvNd, nn.modules.batchnorm._BatchNorm, nn.modules.pooling._MaxPoolNd,
                   nn.modules.pooling._AvgPoolNd, nn.GroupNorm, nn.modules.instancenorm._InstanceNorm)


@dataclass
class _Units:
    module: nn.Module
    site: Site | None
    alive: torch.Tensor  # per unit: positive for some sample
    samples: int


class DeadUnits(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._units: dict[tuple[int, object, int], _Units] = {}
        # Per thread would be exact; the layer that ran last decides which dimension holds the units.
        self._last_layer: nn.Module | None = None
        # Whether the samples of some training batch differed at all: identical samples (a constant
        # input, NN806) make every unit's fate one coin flip, which says nothing about dead units.
        self._inputs_varied: torch.Tensor | None = None

    def module_enter(self, call: ModuleCall) -> None:
        if call.stack or not call.args or not torch.is_grad_enabled() or self.run.steps >= ACTIVATION_STEPS:
            return
        inputs = call.args[0]
        if isinstance(inputs, torch.Tensor) and inputs.dim() and inputs.shape[0] >= 2:
            with untraced():
                varied = (inputs[1:] != inputs[:1]).any()
                self._inputs_varied = varied if self._inputs_varied is None else self._inputs_varied | varied

    def module_exit(self, call: ModuleCall) -> None:
        module = call.module
        if module._modules:
            return
        if isinstance(module, _RELU) and module.training and torch.is_grad_enabled() \
                and self.run.steps < ACTIVATION_STEPS and isinstance(call.output, torch.Tensor):
            self._observe(call)
        self._last_layer = module

    def _observe(self, call: ModuleCall) -> None:
        output = call.output
        if output.dim() < 2 or output.is_complex():
            return
        unit_dim = 1 if isinstance(self._last_layer, _CHANNELS_FIRST) else output.dim() - 1
        site = self.run.user.site(call.frame)
        if site is None:
            return
        others = tuple(d for d in range(output.dim()) if d != unit_dim)
        with untraced():  # a ReLU's output is never negative: a unit is alive where its maximum is positive
            alive = output.detach().amax(dim=others) > 0
        key = (id(call.module), site.code, site.lasti)
        entry = self._units.get(key)
        samples = output.numel() // output.shape[unit_dim]
        if entry is None:
            self._units[key] = _Units(call.module, site, alive, samples)
        elif entry.alive.shape == alive.shape:
            with untraced():
                entry.alive |= alive
            entry.samples += samples

    def finish(self) -> None:
        with untraced():
            varied = self._inputs_varied is not None and bool(self._inputs_varied)
        index = ModelIndex(root.module for root in self.run.roots.values())
        fractions: dict[str, float] = {}
        for entry in self._units.values():
            units = entry.alive.numel()
            with untraced():
                dead = units - int(entry.alive.sum())
            name = index.describe(entry.module)
            fractions[name] = dead / units
            if units < 2 or dead / units <= DEAD_FRACTION or not varied:
                continue
            self.run.report(
                "NN809", entry.site,
                f"{dead} of the {units} units of {name} ({dead / units:.0%}) output 0 for every one of "
                f"{entry.samples} samples in the first {min(self.run.steps, ACTIVATION_STEPS) or 1} training "
                "step(s): these units are dead, pass no gradient and never recover; look for a learning rate that "
                "is too high, biases initialised negative, or inputs far from zero mean (normalise before the "
                "activation, or use LeakyReLU/GELU)",
                related=[self.run.created_at(entry.module)],
                evidence={"dead": dead, "units": units}, distinct=name,
            )
        self.run.measurements["dead_fraction"] = fractions

    def release(self) -> None:
        self._units.clear()
        self._last_layer = self._inputs_varied = None
