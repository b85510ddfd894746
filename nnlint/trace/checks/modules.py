"""Checks on what modules do: an output that never reaches the loss (NN101), a registered
submodule that never runs (NN102), a biased layer feeding BatchNorm (NN103), a module that
runs but is not registered (NN104), and Dropout/BatchNorm in training mode while
evaluating (NN401)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.modules import module as module_file

from nnlint.trace.checks.naming import ModelIndex, trainable_parameters
from nnlint.trace.checks.tensors import differentiable_tensors
from nnlint.trace.frames import Site

if TYPE_CHECKING:
    from nnlint.trace.session import Session

_BIASED = (nn.Linear, nn.modules.conv._ConvNd)
_BATCH_NORM = nn.modules.batchnorm._BatchNorm
_DROPOUT = nn.modules.dropout._DropoutNd
_EVAL_SENSITIVE = (_BATCH_NORM, _DROPOUT)
_MODULE_CALL_FILE = module_file.__file__


@dataclass
class _Root:
    module: nn.Module
    site: Site | None
    trained: bool


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
    modules: dict[int, nn.Module] = field(default_factory=dict)


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


class ModuleChecks:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._roots: dict[int, _Root] = {}
        self._ran: set[int] = set()
        self._members: dict[int, tuple[int, set[int]]] = {}
        self._trainable: dict[int, bool] = {}
        self._reached: set[int] = set()
        self._first_runs: dict[int, _FirstRun] = {}
        self._unregistered: dict[int, tuple[nn.Module, nn.Module, Site | None]] = {}
        self._eval_in_training: dict[tuple[int, object, int], _EvalInTraining] = {}
        self._bias_into_norm: dict[tuple[int, int], tuple[nn.Module, nn.Module, Site | None]] = {}
        self._last_biased: tuple[torch.Tensor, int, nn.Module] | None = None

    # -- during the run ----------------------------------------------------------------------

    def enter_root(self, module: nn.Module, frame: FrameType) -> None:
        thread = self.session.thread
        grad = torch.is_grad_enabled()
        thread.root_grad = grad
        key = id(module)
        self._ran.add(key)
        root = self._roots.get(key)
        if root is None or (grad and not root.trained):
            self._roots[key] = _Root(module, self.session.user.site(frame), grad)
        if not grad:
            user = self.session.user
            # Library code that runs a model in training mode without gradients (BatchNorm
            # re-estimation such as swa_utils.update_bn) does it on purpose: only user calls count.
            thread.eval_site = user.site(frame) if user.caller_is_user(frame, _MODULE_CALL_FILE) else None
            self.session.numerics.start_eval_forward()

    def enter_child(self, module: nn.Module, stack: list[nn.Module], args: tuple, frame: FrameType) -> None:
        key = id(module)
        self._ran.add(key)
        if module.training and isinstance(module, _EVAL_SENSITIVE) and not self._root_grad():
            self._evaluating_in_training(module, stack[0])
        if self._last_biased is not None and args and module.training and isinstance(module, _BATCH_NORM):
            self._check_bias(module, args[0], frame)
        members = self._members.get(id(stack[0]))
        if members is None or key not in members[1]:
            self._check_registered(module, stack, frame)

    def exit(self, module: nn.Module, output: Any, stack: list[nn.Module], frame: FrameType) -> None:
        if torch.is_grad_enabled() and id(module) not in self._reached and self.trainable(module):
            self._watch_output(module, output, stack, frame)
        if not module._modules:
            if isinstance(module, _BIASED) and isinstance(output, torch.Tensor) and module.bias is not None:
                self._last_biased = (output, output._version, module)
            self.session.numerics.observe(module, output, frame)
        if not stack and not self._root_grad():
            self.session.numerics.end_eval_forward(getattr(self.session.thread, "eval_site", None))

    def _root_grad(self) -> bool:
        """Whether the outermost module call of this thread ran with gradients enabled."""
        return getattr(self.session.thread, "root_grad", True)

    def after_step(self) -> None:
        self._trainable.clear()

    def trainable(self, module: nn.Module) -> bool:
        known = self._trainable.get(id(module))
        if known is None:
            known = self._trainable[id(module)] = any(p.requires_grad for p in module.parameters())
        return known

    def ran(self, module: nn.Module) -> bool:
        """Whether the module's forward ran during the trace."""
        return id(module) in self._ran

    def trained_roots(self) -> list[nn.Module]:
        return [root.module for root in self._roots.values() if root.trained]

    def _watch_output(self, module: nn.Module, output: Any, stack: list[nn.Module], frame: FrameType) -> None:
        """Mark the module as reaching the loss once a gradient flows back into its output."""
        tensors = differentiable_tensors(output)
        if not tensors:
            return
        key = id(module)
        if key not in self._first_runs:
            self._first_runs[key] = _FirstRun(module, self.session.user.site(frame), id(stack[-1]) if stack else None,
                                              self.session.gradients.backward_count)
        mark = partial(_mark_reached, self._reached, key)
        for tensor in tensors:
            tensor.register_hook(mark)

    def _evaluating_in_training(self, module: nn.Module, root: nn.Module) -> None:
        site = getattr(self.session.thread, "eval_site", None)
        if site is None or (isinstance(module, _DROPOUT) and module.p == 0):
            return
        key = (id(root), site.code, site.lasti)
        entry = self._eval_in_training.get(key)
        if entry is None:
            entry = self._eval_in_training[key] = _EvalInTraining(root, site)
        entry.modules.setdefault(id(module), module)

    def _check_bias(self, norm: nn.Module, tensor: Any, frame: FrameType) -> None:
        output, version, layer = self._last_biased
        key = (id(layer), id(norm))
        if tensor is output and getattr(tensor, "_version", None) == version and key not in self._bias_into_norm:
            self._bias_into_norm[key] = (layer, norm, self.session.user.site(frame))

    def _check_registered(self, module: nn.Module, stack: list[nn.Module], frame: FrameType) -> None:
        key = id(module)
        if key in self._unregistered or not self.trainable(module):
            return
        root = stack[0]
        members = self._members.get(id(root))
        if members is None or members[0] != self.session.steps:
            members = self._members[id(root)] = (self.session.steps, {id(m) for m in root.modules()})
        if key in members[1]:
            return
        parent = stack[-2]
        if parent is not root and id(parent) not in members[1]:
            return  # inside a module that is itself unregistered: that one is reported
        if not (_held_unregistered(parent, module) or self.session.created_in_forward.get(module)):
            return  # passed in from outside (an argument, a global): it may be registered elsewhere
        self._unregistered[key] = (module, root, self.session.user.site(frame))

    # -- after the run -------------------------------------------------------------------------

    def finish(self) -> None:
        index = ModelIndex([root.module for root in self._roots.values()])
        self._report_unreached(index)
        self._report_never_ran(index)
        self._report_bias_into_norm(index)
        self._report_unregistered()
        self._report_evaluating_in_training(index)

    def release(self) -> None:
        for holder in (self._roots, self._first_runs, self._unregistered, self._eval_in_training,
                       self._bias_into_norm, self._trainable, self._members):
            holder.clear()
        self._last_biased = None

    def _report_unreached(self, index: ModelIndex) -> None:
        backwards = self.session.gradients.backward_count
        unreached = {key: run for key, run in self._first_runs.items()
                     if key not in self._reached and run.backward_count < backwards}
        for key, run in unreached.items():
            if run.parent in unreached or self.session.cuts.explains(run.module):
                continue
            self.session.report(
                "NN101", run.site,
                f"the output of {index.describe(run.module)} never reaches the loss: the layer runs in every "
                "training forward, but no gradient flows back into its output, so its parameters never train "
                "(an overwritten or unused result?)",
                related=[self.session.created_at(run.module)],
                evidence={"module": index.describe(run.module), "backward_passes": backwards},
            )

    def _report_never_ran(self, index: ModelIndex) -> None:
        if not self.session.gradients.backward_count:
            return
        had_gradient = self.session.gradients.parameters_with_grad
        for root in self._roots.values():
            if not root.trained:
                continue
            covered: list[str] = []
            for name, module in root.module.named_modules():
                if not name or any(name.startswith(c + ".") for c in covered):
                    continue
                if any(id(m) in self._ran for m in module.modules()):
                    continue
                parameters = trainable_parameters(module)
                if not parameters or any(id(p) in had_gradient for p in parameters):
                    continue
                covered.append(name)
                self.session.report(
                    "NN102", self.session.created_at(module) or root.site,
                    f"{index.describe(module)} is registered in {type(root.module).__name__} but never ran during "
                    f"the {self.session.steps} traced step(s), and none of its parameters got a gradient: it is "
                    "defined but not used in forward",
                    related=[root.site], evidence={"module": index.describe(module)},
                )

    def _report_bias_into_norm(self, index: ModelIndex) -> None:
        for layer, norm, site in self._bias_into_norm.values():
            self.session.report(
                "NN103", self.session.created_at(layer) or site,
                f"{index.describe(layer)} has a bias, and its output goes straight into {index.describe(norm)}, "
                "which subtracts the batch mean and so cancels the bias: create the layer with bias=False",
                related=[self.session.created_at(norm), site],
                evidence={"layer": index.describe(layer), "norm": index.describe(norm)},
            )

    def _report_unregistered(self) -> None:
        for module, root, site in self._unregistered.values():
            kind, model = type(module).__name__, type(root).__name__
            if self.session.created_in_forward.get(module):
                message = (f"a new {kind} is created inside {model}'s forward at every call: its weights are "
                           "random each time and no optimizer trains them; create it once in __init__")
            else:
                message = (f"{kind} runs inside {model}'s forward but is not registered in it (held in a plain "
                           "list, dict or non-module attribute): model.parameters(), .to(device) and state_dict() "
                           "miss it, so the optimizer never trains it; use nn.ModuleList / nn.ModuleDict")
            self.session.report("NN104", self.session.created_at(module) or site, message, related=[site],
                                evidence={"module": kind, "model": model})

    def _report_evaluating_in_training(self, index: ModelIndex) -> None:
        # A model that is trained in this run and run without gradients is being evaluated. A
        # model that is only ever run without gradients while others train (MoCo's key
        # encoder, BYOL's target network, a teacher) may keep training mode on purpose.
        training_run = self.session.gradients.backward_count > 0
        for entry in self._eval_in_training.values():
            root = self._roots.get(id(entry.root))
            if training_run and (root is None or not root.trained):
                continue
            names = ", ".join(index.describe(m) for m in entry.modules.values())
            self.session.report(
                "NN401", entry.site,
                f"{type(entry.root).__name__} runs with gradients disabled (evaluation), but {names} "
                f"{'is' if len(entry.modules) == 1 else 'are'} in training mode: dropout stays random and "
                "BatchNorm uses and updates batch statistics; call model.eval() before evaluating",
                evidence={"modules": names},
            )
