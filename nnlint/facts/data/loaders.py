"""Facts about DataLoaders: how each is configured to order its data, and whether the code
trains on it (iterated by a loop that calls backward and step, handed to a helper whose loop does
so with that parameter, to a trainer or an ignite engine as training data, returned by a
`train_dataloader` hook, built on the training split, or named train*) or only evaluates it, draws
one batch from it, or never reads it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import libcst as cst

from nnlint.facts.data import data_api as api
from nnlint.facts.core.bindings import Bindings
from nnlint.facts.core.dataflow import CallEvent, Dataflow
from nnlint.facts.core.syntax import calls_in, descendants, dotted_name, keyword_arg, positional_args, source_code
from nnlint.facts.pytorch.training import Effect, TrainingFacts
from nnlint.facts.core.values import UNKNOWN, Kind, Value
from nnlint.facts.pytorch.semantics import grad_disabled

# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, ...)
_SHUFFLE_POSITION = 2
_SAMPLER_POSITIONS = (3, 4)
_SAMPLER_KEYWORDS = ("sampler", "batch_sampler")
_RANDOM_SOURCES = ("torch.rand", "torch.randn", "torch.randint", "torch.normal", "numpy.random.", "random.")
_TRAINING_HOOKS = frozenset({"train_dataloader"})
_EVALUATION_HOOKS = frozenset({"val_dataloader", "test_dataloader", "predict_dataloader"})
_TRAINING_METHODS = api.FIT_MODEL_METHODS | {"train", "run"}


@dataclass
class Loader:
    node: cst.Call
    event: CallEvent
    shuffle: str            # "missing", "false" or "set" (True, or anything not literally False)
    has_sampler: bool
    opaque: bool            # **kwargs: the configuration cannot be read
    order_free: bool        # an IterableDataset (the loader cannot shuffle it), random data, a
                            # single sample (one graph), or windows cut from one sequence (whose
                            # order is often kept on purpose)
    training_reason: str | None = None

    @property
    def dataset(self) -> Value:
        return self.event.args[0] if self.event.args else self.event.kwargs.get("dataset", UNKNOWN)

    @property
    def never_shuffles(self) -> bool:
        return self.shuffle != "set" and not self.has_sampler and not self.opaque and not self.order_free


class LoaderFacts:
    def __init__(self, dataflow: Dataflow, training: TrainingFacts, bindings: Bindings) -> None:
        self.dataflow = dataflow
        self.training = training
        self.bindings = bindings
        self._parameter_uses: dict[tuple[cst.FunctionDef, str], str] = {}

    @cached_property
    def loaders(self) -> list[Loader]:
        found: dict[cst.CSTNode, Loader] = {}
        for event in self.dataflow.calls():
            if event.qualname not in api.DATA_LOADERS:
                continue
            if event.node not in found:
                found[event.node] = self._loader(event)
            elif self._single_sample(event):  # a helper's loader, seen with its caller's dataset
                found[event.node].order_free = True
        usage = self._usage(set(found))
        for loader in found.values():
            loader.training_reason = self._training_reason(loader, usage.get(loader.node, {}))
        return list(found.values())

    def loader_of(self, value: Value) -> Loader | None:
        """The loader of this file that `value` is, if it is one."""
        if value.kind is not Kind.DATA:
            return None
        return next((loader for loader in self.loaders if loader.node is value.origin), None)

    def trains_on(self, dataset: Value) -> bool:
        """Some loader of the file that feeds training draws from `dataset` (the same split of the
        same data)."""
        return any(
            loader.training_reason is not None and loader.dataset.kind is Kind.DATA
            and loader.dataset.origin is dataset.origin and loader.dataset.detail == dataset.detail
            for loader in self.loaders
        )

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
        return Loader(call, event, shuffle, has_sampler, opaque, self._order_free(event))

    def _order_free(self, event: CallEvent) -> bool:
        dataset = event.args[0] if event.args else event.kwargs.get("dataset")
        class_name = dataset.class_name if dataset is not None else ""
        if class_name and (self._derives_from_iterable(class_name) or self._random_or_windowed(class_name)):
            return True
        if self._single_sample(event):
            return True
        call = event.node
        source = positional_args(call)[0].value if positional_args(call) else None
        text = source_code(source)
        qualnames = [self.dataflow.names.qualname(node.func) or "" for node in calls_in(source)] if source else []
        return "streaming=True" in text.replace(" ", "") or any(
            name.startswith(api.ITERABLE_DATASET_SOURCES) for name in qualnames)

    def _single_sample(self, event: CallEvent) -> bool:
        """A dataset of one sample: `[graph]`, or a dataset that holds one graph (Planetoid's Cora),
        whose loader gives the same single batch every epoch."""
        arguments = positional_args(event.node)
        given = arguments[0] if arguments else keyword_arg(event.node, "dataset")
        source = given.value if given is not None else None
        if isinstance(source, (cst.List, cst.Tuple)) and len(source.elements) == 1:
            return not isinstance(source.elements[0], cst.StarredElement)
        dataset = event.args[0] if event.args else event.kwargs.get("dataset")
        origin = dataset.origin if dataset is not None and dataset.kind is Kind.DATA else None
        return isinstance(origin, cst.Call) and self.dataflow.names.qualname(origin.func) in api.SINGLE_GRAPH_DATASETS

    def _random_or_windowed(self, class_name: str) -> bool:
        """A dataset class of the file that generates random samples (`torch.randn` in `__init__` or
        `__getitem__`), or whose `__getitem__` cuts windows out of one sequence (`self.data[i:j]`)."""
        for method_name in ("__init__", "__getitem__"):
            method = self.dataflow.method(class_name, method_name)
            if method is None:
                continue
            for event in self.dataflow.function_events.get(method, []):
                if isinstance(event, CallEvent) and (event.qualname or "").startswith(_RANDOM_SOURCES):
                    return True
            if method_name == "__getitem__" and any(_is_window(node) for node in descendants(method.body)):
                return True
        return False

    def _derives_from_iterable(self, class_name: str) -> bool:
        return any(name in api.ITERABLE_DATASET_BASES for name in self.dataflow.class_and_bases(class_name))

    def _usage(self, loaders: set[cst.CSTNode]) -> dict[cst.CSTNode, dict[str, str]]:
        """For each loader, how the code uses it: "train" (a training loop draws its batches, a
        training helper or a trainer's fit trains on it), "evaluate" (its batches are used only
        under no_grad or by loops that never step, it is a trainer's validation data) or "one
        batch" (a batch drawn with next() and looked at, outside any training loop), each with the
        first reason found."""
        usage: dict[cst.CSTNode, dict[str, str]] = {}
        for event in self.dataflow.calls():
            if self._passes_through(event):
                continue
            arguments = positional_args(event.node)
            passed: list[tuple[Value, cst.Arg | None]] = list(zip(event.args, arguments))
            passed += [(value, keyword_arg(event.node, key)) for key, value in event.kwargs.items()]
            if event.receiver is not None:
                passed.append((event.receiver, None))
            for value, arg in passed:
                if value.kind is Kind.DATA and value.origin in loaders and value.origin is not event.node:
                    use, reason = self._use_of(event, value, arg)
                    usage.setdefault(value.origin, {}).setdefault(use, reason)
        return usage

    def _use_of(self, event: CallEvent, value: Value, arg: cst.Arg | None) -> tuple[str, str]:
        if arg is not None:
            use, reason = self._use_as_argument(event, arg)
            if use != "other" or value.producer != "batch":
                return use, reason
        elif _draws_one_batch(event):
            return self._one_batch_use(event)
        elif value.producer != "batch":
            return "other", ""
        if event.loops:
            loop = self.training.loop(event.loops[-1])
            if loop is not None and loop.has(Effect.BACKWARD) and loop.has(Effect.STEP):
                return "train", "a training loop iterates it"
            return "evaluate", ""
        return ("evaluate", "") if grad_disabled(event) else ("one batch", "")  # a batch used outside any loop

    def _use_as_argument(self, event: CallEvent, arg: cst.Arg) -> tuple[str, str]:
        """What a call does with the data passed as `arg`: a trainer's fit trains on its training
        slot and validates on the other; a helper of the file does what its parameter's uses say."""
        if _draws_one_batch(event):
            return self._one_batch_use(event)
        receiver = (event.receiver_name or "").rsplit(".", 1)[-1].lower()
        if "trainer" in receiver and event.method == "fit":
            slot = _slot(event.node, arg)
            if slot in (1, "train_dataloaders", "train_dataloader"):
                return "train", f"{event.receiver_name}.fit() trains on it"
            if slot in (2, "val_dataloaders", "val_dataloader"):
                return "evaluate", ""
            return "other", ""
        engine = event.receiver
        if event.method == "run" and engine is not None and engine.producer in api.ALL_ENGINES:
            use = self._engine_use(engine) if _slot(event.node, arg) in (0, "data") else "other"
            return use, f"{event.receiver_name}.run() trains on it" if use == "train" else ""
        callee = event.callee
        if callee.kind is Kind.FUNCTION and isinstance(callee.origin, cst.FunctionDef):
            param = self._parameter_for(event, arg)
            use = self._parameter_use(callee.origin, param) if param is not None else "other"
            if use == "train" or (use == "other" and self._trains(callee.origin)):
                return "train", f"{callee.producer}() trains on it"
            return use, ""
        return "other", ""

    def _engine_use(self, engine: Value) -> str:
        """What an ignite engine does with the data it is run on: its process function decides."""
        if engine.producer in api.TRAINING_ENGINES:
            return "train"
        if engine.producer in api.EVALUATION_ENGINES:
            return "evaluate"
        built = self._call_events.get(engine.origin)
        process = built.arg(0, "process_function") if built is not None else None
        if process is None or process.kind is not Kind.FUNCTION or not isinstance(process.origin, cst.FunctionDef):
            return "other"
        return "train" if self._trains(process.origin) else "evaluate"

    @cached_property
    def _file_trains(self) -> bool:
        """Some code of the file calls backward() and steps an optimizer, or hands a model to
        something that trains it (`fit`, `train`, an engine's `run`)."""
        if any(self._trains(function) for function in self.dataflow.function_events):
            return True
        return any(event.qualname is None and event.method in _TRAINING_METHODS for event in self.dataflow.calls())

    def _trains(self, function: cst.FunctionDef | None) -> bool:
        """The function (the module body for None), or a helper it calls, calls backward() and
        steps an optimizer."""
        effects = {action.effect for action in self.training.actions_of(function)}
        return {Effect.BACKWARD, Effect.STEP} <= effects

    @cached_property
    def _call_events(self) -> dict[cst.CSTNode, CallEvent]:
        events: dict[cst.CSTNode, CallEvent] = {}
        for event in self.dataflow.calls():
            events.setdefault(event.node, event)
        return events

    def _one_batch_use(self, event: CallEvent) -> tuple[str, str]:
        """`next(iter(loader))`: one batch, for a look or a probe, unless the loop that steps the
        optimizer draws it there each step."""
        loop = self.training.loop(event.loops[-1]) if event.loops else None
        if loop is not None and any(self.training.training_loop(step) is loop for step in loop.of(Effect.STEP)):
            return "train", "a training loop draws its batches with next()"
        return "one batch", ""

    def _parameter_for(self, event: CallEvent, arg: cst.Arg) -> str | None:
        """The parameter of the called helper that `arg` is passed to."""
        info = self.dataflow.functions.get(event.callee.origin)
        slot = _slot(event.node, arg)
        if info is None or slot is None:
            return None
        if isinstance(slot, str):
            return slot if slot in info.params else None
        params = info.params[1:] if info.is_method and event.receiver is not None else info.params
        return params[slot] if slot < len(params) else None

    def _parameter_use(self, function: cst.FunctionDef, param: str) -> str:
        """What a helper of the file does with one of its parameters: "train" when a loop that
        steps an optimizer iterates it (there or in a helper it hands it to), "evaluate" when only
        loops and comprehensions that never step do, "other" when its uses say neither."""
        key = (function, param)
        if key in self._parameter_uses:
            return self._parameter_uses[key]
        self._parameter_uses[key] = "other"  # a helper that hands the parameter back to itself
        names = self._aliases(function, param)
        uses: set[str] = set()
        for node in descendants(function.body):
            if isinstance(node, (cst.For, cst.CompFor)) and dotted_name(self._iterated(node.iter)) in names:
                loop = self.training.loop(node)
                trains = loop is not None and loop.has(Effect.BACKWARD) and loop.has(Effect.STEP)
                uses.add("train" if trains else "evaluate")
        for event in self.dataflow.function_events.get(function, []):
            if isinstance(event, CallEvent) and not self._passes_through(event):
                for arg in event.node.args:
                    if dotted_name(self._iterated(arg.value)) in names:
                        uses.add(self._use_as_argument(event, arg)[0])
        use = next((use for use in ("train", "evaluate", "other") if use in uses), "one batch" if uses else "other")
        self._parameter_uses[key] = use
        return use

    def _aliases(self, function: cst.FunctionDef, param: str) -> set[str]:
        """`param` and the names bound to it wrapped for iteration (`bar = tqdm(param)`)."""
        names = {param}
        for node in descendants(function.body):
            if isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                if node.value is not self._iterated(node.value) and dotted_name(self._iterated(node.value)) in names:
                    names.add(node.targets[0].target.value)
        return names

    def _iterated(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """`loader` in `enumerate(loader)`, `tqdm(loader, leave=False)`, `iter(loader)`."""
        while isinstance(expr, cst.Call) and positional_args(expr) and self._hands_on_its_data(expr):
            expr = positional_args(expr)[0].value
        return expr

    def _passes_through(self, event: CallEvent) -> bool:
        """`iter(loader)`, `tqdm(loader)`, `len(loader)`: what is done with the result decides."""
        return self._hands_on_its_data(event.node) or _is_builtin(event, "len")

    def _hands_on_its_data(self, call: cst.Call) -> bool:
        if isinstance(call.func, cst.Name) and call.func.value in api.DATA_BUILTINS:
            return True
        return self.dataflow.names.qualname(call.func) in api.ITERATION_WRAPPERS

    def _training_reason(self, loader: Loader, uses: dict[str, str]) -> str | None:
        if "train" in uses:
            return uses["train"]
        if "evaluate" in uses or set(uses) == {"one batch"}:
            return None
        if not uses and self.bindings.is_discarded(loader.node) and not self._file_trains:
            return None  # a loader built to show that it can be, in a file that trains nothing
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


def _is_window(node: cst.CSTNode) -> bool:
    """`self.data[start:end]`: a slice with both bounds of an attribute of the dataset."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return False
    element = node.slice[0].slice
    base = dotted_name(node.value) or ""
    both_bounds = isinstance(element, cst.Slice) and element.lower is not None and element.upper is not None
    return both_bounds and base.startswith("self.")


def _is_builtin(event: CallEvent, name: str) -> bool:
    func = event.node.func
    return event.qualname is None and isinstance(func, cst.Name) and func.value == name


def _draws_one_batch(event: CallEvent) -> bool:
    """`next(batches)`, `batches.next()`: one batch drawn from an iterator."""
    return _is_builtin(event, "next") or (event.qualname is None and event.method in ("next", "__next__"))


def _slot(call: cst.Call, arg: cst.Arg) -> int | str | None:
    """Where `arg` sits in `call`: its keyword, or its position among the positional arguments."""
    if arg.keyword is not None:
        return arg.keyword.value
    return next((index for index, given in enumerate(positional_args(call)) if given is arg), None)


def _given(arg: cst.Arg | None) -> bool:
    return arg is not None and not _is_none(arg.value)


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"
