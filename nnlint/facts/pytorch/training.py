"""Training-loop facts: what each loop does to gradients, in order, through helpers too."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import Iterator

import libcst as cst

from nnlint.facts.core.dataflow import AttributeEvent, CallEvent, Dataflow, Event
from nnlint.facts.core.syntax import dotted_name
from nnlint.facts.core.values import Kind, Value
from nnlint.facts.pytorch.semantics import grad_disabled

CLIP_FUNCTIONS = frozenset({"torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_",
                            "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_value_"})
CLIP_METHODS = frozenset({"clip_grad_norm_", "clip_grad_value_", "clip_gradients"})
BACKWARD_FUNCTIONS = frozenset({"torch.autograd.backward"})
_OPTIMIZER_NAME = re.compile(r"(optim|^opt($|_|\d)|_opt($|_|\d)|^opt[A-Z])", re.IGNORECASE)
_SCHEDULER_NAME = re.compile(r"sched", re.IGNORECASE)
_SCALER_NAME = re.compile(r"scaler", re.IGNORECASE)


class Effect(Enum):
    BACKWARD = "backward"
    STEP = "step"
    ZERO_GRAD = "zero_grad"
    SCHEDULER_STEP = "scheduler step"
    CLIP = "clip"
    MAYBE_STEP = "a call that may step an optimizer"   # xm.optimizer_step(opt), self.optimizer_step(...)
    GRAD_READ = "gradients read by hand"


Branch = tuple[cst.CSTNode, int, int]


@dataclass(frozen=True, eq=False)
class Action:
    """One gradient-relevant action; `target` names the optimizer or model it acts on.

    `loops` and `branches` place it in the function whose trace holds it (a helper's action
    seen from its caller carries the call's loops and branches first); `no_grad` says it runs
    with gradients disabled there; `via` holds the helper calls that lead to it.
    """

    effect: Effect
    node: cst.CSTNode
    target: str
    event: Event
    loops: tuple[cst.CSTNode, ...] = ()
    branches: tuple[Branch, ...] = ()
    no_grad: bool = False
    via: tuple[cst.CSTNode, ...] = ()
    on_optimizer: bool = False        # a zero_grad called on an optimizer, not on a model
    params_of: str | None = None      # for a step: the model whose parameters the optimizer holds

    def conditions_within(self, loop: cst.CSTNode) -> frozenset[tuple[cst.CSTNode, int]]:
        """The branches taken directly in `loop`'s body, not inside loops nested in it."""
        depth = self.loops.index(loop) + 1 if loop in self.loops else -1
        return frozenset((node, index) for node, index, loops in self.branches if loops == depth)

    def excludes(self, other: "Action") -> bool:
        """True when the two sit on different branches of one if/try/match: never both run."""
        mine = {node: index for node, index, _ in self.branches}
        return any(node in mine and mine[node] != index for node, index, _ in other.branches)

    def parting_from(self, other: "Action") -> tuple[cst.CSTNode, cst.CSTNode]:
        """In the innermost function both actions run in, the nodes where they part: each one's
        own node, or the call of the helper that leads to it. Seen from `main()`'s caller, two
        actions of `main` both come `via` that call, which is no place to move one of them to."""
        mine, theirs = (*self.via, self.node), (*other.via, other.node)
        shared = 0
        while shared < min(len(mine), len(theirs)) - 1 and mine[shared] is theirs[shared]:
            shared += 1
        return mine[shared], theirs[shared]


def _last_part(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def _is_optimizer(value: Value | None, name: str | None) -> bool:
    if value is not None and value.kind is Kind.OPTIMIZER:
        return True
    last = _last_part(name)
    return bool(last) and not _SCHEDULER_NAME.search(last) and bool(_OPTIMIZER_NAME.search(last))


def _is_scheduler(value: Value | None, name: str | None) -> bool:
    if value is not None and value.kind is Kind.SCHEDULER:
        return True
    return bool(_SCHEDULER_NAME.search(_last_part(name)))


def _optimizer_params_owner(value: Value | None) -> str | None:
    """`netD` for an optimizer built as `Adam(netD.parameters(), ...)` in this file."""
    call = value.origin if value is not None and value.kind is Kind.OPTIMIZER else None
    if not isinstance(call, cst.Call) or not call.args:
        return None
    params = call.args[0].value
    if isinstance(params, cst.Call) and isinstance(params.func, cst.Attribute) and params.func.attr.value in (
        "parameters", "named_parameters"
    ):
        return dotted_name(params.func.value)
    return None


IN_A_LOOP = "@loop"  # a summarized action the function runs inside one of its loops
MAX_SUMMARIZED_ACTIONS = 32


def summarized_actions(actions: list[Action]) -> tuple[str, ...]:
    """A function's actions for callers in other files, in order: each effect, marked when it
    runs inside a loop of the function (the loops themselves are not kept apart)."""
    tokens: list[str] = []
    for action in actions:
        token = action.effect.value + (IN_A_LOOP if action.loops else "")
        if not tokens or tokens[-1] != token:
            tokens.append(token)
    return tuple(tokens[:MAX_SUMMARIZED_ACTIONS])


def _summarized_action(token: str, event: CallEvent) -> Action:
    """An action another file's function takes, placed at the call; its loop, if it has one,
    stands as a loop inside the call (named by the call node): an iteration of its own."""
    effect, in_loop = token.removesuffix(IN_A_LOOP), token.endswith(IN_A_LOOP)
    action = _placed(Action(Effect(effect), event.node, "", event))
    return replace(action, loops=action.loops + (event.node,)) if in_loop else action


def _placed(action: Action) -> Action:
    event = action.event
    return replace(action, loops=event.loops, branches=event.branches, no_grad=grad_disabled(event))


def classify(event: Event) -> Action | None:
    """The gradient action an event performs, if any."""
    action = _classify(event)
    return _placed(action) if action is not None else None


def _classify(event: Event) -> Action | None:
    if isinstance(event, AttributeEvent) and event.attr == "grad":  # `p.grad = None`: a zero_grad by hand
        return Action(Effect.ZERO_GRAD if event.stored else Effect.GRAD_READ, event.node, "", event)
    if not isinstance(event, CallEvent) or event.callee.kind is Kind.FUNCTION:
        return None  # a call of the file's own function is followed into it, whatever its name
    method, receiver_name = event.method, event.receiver_name
    if event.qualname in BACKWARD_FUNCTIONS or (method == "backward" and event.qualname is None):
        return Action(Effect.BACKWARD, event.node, "", event)
    if event.qualname in CLIP_FUNCTIONS or (method in CLIP_METHODS and event.qualname is None):
        return Action(Effect.CLIP, event.node, "", event)
    if method == "zero_grad":
        return Action(Effect.ZERO_GRAD, event.node, receiver_name or "", event,
                      on_optimizer=_is_optimizer(event.receiver, receiver_name))
    if method == "zero_" and receiver_name is not None and receiver_name.endswith(".grad"):
        return Action(Effect.ZERO_GRAD, event.node, "", event)
    if method == "step" and event.qualname is None:
        if _is_scheduler(event.receiver, receiver_name):
            return Action(Effect.SCHEDULER_STEP, event.node, receiver_name or "", event)
        if _is_optimizer(event.receiver, receiver_name):
            return Action(Effect.STEP, event.node, receiver_name or "", event,
                          params_of=_optimizer_params_owner(event.receiver))
        if _SCALER_NAME.search(_last_part(receiver_name)) and event.args:
            call = event.node
            target = call.args[0].value if isinstance(call, cst.Call) and call.args else None
            return Action(Effect.STEP, event.node, (dotted_name(target) or "") if target else "", event,
                          params_of=_optimizer_params_owner(event.args[0]))
    if _may_step(event):
        return Action(Effect.MAYBE_STEP, event.node, "", event)
    return None


def _may_step(event: CallEvent) -> bool:
    """A call nnlint cannot see into that looks like it steps an optimizer."""
    if event.result.kind in (Kind.SCHEDULER, Kind.OPTIMIZER):
        return False
    call = event.node
    name = event.method or (event.qualname or "").rsplit(".", 1)[-1]
    if not name and isinstance(call, cst.Call):
        name = _last_part(dotted_name(call.func))
    if "step" in name.lower() and not _is_scheduler(event.receiver, event.receiver_name):
        return True
    arguments = call.args if isinstance(call, cst.Call) else ()
    return any(_is_optimizer(value, dotted_name(arg.value)) for value, arg in zip(event.args, arguments))


@dataclass(eq=False)
class Loop:
    """A for/while loop and every gradient action it performs, in source order."""

    node: cst.For | cst.While
    actions: list[Action]
    inner_loops: list[cst.CSTNode]

    def has(self, effect: Effect) -> bool:
        return any(action.effect is effect for action in self.actions)

    def of(self, effect: Effect) -> list[Action]:
        return [action for action in self.actions if action.effect is effect]


class TrainingFacts:
    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow
        self._function_actions: dict[cst.CSTNode | None, list[Action]] = {}
        self._active: set[cst.CSTNode | None] = set()
        self._loop_owner: dict[cst.CSTNode, cst.CSTNode | None] = {}
        self.loops: list[Loop] = self._collect_loops()
        self._by_node = {loop.node: loop for loop in self.loops}

    def traces(self) -> Iterator[tuple[cst.CSTNode | None, list[Action]]]:
        """Each function's (and the module body's) actions in order, helpers it calls included."""
        for function_node in list(self.dataflow.function_events):
            yield function_node, self.actions_of(function_node)

    def training_loop(self, action: Action) -> Loop | None:
        """The innermost loop around `action` that calls backward(): the loop one step belongs to.
        None for an action of another file's function inside that function's own training loop
        (see `_summarized_action`): the step belongs to that loop, judged in its file."""
        for node in reversed(action.loops):
            if not isinstance(node, (cst.For, cst.While)):
                if self._backward_in_callee_loop(node):
                    return None
                continue
            loop = self._by_node.get(node)
            if loop is not None and loop.has(Effect.BACKWARD):
                return loop
        return None

    def _backward_in_callee_loop(self, call: cst.CSTNode) -> bool:
        """Whether the other file's function this call runs calls backward() in a loop of its own."""
        event = self.dataflow.call_event(call)
        symbol = self.dataflow.project.get(event.qualname) if event is not None and event.qualname else None
        return symbol is not None and Effect.BACKWARD.value + IN_A_LOOP in symbol.actions

    def actions_of(self, function_node: cst.CSTNode | None) -> list[Action]:
        """Every action a function performs, helpers it calls included (memoized)."""
        if function_node in self._function_actions:
            return self._function_actions[function_node]
        if function_node in self._active:
            return []
        self._active.add(function_node)
        actions: list[Action] = []
        for event in self.dataflow.function_events.get(function_node, []):
            actions.extend(self._event_actions(event))
        self._active.discard(function_node)
        self._function_actions[function_node] = actions
        return actions

    def _event_actions(self, event: Event) -> list[Action]:
        actions: list[Action] = []
        if isinstance(event, CallEvent):
            if event.callee.kind is Kind.FUNCTION and isinstance(event.callee.origin, cst.FunctionDef):
                actions.extend(self._called(event, event.callee.origin, self._argument_names(event)))
            for argument in event.args:
                if argument.kind is Kind.FUNCTION and isinstance(argument.origin, cst.FunctionDef):
                    actions.extend(self._called(event, argument.origin, {}))
            symbol = self.dataflow.project.get(event.qualname) if event.qualname else None
            if symbol is not None:
                actions.extend(_summarized_action(token, event) for token in symbol.actions)
        action = classify(event)
        if action is not None:
            actions.append(action)
        return actions

    def _called(self, event: CallEvent, function_node: cst.FunctionDef, names: dict[str, str]) -> list[Action]:
        """A helper's actions as its caller sees them: placed at the call, its parameters renamed."""
        depth = len(event.loops)
        return [
            replace(
                action,
                target=_renamed(action.target, names),
                loops=event.loops + action.loops,
                branches=event.branches + tuple((node, index, loops + depth) for node, index, loops in action.branches),
                no_grad=action.no_grad or grad_disabled(event),
                via=(event.node, *action.via),
            )
            for action in self.actions_of(function_node)
        ]

    def _argument_names(self, event: CallEvent) -> dict[str, str]:
        """Helper parameter -> the caller's dotted name passed for it ('' when not a plain name)."""
        info = self.dataflow.functions.get(event.callee.origin)
        call = event.node
        if info is None or not isinstance(call, cst.Call):
            return {}
        names = dict.fromkeys(info.params, "")
        params = list(info.params)
        if info.is_method and event.receiver is not None and params:
            names[params.pop(0)] = event.receiver_name or ""
        for param, arg in zip(params, (arg for arg in call.args if arg.keyword is None and not arg.star)):
            names[param] = dotted_name(arg.value) or ""
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in names:
                names[arg.keyword.value] = dotted_name(arg.value) or ""
        return names

    def _collect_loops(self) -> list[Loop]:
        by_loop: dict[cst.CSTNode, Loop] = {}
        for function_node, events in self.dataflow.function_events.items():
            for event in events:
                for depth, loop_node in enumerate(event.loops):
                    self._loop_owner[loop_node] = function_node
                    loop = by_loop.get(loop_node)
                    if loop is None:
                        loop = by_loop[loop_node] = Loop(loop_node, [], [])
                    for inner_loop in event.loops[depth + 1:]:
                        if inner_loop not in loop.inner_loops:
                            loop.inner_loops.append(inner_loop)
        for function_node in list(self.dataflow.function_events):
            for action in self.actions_of(function_node):
                for loop_node in action.loops:
                    if self._loop_owner.get(loop_node, function_node) is function_node and loop_node in by_loop:
                        by_loop[loop_node].actions.append(action)
        return list(by_loop.values())

    def loop(self, node: cst.CSTNode) -> Loop | None:
        return self._by_node.get(node)


def _renamed(target: str, names: dict[str, str]) -> str:
    root, dot, rest = target.partition(".")
    if root not in names:
        return target
    return f"{names[root]}{dot}{rest}" if names[root] else ""
