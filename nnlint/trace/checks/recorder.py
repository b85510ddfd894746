"""`--report`: what the HTML report draws, recorded while the script runs.

Per weight matrix and measured step, the update/weight ratio and the gradient norm (from
GradientChecks' StepMeasured event); a strided sample of each weight matrix before the first
step and after the last; a strided sample of each layer's output in the first training
forward and in the latest one. Samples are strided, never random, so that the script's
random numbers stay its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from nnlint.trace.checks.base import Check, ModuleCall, Step, StepMeasured
from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import untraced
from nnlint.trace.run import Run

SAMPLE = 4096


@dataclass
class Recording:
    """Per layer (by its name in the model): series over the steps, and samples at the first and last step."""

    update_ratios: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    gradient_norms: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    weights: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    activations: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)


def _sample(tensor: torch.Tensor) -> torch.Tensor:
    with untraced():
        flat = tensor.detach().reshape(-1)
        stride = max(1, flat.numel() // SAMPLE)
        return flat[::stride][:SAMPLE].float().clone()


class Recorder(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._parameters: dict[int, torch.Tensor] = {}
        self._ratios: dict[int, list[tuple[int, float]]] = {}
        self._gradients: dict[int, list[tuple[int, float]]] = {}
        self._weights_first: dict[int, torch.Tensor] = {}
        self._weights_last: dict[int, torch.Tensor] = {}
        self._layers: dict[int, nn.Module] = {}
        self._outputs_first: dict[int, torch.Tensor] = {}
        self._outputs_last: dict[int, torch.Tensor] = {}

    def notice(self, event: object) -> None:
        if not isinstance(event, StepMeasured):
            return
        for parameter, gradient, weight, update in zip(event.parameters, event.gradient_norms, event.weight_norms,
                                                       event.update_norms):
            if parameter.dim() < 2:
                continue
            key = id(parameter)
            self._parameters[key] = parameter
            self._gradients.setdefault(key, []).append((event.step, gradient))
            if weight > 0:
                self._ratios.setdefault(key, []).append((event.step, update / weight))

    def before_step(self, step: Step) -> None:
        for parameter in _matrices(step.optimizer):
            if id(parameter) not in self._weights_first:
                self._weights_first[id(parameter)] = _sample(parameter)
                self._parameters[id(parameter)] = parameter

    def after_step(self, step: Step) -> None:
        for parameter in _matrices(step.optimizer):
            self._weights_last[id(parameter)] = _sample(parameter)

    def module_exit(self, call: ModuleCall) -> None:
        output = call.output
        if call.module._modules or not torch.is_grad_enabled() or not call.module.training \
                or not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        key = id(call.module)
        self._layers[key] = call.module
        sample = _sample(output)
        if self.run.steps == 0:
            self._outputs_first.setdefault(key, sample)
        self._outputs_last[key] = sample

    def finish(self) -> None:
        index = ModelIndex(root.module for root in self.run.roots.values())
        recording = Recording()
        for key, parameter in self._parameters.items():
            name = index.parameter(parameter)
            if key in self._ratios:
                recording.update_ratios[name] = self._ratios[key]
            if key in self._gradients:
                recording.gradient_norms[name] = self._gradients[key]
            if key in self._weights_first and key in self._weights_last:
                recording.weights[name] = (self._weights_first[key].tolist(), self._weights_last[key].tolist())
        for key, layer in self._layers.items():
            if key in self._outputs_first:
                recording.activations[index.describe(layer)] = (self._outputs_first[key].tolist(),
                                                                self._outputs_last[key].tolist())
        self.run.measurements["recording"] = recording

    def release(self) -> None:
        for holder in (self._parameters, self._ratios, self._gradients, self._weights_first, self._weights_last,
                       self._layers, self._outputs_first, self._outputs_last):
            holder.clear()


def _matrices(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"] if p.dim() >= 2 and p.requires_grad]
