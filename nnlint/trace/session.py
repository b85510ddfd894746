"""A trace session: the hooks it installs into torch, the facts it keeps in the `Run`, and the
events it hands to the checks.

Everything installed here is undone by `uninstall`, in reverse order, whatever happened in
between. The hooks only read: they never return a value that replaces a tensor, an
argument or a result, and the values they compute are detached from the autograd graph.
Code that torch.compile traces is left alone: the hooks return at once while the compiler
traces them, so that they neither break its graphs nor cost the compiled code its speed.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch
from torch.compiler import is_compiling
from torch.nn.modules import module as module_hooks
from torch.optim import optimizer as optimizer_hooks
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from nnlint.trace.checks.activations import DeadUnits
from nnlint.trace.checks.base import Backward, Check, FunctionHandler, ModuleCall, Step
from nnlint.trace.checks.batch_mixing import BatchMixing
from nnlint.trace.checks.cuts import CutChecks
from nnlint.trace.checks.data import DataChecks
from nnlint.trace.checks.gradient_flow import GradientFlow
from nnlint.trace.checks.gradients import GradientChecks
from nnlint.trace.checks.layout import LayoutChecks
from nnlint.trace.checks.losses import LossChecks
from nnlint.trace.checks.modules import ModuleChecks
from nnlint.trace.checks.numerics import Numerics
from nnlint.trace.checks.progress import LossCurve
from nnlint.trace.findings import TraceFinding
from nnlint.trace.frames import Site, UserCode
from nnlint.trace.overfit import BatchHolder
from nnlint.trace.run import Clearance, Root, Run

# The checks, in the order they receive each event.
CHECKS: tuple[type[Check], ...] = (
    Numerics, ModuleChecks, LossChecks, LayoutChecks, GradientChecks, CutChecks, LossCurve, DataChecks, DeadUnits,
    GradientFlow, BatchMixing,
)
Rewrite = Callable[[tuple, dict], tuple[tuple, dict]]
_MODULE_CALL_FILE = module_hooks.__file__
# How many methods of a model (`model.predict(x)` calling `self.net(x)`) an evaluation call is followed out of.
MAX_EVAL_CALLERS = 3


class TraceStop(BaseException):
    """Raised in the traced code to end it once the requested optimizer steps are done.

    A BaseException, so that the script's own `except Exception` does not swallow it.
    """


class _Observer(TorchFunctionMode):
    """Sees every torch function call; calls the handlers registered for a few of them."""

    def __init__(self, handlers: Mapping[Callable, FunctionHandler], on_error: Callable[[BaseException], None],
                 rewrites: Mapping[Callable, Rewrite]) -> None:
        super().__init__()
        self._handlers = handlers
        self._on_error = on_error
        self._rewrites = rewrites

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        if kwargs is None:
            kwargs = {}
        if self._rewrites and not is_compiling():
            args, kwargs = self._rewrite(func, args, kwargs)
        result = func(*args, **kwargs)
        if is_compiling():
            return result
        try:
            handler = self._handlers.get(func)
        except TypeError:  # an unhashable callable
            return result
        if handler is not None:
            try:
                handler(args, kwargs, result)
            except Exception as err:
                self._on_error(err)
        return result

    def _rewrite(self, func: Callable, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """--overfit-batch only: the arguments the call gets instead (the held batch's targets)."""
        try:
            rewrite = self._rewrites.get(func)
        except TypeError:  # an unhashable callable
            return args, kwargs
        if rewrite is None:
            return args, kwargs
        try:
            return rewrite(args, kwargs)
        except Exception as err:
            self._on_error(err)
            return args, kwargs


def _each(handlers: Sequence[FunctionHandler], on_error: Callable[[BaseException], None]) -> FunctionHandler:
    """One handler that calls several, each guarded on its own."""

    def every(args: tuple, kwargs: dict, result: Any) -> None:
        for handler in handlers:
            try:
                handler(args, kwargs, result)
            except Exception as err:
                on_error(err)

    return every


def _overriding(checks: Iterable[Check], event: str) -> list[Callable[[Any], None]]:
    """The bound `event` methods of the checks that override it."""
    default = getattr(Check, event)
    return [getattr(check, event) for check in checks if getattr(type(check), event) is not default]


class Session:
    """One trace: its hooks, the run's facts, the checks and what they found."""

    def __init__(self, user: UserCode, max_steps: int | None = None, measured_steps: int = 20,
                 checks: Sequence[type[Check]] = CHECKS, overfit_batch: bool = False) -> None:
        self.user = user
        self.max_steps = max_steps
        self.run = Run(user, self._publish, measured_steps if max_steps is None else max(measured_steps, max_steps),
                       overfit_batch)
        self.checks = [check(self.run) for check in checks]
        self._holder = BatchHolder(self.run) if overfit_batch else None
        self._events = {event: _overriding(self.checks, event) for event in (
            "module_enter", "module_exit", "created", "before_backward", "after_backward", "zero_grad",
            "before_step", "after_step", "notice", "finish", "release")}
        self._optimizer_steps: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._undo: list[Callable[[], None]] = []
        self._backward_depth = 0
        self._observer: _Observer | None = None
        self._observing = False
        self._paused = False
        self.installed = False

    @property
    def steps(self) -> int:
        return self.run.steps

    @property
    def internal_errors(self) -> list[str]:
        return self.run.errors.lines()

    @property
    def clearances(self) -> list[Clearance]:
        return list(self.run.clearances.values())

    # -- installing and removing ---------------------------------------------------------

    def install(self) -> None:
        try:
            if self._holder is not None:  # first, so that the checks see the held batch
                self._hook(module_hooks.register_module_forward_pre_hook(self._holder.before_forward))
                self._patch(torch.utils.data.DataLoader, "__iter__", self._holder.wrap_iter)
            self._hook(module_hooks.register_module_forward_pre_hook(self._before_forward))
            self._hook(module_hooks.register_module_forward_hook(self._after_forward, always_call=True))
            self._hook(optimizer_hooks.register_optimizer_step_pre_hook(self._before_step))
            self._hook(optimizer_hooks.register_optimizer_step_post_hook(self._after_step))
            self._patch(torch.autograd, "backward", self._wrap_backward)
            self._patch(torch.nn.Module, "__init__", self._wrap_constructor)
            self._patch(torch.optim.Optimizer, "__init__", self._wrap_constructor)
            self._patch(torch.utils.data.DataLoader, "__init__", self._wrap_constructor)
            self._patch(torch.nn.Module, "zero_grad", self._wrap_zero_grad)
            self._patch(torch.optim.Optimizer, "zero_grad", self._wrap_zero_grad)
            self._quiet_compile_warning()
            rewrites = self._holder.substitutions() if self._holder is not None else {}
            self._observer = _Observer(self._handlers(), self.run.internal_error, rewrites)
            self._observer.__enter__()
            self._observing = True
            self._undo.append(self._stop_observing)
        except BaseException:
            self.uninstall()
            raise
        self.installed = True

    def uninstall(self) -> None:
        while self._undo:
            undo = self._undo.pop()
            try:
                undo()
            except Exception as err:
                self.run.internal_error(err)
        self.installed = False

    def _stop_observing(self) -> None:
        if self._observing and self._observer is not None:
            self._observing = False
            self._observer.__exit__(None, None, None)

    def _pause_observer(self) -> None:
        """No check looks inside optimizer.step(): its many small ops run unobserved."""
        if self._observing and torch.overrides._get_current_function_mode() is self._observer:
            self._stop_observing()
            self._paused = True

    def _resume_observer(self) -> None:
        if self._paused and self._observer is not None:
            self._paused = False
            self._observer.__enter__()
            self._observing = True

    def _hook(self, handle: Any) -> None:
        self._undo.append(handle.remove)

    def _patch(self, owner: Any, name: str, wrap: Callable[[Callable], Callable]) -> None:
        original = owner.__dict__[name]
        setattr(owner, name, wrap(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def _quiet_compile_warning(self) -> None:
        """torch.compile warns that global module hooks fire for its wrapper too: the tracer's do, on purpose."""
        message = re.escape("Using `torch.compile(module)` when there are global hooks")
        warnings.filterwarnings("ignore", message=message)
        added = warnings.filters[0]
        self._undo.append(lambda: warnings.filters.remove(added) if added in warnings.filters else None)

    def _handlers(self) -> dict[Callable, FunctionHandler]:
        grouped: dict[Callable, list[FunctionHandler]] = {}
        for check in self.checks:
            for func, handler in check.handlers().items():
                grouped.setdefault(func, []).append(handler)
        return {func: handlers[0] if len(handlers) == 1 else _each(handlers, self.run.internal_error)
                for func, handlers in grouped.items()}

    # -- events ------------------------------------------------------------------------------

    def _dispatch(self, event: str, argument: Any) -> None:
        for method in self._events[event]:
            try:
                method(argument)
            except Exception as err:
                self.run.internal_error(err)

    def _publish(self, event: object) -> None:
        self._dispatch("notice", event)

    # -- the hooks ---------------------------------------------------------------------------

    def _before_forward(self, module: torch.nn.Module, args: tuple) -> None:
        if is_compiling():
            return
        self.run.ran.add(id(module))
        if "_orig_mod" in module._modules:
            # torch.compile's wrapper: what runs inside compiled code is not seen, so all of it counts as run.
            self.run.ran.update(id(m) for m in module.modules())
        stack = self.run.module_stack()
        if not stack:
            try:
                self._enter_root(module, sys._getframe(1))
            except Exception as err:
                self.run.internal_error(err)
        self._dispatch("module_enter", ModuleCall(module, args, list(stack), sys._getframe(1)))
        stack.append(module)

    def _after_forward(self, module: torch.nn.Module, args: tuple, output: Any) -> None:
        if is_compiling():
            return
        stack = self.run.module_stack()
        if stack and stack[-1] is module:
            stack.pop()
        elif module in stack:  # a forward that raised past hooks that were not always called
            del stack[stack.index(module):]
        else:
            return  # its start was not seen (the hooks were installed during its forward)
        self._dispatch("module_exit", ModuleCall(module, args, list(stack), sys._getframe(1), output))

    def _enter_root(self, module: torch.nn.Module, frame: Any) -> None:
        grad = torch.is_grad_enabled()
        key = id(module)
        root = self.run.roots.get(key)
        if root is None or root.module is not module or (grad and not root.trained):
            self.run.roots[key] = Root(module, self.user.site(frame), grad)
        if grad:
            self.run.enter_root(True, None, ())
            return
        # Library code that runs a model without gradients (BatchNorm re-estimation such as
        # swa_utils.update_bn) does it on purpose: only the user's calls are evaluation.
        if not self.user.caller_is_user(frame, _MODULE_CALL_FILE):
            self.run.enter_root(False, None, ())
            return
        while frame is not None and not self.user(frame.f_code.co_filename):
            frame = frame.f_back
        self.run.enter_root(False, self.user.site(frame), tuple(self._method_callers(frame)))

    def _method_callers(self, frame: Any) -> Iterable[Site]:
        """The calls that led into `frame` through methods of a model (`model.predict(x)`)."""
        for _ in range(MAX_EVAL_CALLERS):
            code = frame.f_code
            if not code.co_argcount or not isinstance(frame.f_locals.get(code.co_varnames[0]), torch.nn.Module):
                return
            frame = frame.f_back
            while frame is not None and not self.user(frame.f_code.co_filename):
                frame = frame.f_back
            if frame is None:
                return
            yield Site(frame.f_code, frame.f_lasti, frame.f_lineno)

    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        number = self._optimizer_steps.get(optimizer, 0) + 1
        self._dispatch("before_step", Step(optimizer, self.user.site(sys._getframe(1)), number))
        self._pause_observer()

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        self._resume_observer()
        number = self._optimizer_steps[optimizer] = self._optimizer_steps.get(optimizer, 0) + 1
        self.run.steps = max(self.run.steps, number)
        self._dispatch("after_step", Step(optimizer, None, number))

    def _wrap_backward(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def backward(*args: Any, **kwargs: Any) -> Any:
            if session._backward_depth:  # a backward run inside a backward (reentrant checkpointing)
                return original(*args, **kwargs)
            if session.max_steps is not None and session.run.steps >= session.max_steps:
                raise TraceStop()
            event = Backward(args[0] if args else kwargs.get("tensors"), session.user.site(sys._getframe(1)))
            session._dispatch("before_backward", event)
            session._backward_depth += 1
            try:
                result = original(*args, **kwargs)
            finally:
                session._backward_depth -= 1
            session._after_backward(event)
            return result

        return backward

    def _after_backward(self, event: Backward) -> None:
        run = self.run
        run.backward_count += 1
        try:
            for root in run.trained_roots():
                run.parameters_with_grad.update(id(p) for p in root.parameters() if p.grad is not None)
        except Exception as err:
            run.internal_error(err)
        self._dispatch("after_backward", event)

    def _wrap_constructor(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def __init__(obj: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                session._record_creation(obj, sys._getframe(1))
            except Exception as err:
                session.run.internal_error(err)
            return original(obj, *args, **kwargs)

        return __init__

    def _record_creation(self, obj: Any, frame: Any) -> None:
        """Where the user's code created `obj`: the first user frame that is not obj's own constructor."""
        if isinstance(obj, torch.nn.Module) and self.run.module_stack():
            self.run.created_in_forward[obj] = True
        site = None
        while frame is not None:
            code = frame.f_code
            own_constructor = (
                code.co_name == "__init__" and code.co_argcount > 0
                and frame.f_locals.get(code.co_varnames[0]) is obj
            )
            if not own_constructor and self.user(code.co_filename):
                site = self.run.created[obj] = Site(code, frame.f_lasti, frame.f_lineno)
                break
            frame = frame.f_back
        for method in self._events["created"]:
            try:
                method(obj, site)
            except Exception as err:
                self.run.internal_error(err)

    def _wrap_zero_grad(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def zero_grad(obj: Any, *args: Any, **kwargs: Any) -> Any:
            session._dispatch("zero_grad", session.user.site(sys._getframe(1)))
            return original(obj, *args, **kwargs)

        return zero_grad

    # -- the end -----------------------------------------------------------------------------

    def finish(self) -> list[TraceFinding]:
        """Run the checks that judge the whole run, and return every finding in source order."""
        for method in self._events["finish"] + self._events["release"]:
            try:
                method()
            except Exception as err:
                self.run.internal_error(err)
        if self._holder is not None:
            self._holder.release()
        self.run.roots.clear()
        return self.run.findings()
