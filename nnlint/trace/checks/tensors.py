"""Small measurements on tensors, made outside the autograd graph and outside the tracer's own observer."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import torch

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def untraced() -> Any:
    """A context in which the tracer's own torch calls are not observed."""
    return torch._C.DisableTorchFunction()


def norms(tensors: Sequence[torch.Tensor]) -> list[float]:
    """The L2 norm of each tensor, in one device synchronisation per device."""
    if not tensors:
        return []
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for index, tensor in enumerate(tensors):
        groups.setdefault((tensor.device, tensor.dtype), []).append(index)
    result = [0.0] * len(tensors)
    with untraced():
        for indices in groups.values():
            group = [_dense(tensors[i].detach()) for i in indices]
            try:
                values = torch._foreach_norm(group)
            except (RuntimeError, TypeError, NotImplementedError):
                values = [t.norm() for t in group]
            for index, value in zip(indices, torch.stack(values).float().tolist()):
                result[index] = value
    return result


def _dense(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.coalesce().values() if tensor.is_sparse else tensor


def all_finite(tensors: Iterable[torch.Tensor]) -> bool:
    """Whether every value of every tensor is finite, in one synchronisation per device."""
    groups: dict[torch.device, list[torch.Tensor]] = {}
    with untraced():
        for tensor in tensors:
            groups.setdefault(tensor.device, []).append(tensor.detach().reshape(-1).float())
        return all(bool(torch.isfinite(torch.cat(group)).all()) for group in groups.values())


def checksum(tensor: torch.Tensor) -> torch.Tensor:
    """A 0-dim value that is non-finite whenever the tensor holds a NaN or an Inf (no synchronisation)."""
    with untraced():
        detached = tensor.detach()
        return detached.sum(dtype=torch.float32) if detached.dtype in _LOW_PRECISION else detached.sum()


def first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        return next((v for v in value if isinstance(v, torch.Tensor)), None)
    if isinstance(value, dict):
        return next((v for v in value.values() if isinstance(v, torch.Tensor)), None)
    return None


def differentiable_tensors(value: Any, depth: int = 0) -> list[torch.Tensor]:
    """The tensors in a module's output through which a gradient can flow back."""
    if isinstance(value, torch.Tensor):
        return [value] if value.requires_grad and value.grad_fn is not None else []
    if depth > 2:
        return []
    if isinstance(value, (tuple, list)):
        items: Iterable[Any] = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return []
    return [t for item in items for t in differentiable_tensors(item, depth + 1)]
