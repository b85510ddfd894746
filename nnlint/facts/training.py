"""Training-loop facts: what each loop does to gradients, in order, through helpers too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import libcst as cst

from nnlint.facts.dataflow import CallEvent, Dataflow, Event, GradResetEvent
from nnlint.facts.syntax import dotted_name
from nnlint.facts.values import Kind, Value

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


@dataclass(frozen=True, eq=False)
class Action:
    """One gradient-relevant action; `target` names the optimizer or model it acts on."""

    effect: Effect
    node: cst.CSTNode
    target: str
    event: Event


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


def classify(event: Event) -> Action | None:
    """The gradient action an event performs, if any."""
    if isinstance(event, GradResetEvent):
        return Action(Effect.ZERO_GRAD, event.node, "", event)
    if not isinstance(event, CallEvent):
        return None
    method, receiver_name = event.method, event.receiver_name
    if event.qualname in BACKWARD_FUNCTIONS or (method == "backward" and event.qualname is None):
        return Action(Effect.BACKWARD, event.node, "", event)
    if event.qualname in CLIP_FUNCTIONS or (method in CLIP_METHODS and event.qualname is None):
        return Action(Effect.CLIP, event.node, "", event)
    if method == "zero_grad":
        return Action(Effect.ZERO_GRAD, event.node, receiver_name or "", event)
    if method == "zero_" and receiver_name is not None and receiver_name.endswith(".grad"):
        return Action(Effect.ZERO_GRAD, event.node, "", event)
    if method == "step" and event.qualname is None:
        if _is_scheduler(event.receiver, receiver_name):
            return Action(Effect.SCHEDULER_STEP, event.node, receiver_name or "", event)
        if _is_optimizer(event.receiver, receiver_name):
            return Action(Effect.STEP, event.node, receiver_name or "", event)
        if _SCALER_NAME.search(_last_part(receiver_name)) and event.args:
            call = event.node
            target = call.args[0].value if isinstance(call, cst.Call) and call.args else None
            return Action(Effect.STEP, event.node, (dotted_name(target) or "") if target else "", event)
    return None


@dataclass(eq=False)
class Loop:
    """A for/while loop and every gradient action it performs, in source order."""

    node: cst.For | cst.While
    actions: list[Action]
    inner_loops: list[cst.CSTNode]

    def has(self, effect: Effect) -> bool:
        return any(action.effect is effect for action in self.actions)


class TrainingFacts:
    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow
        self._function_actions: dict[cst.CSTNode | None, list[Action]] = {}
        self._active: set[cst.CSTNode | None] = set()
        self.loops: list[Loop] = self._collect_loops()

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
                actions.extend(self.actions_of(event.callee.origin))
            for argument in event.args:
                if argument.kind is Kind.FUNCTION and isinstance(argument.origin, cst.FunctionDef):
                    actions.extend(self.actions_of(argument.origin))
            symbol = self.dataflow.project.get(event.qualname) if event.qualname else None
            if symbol is not None:
                actions.extend(Action(Effect(effect), event.node, "", event) for effect in symbol.actions)
        action = classify(event)
        if action is not None:
            actions.append(action)
        return actions

    def _collect_loops(self) -> list[Loop]:
        by_loop: dict[cst.CSTNode, Loop] = {}
        for function_node, events in self.dataflow.function_events.items():
            for event in events:
                for depth, loop_node in enumerate(event.loops):
                    loop = by_loop.get(loop_node)
                    if loop is None:
                        loop = by_loop[loop_node] = Loop(loop_node, [], [])
                    inner = event.loops[depth + 1:]
                    for inner_loop in inner:
                        if inner_loop not in loop.inner_loops:
                            loop.inner_loops.append(inner_loop)
                    loop.actions.extend(self._event_actions(event))
        return list(by_loop.values())

    def loop(self, node: cst.CSTNode) -> Loop | None:
        return next((loop for loop in self.loops if loop.node is node), None)
