"""Checks on gradients and updates: gradients carried over from the previous step (NN301),
gradients erased before the step (NN302), parameters outside every optimizer or that never
move (NN104; NN308 when a whole trained model is outside), and the size of each update relative
to its weights (NN803)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from nnlint.trace.checks.naming import ModelIndex
from nnlint.trace.checks.tensors import norms, untraced
from nnlint.trace.frames import Site

if TYPE_CHECKING:
    from nnlint.trace.session import Session

# Healthy training moves each weight matrix by 1e-5 to 1e-1 of its norm per step. Reported:
# a step that moves a matrix by more than its whole norm, or steps that all stay ten times
# below the band. Matrices initialised to zero (LoRA's B, zero-init residual branches) have
# no scale to compare with and are left out.
RATIO_HIGH = 1.0
RATIO_LOW = 1e-6


@dataclass
class _Optimizer:
    optimizer: torch.optim.Optimizer
    created: Site | None
    step_site: Site | None = None
    steps: int = 0
    backward_since_step: bool = False
    grads_after_backward: bool = False
    snapshot: tuple[list[torch.Tensor], list[torch.Tensor], list[float]] | None = None


@dataclass
class _Updates:
    """What the measured steps did to one parameter."""

    parameter: torch.Tensor
    owner: _Optimizer
    measured: int = 0
    changed: int = 0
    zero_at_start: bool = False
    ratios: list[float] = field(default_factory=list)


def parameters_of(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in getattr(optimizer, "param_groups", ()) for p in group["params"]]


class GradientChecks:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.backward_count = 0
        self.parameters_with_grad: set[int] = set()
        self._optimizers: dict[int, _Optimizer] = {}
        self._updates: dict[int, _Updates] = {}
        self._backward_site: Site | None = None
        self._zeroed_after_backward: Site | None = None
        # NN301: gradients a step has used and nothing has reset since; those a backward then
        # added to ("polluted"), and the backward that did it.
        self._used: dict[int, torch.Tensor] = {}
        self._before: list[tuple[torch.Tensor, float]] = []
        self._polluted: dict[int, tuple[torch.Tensor, Site | None]] = {}

    def optimized_parameters(self, stepped: bool = False) -> set[int]:
        """id() of every parameter some optimizer of the run holds (that stepped at least once)."""
        return {id(p) for record in self._optimizers.values() if record.steps or not stepped
                for p in parameters_of(record.optimizer)}

    def steps_of(self, optimizer: torch.optim.Optimizer) -> int:
        record = self._optimizers.get(id(optimizer))
        return record.steps if record else 0

    def track(self, optimizer: torch.optim.Optimizer) -> None:
        """Follow an optimizer from its creation (before its first step)."""
        self._record(optimizer)

    def _record(self, optimizer: torch.optim.Optimizer) -> _Optimizer:
        record = self._optimizers.get(id(optimizer))
        if record is None or record.optimizer is not optimizer:
            record = self._optimizers[id(optimizer)] = _Optimizer(optimizer, self.session.created_at(optimizer))
        return record

    # -- backward --------------------------------------------------------------------------

    def before_backward(self) -> None:
        pool = dict(self._used)
        pool.update((key, parameter) for key, (parameter, _) in self._polluted.items())
        self._used = {}
        self._before = []
        if not pool:
            return
        live = [p for p in pool.values() if p.grad is not None]
        values = norms([p.grad for p in live])
        self._before = [(p, value) for p, value in zip(live, values) if value != 0]
        still = {id(p) for p, _ in self._before}
        for key in [key for key in self._polluted if key not in still]:
            del self._polluted[key]

    def after_backward(self, site: Site | None) -> None:
        self.backward_count += 1
        self._backward_site = site
        self._zeroed_after_backward = None
        if self._before:
            parameters = [p for p, _ in self._before if p.grad is not None]
            now = dict(zip(map(id, parameters), norms([p.grad for p in parameters])))
            for parameter, before in self._before:
                key = id(parameter)
                if key in now and now[key] != before and key not in self._polluted:
                    self._polluted[key] = (parameter, site)
            self._before = []
        for record in self._optimizers.values():
            record.backward_since_step = True
            record.grads_after_backward = any(p.grad is not None for p in parameters_of(record.optimizer))
        for root in self.session.modules.trained_roots():
            self.parameters_with_grad.update(id(p) for p in root.parameters() if p.grad is not None)

    def on_zero_grad(self, site: Site | None) -> None:
        if self.backward_count and self._zeroed_after_backward is None:
            self._zeroed_after_backward = site

    # -- step ---------------------------------------------------------------------------------

    def before_step(self, optimizer: torch.optim.Optimizer, site: Site | None) -> None:
        record = self._record(optimizer)
        record.step_site = site
        parameters = parameters_of(optimizer)
        with_grad = [p for p in parameters if p.grad is not None]
        measure = record.steps < self.session.measured_steps
        values = norms([p.grad for p in with_grad] + ([p.detach() for p in with_grad] if measure else []))
        grad_norms, weight_norms = values[:len(with_grad)], values[len(with_grad):]
        step = self.session.steps + 1

        not_finite = [p for p, n in zip(with_grad, grad_norms) if not math.isfinite(n)]
        if not_finite:
            names = ModelIndex(self.session.modules.trained_roots())
            self.session.numerics.gradients_not_finite([names.parameter(p) for p in not_finite], self._backward_site)

        if record.backward_since_step and record.grads_after_backward and all(n == 0 for n in grad_norms):
            what = "zero" if with_grad else "None"
            self.session.report(
                "NN302", self._zeroed_after_backward or site,
                f"every gradient is {what} when optimizer.step() runs (step {step}), although backward() ran: "
                "the gradients are cleared between backward() and step(), so the step changes nothing; call "
                "zero_grad() before backward() (or after step())",
                related=[site, self._backward_site], evidence={"step": step, "gradients": what}, step=step,
            )

        polluted = [self._polluted.pop(id(p)) for p in parameters if id(p) in self._polluted]
        if polluted:
            names = ModelIndex(self.session.modules.trained_roots())
            shown = ", ".join(names.parameter(p) for p, _ in polluted[:3])
            self.session.report(
                "NN301", polluted[0][1],
                f"this backward() adds to gradients that the previous optimizer.step() already used (of {shown}"
                f"{' and more' if len(polluted) > 3 else ''}): nothing zeroes them between steps, so step {step} "
                "applies old gradients again; call optimizer.zero_grad() once per step",
                related=[site], evidence={"step": step, "parameters": len(polluted)}, step=step,
            )

        if measure and with_grad:
            with untraced():
                record.snapshot = (with_grad, [p.detach().clone() for p in with_grad], weight_norms)
        record.backward_since_step = False

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        record = self._record(optimizer)
        record.steps += 1
        snapshot, record.snapshot = record.snapshot, None
        if snapshot is not None:
            self._measure(record, *snapshot)
        self._used.update((id(p), p) for p in parameters_of(optimizer) if p.grad is not None)

    def _measure(self, record: _Optimizer, parameters: list[torch.Tensor], before: list[torch.Tensor],
                 weight_norms: list[float]) -> None:
        with untraced():
            for old, parameter in zip(before, parameters):
                old.sub_(parameter.detach())
        deltas = norms(before)
        not_finite = []
        for parameter, delta, weight in zip(parameters, deltas, weight_norms):
            updates = self._updates.get(id(parameter))
            if updates is None:
                updates = self._updates[id(parameter)] = _Updates(parameter, record, zero_at_start=weight == 0)
            updates.measured += 1
            updates.changed += delta != 0
            if not math.isfinite(delta) and math.isfinite(weight):
                not_finite.append(parameter)
            elif parameter.dim() >= 2 and weight > 0 and delta > 0 and not updates.zero_at_start:
                updates.ratios.append(delta / weight)
        if not_finite:
            names = ModelIndex(self.session.modules.trained_roots())
            self.session.numerics.parameters_not_finite([names.parameter(p) for p in not_finite], record.step_site)

    # -- after the run -------------------------------------------------------------------------

    def finish(self) -> None:
        if not self._optimizers:
            return
        index = ModelIndex(self.session.modules.trained_roots())
        self._report_outside_optimizers(index)
        self._report_stuck(index)
        self._report_update_ratios(index)

    def release(self) -> None:
        self._optimizers.clear()
        self._updates.clear()
        self._used.clear()
        self._polluted.clear()
        self._before = []

    def _first_optimizer(self) -> _Optimizer:
        return next(iter(self._optimizers.values()))

    def _report_outside_optimizers(self, index: ModelIndex) -> None:
        optimized = self.optimized_parameters()
        outside = {key for key in self.parameters_with_grad if key not in optimized}
        record = self._first_optimizer()
        for module in index.topmost(outside):
            if module in index.roots:
                self._report_model_outside_optimizers(record, module)
                continue
            self.session.report(
                "NN104", record.created or record.step_site,
                f"the parameters of {index.describe(module)} receive gradients but are in no optimizer's param "
                "groups, so they never train: pass them to the optimizer (or freeze them with "
                "requires_grad_(False))",
                related=[self.session.created_at(module)], evidence={"module": index.describe(module)},
                distinct=f"outside {index.describe(module)}",
            )

    def _report_model_outside_optimizers(self, record: _Optimizer, model: torch.nn.Module) -> None:
        """The whole model that trains is in no optimizer: the optimizers hold another object
        (the model re-created or copied after the optimizer was built from it)."""
        name = type(model).__name__
        self.session.report(
            "NN308", record.created or record.step_site,
            f"the model this run trains ({name}) receives gradients, but none of its parameters is in any optimizer: "
            "the optimizer holds the parameters of another object (a model re-created, replaced or copied after the "
            "optimizer was built from it), so the trained model's weights never change; build the optimizer from "
            "the model that trains",
            related=[self.session.created_at(model)], evidence={"model": name},
            distinct=f"outside {name}",
        )

    def _report_stuck(self, index: ModelIndex) -> None:
        stuck = {key for key, u in self._updates.items() if u.measured >= 2 and not u.changed}
        for module in index.topmost(stuck):
            owner = next(u.owner for u in self._updates.values() if any(p is u.parameter for p in module.parameters()))
            self.session.report(
                "NN104", owner.created or owner.step_site,
                f"the parameters of {index.describe(module)} are in the optimizer and receive gradients, but did not "
                f"change in {owner.steps} steps (a learning rate of 0, or gradients that are always zero): the "
                "layer is stuck",
                related=[self.session.created_at(module)], evidence={"module": index.describe(module)},
                distinct=f"stuck {index.describe(module)}",
            )

    def _report_update_ratios(self, index: ModelIndex) -> None:
        for record in self._optimizers.values():
            largest = [(max(u.ratios), u.parameter) for u in self._updates.values() if u.owner is record and u.ratios]
            high = sorted(((r, p) for r, p in largest if r > RATIO_HIGH), key=lambda item: -item[0])
            low = sorted((r, p) for r, p in largest if r < RATIO_LOW)
            if high:
                summary = "a single step moved them by more than their own norm"
                advice = "too high"
                found = high
            elif low:
                summary = "no step moved them by even 1e-6 of their norm"
                advice = "too low"
                found = low
            else:
                continue
            shown = ", ".join(f"{index.parameter(p)} {r:.2g}" for r, p in found[:3])
            self.session.report(
                "NN803", record.created or record.step_site,
                f"update/weight ratio far outside the healthy 1e-5..1e-1 per step: {summary} (largest ratio: "
                f"{shown}); the learning rate ({_learning_rates(record.optimizer)}) is probably {advice}",
                related=[record.step_site], evidence={"ratios": {index.parameter(p): r for r, p in found}},
            )


def _learning_rates(optimizer: torch.optim.Optimizer) -> str:
    rates = sorted({group.get("lr") for group in optimizer.param_groups if isinstance(group.get("lr"), (int, float))})
    return ", ".join(f"lr={rate:g}" for rate in rates) or "unknown"
