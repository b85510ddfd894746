"""The interface between the session and its checks: events in, findings out.

A check subclasses `Check` and overrides the event methods it needs; the session calls only
those, in the order of its list of checks, each call guarded so that a failing check never
stops the script or the other checks. A check reads the event and the shared `Run`, and
reports with `self.run.report(...)`. Checks do not know each other: what one check measures
for others it publishes as an event (`self.run.publish(NonFinite(...))`), which every check
receives in `notice`.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Callable, Mapping

from nnlint.trace.frames import Site
from nnlint.trace.run import Run

if TYPE_CHECKING:
    import torch

# A torch function's handler: called after the function ran, with its arguments and result.
FunctionHandler = Callable[[tuple, dict, Any], None]


@dataclass
class ModuleCall:
    """A module's forward, as it starts (`output` None) and as it ends.

    `stack` holds the modules whose forward encloses this one, outermost first (empty for a
    model called from outside any module); `frame` is the frame that called the module.
    """

    module: torch.nn.Module
    args: tuple
    stack: list[torch.nn.Module]
    frame: FrameType
    output: Any = None


@dataclass
class Backward:
    """A `backward()` of the user's: the tensors it backpropagates and where it was called."""

    tensors: Any
    site: Site | None


@dataclass
class Step:
    """An `optimizer.step()`: `number` counts this optimizer's steps from 1."""

    optimizer: torch.optim.Optimizer
    site: Site | None
    number: int


@dataclass(frozen=True)
class NonFinite:
    """Published when a gradient or a weight turns out NaN or Inf (`what` names them)."""

    what: str
    site: Site | None


@dataclass(frozen=True)
class GraphCut:
    """Published when the user's code makes a value without a graph (`.detach()`, `.item()`...)
    from a tensor whose graph reaches these parameters (id()), after `backwards` backward passes."""

    parameters: frozenset[int]
    backwards: int


@dataclass(frozen=True)
class StepMeasured:
    """Published after a measured optimizer step: per parameter, the norm of its gradient, of
    the weights before the step and of the update (all in the order of `parameters`)."""

    optimizer: torch.optim.Optimizer
    step: int
    parameters: list[torch.Tensor]
    gradient_norms: list[float]
    weight_norms: list[float]
    update_norms: list[float]


class Check:
    """A runtime check. Override the events to watch; report through `self.run`."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def handlers(self) -> Mapping[Callable, FunctionHandler]:
        """The torch functions to watch, each with the handler to call after it ran."""
        return {}

    def module_enter(self, call: ModuleCall) -> None:
        """A module's forward starts."""

    def module_exit(self, call: ModuleCall) -> None:
        """A module's forward ended (also when it raised: `output` is then None)."""

    def created(self, obj: Any, site: Site | None) -> None:
        """The user's code creates a module, an optimizer or a DataLoader at `site` (its constructor runs next)."""

    def before_backward(self, backward: Backward) -> None:
        """The user's `backward()` is about to run."""

    def after_backward(self, backward: Backward) -> None:
        """The user's `backward()` ran (`run.backward_count` counts it)."""

    def zero_grad(self, site: Site | None) -> None:
        """The user's code zeroes gradients (of a model or an optimizer)."""

    def before_step(self, step: Step) -> None:
        """An optimizer step is about to run."""

    def after_step(self, step: Step) -> None:
        """An optimizer step ran (`run.steps` counts it)."""

    def notice(self, event: object) -> None:
        """Another check published `event`."""

    def finish(self) -> None:
        """The run is over: judge it as a whole."""

    def release(self) -> None:
        """Drop every reference to the user's tensors and modules."""
