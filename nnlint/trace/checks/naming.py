"""How a finding names a module or parameter: its path in the model, as named_modules gives it."""

from __future__ import annotations

from typing import Iterable, Iterator

import torch


class ModelIndex:
    """Names of modules and parameters inside the models that ran (computed once, when reporting)."""

    def __init__(self, roots: Iterable[torch.nn.Module]) -> None:
        self.roots = list(dict.fromkeys(roots))
        self._modules: dict[int, tuple[torch.nn.Module, str]] = {}
        self._parameters: dict[int, str] = {}
        for root in self.roots:
            for name, module in root.named_modules(remove_duplicate=False):
                self._modules.setdefault(id(module), (root, name))
            for name, parameter in root.named_parameters(remove_duplicate=False):
                self._parameters.setdefault(id(parameter), name)

    def contains(self, module: torch.nn.Module) -> bool:
        return id(module) in self._modules

    def describe(self, module: torch.nn.Module) -> str:
        """`encoder.fc` (Linear), or the class name for a model itself."""
        found = self._modules.get(id(module))
        kind = type(module).__name__
        if found is None or not found[1]:
            return kind
        return f"`{found[1]}` ({kind})"

    def parameter(self, parameter: torch.Tensor) -> str:
        return self._parameters.get(id(parameter), f"a {tuple(parameter.shape)} parameter")

    def topmost(self, parameter_ids: set[int]) -> Iterator[torch.nn.Module]:
        """The largest modules whose trainable parameters are all in `parameter_ids` (none inside another)."""
        for root in self.roots:
            covered: list[str] = []
            for name, module in root.named_modules():
                if any(c == "" or name == c or name.startswith(c + ".") for c in covered):
                    continue
                trainable = [p for p in module.parameters() if p.requires_grad]
                if trainable and all(id(p) in parameter_ids for p in trainable):
                    covered.append(name)
                    yield module


def trainable_parameters(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p for p in module.parameters() if p.requires_grad]
