"""What the checks of one trace share: the facts the session keeps about the run (steps,
backward passes, the models that ran and where objects were created), and where findings go.

The session updates these facts from its hooks; the checks read them and report through
`Run.report`. Nothing here knows a check, and no check knows the session.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from nnlint.trace.findings import TraceFinding
from nnlint.trace.frames import Site, UserCode, resolve, scope

if TYPE_CHECKING:
    import torch

MAX_INTERNAL_ERRORS = 20


@dataclass
class Root:
    """A model: a module called from outside any other module's forward."""

    module: torch.nn.Module
    site: Site | None
    trained: bool


@dataclass(frozen=True)
class Clearance:
    """The run showed, at `path:line`, the opposite of what a static finding of `code` claims."""

    code: str
    path: str
    line: int
    reason: str


class InternalErrors:
    """The tracer's own failures, each kept once with the number of times it happened."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, err: BaseException) -> None:
        where = err.__traceback__
        while where is not None and where.tb_next is not None:
            where = where.tb_next
        place = f" ({where.tb_frame.f_code.co_filename}:{where.tb_lineno})" if where else ""
        text = f"{type(err).__name__}: {err}{place}"
        if text in self.counts or len(self.counts) < MAX_INTERNAL_ERRORS:
            self.counts[text] = self.counts.get(text, 0) + 1

    def lines(self) -> list[str]:
        """Each error once, with how often it happened when more than once."""
        return [text if count == 1 else f"{text} [{count} times]" for text, count in self.counts.items()]


class Run:
    """The state of one trace that every check may read, and the findings they report."""

    def __init__(self, user: UserCode, publish: Callable[[object], None], measured_steps: int,
                 overfit_batch: bool = False) -> None:
        from torch.utils.weak import WeakIdKeyDictionary

        self.user = user
        self.measured_steps = measured_steps
        # --overfit-batch: the first batch is fed again at every step; `held` says where it was held.
        self.overfit_batch = overfit_batch
        self.held: list[str] = []
        # What the checks measured for the caller (the loss of each step, the overfit verdict...), by name.
        self.measurements: dict[str, object] = {}
        self.steps = 0
        self.backward_count = 0
        self.roots: dict[int, Root] = {}
        self.ran: set[int] = set()  # id() of every module whose forward ran (inside compiled code: all of it)
        self.parameters_with_grad: set[int] = set()
        self.created: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.created_in_forward: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.errors = InternalErrors()
        self.clearances: dict[tuple[str, object, int], Clearance] = {}
        self.publish = publish
        self._thread = threading.local()
        self._findings: dict[tuple[str, str, int, str], TraceFinding] = {}

    # -- per thread: the modules being run, and how the outermost one was called -------------

    def module_stack(self) -> list[torch.nn.Module]:
        try:
            return self._thread.stack
        except AttributeError:
            self._thread.stack = []
            return self._thread.stack

    def enter_root(self, grad: bool, eval_site: Site | None, eval_callers: tuple[Site, ...]) -> None:
        self._thread.root_grad = grad
        self._thread.eval_site = eval_site
        self._thread.eval_callers = eval_callers

    def root_grad(self) -> bool:
        """Whether the outermost module call of this thread runs with gradients enabled."""
        return getattr(self._thread, "root_grad", True)

    def eval_site(self) -> Site | None:
        """The user's call of the model running without gradients (None for library code's calls)."""
        return getattr(self._thread, "eval_site", None)

    def eval_callers(self) -> tuple[Site, ...]:
        """The user's calls of the methods of a model that lead to `eval_site` (`model.predict(x)`)."""
        return getattr(self._thread, "eval_callers", ())

    # -- facts ------------------------------------------------------------------------------

    def trained_roots(self) -> list[torch.nn.Module]:
        return [root.module for root in self.roots.values() if root.trained]

    def created_at(self, obj: Any) -> Site | None:
        try:
            return self.created.get(obj)
        except TypeError:
            return None

    def internal_error(self, err: BaseException) -> None:
        self.errors.add(err)

    # -- what the checks find ---------------------------------------------------------------

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

    def clear(self, code: str, sites: Iterable[Site | None], reason: str) -> None:
        """The run showed at these sites the opposite of what a static `code` finding there would claim."""
        for site in sites:
            if site is not None and (code, site.code, site.lasti) not in self.clearances:
                position = resolve(site)
                self.clearances[code, site.code, site.lasti] = Clearance(code, position.path, position.line, reason)

    def findings(self) -> list[TraceFinding]:
        return sorted(self._findings.values(), key=lambda f: (f.path, f.line, f.column, f.code))
