"""NN811: a model whose output for one sample depends on the other samples of the batch (a
view or reshape across the batch axis).

After the run, a copy of each trained model, in eval mode (so that BatchNorm and Dropout
couple no samples), is fed a copy of its first training batch; the output of the first
sample is backpropagated to the input, and any gradient on another sample means the samples
are mixed. While the copy runs, the first view/reshape of the user's that turns a tensor of
the batch's size along dimension 0 into one of another size is noted: that is where the
batch is mixed. The probe runs after the hooks are removed, with the random number
generators forked, so that it changes nothing of the user's.
"""

from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from nnlint.trace.checks.base import Check, ModuleCall
from nnlint.trace.checks.tensors import first_tensor
from nnlint.trace.frames import Site, UserCode
from nnlint.trace.run import Run

# Models larger than this are not copied for the probe.
MAX_PROBE_BYTES = 1 << 30
# Layers whose first dimension is time unless batch_first says otherwise.
_SEQUENCE_FIRST = (nn.RNNBase, nn.MultiheadAttention, nn.Transformer, nn.TransformerEncoderLayer,
                   nn.TransformerDecoderLayer)
_T = torch.Tensor
_RESHAPES = (_T.view, _T.reshape, torch.reshape, _T.flatten, torch.flatten, _T.view_as, _T.reshape_as)


@dataclass
class _Batch:
    model: nn.Module
    inputs: torch.Tensor
    site: Site | None


class _ReshapeWatcher(TorchFunctionMode):
    """Notes the first reshape in the user's code that changes the size of dimension 0 from `batch`."""

    def __init__(self, batch: int, user: UserCode) -> None:
        super().__init__()
        self.batch = batch
        self.user = user
        self.site: Site | None = None

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        result = func(*args, **(kwargs or {}))
        if self.site is None and func in _RESHAPES and args and isinstance(args[0], torch.Tensor) \
                and isinstance(result, torch.Tensor) and args[0].dim() and result.dim() \
                and args[0].shape[0] == self.batch and result.shape[0] != self.batch:
            self.site = self.user.site(sys._getframe(1))
        return result


def _sequence_first(model: nn.Module) -> bool:
    return any(isinstance(m, _SEQUENCE_FIRST) and not getattr(m, "batch_first", False) for m in model.modules())


class BatchMixing(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._batches: dict[int, _Batch] = {}

    def module_enter(self, call: ModuleCall) -> None:
        if call.stack or id(call.module) in self._batches or not torch.is_grad_enabled() or not call.args:
            return
        inputs = call.args[0]
        if isinstance(inputs, torch.Tensor) and inputs.is_floating_point() and inputs.dim() >= 2 \
                and inputs.shape[0] >= 2 and not inputs.requires_grad:
            with torch._C.DisableTorchFunction():
                copied = inputs.detach().clone()
            self._batches[id(call.module)] = _Batch(call.module, copied, self.run.user.site(call.frame))

    def finish(self) -> None:
        trained = {id(m) for m in self.run.trained_roots()}
        for key, batch in self._batches.items():
            if key in trained and not _sequence_first(batch.model):
                self._probe(batch)

    def _probe(self, batch: _Batch) -> None:
        model = batch.model
        model = getattr(model, "_orig_mod", model)  # torch.compile's wrapper: the eager model, not a new compilation
        size = sum(p.numel() * p.element_size() for p in model.parameters())
        if size > MAX_PROBE_BYTES:
            return
        try:
            probe = copy.deepcopy(model).eval()
        except Exception:  # a model that cannot be copied is not probed
            return
        devices = [batch.inputs.device.index or 0] if batch.inputs.is_cuda else []
        with torch.random.fork_rng(devices=devices), torch.enable_grad():
            inputs = batch.inputs.clone().requires_grad_(True)
            watcher = _ReshapeWatcher(inputs.shape[0], self.run.user)
            with watcher:
                output = first_tensor(probe(inputs))
            if output is None or not output.is_floating_point() or output.dim() == 0 \
                    or output.shape[0] != inputs.shape[0]:
                return
            (gradient,) = torch.autograd.grad(output[0].sum(), inputs, allow_unused=True)
        if gradient is None or not bool(torch.isfinite(gradient).all()):
            return  # a NaN is NN801's business, and leaves nothing to measure here
        mixed = int((gradient[1:].flatten(1).abs().amax(dim=1) > 0).sum())
        if not mixed:
            return
        where = "" if watcher.site is None else " (this view/reshape turns the batch's dimension 0 into another size)"
        self.run.report(
            "NN811", watcher.site or batch.site,
            f"{type(model).__name__} mixes the samples of a batch{where}: in eval mode, the output of the first "
            f"sample depends on {mixed} other sample(s) of its batch of {inputs.shape[0]}; each sample's output must "
            "depend on that sample alone (a view or reshape across the batch axis? use x.view(x.size(0), -1) or "
            "permute first)",
            related=[batch.site], evidence={"batch": inputs.shape[0], "mixed_with": mixed},
        )

    def release(self) -> None:
        self._batches.clear()
