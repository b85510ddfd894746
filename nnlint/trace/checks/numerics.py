"""NN801: the first NaN or Inf, with the module whose output held it first and the step.

Every leaf module's output leaves a checksum (a sum, computed without synchronising); only
when the loss, a gradient or a parameter turns out non-finite are the checksums read, to
find the first module whose output was already non-finite.
"""

from __future__ import annotations

import torch

from nnlint.trace.checks.base import Backward, Check, ModuleCall, NonFinite
from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import all_finite, checksum, first_tensor
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

MAX_CHECKSUMS = 10_000


class Numerics(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.reported = False
        self._checksums: list[tuple[torch.Tensor, torch.nn.Module, Site | None]] = []

    def module_enter(self, call: ModuleCall) -> None:
        if not call.stack and not self.run.root_grad():
            self._checksums.clear()

    def module_exit(self, call: ModuleCall) -> None:
        if not call.module._modules:
            self._observe(call)
        if not call.stack and not self.run.root_grad():
            self._end_evaluation()

    def _observe(self, call: ModuleCall) -> None:
        if self.reported or len(self._checksums) >= MAX_CHECKSUMS:
            return
        tensor = first_tensor(call.output)
        if tensor is None or not tensor.is_floating_point():
            return
        self._checksums.append((checksum(tensor), call.module, self.run.user.site(call.frame)))

    def _end_evaluation(self) -> None:
        if not self.reported and self._checksums and not all_finite(c for c, _, _ in self._checksums):
            self._report("the evaluation output", self.run.eval_site(), evaluating=True)
        self._checksums.clear()

    def before_backward(self, backward: Backward) -> None:
        if self.reported:
            return
        tensors = backward.tensors
        candidates = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors or ())
        values = [t for t in candidates if isinstance(t, torch.Tensor)]
        if values and not all_finite(values):
            self._report("the loss", backward.site)

    def after_backward(self, backward: Backward) -> None:
        self._checksums.clear()

    def notice(self, event: object) -> None:
        if isinstance(event, NonFinite) and not self.reported:
            self._report(event.what, event.site)

    def _report(self, what: str, site: Site | None, evaluating: bool = False) -> None:
        self.reported = True
        step = self.run.steps + 1
        when = (f"in an evaluation after {self.run.steps} optimizer step{'s' * (self.run.steps != 1)}" if evaluating
                else f"at step {step}")
        culprit = self._first_non_finite()
        self._checksums.clear()
        if culprit is not None:
            module, where = culprit
            name = ModelIndex(root.module for root in self.run.roots.values()).describe(module)
            self.run.report(
                "NN801", where,
                f"first NaN/Inf {when}: in the output of {name}; {what} then became non-finite",
                related=[site], evidence={"step": step, "module": name, "seen_in": what},
                step=step,
            )
        else:
            self.run.report(
                "NN801", site,
                f"first NaN/Inf {when}: {what} became non-finite while every module output before it "
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

    def release(self) -> None:
        self._checksums.clear()
