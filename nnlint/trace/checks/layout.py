"""NN501: a view or reshape whose output shape is a reordering of its input's, which
scrambles the data where a permute was meant."""

from __future__ import annotations

import sys
from typing import Any, Callable

import torch

from nnlint.trace.checks.base import Check
from nnlint.trace.run import Run


def is_reordering(before: tuple[int, ...], after: tuple[int, ...]) -> bool:
    """Same sizes in another order, with distinct sizes so that the order is unambiguous.

    Moving a size-1 dimension does not move any data, so only the order of the other sizes counts.
    """
    if len(before) != len(after) or len(before) < 2 or before == after:
        return False
    if len(set(before)) != len(before) or sorted(before) != sorted(after):
        return False
    return [s for s in before if s != 1] != [s for s in after if s != 1]


class LayoutChecks(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._reported: set[tuple[object, int]] = set()

    def handlers(self) -> dict[Callable, Callable[[tuple, dict, Any], None]]:
        T = torch.Tensor
        return {function: self._reshaped for function in (T.view, T.reshape, T.view_as, T.reshape_as, torch.reshape)}

    def _reshaped(self, args: tuple, kwargs: dict, result: Any) -> None:
        source = args[0] if args else kwargs.get("input")
        if not isinstance(source, torch.Tensor) or not isinstance(result, torch.Tensor):
            return
        before, after = tuple(source.shape), tuple(result.shape)
        if not is_reordering(before, after):
            return
        site = self.run.user.site(sys._getframe(1))
        if site is None or (site.code, site.lasti) in self._reported:
            return
        self._reported.add((site.code, site.lasti))
        self.run.report(
            "NN501", site,
            f"view/reshape turns shape {before} into {after}, a reordering of the same sizes: this keeps the "
            "memory order, so the values land in the wrong places; use permute (or transpose) to reorder "
            "dimensions",
            evidence={"input_shape": before, "output_shape": after}, step=self.run.steps + 1,
        )
