"""A trace session: the hooks it installs into torch, the state they share, and their removal.

Everything installed here is undone by `uninstall`, in reverse order, whatever happened in
between. The hooks only read: they never return a value that replaces a tensor, an
argument or a result, and the values they compute are detached from the autograd graph.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any, Callable, Iterable, Mapping

import torch
from torch.nn.modules import module as module_hooks
from torch.optim import optimizer as optimizer_hooks
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from nnlint.trace.checks.cuts import CutChecks
from nnlint.trace.checks.gradients import GradientChecks
from nnlint.trace.checks.layout import LayoutChecks
from nnlint.trace.checks.losses import LossChecks
from nnlint.trace.checks.modules import ModuleChecks
from nnlint.trace.checks.numerics import Numerics
from nnlint.trace.findings import TraceFinding
from nnlint.trace.frames import Site, UserCode, resolve, scope

Handler = Callable[[tuple, dict, Any], None]
MAX_INTERNAL_ERRORS = 20


class TraceStop(BaseException):
    """Raised in the traced code to end it once the requested optimizer steps are done.

    A BaseException, so that the script's own `except Exception` does not swallow it.
    """


class _Observer(TorchFunctionMode):
    """Sees every torch function call; calls the handlers registered for a few of them."""

    def __init__(self, handlers: Mapping[Callable, Handler], on_error: Callable[[BaseException], None]) -> None:
        super().__init__()
        self._handlers = handlers
        self._on_error = on_error

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        if kwargs is None:
            kwargs = {}
        result = func(*args, **kwargs)
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


def _combine(first: Handler, second: Handler) -> Handler:
    def both(args: tuple, kwargs: dict, result: Any) -> None:
        first(args, kwargs, result)
        second(args, kwargs, result)

    return both


class Session:
    """One trace: its hooks, the state the checks share, and what they found."""

    def __init__(self, user: UserCode, max_steps: int | None = None, measured_steps: int = 20) -> None:
        self.user = user
        self.max_steps = max_steps
        self.measured_steps = measured_steps if max_steps is None else max(measured_steps, max_steps)
        self.steps = 0
        self.internal_errors: list[str] = []
        self.thread = threading.local()
        self.created: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.created_in_forward: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.numerics = Numerics(self)
        self.modules = ModuleChecks(self)
        self.losses = LossChecks(self)
        self.layout = LayoutChecks(self)
        self.gradients = GradientChecks(self)
        self.cuts = CutChecks(self)
        self._findings: dict[tuple[str, str, int, str], TraceFinding] = {}
        self._undo: list[Callable[[], None]] = []
        self._backward_depth = 0
        self._observer: _Observer | None = None
        self._observing = False
        self._paused = False
        self.installed = False

    # -- installing and removing ---------------------------------------------------------

    def install(self) -> None:
        try:
            self._hook(module_hooks.register_module_forward_pre_hook(self._before_forward))
            self._hook(module_hooks.register_module_forward_hook(self._after_forward, always_call=True))
            self._hook(optimizer_hooks.register_optimizer_step_pre_hook(self._before_step))
            self._hook(optimizer_hooks.register_optimizer_step_post_hook(self._after_step))
            self._patch(torch.autograd, "backward", self._wrap_backward)
            self._patch(torch.nn.Module, "__init__", self._wrap_constructor)
            self._patch(torch.optim.Optimizer, "__init__", self._wrap_constructor)
            self._patch(torch.nn.Module, "zero_grad", self._wrap_zero_grad)
            self._patch(torch.optim.Optimizer, "zero_grad", self._wrap_zero_grad)
            self._observer = _Observer(self._handlers(), self.internal_error)
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
                self.internal_error(err)
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

    def _handlers(self) -> dict[Callable, Handler]:
        merged: dict[Callable, Handler] = {}
        for check in (self.losses, self.layout, self.cuts):
            for func, handler in check.handlers().items():
                merged[func] = _combine(merged[func], handler) if func in merged else handler
        return merged

    # -- the hooks ---------------------------------------------------------------------------

    def module_stack(self) -> list[torch.nn.Module]:
        try:
            return self.thread.stack
        except AttributeError:
            self.thread.stack = []
            return self.thread.stack

    def _before_forward(self, module: torch.nn.Module, args: tuple) -> None:
        stack = self.module_stack()
        stack.append(module)
        try:
            if len(stack) == 1:
                self.modules.enter_root(module, sys._getframe(1))
            else:
                self.modules.enter_child(module, stack, args, sys._getframe(1))
        except Exception as err:
            self.internal_error(err)

    def _after_forward(self, module: torch.nn.Module, args: tuple, output: Any) -> None:
        stack = self.module_stack()
        if stack and stack[-1] is module:
            stack.pop()
        elif module in stack:  # a forward that raised past hooks that were not always called
            del stack[stack.index(module):]
        try:
            self.modules.exit(module, output, stack, sys._getframe(1))
        except Exception as err:
            self.internal_error(err)

    def _before_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        try:
            self.gradients.before_step(optimizer, self.user.site(sys._getframe(1)))
        except Exception as err:
            self.internal_error(err)
        self._pause_observer()

    def _after_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        self._resume_observer()
        try:
            self.gradients.after_step(optimizer)
            self.steps = max(self.steps, self.gradients.steps_of(optimizer))
            self.modules.after_step()
        except Exception as err:
            self.internal_error(err)

    def _wrap_backward(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def backward(*args: Any, **kwargs: Any) -> Any:
            if session._backward_depth:  # a backward run inside a backward (reentrant checkpointing)
                return original(*args, **kwargs)
            if session.max_steps is not None and session.steps >= session.max_steps:
                raise TraceStop()
            site = session._before_backward(args, kwargs)
            session._backward_depth += 1
            try:
                result = original(*args, **kwargs)
            finally:
                session._backward_depth -= 1
            session._after_backward(site)
            return result

        return backward

    def _before_backward(self, args: tuple, kwargs: dict) -> Site | None:
        try:
            site = self.user.site(sys._getframe(2))
            self.numerics.check_loss(args[0] if args else kwargs.get("tensors"), site)
            self.gradients.before_backward()
            return site
        except Exception as err:
            self.internal_error(err)
            return None

    def _after_backward(self, site: Site | None) -> None:
        try:
            self.gradients.after_backward(site)
            self.numerics.after_backward()
        except Exception as err:
            self.internal_error(err)

    def _wrap_constructor(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def __init__(obj: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                session._record_creation(obj, sys._getframe(1))
            except Exception as err:
                session.internal_error(err)
            return original(obj, *args, **kwargs)

        return __init__

    def _record_creation(self, obj: Any, frame: Any) -> None:
        """Where the user's code created `obj`: the first user frame that is not obj's own constructor."""
        if isinstance(obj, torch.nn.Module) and self.module_stack():
            self.created_in_forward[obj] = True
        while frame is not None:
            code = frame.f_code
            own_constructor = (
                code.co_name == "__init__" and code.co_argcount > 0
                and frame.f_locals.get(code.co_varnames[0]) is obj
            )
            if not own_constructor and self.user(code.co_filename):
                self.created[obj] = Site(code, frame.f_lasti, frame.f_lineno)
                break
            frame = frame.f_back
        if isinstance(obj, torch.optim.Optimizer):
            self.gradients.track(obj)

    def _wrap_zero_grad(self, original: Callable) -> Callable:
        session = self

        @functools.wraps(original)
        def zero_grad(obj: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                session.gradients.on_zero_grad(session.user.site(sys._getframe(1)))
            except Exception as err:
                session.internal_error(err)
            return original(obj, *args, **kwargs)

        return zero_grad

    # -- what the checks share ------------------------------------------------------------

    def created_at(self, obj: Any) -> Site | None:
        try:
            return self.created.get(obj)
        except TypeError:
            return None

    def internal_error(self, err: BaseException) -> None:
        if len(self.internal_errors) < MAX_INTERNAL_ERRORS:
            where = err.__traceback__
            while where is not None and where.tb_next is not None:
                where = where.tb_next
            place = f" ({where.tb_frame.f_code.co_filename}:{where.tb_lineno})" if where else ""
            self.internal_errors.append(f"{type(err).__name__}: {err}{place}")

    def report(self, code: str, site: Site | None, message: str, *, evidence: Mapping[str, object] | None = None,
               related: Iterable[Site | None] = (), step: int | None = None, distinct: str = "") -> None:
        """Record a finding at `site`: the first per code and line wins (`distinct` tells apart
        findings of one code at one line that are about different things)."""
        sites = [s for s in (site, *related) if s is not None]
        if not sites:
            return
        position = resolve(sites[0])
        key = (code, position.path, position.line, distinct)
        if key in self._findings:
            return
        others = tuple(dict.fromkeys((p.path, p.line) for p in map(resolve, sites[1:])))
        self._findings[key] = TraceFinding(
            code=code, path=position.path, line=position.line, column=position.column,
            message=message, evidence=dict(evidence or {}), step=step,
            end_line=position.end_line, end_column=position.end_column, related=others, scope=scope(sites[0]),
        )

    def finish(self) -> list[TraceFinding]:
        """Run the checks that judge the whole run, and return every finding in source order."""
        for check in (self.modules, self.gradients, self.cuts):
            try:
                check.finish()
            except Exception as err:
                self.internal_error(err)
        self.modules.release()
        self.gradients.release()
        self.cuts.release()
        return sorted(self._findings.values(), key=lambda f: (f.path, f.line, f.column, f.code))
