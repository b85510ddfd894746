"""Checks on what modules do: an output that never reaches the loss (NN101), a registered
submodule that never runs (NN102), a biased layer feeding BatchNorm (NN103), a module that
runs but is not registered (NN104), and Dropout/BatchNorm in training mode while
evaluating (NN401)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from nnlint.trace.checks.base import Check, GraphCut, ModuleCall
from nnlint.trace.checks.naming import ModelIndex, trainable_parameters
from nnlint.trace.checks.tensors import differentiable_tensors
from nnlint.trace.frames import Site
from nnlint.trace.run import Run

_BIASED = (nn.Linear, nn.modules.conv._ConvNd)
_BATCH_NORM = nn.modules.batchnorm._BatchNorm
_DROPOUT = nn.modules.dropout._DropoutNd
_EVAL_SENSITIVE = (_BATCH_NORM, _DROPOUT)


@dataclass
class _FirstRun:
    """The first training-mode call of a module whose output has not yet reached a backward."""

    module: nn.Module
    site: Site | None
    parent: int | None
    backward_count: int


@dataclass
class _EvalInTraining:
    root: nn.Module
    site: Site
    callers: tuple[Site, ...]
    modules: dict[int, nn.Module] = field(default_factory=dict)


@dataclass
class _Evaluation:
    """A model the user called without gradients: the call and the model methods that led to it."""

    root: nn.Module
    sites: tuple[Site, ...]


def _mark_reached(reached: set[int], key: int, grad: Any) -> None:
    reached.add(key)


def _held_unregistered(owner: nn.Module, module: nn.Module) -> bool:
    """Whether `owner` keeps `module` where nn.Module does not look: a plain list, tuple, set or
    dict attribute, or an attribute set with object.__setattr__."""
    for value in vars(owner).values():
        if value is module:
            return True
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple, set)) else ()
        if any(item is module for item in items):
            return True
    return False


class ModuleChecks(Check):
    def __init__(self, run: Run) -> None:
        super().__init__(run)
        # Parameters (id()) that the user's code cut off from the graph (.detach(), .item()...), per
        # number of backward passes made before the cut: their layers not reaching the loss is NN108's.
        self._cut_off: list[tuple[int, frozenset[int]]] = []
        self._members: dict[int, tuple[int, set[int]]] = {}
        self._trainable: dict[int, bool] = {}
        self._reached: set[int] = set()
        self._first_runs: dict[int, _FirstRun] = {}
        self._unregistered: dict[int, tuple[nn.Module, nn.Module, Site | None]] = {}
        self._eval_in_training: dict[tuple[int, object, int], _EvalInTraining] = {}
        self._evaluations: dict[tuple[int, object, int], _Evaluation] = {}
        self._bias_into_norm: dict[tuple[int, int], tuple[nn.Module, nn.Module, Site | None]] = {}
        self._last_biased: tuple[torch.Tensor, int, nn.Module] | None = None

    # -- during the run ----------------------------------------------------------------------

    def module_enter(self, call: ModuleCall) -> None:
        module, stack = call.module, call.stack
        key = id(module)
        if not stack:
            if not self.run.root_grad():
                self._start_evaluation(module)
            return
        if module.training and isinstance(module, _EVAL_SENSITIVE) and not self.run.root_grad():
            self._evaluating_in_training(module, stack[0])
        if self._last_biased is not None and call.args and module.training and isinstance(module, _BATCH_NORM):
            self._check_bias(module, call.args[0], call)
        members = self._members.get(id(stack[0]))
        if members is None or key not in members[1]:
            self._check_registered(module, stack, call)

    def module_exit(self, call: ModuleCall) -> None:
        module, output = call.module, call.output
        if torch.is_grad_enabled() and id(module) not in self._reached and self.trainable(module):
            self._watch_output(module, output, call)
        if (not module._modules and isinstance(module, _BIASED) and isinstance(output, torch.Tensor)
                and module.bias is not None and not output.is_inference()):
            self._last_biased = (output, output._version, module)

    def after_step(self, step: Any) -> None:
        self._trainable.clear()

    def trainable(self, module: nn.Module) -> bool:
        known = self._trainable.get(id(module))
        if known is None:
            known = self._trainable[id(module)] = any(p.requires_grad for p in module.parameters())
        return known

    def notice(self, event: object) -> None:
        if isinstance(event, GraphCut):
            self._cut_off.append((event.backwards, event.parameters))

    def _cut_off_explains(self, module: nn.Module) -> bool:
        """Every trainable parameter of the module is reached by a cut made before a backward():
        its output not reaching the loss is NN108's finding, not an unused output's."""
        trainable = [id(p) for p in module.parameters() if p.requires_grad]
        backwards = self.run.backward_count
        cut_off = set().union(*(parameters for before, parameters in self._cut_off if backwards > before))
        return bool(trainable) and all(key in cut_off for key in trainable)

    def _watch_output(self, module: nn.Module, output: Any, call: ModuleCall) -> None:
        """Mark the module as reaching the loss once a gradient flows back into its output."""
        tensors = differentiable_tensors(output)
        if not tensors:
            return
        key = id(module)
        if key not in self._first_runs:
            self._first_runs[key] = _FirstRun(module, self.run.user.site(call.frame),
                                              id(call.stack[-1]) if call.stack else None, self.run.backward_count)
        mark = partial(_mark_reached, self._reached, key)
        for tensor in tensors:
            tensor.register_hook(mark)

    def _start_evaluation(self, root: nn.Module) -> None:
        """A model called by the user without gradients: NN401 is disproved there if no
        Dropout or BatchNorm of it runs in training mode."""
        site = self.run.eval_site()
        if site is not None:
            key = (id(root), site.code, site.lasti)
            if key not in self._evaluations:
                self._evaluations[key] = _Evaluation(root, (site, *self.run.eval_callers()))

    def _evaluating_in_training(self, module: nn.Module, root: nn.Module) -> None:
        site = self.run.eval_site()
        if site is None or (isinstance(module, _DROPOUT) and module.p == 0):
            return
        key = (id(root), site.code, site.lasti)
        entry = self._eval_in_training.get(key)
        if entry is None:
            entry = self._eval_in_training[key] = _EvalInTraining(root, site, self.run.eval_callers())
        entry.modules.setdefault(id(module), module)

    def _check_bias(self, norm: nn.Module, tensor: Any, call: ModuleCall) -> None:
        output, version, layer = self._last_biased
        key = (id(layer), id(norm))
        if tensor is output and tensor._version == version and key not in self._bias_into_norm:
            self._bias_into_norm[key] = (layer, norm, self.run.user.site(call.frame))

    def _check_registered(self, module: nn.Module, stack: list[nn.Module], call: ModuleCall) -> None:
        key = id(module)
        if key in self._unregistered or not self.trainable(module):
            return
        root = stack[0]
        members = self._members.get(id(root))
        if members is None or members[0] != self.run.steps:
            members = self._members[id(root)] = (self.run.steps, {id(m) for m in root.modules()})
        if key in members[1]:
            return
        parent = stack[-1]
        if parent is not root and id(parent) not in members[1]:
            return  # inside a module that is itself unregistered: that one is reported
        if not (_held_unregistered(parent, module) or self.run.created_in_forward.get(module)):
            return  # passed in from outside (an argument, a global): it may be registered elsewhere
        self._unregistered[key] = (module, root, self.run.user.site(call.frame))

    # -- after the run -------------------------------------------------------------------------

    def finish(self) -> None:
        index = ModelIndex([root.module for root in self.run.roots.values()])
        self._report_unreached(index)
        self._report_never_ran(index)
        self._report_bias_into_norm(index)
        self._report_unregistered()
        self._report_evaluating_in_training(index)

    def release(self) -> None:
        for holder in (self._first_runs, self._unregistered, self._eval_in_training, self._evaluations,
                       self._bias_into_norm, self._trainable, self._members, self._cut_off):
            holder.clear()
        self._last_biased = None

    def _report_unreached(self, index: ModelIndex) -> None:
        backwards = self.run.backward_count
        unreached = {key: run for key, run in self._first_runs.items()
                     if key not in self._reached and run.backward_count < backwards}
        for key, run in unreached.items():
            if run.parent in unreached or self._cut_off_explains(run.module):
                continue
            self.run.report(
                "NN101", run.site,
                f"the output of {index.describe(run.module)} never reaches the loss: the layer runs in every "
                "training forward, but no gradient flows back into its output, so its parameters never train "
                "(an overwritten or unused result?)",
                related=[self.run.created_at(run.module)],
                evidence={"module": index.describe(run.module), "backward_passes": backwards},
            )

    def _report_never_ran(self, index: ModelIndex) -> None:
        if not self.run.backward_count:
            return
        had_gradient = self.run.parameters_with_grad
        for root in self.run.roots.values():
            if not root.trained:
                continue
            covered: list[str] = []
            for name, module in root.module.named_modules():
                if not name or any(name.startswith(c + ".") for c in covered):
                    continue
                if any(id(m) in self.run.ran for m in module.modules()):
                    continue
                parameters = trainable_parameters(module)
                if not parameters or any(id(p) in had_gradient for p in parameters):
                    continue
                covered.append(name)
                self.run.report(
                    "NN102", self.run.created_at(module) or root.site,
                    f"{index.describe(module)} is registered in {type(root.module).__name__} but never ran during "
                    f"the {self.run.steps} traced step(s), and none of its parameters got a gradient: it is "
                    "defined but not used in forward",
                    related=[root.site], evidence={"module": index.describe(module)},
                )

    def _report_bias_into_norm(self, index: ModelIndex) -> None:
        for layer, norm, site in self._bias_into_norm.values():
            self.run.report(
                "NN103", self.run.created_at(layer) or site,
                f"{index.describe(layer)} has a bias, and its output goes straight into {index.describe(norm)}, "
                "which subtracts the batch mean and so cancels the bias: create the layer with bias=False",
                related=[self.run.created_at(norm), site],
                evidence={"layer": index.describe(layer), "norm": index.describe(norm)},
            )

    def _report_unregistered(self) -> None:
        for module, root, site in self._unregistered.values():
            kind, model = type(module).__name__, type(root).__name__
            if self.run.created_in_forward.get(module):
                message = (f"a new {kind} is created inside {model}'s forward at every call: its weights are "
                           "random each time and no optimizer trains them; create it once in __init__")
            else:
                message = (f"{kind} runs inside {model}'s forward but is not registered in it (held in a plain "
                           "list, dict or non-module attribute): model.parameters(), .to(device) and state_dict() "
                           "miss it, so the optimizer never trains it; use nn.ModuleList / nn.ModuleDict")
            self.run.report("NN104", self.run.created_at(module) or site, message, related=[site],
                            evidence={"module": kind, "model": model})

    def _report_evaluating_in_training(self, index: ModelIndex) -> None:
        # A model that is trained in this run and run without gradients is being evaluated. A
        # model that is only ever run without gradients while others train (MoCo's key
        # encoder, BYOL's target network, a teacher) may keep training mode on purpose.
        training_run = self.run.backward_count > 0
        # A part of a trained model that trains with it (`model.body(x)` in a method of the model)
        # is that model; a frozen part (a momentum encoder kept inside the model) is not.
        trained = {id(m) for root in self.run.trained_roots() for m in root.modules() if self.trainable(m)}
        for entry in self._eval_in_training.values():
            if training_run and id(entry.root) not in trained:
                continue
            names = ", ".join(index.describe(m) for m in entry.modules.values())
            self.run.report(
                "NN401", entry.site,
                f"{type(entry.root).__name__} runs with gradients disabled (evaluation), but {names} "
                f"{'is' if len(entry.modules) == 1 else 'are'} in training mode: dropout stays random and "
                "BatchNorm uses and updates batch statistics; call model.eval() before evaluating",
                related=entry.callers, evidence={"modules": names},
            )
        for key, evaluation in self._evaluations.items():
            if key not in self._eval_in_training:
                self.run.clear("NN401", evaluation.sites, f"{type(evaluation.root).__name__} ran without gradients "
                               "with no Dropout or BatchNorm in training mode")
