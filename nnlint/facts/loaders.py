"""Facts about DataLoaders: how each is configured to order its data, and whether the code
trains on it (iterated by a loop that calls backward and step, handed to a trainer as training
data, returned by a `train_dataloader` hook, built on the training split, or named train*)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from nnlint.facts import data_api as api
from nnlint.facts.bindings import Bindings
from nnlint.facts.dataflow import CallEvent, Dataflow
from nnlint.facts.syntax import calls_in, keyword_arg, positional_args
from nnlint.facts.training import Effect, TrainingFacts
from nnlint.facts.values import Kind, Value

# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, ...)
_SHUFFLE_POSITION = 2
_SAMPLER_POSITIONS = (3, 4)
_SAMPLER_KEYWORDS = ("sampler", "batch_sampler")
_TRAINING_HOOKS = frozenset({"train_dataloader"})
_EVALUATION_HOOKS = frozenset({"val_dataloader", "test_dataloader", "predict_dataloader"})


@dataclass
class Loader:
    node: cst.Call
    event: CallEvent
    shuffle: str            # "missing", "false" or "set" (True, or anything not literally False)
    has_sampler: bool
    opaque: bool            # **kwargs: the configuration cannot be read
    iterable: bool          # an IterableDataset, which cannot be shuffled by the loader
    training_reason: str | None = None

    @property
    def never_shuffles(self) -> bool:
        return self.shuffle != "set" and not self.has_sampler and not self.opaque and not self.iterable


class LoaderFacts:
    def __init__(self, dataflow: Dataflow, training: TrainingFacts, bindings: Bindings) -> None:
        self.dataflow = dataflow
        self.training = training
        self.bindings = bindings

    @cached_property
    def loaders(self) -> list[Loader]:
        found: dict[cst.CSTNode, Loader] = {}
        for event in self.dataflow.calls():
            if event.qualname in api.DATA_LOADERS and event.node not in found:
                found[event.node] = self._loader(event)
        usage = self._usage(set(found))
        for loader in found.values():
            loader.training_reason = self._training_reason(loader, usage.get(loader.node, set()))
        return list(found.values())

    def _loader(self, event: CallEvent) -> Loader:
        call = event.node
        positional = positional_args(call)
        shuffle_arg = keyword_arg(call, "shuffle")
        shuffle_expr = shuffle_arg.value if shuffle_arg is not None else (
            positional[_SHUFFLE_POSITION].value if len(positional) > _SHUFFLE_POSITION else None)
        if shuffle_expr is None:
            shuffle = "missing"
        elif isinstance(shuffle_expr, cst.Name) and shuffle_expr.value in ("False", "None"):
            shuffle = "false"
        else:
            shuffle = "set"
        has_sampler = any(_given(keyword_arg(call, key)) for key in _SAMPLER_KEYWORDS) or any(
            len(positional) > position and not _is_none(positional[position].value) for position in _SAMPLER_POSITIONS)
        opaque = any(arg.star == "**" or arg.star == "*" for arg in call.args)
        return Loader(call, event, shuffle, has_sampler, opaque, self._iterable(event))

    def _iterable(self, event: CallEvent) -> bool:
        dataset = event.args[0] if event.args else event.kwargs.get("dataset")
        class_name = dataset.class_name if dataset is not None else ""
        if class_name and self._derives_from_iterable(class_name):
            return True
        call = event.node
        source = positional_args(call)[0].value if positional_args(call) else None
        text = cst.Module([]).code_for_node(source) if source is not None else ""
        qualnames = [self.dataflow.names.qualname(node.func) or "" for node in calls_in(source)] if source else []
        return "streaming=True" in text.replace(" ", "") or any(
            name.startswith(api.ITERABLE_DATASET_SOURCES) for name in qualnames)

    def _derives_from_iterable(self, class_name: str) -> bool:
        seen: set[str] = set()
        queue = [class_name]
        while queue:
            current = queue.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in api.ITERABLE_DATASET_BASES:
                return True
            info = self.dataflow.classes.get(current)
            if info is not None:
                queue.extend(info.bases)
        return False

    def _usage(self, loaders: set[cst.CSTNode]) -> dict[cst.CSTNode, set[str]]:
        """For each loader, how the code uses it: "train" (a training loop draws its batches, a
        training helper or a trainer's fit is given it) or "evaluate" (its batches are used only
        under no_grad or by loops that never step)."""
        usage: dict[cst.CSTNode, set[str]] = {}
        for event in self.dataflow.calls():
            values = [*event.args, *event.kwargs.values()]
            if event.receiver is not None:
                values.append(event.receiver)
            for value in values:
                if value.kind is Kind.DATA and value.origin in loaders and value.origin is not event.node:
                    usage.setdefault(value.origin, set()).add(self._use_of(event, value))
        return usage

    def _use_of(self, event: CallEvent, value: Value) -> str:
        receiver = (event.receiver_name or "").rsplit(".", 1)[-1].lower()
        if "trainer" in receiver and event.method == "fit":
            given = event.kwargs.get("train_dataloaders") or event.kwargs.get("train_dataloader")
            return "train" if given is value or (len(event.args) > 1 and event.args[1] is value) else "other"
        callee = event.callee
        if callee.kind is Kind.FUNCTION and isinstance(callee.origin, cst.FunctionDef):
            effects = {action.effect for action in self.training.actions_of(callee.origin)}
            return "train" if {Effect.BACKWARD, Effect.STEP} <= effects else "other"
        if value.producer != "batch":
            return "other"
        if event.loops:
            loop = self.training.loop(event.loops[-1])
            if loop is not None and loop.has(Effect.BACKWARD) and loop.has(Effect.STEP):
                return "train"
            return "evaluate"
        return "evaluate" if event.no_grad else "other"

    def _training_reason(self, loader: Loader, uses: set[str]) -> str | None:
        if "train" in uses:
            return "it is iterated by a training loop"
        if "evaluate" in uses:
            return None
        function = loader.event.function.name
        if function in _TRAINING_HOOKS:
            return f"it is returned by {function}()"
        if function in _EVALUATION_HOOKS:
            return None
        target = self.bindings.target_of(loader.node)
        target_role = api.role_from_name(target) if target else None
        dataset = loader.event.result
        dataset_role = dataset.detail if dataset.kind is Kind.DATA else ""
        if dataset_role in api.HELD_OUT or target_role in api.HELD_OUT or api.role_from_name(function) in api.HELD_OUT:
            return None
        if dataset_role == api.TRAIN:
            return "it loads the training split"
        if target_role == api.TRAIN:
            return f"it is named {target.rsplit('.', 1)[-1]}"
        if api.role_from_name(function) == api.TRAIN:
            return f"it is built by {function}()"
        return None


def _given(arg: cst.Arg | None) -> bool:
    return arg is not None and not _is_none(arg.value)


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"
