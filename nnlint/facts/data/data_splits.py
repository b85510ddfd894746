"""Facts about train/test splits: where statistics are fitted and on what, where data is split,
and what data each model is trained and evaluated on.

Built on the DATA / SCALER values the dataflow interpreter tracks (see data_values.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Iterator

import libcst as cst

from nnlint.facts.data import data_api as api
from nnlint.facts.core.bindings import Bindings
from nnlint.facts.core.places import Place
from nnlint.facts.data.data_values import DataSemantics, as_data, is_scaled
from nnlint.facts.core.dataflow import CallEvent, Dataflow, Event, ParameterUse, SubscriptEvent
from nnlint.facts.data.loaders import LoaderFacts
from nnlint.facts.data.selections import TestSelection, function_steps, metric_source, parameter_selections, selection_at
from nnlint.facts.core.syntax import calls_in, descendants, dotted_name, keyword_arg, positional_args, source_code
from nnlint.facts.core.values import UNKNOWN, Kind, Value
from nnlint.facts.pytorch.semantics import grad_disabled

_MODEL_WORDS = frozenset({"model", "net", "network", "classifier", "clf", "regressor", "estimator", "reg"})
_EVALUATION_WORDS = frozenset({"evaluate", "eval", "evaluation", "test", "validate", "validation", "valid", "val",
                               "predict", "inference", "infer", "score"})
_HELD_OUT_WORDS = frozenset({"test", "testing", "val", "valid", "validation", "holdout", "dev"})
_TRAIN_WORDS = frozenset({"train", "training", "trn"})
_FORWARD_SKIPPED = frozenset({"forward", "__call__"})
_TRAIN_TEST_SPLITS = frozenset({"train_test_split", "random_split"})


def expression_text(node: cst.CSTNode) -> str:
    text = source_code(node)
    return text if len(text) <= 40 else text[:37] + "..."


def root_name(expr: cst.BaseExpression | None) -> str | None:
    """`X` for `X`, `X[:, 0]`, `X.values`, `df[cols]`; `self.X` for `self.X[idx]`."""
    while isinstance(expr, (cst.Subscript, cst.Attribute)):
        if isinstance(expr, cst.Attribute) and dotted_name(expr) is not None and dotted_name(expr).startswith("self."):
            return dotted_name(expr) if dotted_name(expr).count(".") == 1 else root_name(expr.value)
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def describe_scaling(scaler: Value) -> str:
    """How data was scaled, for messages: `StandardScaler`, `statistics (mean)`, `a constant`."""
    if scaler.producer in api.STATISTICS:
        return f"statistics ({scaler.producer})"
    if scaler.detail == api.FIXED and scaler.producer != "Normalize":
        return "a constant"
    return scaler.producer


def intent_of_name(name: str | None) -> str | None:
    """The split a result's or a loop's name says it is about (`test_acc`, `val_loss`): held out or train."""
    if not name:
        return None
    words = set(api.words(name.rsplit(".", 1)[-1]))
    held_out, train = bool(words & _HELD_OUT_WORDS), bool(words & _TRAIN_WORDS)
    if held_out == train:
        return None
    return api.TEST if held_out else api.TRAIN


def intent_of_text(text: str) -> str | None:
    words = set(api.words(text))
    held_out, train = bool(words & _HELD_OUT_WORDS), bool(words & _TRAIN_WORDS)
    if held_out == train:
        return None
    return api.TEST if held_out else api.TRAIN


@dataclass(frozen=True)
class Fit:
    """A scaler fitted, or statistics computed, on some data."""

    node: cst.Call
    scaler: Value              # the fitted SCALER: `detail` is the role of what it saw
    seen_expr: cst.BaseExpression | None
    event: CallEvent

    @property
    def is_statistic(self) -> bool:
        """Hand-written statistics (`X.mean(0)`), as opposed to a scaler object or function."""
        return self.scaler.producer in api.STATISTICS

    @property
    def is_function(self) -> bool:
        return self.event.qualname in api.SCALING_FUNCTIONS


@dataclass(frozen=True)
class SplitOp:
    """Data divided into parts: train_test_split, random_split, an index split, a CV splitter."""

    node: cst.CSTNode
    inputs: tuple[tuple[Value, cst.BaseExpression | None], ...]
    event: Event
    name: str


@dataclass(frozen=True)
class Leak:
    fit: Fit
    reason: str                 # "held-out" or "before-split"
    split: SplitOp | None = None
    helper: str | None = None   # the data entered the fit through this helper's call (`fit.node`)
    inner: cst.CSTNode | None = None  # the helper's own fit, where `helper` is given
    elsewhere: Place | None = None  # the fit in a helper of another file


@dataclass(frozen=True)
class TrainingDataEvaluation:
    """An evaluation meant for held-out data fed the training split (NN605); where a helper
    evaluates what its caller passes, the call that passes it (`node`) and the helper's own
    evaluation (`inner`)."""

    node: cst.CSTNode
    why: str
    helper: str | None = None
    inner: cst.CSTNode | None = None


@dataclass(frozen=True)
class ModelUse:
    """A model trained on (fit, a training forward pass) or evaluated on (predict, score, forward) data."""

    event: CallEvent
    key: tuple
    training: bool
    data: Value
    data_expr: cst.BaseExpression | None
    model_name: str


class DataSplitFacts:
    def __init__(self, dataflow: Dataflow, bindings: Bindings, loaders: LoaderFacts) -> None:
        self.dataflow = dataflow
        self.bindings = bindings
        self.loaders = loaders
        self._steps: dict[cst.CSTNode, list[cst.CSTNode]] = {}
        self._parameter_selections: dict[cst.FunctionDef, tuple[tuple[str, int, str, str], ...]] = {}

    # ------------------------------------------------------------- fits and splits
    @cached_property
    def fits(self) -> list[Fit]:
        found: dict[cst.CSTNode, Fit] = {}
        for event in self.dataflow.calls():
            result = event.result
            fitted = result if result.kind is Kind.SCALER else result.basis if result.kind is Kind.DATA else None
            if fitted is None or fitted.kind is not Kind.SCALER or fitted.origin is not event.node:
                continue
            if fitted.detail in (api.UNFITTED, api.FIXED, api.NO_SCALING):
                continue
            if event.node not in found or fitted.detail:
                found[event.node] = Fit(event.node, fitted, self._seen_expr(event), event)
        return list(found.values())

    @staticmethod
    def _seen_expr(event: CallEvent) -> cst.BaseExpression | None:
        call = event.node
        if event.qualname is None and event.method in api.STATISTICS and isinstance(call.func, cst.Attribute):
            return call.func.value
        arguments = positional_args(call)
        return arguments[0].value if arguments else None

    def _data_values(self) -> Iterator[Value]:
        for event in self.dataflow.events:
            if isinstance(event, CallEvent):
                yield from event.args
                yield from event.kwargs.values()
                if event.receiver is not None:
                    yield event.receiver
                yield event.result
            elif isinstance(event, SubscriptEvent):
                yield event.base
                yield event.result

    @cached_property
    def splits(self) -> list[SplitOp]:
        found: list[SplitOp] = []
        for event in self.dataflow.events:
            split = self._split(event)
            if split is not None:
                found.append(split)
        return found

    def _split(self, event: Event) -> SplitOp | None:
        if isinstance(event, SubscriptEvent):
            node = event.node
            base = as_data(event.base, node.value)
            base_role = base.detail if base.kind is Kind.DATA else ""
            role = event.result.detail if event.result.kind is Kind.DATA else ""
            named = api.role_from_name(self.bindings.target_of(node) or "")
            if (role in api.SPLIT_ROLES and role != base_role) or (named and named != base_role):
                return SplitOp(node, ((base, node.value),), event, "an index split")
            return None
        if not isinstance(event, CallEvent):
            return None
        call = event.node
        exprs = [arg.value for arg in positional_args(call)]
        qualname = event.qualname
        if qualname in api.TRAIN_TEST_SPLIT or qualname in api.RANDOM_SPLIT:
            inputs = tuple((as_data(value, expr), expr) for value, expr in zip(event.args, exprs))
            return SplitOp(call, inputs, event, qualname.rsplit(".", 1)[-1])
        if qualname in api.CROSS_VALIDATION:
            data_expr = exprs[1] if len(exprs) > 1 else (keyword_arg(call, "X").value if keyword_arg(call, "X") else None)
            value = event.args[1] if len(event.args) > 1 else event.kwargs.get("X")
            if value is None:
                return None
            return SplitOp(call, ((value, data_expr),), event, qualname.rsplit(".", 1)[-1])
        receiver = event.receiver
        if event.method == "split" and receiver is not None and receiver.producer in api.CV_SPLITTERS and exprs:
            return SplitOp(call, ((event.args[0], exprs[0]),), event, f"{receiver.producer.rsplit('.', 1)[-1]}.split")
        if event.method == api.HF_TRAIN_TEST_SPLIT and receiver is not None and receiver.kind is Kind.DATA:
            return SplitOp(call, ((receiver, call.func.value),), event, "train_test_split")
        return None

    # ------------------------------------------------------------- leaks (NN601)
    @cached_property
    def leaks(self) -> list[Leak]:
        """Fits that see held-out data; hand-written statistics count only where they scale data
        (a minimum taken for a plot's range fits nothing), once per data and function (the mean
        and the std of one standardization are one finding). A helper that fits what its
        parameter holds is right for callers that pass training data: the leak is the call that
        passes held-out data."""
        found: list[Leak] = []
        statistics_seen: set[tuple] = set()
        fitting_helpers: dict[cst.FunctionDef, dict[tuple[str, cst.CSTNode], Fit]] = {}
        applied = self.dataflow.semantics_of(DataSemantics).applied
        for fit in self.fits:
            if fit.is_statistic and fit.node not in applied:
                continue
            parameter = self._fitted_parameter(fit)
            if parameter is not None:
                fitting_helpers.setdefault(fit.event.function.node, {})[(parameter, fit.node)] = fit
                if fit.event.specialized:
                    continue
            role = fit.scaler.detail
            if fit.is_statistic:
                key = (fit.event.function.node, root_name(fit.seen_expr))
                if key in statistics_seen:
                    continue
            leak = None
            if role in api.HELD_OUT or role == api.MIXED:
                leak = Leak(fit, "held-out")
            elif role == api.UNSPLIT:
                split = self._split_after(fit)
                callers = self._callers_leaking(fit) if split is not None and (
                    split.event.function is not fit.event.function) else None
                if callers is not None:
                    found.extend(callers)
                    continue
                leak = Leak(fit, "before-split", split) if split is not None else None
            if leak is not None:
                found.append(leak)
                if fit.is_statistic:
                    statistics_seen.add((fit.event.function.node, root_name(fit.seen_expr)))
        found.extend(self._leaks_through_helpers(fitting_helpers))
        found.extend(self._leaks_through_imported_helpers())
        return found

    @cached_property
    def fitted_parameters(self) -> dict[cst.FunctionDef, tuple[tuple[str, int, Fit], ...]]:
        """Functions that fit what a parameter holds, for callers in other files: (parameter, its
        position among the arguments, the fit). Hand-written statistics count only where they scale
        data, as in `leaks`."""
        found: dict[cst.FunctionDef, dict[str, tuple[str, int, Fit]]] = {}
        applied = self.dataflow.semantics_of(DataSemantics).applied
        for fit in self.fits:
            if fit.is_statistic and fit.node not in applied:
                continue
            function = fit.event.function
            parameter = self._fitted_parameter(fit)
            if parameter is None or fit.event.specialized or function.node is None:
                continue
            found.setdefault(function.node, {}).setdefault(
                parameter, (parameter, function.params.index(parameter), fit))
        return {function: tuple(fits.values()) for function, fits in found.items()}

    def _leaks_through_imported_helpers(self) -> Iterator[Leak]:
        """Calls passing held-out data to a function of another file that fits its parameter."""
        for event in self.dataflow.calls():
            symbol = self.dataflow.project.get(event.qualname) if event.qualname and not event.specialized else None
            for param, position, producer, span in symbol.fitted_parameters if symbol is not None else ():
                value, expr = _passed_argument(event, param, position)
                value = as_data(value, expr) if expr is not None else UNKNOWN
                if value.kind is Kind.DATA and value.detail in (*api.HELD_OUT, api.MIXED):
                    seen = Value(Kind.SCALER, producer, event.node, value.detail)
                    yield Leak(Fit(event.node, seen, expr, event), "held-out", helper=event.qualname,
                               elsewhere=symbol.place(span))

    def _callers_leaking(self, fit: Fit) -> list[Leak] | None:
        """For a helper that fits its parameter, data a caller splits afterwards: the helper is
        right for a caller that passes training data, so the leaks are the calls that pass it data
        the same caller then divides (`X = project(X); train_test_split(X, y)`). None for a fit on
        something else than a parameter, wrong for every caller: reported where it is."""
        helper = fit.event.function.node
        parameter = next((use.param for use in self.dataflow.parameter_uses(helper)
                          if use.event.node is fit.node and _is_fitted_argument(use)), None) if helper else None
        if parameter is None:
            return None
        order = {id(event): index for index, event in enumerate(self.dataflow.events)}
        found = []
        for event in self.dataflow.calls():
            if event.specialized or event.callee.kind is not Kind.FUNCTION or event.callee.origin is not helper:
                continue
            passed = self.dataflow.argument_for(event, parameter)
            expr = self.dataflow.argument_expression(event, parameter)
            if expr is None or (passed.kind is Kind.DATA and passed.detail != api.UNSPLIT):
                continue
            if not self._fits_at(fit, event):
                continue
            split = self._split_of_passed_data(fit, event, expr, order)
            if split is not None:
                found.append(Leak(replace(fit, node=event.node, seen_expr=expr), "before-split", split,
                                  helper.name.value, fit.node))
        return found

    def _fits_at(self, fit: Fit, call: CallEvent) -> bool:
        """Whether a helper's fit runs at this call of the helper: always, but for statistics
        computed on first use only (`if self.mean is None: self.mean = df.mean()`), only where
        the object the helper is called on was just built without them."""
        unset = _first_use_guard(fit.event)
        return unset is None or self.dataflow.unset_at(call, unset)

    def _split_of_passed_data(self, fit: Fit, call: CallEvent, passed: cst.BaseExpression,
                              order: dict[int, int]) -> SplitOp | None:
        """The split, later in the calling function, of what the helper returned scaled by its fit,
        or of the data passed to it when what it fitted scales a split later."""
        root = root_name(passed)
        applied = self._applied_to_splits(fit)
        for split in self.splits:
            if split.event.function is not call.function or order[id(split.event)] < order[id(call)]:
                continue
            for value, expr in split.inputs:
                basis = value.basis if value.kind is Kind.DATA else None
                if (basis is not None and basis.kind is Kind.SCALER and basis.origin is fit.node) or (
                        applied and root is not None and root_name(expr) == root):
                    return split
        return None

    def _fitted_parameter(self, fit: Fit) -> str | None:
        """The parameter of the helper a fit runs in whose data it fits, if any."""
        function = fit.event.function.node
        if function is None:
            return None
        return next((use.param for use in self.dataflow.parameter_uses(function)
                     if use.event.node is fit.node and _is_fitted_argument(use)), None)

    def _leaks_through_helpers(self, fitting_helpers: dict[cst.FunctionDef, dict[tuple[str, cst.CSTNode], Fit]]
                               ) -> Iterator[Leak]:
        for event in self.dataflow.calls():
            helper = event.callee.origin if event.callee.kind is Kind.FUNCTION else None
            if event.specialized or helper not in fitting_helpers:
                continue
            passed = self.dataflow.arguments_of(event)
            fits = fitting_helpers[helper]
            for use in self.dataflow.parameter_uses(helper, passed):
                fit = fits.get((use.param, use.event.node))
                expr = self.dataflow.argument_expression(event, use.param)
                value = as_data(passed.get(use.param, UNKNOWN), expr)
                if fit is None or value.kind is not Kind.DATA or value.detail not in (*api.HELD_OUT, api.MIXED):
                    continue
                if not self._fits_at(fit, event):
                    continue
                seen = replace(fit.scaler, detail=value.detail)
                yield Leak(replace(fit, node=event.node, scaler=seen, seen_expr=expr), "held-out", helper=helper.name.value,
                           inner=fit.node)
                break

    def _split_after(self, fit: Fit) -> SplitOp | None:
        """The split that divides the data these statistics were computed on (the statistics
        scale data split after them, or were computed on all the data and then applied to a split)."""
        for split in self.splits:
            for value, _ in split.inputs:
                basis = value.basis if value.kind is Kind.DATA else None
                if basis is not None and basis.kind is Kind.SCALER and basis.origin is fit.node:
                    return split
        if not self._applied_to_splits(fit):
            return None
        root = root_name(fit.seen_expr)
        if root is None:
            return None
        for split in self.splits:
            if split.event.function is fit.event.function and any(root_name(e) == root for _, e in split.inputs):
                return split
        return None

    def _applied_to_splits(self, fit: Fit) -> bool:
        """Whether these statistics scale data of a split (the training or the test part)."""
        return bool(self.dataflow.semantics_of(DataSemantics).applied.get(fit.node, set()) & api.SPLIT_ROLES)

    # ------------------------------------------------------------- models (NN604, NN605)
    @cached_property
    def model_uses(self) -> list[ModelUse]:
        uses: list[ModelUse] = []
        for event in self.dataflow.calls():
            use = self._model_use(event)
            if use is not None:
                uses.append(use)
        return uses

    def _model_use(self, event: CallEvent) -> ModelUse | None:
        call = event.node
        if event.function.name in _FORWARD_SKIPPED:
            return None
        arguments = positional_args(call)
        if not arguments or not event.args:
            return None
        data_value = as_data(event.args[0], arguments[0].value)
        method = event.method
        if event.qualname is None and method is not None and isinstance(call.func, cst.Attribute):
            if event.receiver is not None and event.receiver.kind in (Kind.SCALER, Kind.DATA):
                return None
            training = method in api.FIT_MODEL_METHODS
            name = dotted_name(call.func.value)
            if name is None and training and isinstance(call.func.value, cst.Call):
                name = self.bindings.target_of(call)  # `knn = KNeighborsClassifier().fit(X, y)`
            if name is None or _is_scaler_name(name):
                return None
            if not training and method not in api.PREDICT_METHODS:
                return self._forward_use(event, data_value, arguments[0].value)
            return ModelUse(event, self._key(event.receiver, name, event), training, data_value, arguments[0].value,
                            name)
        return self._forward_use(event, data_value, arguments[0].value)

    def _forward_use(self, event: CallEvent, data_value: Value, data_expr: cst.BaseExpression) -> ModelUse | None:
        name = dotted_name(event.node.func)
        is_model = event.callee.kind is Kind.MODULE or (
            event.qualname is None and name is not None and bool(set(api.words(name.rsplit(".", 1)[-1])) & _MODEL_WORDS)
        )
        if not is_model or name is None or data_value.kind is not Kind.DATA:
            return None
        training = not grad_disabled(event) and data_value.detail == api.TRAIN
        return ModelUse(event, self._key(event.callee, name, event), training, data_value, data_expr, name)

    @staticmethod
    def _key(value: Value | None, name: str, event: CallEvent) -> tuple:
        if value is not None and value.kind is Kind.MODULE and value.origin is not None:
            return ("object", value.origin)
        return ("name", event.function.node, name)

    def unscaled_evaluations(self) -> Iterator[tuple[ModelUse, ModelUse]]:
        """(evaluation on unscaled held-out data, training on scaled data) of the same model."""
        trained_scaled: dict[tuple, ModelUse] = {}
        for use in self.model_uses:
            if use.training and use.data.kind is Kind.DATA and use.data.detail == api.TRAIN and is_scaled(use.data):
                trained_scaled.setdefault(use.key, use)
        seen: set[cst.CSTNode] = set()
        for use in self.model_uses:
            if use.training or use.event.node in seen:
                continue
            data_value = use.data
            if data_value.kind is not Kind.DATA or data_value.detail not in api.HELD_OUT or data_value.basis is not None:
                continue
            training = trained_scaled.get(use.key)
            if training is not None:
                seen.add(use.event.node)
                yield use, training

    # ------------------------------------------------------------- evaluation on training data (NN605)
    def training_data_evaluations(self) -> Iterator[TrainingDataEvaluation]:
        """Evaluations fed the training split, each reported once (its own reason first, before
        one found inside a helper it calls)."""
        seen: set[cst.CSTNode] = set()
        direct = [TrainingDataEvaluation(node, why)
                  for node, why in (*self._held_out_keywords(), *self._held_out_hooks())]
        for evaluation in sorted((*direct, *self._evaluations_with_intent()), key=lambda e: e.helper is not None):
            if evaluation.node not in seen:
                seen.add(evaluation.node)
                yield evaluation

    def _held_out_keywords(self) -> Iterator[tuple[cst.CSTNode, str]]:
        for event in self.dataflow.calls():
            call = event.node
            slots: list[tuple[str, Value, cst.BaseExpression]] = []
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value in api.HELD_OUT_KEYWORDS:
                    slots.append((f"{arg.keyword.value}=", event.kwargs.get(arg.keyword.value), arg.value))
            positional = positional_args(call)
            receiver = (event.receiver_name or "").rsplit(".", 1)[-1].lower()
            if "trainer" in receiver and event.qualname is None:
                index = {"fit": 2, "validate": 1, "test": 1}.get(event.method or "")
                if index is not None and index < len(positional) and index < len(event.args):
                    slots.append((f"trainer.{event.method}()", event.args[index], positional[index].value))
                if event.method in api.TRAINER_EVALUATIONS and "dataloaders" in event.kwargs:
                    slots.append(("dataloaders=", event.kwargs["dataloaders"], keyword_arg(call, "dataloaders").value))
            if event.method in api.TRAINER_EVALUATIONS and self._reports_every_split(event):
                continue
            for where, value, expr in slots:
                if value is None or self._validates_beside_other_training_data(event, value):
                    continue
                if all(self._is_training_data(v, e) for v, e in _evaluation_sets(where, value, expr)):
                    yield call, f"{where} is given the training split ({expression_text(expr)})"

    def _validates_beside_other_training_data(self, event: CallEvent, value: Value) -> bool:
        """`trainer.fit(model, pretrain_loader, val_loader)` where the validation loader draws a
        split that no training loader of the file draws from, and the fit trains on a loader over
        other data: that split, whatever its name, is held out from this training (SimCLR trains
        on STL10's "unlabeled" split and validates on its labelled "train" split)."""
        if event.method != "fit":
            return False
        trained = event.kwargs.get("train_dataloaders") or event.kwargs.get("train_dataloader") or (
            event.args[1] if len(event.args) > 1 else UNKNOWN)
        training, validation = self.loaders.loader_of(trained), self.loaders.loader_of(value)
        if training is None or validation is None or training is validation:
            return False
        held_out = validation.dataset
        return isinstance(held_out.origin, cst.Call) and held_out.origin is not training.dataset.origin and not (
            self.loaders.trains_on(held_out))

    def _reports_every_split(self, event: CallEvent) -> bool:
        """A trainer's test/validate run whose result is named or printed as the training score
        (`train_result = trainer.test(model, train_loader)`), or, named as neither, that the same
        code runs on held-out data too: a report of how the model does on each split."""
        intent = intent_of_name(self.bindings.target_of(event.node)) or intent_of_text(
            self.bindings.message_of(event.node))
        if intent is not None:
            return intent == api.TRAIN
        return any(
            other.function is event.function and other.receiver_name == event.receiver_name
            and other.method == event.method and self._evaluated_split(other) in api.HELD_OUT
            for other in self.dataflow.calls()
        )

    @staticmethod
    def _evaluated_split(event: CallEvent) -> str:
        """The split a trainer's test/validate run is given (its `dataloaders`)."""
        arguments = positional_args(event.node)
        if "dataloaders" in event.kwargs:
            value, expr = event.kwargs["dataloaders"], keyword_arg(event.node, "dataloaders").value
        elif len(event.args) > 1 and len(arguments) > 1:
            value, expr = event.args[1], arguments[1].value
        else:
            return ""
        data_value = as_data(value, expr)
        return data_value.detail if data_value.kind is Kind.DATA else ""

    @staticmethod
    def _is_training_data(value: Value, expr: cst.BaseExpression) -> bool:
        data_value = as_data(value, expr)
        return data_value.kind is Kind.DATA and data_value.detail == api.TRAIN

    def _held_out_hooks(self) -> Iterator[tuple[cst.CSTNode, str]]:
        for event in self.dataflow.calls():
            if event.qualname not in api.DATA_LOADERS or event.function.name not in (
                    "val_dataloader", "test_dataloader"):
                continue
            loader = event.result
            if loader.kind is Kind.DATA and loader.detail == api.TRAIN:
                yield event.node, f"{event.function.name}() returns a loader over the training split"

    def _evaluations_with_intent(self) -> Iterator[TrainingDataEvaluation]:
        """Evaluations fed training data their names say is held out. Inside a helper analysed
        with a caller's data, made outside it, the helper is right for a real validation set:
        the finding belongs to the calls that pass the training data."""
        for event in self.dataflow.calls():
            found = self._evaluated_data(event)
            if found is None:
                continue
            data_value, expr = found
            if data_value.kind is not Kind.DATA or data_value.detail != api.TRAIN:
                continue
            why = self._held_out_intent(event, expr)
            if why is None:
                continue
            if not event.specialized or _made_in(data_value.origin, event.function.node):
                yield TrainingDataEvaluation(event.node, why)
                continue
            for call in self._calls_passing(event.function.node, data_value.origin):
                yield TrainingDataEvaluation(call.node, why, event.function.name, event.node)

    def _calls_passing(self, helper: cst.FunctionDef | None, origin: cst.CSTNode | None) -> Iterator[CallEvent]:
        """The calls of `helper`, outside specialized analyses, that pass it data made at `origin`;
        through the calls of the helpers that pass it on, when the data comes from further out."""
        pending, seen = [helper], set()
        while pending:
            function = pending.pop()
            if function is None or function in seen:
                continue
            seen.add(function)
            for call in self.dataflow.calls():
                if call.callee.kind is not Kind.FUNCTION or call.callee.origin is not function:
                    continue
                if not any(value.kind is Kind.DATA and value.origin is origin
                           for value in (*call.args, *call.kwargs.values())):
                    continue
                if not call.specialized or _made_in(origin, call.function.node):
                    yield call
                else:
                    pending.append(call.function.node)

    def _evaluated_data(self, event: CallEvent) -> tuple[Value, cst.BaseExpression] | None:
        """The data an evaluation call is fed: predict / score / a forward pass / evaluate(model, data)."""
        call = event.node
        if event.function.name in _FORWARD_SKIPPED:
            return None
        arguments = positional_args(call)
        pairs = list(zip(event.args, (arg.value for arg in arguments)))
        if not pairs:
            return None
        name = dotted_name(call.func) or ""
        last = name.rsplit(".", 1)[-1]
        if event.qualname is None and event.method in api.PREDICT_METHODS:
            if event.receiver is not None and event.receiver.kind in (Kind.SCALER, Kind.DATA):
                return None
            return pairs[0]
        words = set(api.words(last))
        if event.callee.kind is Kind.MODULE or (event.qualname is None and words & _MODEL_WORDS):
            return pairs[0]
        if event.qualname is None and words & _EVALUATION_WORDS and not words & _TRAIN_WORDS:
            for value, expr in pairs:
                data_value = as_data(value, expr)
                if data_value.kind is Kind.DATA:
                    return data_value, expr
        return None

    def _held_out_intent(self, event: CallEvent, expr: cst.BaseExpression) -> str | None:
        name = dotted_name(expr)
        if name is not None and api.role_from_name(name) in api.HELD_OUT:
            return f"{name} holds the training split"
        target = self.bindings.target_of(event.node)
        if intent_of_name(target) == api.TEST:
            return f"the result is named {target.rsplit('.', 1)[-1]}"
        if intent_of_text(self.bindings.message_of(event.node)) == api.TEST:
            return "the result is reported as a test/validation score"
        for loop in reversed(event.loops):
            if isinstance(loop, cst.For):
                loop_name = dotted_name(_unwrap_iteration(loop.iter))
                if loop_name is not None and api.role_from_name(loop_name) in api.HELD_OUT:
                    return f"{loop_name} holds the training split"
                break
        return None


    # ------------------------------------------------------------- training on unsplit data (NN606)
    def unsplit_trainings(self) -> Iterator[tuple[cst.CSTNode, SplitOp, cst.BaseExpression]]:
        """(supervised fit on the data a split divided, that split, a later evaluation of the same
        model on the split's test part): the test rows were among the training rows."""
        order = {id(event): index for index, event in enumerate(self.dataflow.events)}
        for fit in self.model_uses:
            if not fit.training or not _is_supervised_fit(fit):
                continue
            if fit.data.kind is Kind.DATA and fit.data.detail != api.UNSPLIT:
                continue
            split = self._split_before(fit.event, root_name(fit.data_expr), order)
            if split is None:
                continue
            evaluation = next((use for use in self.model_uses if not use.training and use.key == fit.key
                               and _is_held_out_part(use.data, split)
                               and order[id(use.event)] > order[id(fit.event)]), None)
            if evaluation is not None:
                yield fit.event.node, split, evaluation.data_expr

    def unsplit_training_loaders(self) -> Iterator[tuple[cst.Call, SplitOp, cst.BaseExpression]]:
        """(training loader over the very dataset a split divided, that split, the held-out data then
        evaluated): `random_split(dataset, ...)` and then `DataLoader(dataset, shuffle=True)` feeding
        the training loop while a loader over a held-out part evaluates."""
        order = {id(event): index for index, event in enumerate(self.dataflow.events)}
        for loader in self.loaders.loaders:
            dataset = loader.dataset
            arguments = positional_args(loader.node)
            if loader.training_reason is None or not arguments:
                continue
            if dataset.kind is Kind.DATA and dataset.detail != api.UNSPLIT:
                continue
            split = self._split_before(loader.event, root_name(arguments[0].value), order)
            held_out = self._evaluated_part(split) if split is not None else None
            if held_out is not None:
                yield loader.node, split, held_out

    def _evaluated_part(self, split: SplitOp) -> cst.BaseExpression | None:
        """A held-out part of this split that the file evaluates a model on, or feeds to a loader
        that only evaluates."""
        for use in self.model_uses:
            if not use.training and _is_held_out_part(use.data, split):
                return use.data_expr
        for loader in self.loaders.loaders:
            arguments = positional_args(loader.node)
            if loader.training_reason is None and arguments and _is_held_out_part(loader.dataset, split):
                return arguments[0].value
        return None

    def _split_before(self, event: CallEvent, data_root: str | None, order: dict[int, int]) -> SplitOp | None:
        """The train/test split, made earlier in the same function, of the data named `data_root`."""
        if data_root is None:
            return None
        for split in self.splits:
            if split.name not in _TRAIN_TEST_SPLITS or split.event.function is not event.function:
                continue
            if order[id(split.event)] < order[id(event)] and any(
                    root_name(expr) == data_root for _, expr in split.inputs):
                return split
        return None

    # ------------------------------------------------------------- model selection on test data (NN607)
    def steps_of(self, root: cst.CSTNode) -> list[cst.CSTNode]:
        """A function's (or the module's) own assignments, `if` statements and calls, in order."""
        if root not in self._steps:
            self._steps[root] = function_steps(root)
        return self._steps[root]

    def parameter_selections(self, function: cst.FunctionDef) -> tuple[tuple[str, int, str, str], ...]:
        """What a function selects by metrics of its parameters (see `selections.parameter_selections`)."""
        if function not in self._parameter_selections:
            self._parameter_selections[function] = parameter_selections(function, self.steps_of(function))
        return self._parameter_selections[function]

    def test_selections(self) -> Iterator[TestSelection]:
        """Comparisons and early-stopping calls that choose a checkpoint or an epoch by a metric the
        test split alone gave: a metric returned by a call given the test split, or counted by hand
        (`acc = correct / total`) after evaluations, all on the test split, in the same function."""
        for root in (self.bindings.module, *self.dataflow.functions):
            yield from self._selections_in(root if isinstance(root, cst.FunctionDef) else None, self.steps_of(root))
        yield from self._selections_through_calls()

    def _selections_through_calls(self) -> Iterator[TestSelection]:
        """Calls that pass the test split to a function (of this file, or of another through its
        summary) that selects a checkpoint by a metric of that parameter: the function is right
        for a validation split, the call that passes the test split is the selection on it."""
        for event in self.dataflow.calls():
            if event.specialized:
                continue
            helper = event.callee.origin if event.callee.kind is Kind.FUNCTION else None
            symbol = self.dataflow.project.get(event.qualname) if event.qualname else None
            if isinstance(helper, cst.FunctionDef):
                name, selections = helper.name.value, self.parameter_selections(helper)
            elif symbol is not None:
                name, selections = event.qualname.rsplit(".", 1)[-1], symbol.selections
            else:
                continue
            for param, position, metric, how in selections:
                value, expr = _passed_argument(event, param, position)
                if expr is not None and as_data(value, expr).kind is Kind.DATA and as_data(value, expr).detail == api.TEST:
                    yield TestSelection(event.node, f"{name}()'s {metric} on {expression_text(expr)}", how)

    def _selections_in(self, function: cst.FunctionDef | None, steps: list[cst.CSTNode]) -> Iterator[TestSelection]:
        own_splits = self._evaluated_splits.get(function, frozenset())
        evaluation_calls = {use.event.node for use in self.model_uses
                            if not use.training and use.event.function.node is function}
        evaluated_yet = False
        metric_splits: dict[str, frozenset[str]] = {}
        for index, step in enumerate(steps):
            evaluated_yet = evaluated_yet or step in evaluation_calls
            candidate = selection_at(step, steps[index + 1:])
            if isinstance(step, cst.Assign):
                splits = frozenset().union(*(self._splits_of_call(call) for call in calls_in(step.value)))
                for target in step.targets:
                    name = dotted_name(target.target)
                    if name is not None and splits:
                        metric_splits[name] = splits
            if candidate is None or candidate.named_for_another_split:
                continue
            source = metric_source(candidate.metric)
            if source in metric_splits:
                if metric_splits[source] == {api.TEST}:
                    yield candidate
            elif evaluated_yet and own_splits == {api.TEST}:  # a metric counted by hand after evaluating
                yield candidate

    @cached_property
    def _evaluated_splits(self) -> dict[cst.FunctionDef | None, frozenset[str]]:
        """The held-out splits each function evaluates a model on with its own forward passes and predictions."""
        found: dict[cst.FunctionDef | None, set[str]] = {}
        for use in self.model_uses:
            if not use.training and use.data.kind is Kind.DATA and use.data.detail in api.HELD_OUT:
                found.setdefault(use.event.function.node, set()).add(use.data.detail)
        return {function: frozenset(splits) for function, splits in found.items()}

    @cached_property
    def _call_events(self) -> dict[cst.CSTNode, list[CallEvent]]:
        found: dict[cst.CSTNode, list[CallEvent]] = {}
        for event in self.dataflow.calls():
            found.setdefault(event.node, []).append(event)
        return found

    def _splits_of_call(self, call: cst.Call) -> frozenset[str]:
        """The splits a call evaluates: those of its data arguments (`evaluate(model, test_loader)`), or
        the held-out splits a function of the file evaluates by itself (`acc = test(epoch)`)."""
        passed: set[str] = set()
        evaluated_inside: set[str] = set()
        for event in self._call_events.get(call, []):
            for value, argument in zip(event.args, positional_args(call)):
                data_value = as_data(value, argument.value)
                if data_value.kind is Kind.DATA and data_value.detail in api.SPLIT_ROLES:
                    passed.add(data_value.detail)
            callee = event.callee.origin if event.callee.kind is Kind.FUNCTION else None
            if isinstance(callee, cst.FunctionDef):
                evaluated_inside |= self._evaluated_splits.get(callee, frozenset())
        return frozenset(passed or evaluated_inside)


def _made_in(origin: cst.CSTNode | None, function: cst.FunctionDef | None) -> bool:
    """Whether a value was made inside `function` (anything counts for the module body)."""
    return function is None or origin is None or any(node is origin for node in descendants(function))


def _first_use_guard(event: CallEvent) -> str | None:
    """`mean` for a call under `if self.mean is None:`, made only while that attribute is unset."""
    for statement, index, _ in event.branches:
        test = statement.test if isinstance(statement, cst.If) and index == 0 else None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            comparison = test.comparisons[0]
            tested = dotted_name(test.left) or ""
            if isinstance(comparison.operator, cst.Is) and dotted_name(comparison.comparator) == "None" and (
                    tested.startswith("self.") and tested.count(".") == 1):
                return tested[5:]
    return None


def _is_fitted_argument(use: ParameterUse) -> bool:
    """The argument a fit or a statistic is computed on: the first, `X=`, or the data whose
    statistic a method computes (`X.mean(0)`)."""
    if use.receiver:
        return use.event.qualname is None and use.event.method in api.STATISTICS
    return use.position == 0 or use.keyword in ("X", "x")


def _passed_argument(event: CallEvent, param: str, position: int) -> tuple[Value, cst.BaseExpression | None]:
    """What a call passes for a parameter, by keyword or at its position."""
    call = event.node
    keyword = keyword_arg(call, param)
    if keyword is not None:
        return event.kwargs.get(param, UNKNOWN), keyword.value
    arguments = positional_args(call)
    if 0 <= position < len(arguments) and not any(arg.star for arg in call.args):
        return (event.args[position] if position < len(event.args) else UNKNOWN), arguments[position].value
    return UNKNOWN, None


def _evaluation_sets(where: str, value: Value, expr: cst.BaseExpression) -> list[tuple[Value, cst.BaseExpression]]:
    """The data sets a validation argument holds: `validation_data=(X, y)` one, `eval_set=[(X_tr, y_tr),
    (X_va, y_va)]` and `valid_sets=[train, valid]` several (the training set may be one of them)."""
    if value.kind is not Kind.SEQUENCE or not isinstance(expr, (cst.Tuple, cst.List)) or not value.items:
        return [(value, expr)]
    if where == "validation_data=":
        return [(value.items[0], expr.elements[0].value)]
    sets = []
    for item, element in zip(value.items, expr.elements):
        inner = element.value
        if item.kind is Kind.SEQUENCE and item.items and isinstance(inner, (cst.Tuple, cst.List)):
            item, inner = item.items[0], inner.elements[0].value
        sets.append((item, inner))
    return sets


def _unwrap_iteration(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`loader` in `enumerate(loader)`, `tqdm(loader)`."""
    while isinstance(expr, cst.Call) and expr.args:
        expr = expr.args[0].value
    return expr


def _is_scaler_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return any(word in last for word in ("scaler", "normalizer", "standardizer", "imputer", "pca"))


def _is_held_out_part(data: Value, split: SplitOp) -> bool:
    """Data that is a validation or test part this split made."""
    return data.kind is Kind.DATA and data.detail in api.HELD_OUT and data.origin is split.node


def _is_supervised_fit(use: ModelUse) -> bool:
    """`fit(X, y)`: a model given targets, not a transform or a clustering fitted on features alone."""
    call = use.event.node
    return use.event.method in api.FIT_MODEL_METHODS and (
        len(positional_args(call)) >= 2 or keyword_arg(call, "y") is not None)


