"""NN108 at runtime: parameters of an optimizer that steps, which ran in the forward but never
received a gradient, and the user's line where `.detach()`, `.data`, `.item()`, `.numpy()`, `.tolist()`, `float()`
or `torch.tensor(...)` made a value without a graph from a tensor whose graph reached them."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

import torch

from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.frames import Site

if TYPE_CHECKING:
    from nnlint.trace.session import Session

# Each cut site's input graph is walked this many times (the first calls), each walk visiting at
# most this many autograd nodes: a logging `.item()` runs every step, its graph is the same.
WALKS_PER_SITE = 2
MAX_NODES = 200_000


@dataclass
class _Cut:
    site: Site
    spelling: str
    backwards_before: int  # backward() calls made before this site first cut a graph
    reached: set[int] = field(default_factory=set)
    walks: int = 0


def reached_parameters(tensors: Iterable[torch.Tensor]) -> set[int]:
    """id() of the leaf tensors (parameters) whose gradient the graph of `tensors` would reach."""
    found: set[int] = set()
    stack = [t.grad_fn for t in tensors if t.grad_fn is not None]
    seen: set[int] = set()
    while stack and len(seen) < MAX_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            found.add(id(variable))
        stack.extend(following for following, _ in node.next_functions)
    return found


def _graph_tensors(value: Any) -> list[torch.Tensor]:
    """The tensors with a graph among a cut's input: a tensor, or a list of them (`torch.tensor([...])`)."""
    if isinstance(value, torch.Tensor):
        return [value] if value.grad_fn is not None else []
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, torch.Tensor) and item.grad_fn is not None]
    return []


class CutChecks:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._cuts: dict[tuple[object, int], _Cut] = {}

    def handlers(self) -> dict[Callable, Callable[[tuple, dict, Any], None]]:
        T = torch.Tensor
        cuts: dict[Callable, str] = {
            T.detach: ".detach()", T.detach_: ".detach_()", T.item: ".item()", T.tolist: ".tolist()",
            T.numpy: ".numpy()", T.__float__: "float()", T.__int__: "int()", torch.tensor: "torch.tensor(...)",
            T.data.__get__: ".data",
        }
        return {function: self._cut_handler(spelling) for function, spelling in cuts.items()}

    def _cut_handler(self, spelling: str) -> Callable[[tuple, dict, Any], None]:
        def handler(args: tuple, kwargs: dict, result: Any) -> None:
            self._cut(spelling, args, result)

        return handler

    def _cut(self, spelling: str, args: tuple, result: Any) -> None:
        if not args or (isinstance(result, torch.Tensor) and result.grad_fn is not None):
            return
        tensors = _graph_tensors(args[0])
        if not tensors:
            return
        site = self.session.user.site(sys._getframe(1))
        if site is None:
            return
        key = (site.code, site.lasti)
        cut = self._cuts.get(key)
        if cut is None:
            cut = self._cuts[key] = _Cut(site, spelling, self.session.gradients.backward_count)
        if cut.walks < WALKS_PER_SITE:
            cut.walks += 1
            cut.reached |= reached_parameters(tensors)

    def explains(self, module: torch.nn.Module) -> bool:
        """Every trainable parameter of the module is reached by a cut made before a backward():
        its output not reaching the loss is this check's finding, not an unused output's."""
        trainable = [id(p) for p in module.parameters() if p.requires_grad]
        backwards = self.session.gradients.backward_count
        cut_off = set().union(*(cut.reached for cut in self._cuts.values() if backwards > cut.backwards_before))
        return bool(trainable) and all(key in cut_off for key in trainable)

    def finish(self) -> None:
        gradients = self.session.gradients
        if not self._cuts or not gradients.backward_count:
            return
        roots = self.session.modules.trained_roots()
        ran = {id(p) for root in roots for module in root.modules() if self.session.modules.ran(module)
               for p in module.parameters(recurse=False) if p.requires_grad}
        # An optimizer that never stepped may simply not have had its turn yet (a GAN's generator
        # stepped once every few discriminator steps): only parameters of one that stepped count.
        starved = {key for key in gradients.optimized_parameters(stepped=True) if key in ran} \
            - gradients.parameters_with_grad
        if not starved:
            return
        index = ModelIndex(roots)
        for cut in self._cuts.values():
            cut_off = cut.reached & starved
            if not cut_off or gradients.backward_count <= cut.backwards_before:
                continue  # a cut made only after the last backward() (evaluation, a final report)
            shown = ", ".join(index.describe(module) for module in index.topmost(cut_off))
            self.session.report(
                "NN108", cut.site,
                f"`{cut.spelling}` here makes a value without a graph from a tensor computed by {shown}, whose "
                "parameters are in the optimizer and ran in the forward but never received a gradient: the loss "
                "reaches them only through this cut, so they never train; keep the graph on the way to the loss",
                evidence={"modules": shown, "parameters": len(cut_off)},
            )

    def release(self) -> None:
        self._cuts.clear()
