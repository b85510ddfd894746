"""`--overfit-batch`: the script's own loop, loader, model and optimizer, fed its first batch at every step.

Only the data is held, where it enters training: each DataLoader's first batch is returned
again at every draw (the loader still runs, so that epochs keep their length), the first
tensors a model receives at each of the user's calls in a training forward are passed again
at that call, and so are the first targets of each of the user's calls of a standard loss.
Everything else (the loop, the optimizer, the schedules, the RNG) runs as the script says.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterator

import torch
from torch.compiler import is_compiling
from torch.utils.weak import WeakIdKeyDictionary

from nnlint.trace.checks.tensors import untraced
from nnlint.trace.run import Run

# The losses whose target (second argument) is held: torch.nn.functional and the nn.*Loss modules that call it.
_F = torch.nn.functional
LOSSES = (
    _F.cross_entropy, _F.nll_loss, _F.mse_loss, _F.l1_loss, _F.smooth_l1_loss, _F.huber_loss, _F.kl_div,
    _F.binary_cross_entropy, _F.binary_cross_entropy_with_logits, _F.poisson_nll_loss, _F.multi_margin_loss,
    _F.multilabel_soft_margin_loss, _F.soft_margin_loss,
)


def _copy(value: Any) -> Any:
    """The same structure with every tensor cloned, so that the script may change what it gets in place."""
    if isinstance(value, torch.Tensor):
        with untraced():
            return value.detach().clone()
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_copy(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return type(value)((k, _copy(v)) for k, v in value.items())
    return value


def _same_kind(held: torch.Tensor, new: torch.Tensor) -> bool:
    return held.shape == new.shape and held.dtype == new.dtype and held.device == new.device


class _HeldIterator:
    """A DataLoader's iterator that draws as the real one does but returns the loader's first batch."""

    def __init__(self, real: Iterator, holder: BatchHolder, loader: Any) -> None:
        self._real = real
        self._holder = holder
        self._loader = loader

    def __iter__(self) -> _HeldIterator:
        return self

    def __next__(self) -> Any:
        return self._holder.loader_batch(self._loader, next(self._real))

    def __len__(self) -> int:
        return len(self._real)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class BatchHolder:
    """Holds the first batch where it enters training, and records in `run.held` where it did."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._loader_batches: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._inputs: dict[tuple[int, object, int, int], torch.Tensor] = {}
        self._targets: dict[tuple[object, int], torch.Tensor] = {}

    def _held(self, what: str) -> None:
        if what not in self.run.held:
            self.run.held.append(what)

    # -- DataLoader ---------------------------------------------------------------------------

    def wrap_iter(self, original: Callable) -> Callable:
        holder = self

        def __iter__(loader: Any) -> Any:
            return _HeldIterator(original(loader), holder, loader)

        return __iter__

    def loader_batch(self, loader: Any, batch: Any) -> Any:
        held = self._loader_batches.get(loader)
        if held is None:
            held = self._loader_batches[loader] = _copy(batch)
            self._held("the first batch of each DataLoader")
        return _copy(held)

    # -- the model's inputs -------------------------------------------------------------------

    def before_forward(self, module: torch.nn.Module, args: tuple) -> tuple | None:
        """A global forward pre-hook: the data tensors of a model called for training, as first seen at that call."""
        if is_compiling() or not torch.is_grad_enabled() or self.run.module_stack():
            return None
        site = self.run.user.site(sys._getframe(1))
        if site is None:
            return None
        replaced = list(args)
        for position, value in enumerate(args):
            if not isinstance(value, torch.Tensor) or value.requires_grad:
                continue
            key = (id(module), site.code, site.lasti, position)
            held = self._inputs.get(key)
            if held is None:
                self._inputs[key] = _copy(value)
                self._held("the model's inputs")
            elif _same_kind(held, value):
                replaced[position] = _copy(held)
        return tuple(replaced) if any(new is not old for new, old in zip(replaced, args)) else None

    # -- the losses' targets ------------------------------------------------------------------

    def substitutions(self) -> dict[Callable, Callable[[tuple, dict], tuple[tuple, dict]]]:
        """For the observer: per loss function, what rewrites its arguments before it runs."""
        return {loss: self._target for loss in LOSSES}

    def _target(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        in_args = len(args) > 1
        target = args[1] if in_args else kwargs.get("target")
        if not isinstance(target, torch.Tensor) or target.requires_grad or not torch.is_grad_enabled():
            return args, kwargs
        site = self.run.user.site(sys._getframe(2))
        if site is None:
            return args, kwargs
        key = (site.code, site.lasti)
        held = self._targets.get(key)
        if held is None:
            self._targets[key] = _copy(target)
            self._held("the targets of the losses")
            return args, kwargs
        if not _same_kind(held, target):
            return args, kwargs
        if in_args:
            return (args[0], _copy(held), *args[2:]), kwargs
        return args, {**kwargs, "target": _copy(held)}

    def release(self) -> None:
        self._inputs.clear()
        self._targets.clear()
