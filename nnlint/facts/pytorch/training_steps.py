"""Where optimizer steps happen: which loops take one on every iteration (directly or in a
helper they call), as opposed to loops that only run an inner loop that does."""

from __future__ import annotations

import libcst as cst

from nnlint.facts.core.dataflow import CallEvent, Dataflow, Event
from nnlint.facts.pytorch.training import Effect, TrainingFacts, classify
from nnlint.facts.core.values import Kind


class TrainingSteps:
    def __init__(self, dataflow: Dataflow, training: TrainingFacts) -> None:
        self.dataflow = dataflow
        self.training = training
        self._helper_effects: dict[cst.FunctionDef, set[Effect]] = {}
        self._loop_effects: dict[cst.CSTNode, set[Effect]] = {}
        self._function_trains: dict[cst.FunctionDef | None, bool] = {}
        for events in dataflow.function_events.values():
            for event in events:
                if event.loops:
                    self._loop_effects.setdefault(event.loops[-1], set()).update(self._event_effects(event))

    def steps_each_iteration(self, loop: cst.CSTNode) -> bool:
        effects = self._loop_effects.get(loop, set())
        return Effect.BACKWARD in effects and Effect.STEP in effects

    def trains(self, function: cst.FunctionDef | None) -> bool:
        """The function (the module body for None) calls backward(), itself or through helpers."""
        if function not in self._function_trains:
            self._function_trains[function] = any(
                action.effect is Effect.BACKWARD for action in self.training.actions_of(function))
        return self._function_trains[function]

    def _event_effects(self, event: Event) -> set[Effect]:
        action = classify(event)
        effects = {action.effect} if action is not None else set()
        if isinstance(event, CallEvent):
            for value in (event.callee, *event.args):
                if value.kind is Kind.FUNCTION and isinstance(value.origin, cst.FunctionDef):
                    effects |= self._top_level_effects(value.origin)
        return effects

    def _top_level_effects(self, function: cst.FunctionDef) -> set[Effect]:
        """What a helper does outside any loop of its own: one call of it, one step."""
        if function not in self._helper_effects:
            self._helper_effects[function] = set()  # recursion guard
            self._helper_effects[function] = set().union(*(
                self._event_effects(event) for event in self.dataflow.function_events.get(function, [])
                if not event.loops))
        return self._helper_effects[function]
