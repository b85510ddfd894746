"""NN801: the first NaN or Inf, with the module whose output held it first and the step.

Every leaf module's output leaves a checksum (a sum, computed without synchronising); only
when the loss, a gradient or a parameter turns out non-finite are the checksums read, to
find the first module whose output was already non-finite.
"""

from __future__ import annotations

from types import FrameType
from typing import TYPE_CHECKING, Any, Sequence

import torch

from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import all_finite, checksum, first_tensor
from nnlint.trace.frames import Site

if TYPE_CHECKING:
    from nnlint.trace.session import Session

MAX_CHECKSUMS = 10_000


class Numerics:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.reported = False
        self._checksums: list[tuple[torch.Tensor, torch.nn.Module, Site | None]] = []

    def observe(self, module: torch.nn.Module, output: Any, frame: FrameType) -> None:
        if self.reported or len(self._checksums) >= MAX_CHECKSUMS:
            return
        tensor = first_tensor(output)
        if tensor is None or not tensor.is_floating_point():
            return
        self._checksums.append((checksum(tensor), module, self.session.user.site(frame)))

    def start_eval_forward(self) -> None:
        self._checksums.clear()

    def end_eval_forward(self, site: Site | None) -> None:
        if not self.reported and self._checksums and not all_finite(c for c, _, _ in self._checksums):
            self._report("the evaluation output", site)
        self._checksums.clear()

    def check_loss(self, tensors: Any, site: Site | None) -> None:
        if self.reported:
            return
        candidates = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors or ())
        values = [t for t in candidates if isinstance(t, torch.Tensor)]
        if values and not all_finite(values):
            self._report("the loss", site)

    def after_backward(self) -> None:
        self._checksums.clear()

    def gradients_not_finite(self, names: Sequence[str], site: Site | None) -> None:
        if not self.reported:
            self._report(f"the gradient of {_listing(names)}", site)

    def parameters_not_finite(self, names: Sequence[str], site: Site | None) -> None:
        if not self.reported:
            self._report(f"{_listing(names)} after optimizer.step()", site)

    def _report(self, what: str, site: Site | None) -> None:
        self.reported = True
        step = self.session.steps + 1
        culprit = self._first_non_finite()
        self._checksums.clear()
        if culprit is not None:
            module, where = culprit
            name = ModelIndex(self.session.modules.trained_roots()).describe(module)
            self.session.report(
                "NN801", where,
                f"first NaN/Inf at step {step}: in the output of {name}; {what} then became non-finite",
                related=[site], evidence={"step": step, "module": name, "seen_in": what},
                step=step,
            )
        else:
            self.session.report(
                "NN801", site,
                f"first NaN/Inf at step {step}: {what} became non-finite while every module output before it "
                "was finite (the cause is in the code between the model's outputs and here)",
                evidence={"step": step, "seen_in": what}, step=step,
            )

    def _first_non_finite(self) -> tuple[torch.nn.Module, Site | None] | None:
        if not self._checksums or all_finite(c for c, _, _ in self._checksums):
            return None
        for value, module, site in self._checksums:
            if not all_finite([value]):
                return module, site
        return None


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")
