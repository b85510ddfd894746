"""What the data looks like when it reaches the model and the loss: the same batch at every
step (NN805), a constant batch (NN806), batches of a single class (NN807) and inputs far
from unit scale (NN808).

During the first steps, each training call of a model and of a classification loss leaves a
few statistics of its input, computed on the device without synchronising; they are read
once, when the run is over.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn
from torch.utils.weak import WeakIdKeyDictionary

from nnlint.trace.checks.base import Check, ModuleCall
from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import untraced
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

# Batches are looked at in the first steps only.
DATA_STEPS = 8
# NN805 needs this many steps with the same input.
SAME_BATCH_STEPS = 3
# NN807 needs this many single-class batches (of at least MIN_LABELS labels), and nothing else.
SINGLE_LABEL_BATCHES = 3
MIN_LABELS = 4
# NN808: inputs whose root mean square is above this are far from unit scale (pixels in
# 0..255, raw prices, years); [0, 1] pixels and standardised features are not.
LARGE_INPUT_RMS = 10.0
_NORMALISING = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.Embedding, nn.EmbeddingBag)


@dataclass
class _ModelCall:
    """The training calls of one model at one line of the user's code."""

    module: nn.Module
    site: Site | None
    steps: list[int] = field(default_factory=list)
    shapes: list[tuple] = field(default_factory=list)
    statistics: list[torch.Tensor] = field(default_factory=list)  # min, max, sum, L2 norm (see _statistics)
    first_layer: nn.Module | None = None
    first_layer_inputs: list[tuple[torch.Tensor, int]] = field(default_factory=list)  # the same, and the size


@dataclass
class _LossCall:
    site: Site
    ranges: list[torch.Tensor] = field(default_factory=list)  # min and max label of each batch


def _statistics(tensor: torch.Tensor) -> torch.Tensor:
    """Minimum, maximum, sum and L2 norm, on the tensor's device, without synchronising."""
    with untraced():
        values = tensor.detach()
        if not values.is_floating_point():
            values = values.float()
        low, high = torch.aminmax(values)
        return torch.stack([low, high, values.sum(), torch.linalg.vector_norm(values)]).double()


class DataChecks(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._calls: dict[tuple[int, object, int], _ModelCall] = {}
        # The model call running now whose first layer with parameters has not run yet, and its input.
        self._awaiting_first_layer: _ModelCall | None = None
        self._model_input: torch.Tensor | None = None
        self._losses: dict[tuple[object, int], _LossCall] = {}
        self._loaders: WeakIdKeyDictionary = WeakIdKeyDictionary()
        # The DataLoader with the most batches seen alive during training, and where it was created.
        self._largest_loader: tuple[int, Site | None] = (0, None)

    def created(self, obj: Any, site: Site | None) -> None:
        if isinstance(obj, torch.utils.data.DataLoader):
            self._loaders[obj] = site

    # -- the model's input ----------------------------------------------------------------------

    def module_enter(self, call: ModuleCall) -> None:
        if self.run.steps >= DATA_STEPS or not torch.is_grad_enabled():
            return
        if not call.stack:
            self._awaiting_first_layer = self._model_call(call)
        if self._awaiting_first_layer is not None and not call.module._modules and call.module._parameters:
            self._first_layer(self._awaiting_first_layer, call)
            self._awaiting_first_layer = None

    def _model_call(self, call: ModuleCall) -> _ModelCall | None:
        tensor = next((a for a in call.args if isinstance(a, torch.Tensor)), None)
        site = self.run.user.site(call.frame)
        if tensor is None or tensor.numel() < 2 or tensor.requires_grad or site is None:
            return None
        key = (id(call.module), site.code, site.lasti)
        entry = self._calls.get(key)
        if entry is None:
            entry = self._calls[key] = _ModelCall(call.module, site)
        for loader, loader_site in self._loaders.items():
            self._largest_loader = max(self._largest_loader, (_batches(loader), loader_site), key=lambda b: b[0])
        entry.steps.append(self.run.steps)
        entry.shapes.append((tuple(tensor.shape), tensor.dtype))
        entry.statistics.append(_statistics(tensor))
        self._model_input = tensor
        return entry

    def _first_layer(self, entry: _ModelCall, call: ModuleCall) -> None:
        """The first layer with parameters that runs in the model's forward: what it receives."""
        entry.first_layer = call.module
        tensor = call.args[0] if call.args else None
        if isinstance(call.module, _NORMALISING) or not isinstance(tensor, torch.Tensor) \
                or not tensor.is_floating_point() or tensor.numel() < 2:
            return
        same = tensor is self._model_input
        entry.first_layer_inputs.append((entry.statistics[-1] if same else _statistics(tensor), tensor.numel()))

    def module_exit(self, call: ModuleCall) -> None:
        if not call.stack:
            self._awaiting_first_layer = self._model_input = None

    # -- the loss's labels ----------------------------------------------------------------------

    def handlers(self) -> dict[Callable, Callable[[tuple, dict, Any], None]]:
        F = torch.nn.functional
        return {F.cross_entropy: self._labels, F.nll_loss: self._labels}

    def _labels(self, args: tuple, kwargs: dict, result: Any) -> None:
        scores = args[0] if args else kwargs.get("input")
        target = args[1] if len(args) > 1 else kwargs.get("target")
        if self.run.steps >= DATA_STEPS or not torch.is_grad_enabled() or not isinstance(target, torch.Tensor) \
                or target.is_floating_point() or target.numel() < MIN_LABELS:
            return
        if not isinstance(scores, torch.Tensor) or scores.dim() < 2 or scores.shape[1] < 2:
            return  # scores of a single class hold a single label by construction (NN206's business)
        site = self.run.user.site(sys._getframe(1))
        if site is None:
            return
        entry = self._losses.get((site.code, site.lasti))
        if entry is None:
            entry = self._losses[site.code, site.lasti] = _LossCall(site)
        with untraced():
            entry.ranges.append(torch.stack(list(torch.aminmax(target.detach()))))

    # -- after the run ---------------------------------------------------------------------------

    def finish(self) -> None:
        index = ModelIndex(root.module for root in self.run.roots.values())
        for entry in self._calls.values():
            statistics = [s.tolist() for s in entry.statistics]
            if all(low == high for low, high, _, _ in statistics):
                self._report_constant(entry, statistics[0][0])
            elif not self.run.overfit_batch:
                self._check_same_batch(entry, statistics)
            if entry.first_layer_inputs:
                self._check_scale(entry, index)
        for loss in self._losses.values():
            ranges = [r.tolist() for r in loss.ranges]
            if len(ranges) >= SINGLE_LABEL_BATCHES and all(low == high for low, high in ranges):
                labels = sorted({low for low, _ in ranges})
                self.run.report(
                    "NN807", loss.site,
                    f"each of the first {len(ranges)} training batches holds a single class (labels seen: "
                    f"{', '.join(map(str, labels[:5]))}{', ...' if len(labels) > 5 else ''}): the data is sorted by "
                    "class and not shuffled, so each step pulls the model toward one class; shuffle the "
                    "training data (DataLoader(..., shuffle=True))",
                    evidence={"batches": len(ranges), "labels": labels},
                )

    def _report_constant(self, entry: _ModelCall, value: float) -> None:
        what = "zero" if value == 0 else f"{value:.4g}"
        self.run.report(
            "NN806", entry.site,
            f"every value of the input of {type(entry.module).__name__} is {what} in each of the "
            f"{len(entry.statistics)} training call(s) seen here: the batch carries no information, so the model "
            "can only learn a constant; check the data loading and preprocessing (a tensor created empty, a "
            "mask or scale that zeroes it)",
            evidence={"calls": len(entry.statistics), "value": value},
        )

    def _check_same_batch(self, entry: _ModelCall, statistics: list[list[float]]) -> None:
        """NN805: the same input at every step, while a DataLoader with more batches exists."""
        batches, loader_site = self._largest_loader
        if len(set(entry.steps)) < SAME_BATCH_STEPS or batches < 2:
            return
        if len(set(entry.shapes)) != 1 or any(s != statistics[0] for s in statistics[1:]):
            return
        self.run.report(
            "NN805", entry.site,
            f"{type(entry.module).__name__} receives the very same batch at every one of the first "
            f"{len(set(entry.steps))} training steps, although a DataLoader with {batches} batches "
            "exists: a batch taken once (next(iter(loader)) before the loop?) is reused, so the model sees one "
            "batch instead of the dataset; draw a new batch in each step",
            related=[loader_site], evidence={"steps": len(set(entry.steps)), "loader_batches": batches},
        )

    def _check_scale(self, entry: _ModelCall, index: ModelIndex) -> None:
        """NN808: the first layer receives values far from unit scale."""
        measured = [(total / size, norm / math.sqrt(size))
                    for (_, _, total, norm), size in ((s.tolist(), size) for s, size in entry.first_layer_inputs)]
        mean, rms = min(measured, key=lambda m: m[1])
        if not math.isfinite(rms) or rms <= LARGE_INPUT_RMS:
            return
        self.run.report(
            "NN808", entry.site,
            f"the first layer of {type(entry.module).__name__}, {index.describe(entry.first_layer)}, receives "
            f"values of mean {mean:.4g} and root mean square {rms:.4g} (pixels in 0..255? raw units?): inputs far "
            "from zero mean and unit variance saturate activations and slow training down; normalise them "
            "(subtract the training set's mean and divide by its standard deviation, or scale pixels to [0, 1] "
            "and normalise)",
            related=[self.run.created_at(entry.first_layer)], evidence={"mean": mean, "rms": rms},
        )

    def release(self) -> None:
        self._loaders.clear()
        self._calls.clear()
        self._losses.clear()
        self._awaiting_first_layer = self._model_input = None


def _batches(loader: Any) -> int:
    try:
        return len(loader)
    except TypeError:  # an IterableDataset without a length
        return 0
