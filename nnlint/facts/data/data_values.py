"""How the dataflow interpreter tracks data: which split a value holds (DATA), the scalers and
statistics fitted on it (SCALER), and random orders drawn to shuffle it (PERMUTATION).

The interpreter asks `DataSemantics` at the few places data moves: calls, subscripts,
arithmetic, attributes, iteration and assignment. A split's role comes from what the code does
(train_test_split, random_split, `train=False`, `split="test"`, a file named test.csv, an index
split); a variable's name (`X_test`, `val_loader`) is the fallback where nothing else is known,
and data known only by its name is never claimed to be unscaled.
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst

from nnlint.facts.data import data_api as api
from nnlint.facts.core.syntax import calls_in, descendants, dotted_name, keyword_arg, positional_args, source_code, string_value
from nnlint.facts.core.semantics import Interpreter, Semantics
from nnlint.facts.core.values import UNKNOWN, Kind, Value
from nnlint.facts.pytorch.semantics import TENSOR_KINDS

_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)
_AUGMENTED = {cst.AddAssign: cst.Add(), cst.SubtractAssign: cst.Subtract(), cst.MultiplyAssign: cst.Multiply(),
              cst.DivideAssign: cst.Divide()}
_SCALER_NAME_WORDS = ("scaler", "normalizer", "normaliser", "standardizer", "standardiser")
_GENERATOR_NAME_WORDS = frozenset({"rng", "prng", "generator", "random", "rs", "gen"})


def data(role: str, origin: cst.CSTNode | None, producer: str, basis: Value | None = None,
         class_name: str = "") -> Value:
    return Value(Kind.DATA, producer, origin, role, class_name=class_name, basis=basis, uniform=True)


def named_data(expr: cst.BaseExpression | None) -> Value:
    """Data known only by its variable's name (`X_test`): its scaling is not known."""
    name = dotted_name(expr) if expr is not None else None
    role = api.role_from_name(name) if name else None
    return data(role, expr, f"'{name}'", UNKNOWN) if role else UNKNOWN


def as_data(value: Value, expr: cst.BaseExpression | None) -> Value:
    """`value` if it is data; else data named by `expr`'s name; else `value`."""
    if value.kind is Kind.DATA or value.kind is not Kind.UNKNOWN:
        return value
    return named_data(expr) if expr is not None else value


def is_scaled(value: Value) -> bool:
    basis = value.basis
    return basis is not None and basis.kind is Kind.SCALER and basis.detail != api.NO_SCALING


def _merge(parts: Sequence[Value], origin: cst.CSTNode, producer: str) -> Value:
    """Data combined from parts (concatenated, zipped, put in one dataset)."""
    found = [part for part in parts if part.kind is Kind.DATA]
    if not found:
        return UNKNOWN
    role = api.merge_roles([part.detail for part in found])
    scaled = next((part.basis for part in found if is_scaled(part)), None)
    basis = scaled or (UNKNOWN if any(part.basis is not None for part in found) else None)
    first = found[0]
    return data(role, first.origin if role == first.detail else origin, producer, basis)


def _with_role(value: Value, role: str, origin: cst.CSTNode, producer: str) -> Value:
    return data(role, origin, producer, value.basis if value.kind is Kind.DATA else None)


def _flag(expr: cst.BaseExpression | None) -> bool | None:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return expr.value == "True"
    return None


def _names_in(expr: cst.CSTNode) -> list[str]:
    return [node.value for node in descendants(expr) if isinstance(node, cst.Name)]


_COUNT_WORDS = frozenset({"n", "num", "nb", "number", "size", "len", "length", "count", "samples", "examples",
                          "rows", "end", "start", "split", "idx", "index", "cut", "cutoff", "point", "total",
                          "ratio", "frac", "fraction", "pct", "percent", "part", "portion"})


def _role_of_bound(expr: cst.BaseExpression) -> str | None:
    """The split a slice bound or a length names: `n_train`, `train_size`, `num_val`; names with other
    words (`eval_prefix_len`) and `int(0.8 * len(X))` name none."""
    roles = set()
    for name in _names_in(expr):
        words = api.words(name)
        role_words = [word for word in words if api.role_from_split_name(word)]
        if role_words and all(word in _COUNT_WORDS for word in words if word not in role_words):
            roles.update(api.role_from_split_name(word) for word in role_words)
    return roles.pop() if len(roles) == 1 else None


def _length_role(expr: cst.BaseExpression) -> str | None:
    """The split a random_split length names; `len(ds) - n_train` names the rest of the data."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Subtract):
        if _role_of_bound(expr.left) is None:
            role = _role_of_bound(expr.right)
            return _opposite(role) if role else None
    return _role_of_bound(expr)


def _strings_in(expr: cst.CSTNode) -> list[str]:
    found: list[str] = []
    for node in descendants(expr):
        if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
            found.append(node.evaluated_value)
        elif isinstance(node, cst.FormattedStringText):
            found.append(node.value)
    return found


def _opposite(role: str) -> str:
    return api.TEST if role == api.TRAIN else api.TRAIN


class DataSemantics(Semantics):
    """The data side of the interpreter; one per Dataflow."""

    def __init__(self, interpreter: Interpreter) -> None:
        super().__init__(interpreter)
        self.names = interpreter.names
        # Scaler or statistics call -> the roles of the data it has scaled.
        self.applied: dict[cst.CSTNode, set[str]] = {}

    def _scaled(self, role: str, origin: cst.CSTNode | None, producer: str, scaler: Value) -> Value:
        if scaler.origin is not None:
            self.applied.setdefault(scaler.origin, set()).add(role)
        return data(role, origin, producer, scaler)

    # ------------------------------------------------------------- calls
    def call_result(
        self, call: cst.Call, qualname: str | None, method: str | None, receiver: Value | None,
        receiver_name: str | None, callee: Value, args: list[Value], kwargs: dict[str, Value],
    ) -> tuple[Value, Value | None]:
        """What a call gives when it handles data, and the receiver's new value (a fitted scaler)."""
        exprs = [arg.value for arg in positional_args(call)]
        if qualname is not None:
            return self._library_call(call, qualname, args, kwargs, exprs), None
        if callee.kind is Kind.CLASS:
            return self._instantiate(call, callee.class_name, args, kwargs, exprs), None
        if callee.kind is not Kind.UNKNOWN:
            return UNKNOWN, None
        if method is not None and receiver is not None and isinstance(call.func, cst.Attribute):
            return self._method_call(call, method, receiver, receiver_name, call.func.value, args, kwargs, exprs)
        if isinstance(call.func, cst.Name):
            return self._builtin_call(call, call.func.value, args, exprs), None
        return UNKNOWN, None

    def _arg(self, args: list[Value], exprs: list[cst.BaseExpression], index: int) -> Value:
        if index >= len(args):
            return UNKNOWN
        return as_data(args[index], exprs[index] if index < len(exprs) else None)

    def _library_call(self, call: cst.Call, qualname: str, args: list[Value], kwargs: dict[str, Value],
                      exprs: list[cst.BaseExpression]) -> Value:
        short = qualname.rsplit(".", 1)[-1]
        first = self._arg(args, exprs, 0)
        if api.is_scaler_class(qualname) or qualname in api.KERAS_NORMALIZATION or qualname in api.TOKENIZERS:
            return Value(Kind.SCALER, short, call, api.UNFITTED)
        if qualname in api.COLUMN_TRANSFORMERS:
            return Value(Kind.SCALER, short, call, api.UNFITTED) if self._holds_scaler(call) else UNKNOWN
        if qualname in api.PIPELINES:
            return Value(Kind.SCALER, short, call, api.UNFITTED) if _last_step(args, kwargs).kind is Kind.SCALER \
                else UNKNOWN
        if qualname in api.NORMALIZE_TRANSFORMS:
            given = [*args, *kwargs.values()]
            for statistics in given + [item for value in given for item in value.items]:
                if statistics.kind is Kind.SCALER and statistics.origin is not None:
                    self.applied.setdefault(statistics.origin, set()).add("")  # mean/std of some data
            return Value(Kind.SCALER, short, call, api.FIXED)
        if qualname in api.COMPOSE_TRANSFORMS or (qualname.startswith(api.TRANSFORM_PREFIXES) and short[:1].isupper()):
            return self._transform(call, qualname, first)
        if qualname in api.SCALING_FUNCTIONS:
            role = first.detail if first.kind is Kind.DATA else ""
            return self._scaled(role, call, short, Value(Kind.SCALER, short, call, role, basis=first))
        statistic = api.statistic_name(qualname, None)
        if statistic is not None:
            return self._statistics(call, statistic, first, args, kwargs, is_method=False)
        if qualname in api.TRAIN_TEST_SPLIT:
            return self._train_test_split(call, args, exprs)
        if qualname in api.RANDOM_SPLIT:
            return self._random_split(call, first, call.args[1].value if len(call.args) > 1 else None)
        if qualname in api.SUBSET:
            return self._subset(call, first, self._arg(args, exprs, 1))
        if qualname in api.SUBSET_SAMPLERS:
            indices = first if args else as_data(kwargs.get("indices", UNKNOWN), _keyword(call, "indices"))
            role = indices.detail if indices.kind is Kind.DATA else ""
            return data(role, indices.origin if role else call, short)
        if qualname in api.DATA_LOADERS:
            dataset = first if args else as_data(kwargs.get("dataset", UNKNOWN), _keyword(call, "dataset"))
            sampler = self._arg(args, exprs, 3) if len(args) > 3 else as_data(
                kwargs.get("sampler", UNKNOWN), _keyword(call, "sampler"))
            drawn = sampler if sampler.kind is Kind.DATA else dataset  # a subset sampler picks the rows
            role = drawn.detail if drawn.kind is Kind.DATA else ""
            basis = dataset.basis if dataset.kind is Kind.DATA else UNKNOWN
            return data(role, call, "DataLoader", basis, dataset.class_name if dataset.kind is Kind.DATA else "")
        if qualname in api.TENSOR_DATASETS or qualname in api.DATA_COMBINATIONS or qualname in api.CONCAT_DATASETS:
            parts = [self._arg(args, exprs, i) for i in range(len(args))]
            if len(parts) == 1 and parts[0].kind is Kind.SEQUENCE:
                elements = exprs[0].elements if isinstance(exprs[0], (cst.List, cst.Tuple)) else ()
                parts = [as_data(item, elements[i].value if i < len(elements) else None)
                         for i, item in enumerate(parts[0].items)]
            return _merge(parts, call, short)
        if qualname in api.DATA_CONVERSIONS or qualname in api.ITERATION_WRAPPERS:
            return first if first.kind is Kind.DATA else UNKNOWN
        if qualname in api.PERMUTATIONS:
            return self._permutation(call, qualname, kwargs)
        if qualname in api.GENERATOR_FACTORIES or qualname in api.CV_SPLITTERS or qualname in api.ALL_ENGINES:
            return Value(Kind.UNKNOWN, qualname, call)
        if qualname in api.SINGLE_GRAPH_DATASETS:
            return data("", call, short)
        if qualname in api.HF_LOAD_DATASET:
            return self._load_dataset(call, short)
        if qualname.startswith(api.KERAS_DATASET_PREFIXES) and short == "load_data":
            parts = [Value(Kind.SEQUENCE, items=(data(role, call, short), data(role, call, short)))
                     for role in (api.TRAIN, api.TEST)]
            return Value(Kind.SEQUENCE, items=tuple(parts))
        role = self._declared_role(call)
        if role is not None and self._is_dataset_source(qualname):
            return data(role, call, _call_text(short, call), _transform_basis(kwargs))
        if qualname in api.FILE_READERS:
            path_role = self._path_role(call)
            if path_role is not None:
                return data(path_role, call, f"{short}(...)", _transform_basis(kwargs))
        return UNKNOWN

    def _method_call(
        self, call: cst.Call, method: str, receiver: Value, receiver_name: str | None,
        receiver_expr: cst.BaseExpression, args: list[Value], kwargs: dict[str, Value],
        exprs: list[cst.BaseExpression],
    ) -> tuple[Value, Value | None]:
        scaler = receiver if receiver.kind is Kind.SCALER else self._scaler_by_name(receiver, receiver_name, method)
        if scaler is not None:
            return self._scaler_method(call, method, scaler, args, exprs)
        if receiver.kind is Kind.PERMUTATION:
            return (receiver if method in api.DATA_METHODS else UNKNOWN), None
        if receiver.kind is Kind.MAPPING and receiver.items and all(i.kind is Kind.DATA for i in receiver.items):
            return (receiver if method in api.DATA_METHODS else UNKNOWN), None
        if method in api.GENERATOR_PERMUTATION_METHODS and self._is_generator(receiver, receiver_name):
            return self._permutation(call, method, kwargs), None
        target = as_data(receiver, receiver_expr)
        statistic = api.statistic_name(None, method)
        if statistic is not None and (target.kind is Kind.DATA or target is UNKNOWN):
            return self._statistics(call, statistic, target, args, kwargs, is_method=True), None
        if target.kind is not Kind.DATA:
            return UNKNOWN, None
        if method == api.HF_TRAIN_TEST_SPLIT:
            train = _with_role(target, api.TRAIN if target.detail in ("", api.TRAIN) else target.detail, call, method)
            held_out = _with_role(target, api.held_out_part(target.detail), call, method)
            return Value(Kind.MAPPING, items=(train, held_out), keys=("train", "test")), None
        if method in api.DATA_METHODS:
            return target, None
        return UNKNOWN, None

    def _builtin_call(self, call: cst.Call, name: str, args: list[Value], exprs: list[cst.BaseExpression]) -> Value:
        if name in api.DATA_BUILTINS:
            first = self._arg(args, exprs, 0)
            return first if first.kind is Kind.DATA else UNKNOWN
        if name == "next":
            return self.iterate(self._arg(args, exprs, 0))
        if name == "zip":
            return _merge([self._arg(args, exprs, i) for i in range(len(args))], call, "zip")
        return UNKNOWN

    def _instantiate(self, call: cst.Call, class_name: str, args: list[Value], kwargs: dict[str, Value],
                     exprs: list[cst.BaseExpression]) -> Value:
        """A class of this file: a custom scaler (fit + transform) or a dataset over split data."""
        info = self.interpreter.classes.get(class_name)
        if info is None or info.is_module:
            return UNKNOWN
        if self._is_scaler_class(class_name):
            return Value(Kind.SCALER, class_name, call, api.UNFITTED, class_name=class_name)
        if not self._is_dataset_class(class_name):
            return UNKNOWN
        role = self._declared_role(call)
        parts = [self._arg(args, exprs, i) for i in range(len(args))]
        parts += [as_data(value, _keyword(call, key)) for key, value in kwargs.items()]
        merged = _merge(parts, call, class_name)
        if role is not None:
            return data(role, call, _call_text(class_name, call), merged.basis if merged is not UNKNOWN else UNKNOWN,
                        class_name)
        if merged is UNKNOWN:
            return data("", call, class_name, UNKNOWN, class_name)
        return data(merged.detail, merged.origin, class_name, merged.basis, class_name)

    # ------------------------------------------------------------- scalers and statistics
    def _scaler_method(self, call: cst.Call, method: str, scaler: Value, args: list[Value],
                       exprs: list[cst.BaseExpression]) -> tuple[Value, Value | None]:
        seen = self._arg(args, exprs, 0)
        role = seen.detail if seen.kind is Kind.DATA else ""
        if method in api.FIT_METHODS or method in api.FIT_TRANSFORM_METHODS:
            fitted = Value(Kind.SCALER, scaler.producer, call, role, class_name=scaler.class_name, basis=seen)
            if method in api.FIT_TRANSFORM_METHODS:
                return self._scaled(role, seen.origin if seen.kind is Kind.DATA else call, method, fitted), fitted
            return fitted, fitted
        if method in api.TRANSFORM_METHODS:
            return self._scaled(role, seen.origin if seen.kind is Kind.DATA else call, method, scaler), None
        if method in api.DATA_METHODS:
            return scaler, None
        return UNKNOWN, None

    def _scaler_by_name(self, receiver: Value, receiver_name: str | None, method: str) -> Value | None:
        """`self.scaler.fit(...)` where nothing else says what the scaler is."""
        if receiver.kind is not Kind.UNKNOWN or not receiver_name:
            return None
        if method not in api.FIT_METHODS | api.FIT_TRANSFORM_METHODS | api.TRANSFORM_METHODS:
            return None
        last = receiver_name.rsplit(".", 1)[-1].lower()
        if not any(word in last for word in _SCALER_NAME_WORDS):
            return None
        return Value(Kind.SCALER, receiver_name, None, api.UNFITTED)

    def _statistics(self, call: cst.Call, statistic: str, target: Value, args: list[Value],
                    kwargs: dict[str, Value], is_method: bool) -> Value:
        """`X.mean(0)`, `np.std(X, axis=0)`, `X.max()`: statistics over the samples of the data."""
        axis = _keyword(call, "axis") or _keyword(call, "dim")
        if axis is None:
            position = api.axis_position(statistic, is_method)
            positional = positional_args(call)
            axis = positional[position].value if position < len(positional) else None
        if axis is not None and not _covers_samples(axis):
            return UNKNOWN
        role = target.detail if target.kind is Kind.DATA else ""
        return Value(Kind.SCALER, statistic, call, role, basis=target)

    def _is_scaler_class(self, class_name: str) -> bool:
        """A class of the file with `fit` and `transform` whose `fit` computes statistics
        (mean, std, min, max, ...) or fits a known scaler."""
        fit = self.interpreter.method(class_name, "fit")
        if fit is None or not (self.interpreter.method(class_name, "transform")
                               or self.interpreter.method(class_name, "fit_transform")):
            return False
        for node in calls_in(fit.body):
            qualname = self.names.qualname(node.func)
            if qualname is not None and (api.is_scaler_class(qualname) or api.statistic_name(qualname, None)):
                return True
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in api.STATISTICS:
                return True
        return False

    def _holds_scaler(self, call: cst.Call) -> bool:
        names = (self.names.qualname(node.func) for node in calls_in(call))
        return any(name is not None and api.is_scaler_class(name) for name in names)

    def _transform(self, call: cst.Call, qualname: str, first: Value) -> Value:
        """A torchvision transform: normalizing (FIXED), or known not to normalize (NO_SCALING)."""
        if qualname not in api.COMPOSE_TRANSFORMS:
            if qualname.rsplit(".", 1)[-1] in ("Lambda", "RandomApply", "RandomChoice", "RandomOrder"):
                return UNKNOWN
            return Value(Kind.SCALER, qualname.rsplit(".", 1)[-1], call, api.NO_SCALING)
        items = first.items if first.kind is Kind.SEQUENCE else ()
        if not items:
            return UNKNOWN
        if any(item.kind is Kind.SCALER and item.detail != api.NO_SCALING for item in items):
            return Value(Kind.SCALER, "Normalize", call, api.FIXED)
        if all(item.kind is Kind.SCALER for item in items):
            return Value(Kind.SCALER, "Compose", call, api.NO_SCALING)
        return UNKNOWN

    # ------------------------------------------------------------- splits and sources
    def _train_test_split(self, call: cst.Call, args: list[Value], exprs: list[cst.BaseExpression]) -> Value:
        items: list[Value] = []
        for index in range(len(args)):
            part = self._arg(args, exprs, index)
            role = part.detail if part.kind is Kind.DATA else ""
            train_role = role if role in api.HELD_OUT else api.TRAIN
            basis = part.basis if part.kind is Kind.DATA else None
            items.append(data(train_role, call, "train_test_split", basis))
            items.append(data(api.held_out_part(role), call, "train_test_split", basis))
        return Value(Kind.SEQUENCE, items=tuple(items))

    def _random_split(self, call: cst.Call, dataset: Value, lengths: cst.BaseExpression | None) -> Value:
        """Parts of random_split: their roles from the lengths' names or sizes, else from the targets."""
        elements = [e.value for e in lengths.elements] if isinstance(lengths, (cst.List, cst.Tuple)) else []
        roles = [_length_role(element) or "" for element in elements]
        if elements and not any(roles):
            sizes = [_number(element) for element in elements]
            if all(size is not None for size in sizes) and sizes.index(max(sizes)) == 0:
                roles = [api.TRAIN] + [api.TEST] * (len(sizes) - 1)
        count = len(elements) or 3
        roles = roles or [""] * count
        basis = dataset.basis if dataset.kind is Kind.DATA else UNKNOWN
        return Value(Kind.SEQUENCE, items=tuple(data(role, call, "random_split", basis, dataset.class_name)
                                                for role in roles))

    def _subset(self, call: cst.Call, dataset: Value, indices: Value) -> Value:
        role = indices.detail if indices.kind is Kind.DATA else ""
        base = dataset.basis if dataset.kind is Kind.DATA else UNKNOWN
        return data(role, indices.origin if role else call, "Subset", base, dataset.class_name)

    def _load_dataset(self, call: cst.Call, short: str) -> Value:
        split = keyword_arg(call, "split")
        text = string_value(split.value) if split is not None else None
        if split is not None:
            role = api.role_from_split_name(text) if text else None
            return data(role or "", call, _call_text(short, call), UNKNOWN)
        keys = tuple(api.HF_SPLIT_KEYS)
        items = tuple(data(api.HF_SPLIT_KEYS[key], call, f'{short}(...)["{key}"]', UNKNOWN) for key in keys)
        return Value(Kind.MAPPING, items=items, keys=keys)

    def _declared_role(self, call: cst.Call) -> str | None:
        """`train=False`, `split="test"`, `subset="validation"`: the split a dataset call asks for."""
        for arg in call.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key in api.TRAIN_FLAG_KEYWORDS:
                flag = _flag(arg.value)
                if flag is not None:
                    return api.TRAIN if flag else api.TEST
            elif key in api.SPLIT_KEYWORDS:
                text = string_value(arg.value)
                role = api.role_from_split_name(text) if text else None
                if role is not None:
                    return role
        return None

    def _is_dataset_source(self, qualname: str) -> bool:
        last = qualname.rsplit(".", 1)[-1]
        return qualname.startswith(("torchvision.datasets.", "torchtext.datasets.", "sklearn.datasets.fetch_",
                                    "tensorflow.keras.utils.image_dataset_from_directory",
                                    "keras.utils.image_dataset_from_directory")) or (
            last[:1].isupper() and any(word in last for word in ("Dataset", "Data", "Set", "Folder"))
        )

    def _is_dataset_class(self, class_name: str) -> bool:
        return any(name in api.DATASET_BASES or name.endswith("Dataset")
                   for name in self.interpreter.class_and_bases(class_name))

    def _path_role(self, call: cst.Call) -> str | None:
        arguments = positional_args(call)
        if not arguments:
            return None
        roles = {api.role_from_path(text) for text in _strings_in(arguments[0].value)} - {None}
        return roles.pop() if len(roles) == 1 else None

    # ------------------------------------------------------------- shuffling
    def _permutation(self, call: cst.Call, qualname: str, kwargs: dict[str, Value]) -> Value:
        if qualname.endswith("choice"):
            replace = keyword_arg(call, "replace")
            if replace is None or _flag(replace.value) is not False:
                return UNKNOWN
        return Value(Kind.PERMUTATION, qualname.rsplit(".", 1)[-1], call)

    def _is_generator(self, receiver: Value, receiver_name: str | None) -> bool:
        if receiver.producer in api.GENERATOR_FACTORIES:
            return True
        if receiver.kind is not Kind.UNKNOWN or receiver.producer or not receiver_name:
            return False
        return bool(set(api.words(receiver_name.rsplit(".", 1)[-1])) & _GENERATOR_NAME_WORDS)

    # ------------------------------------------------------------- expressions
    def records_subscript(self, base: Value, index: Value, result: Value) -> bool:
        """Subscripts that select data, or index with a random permutation (split facts read them)."""
        if base.kind in TENSOR_KINDS:
            return False
        return Kind.DATA in (base.kind, index.kind, result.kind) or index.kind is Kind.PERMUTATION

    def subscript(self, expr: cst.Subscript, base: Value, index: Value) -> Value:
        """`X[idx_train]`, `X[:n_train]`, `ds["test"]`, `X[perm]`: the data a subscript selects."""
        element = expr.slice[0].slice if len(expr.slice) == 1 else None
        if base.kind in (Kind.SCALER, Kind.PERMUTATION):
            return base
        target = as_data(base, expr.value)
        if isinstance(element, cst.Index):
            key = string_value(element.value)
            if key is not None:
                return self._keyed(expr, base, key)
            if index.kind is Kind.PERMUTATION:
                return target if target.kind is Kind.DATA else UNKNOWN
            index = as_data(index, element.value)
            if index.kind is Kind.DATA and index.detail:
                return _with_role(target, index.detail, index.origin or expr, "index split")
            return target if target.kind is Kind.DATA else UNKNOWN
        if isinstance(element, cst.Slice) and _splits(element):
            role = _slice_role(element)
            if target.kind is Kind.DATA:
                return _with_role(target, role or "", expr, "slice")
            return data(role, expr, "slice") if role and target is UNKNOWN else UNKNOWN
        if isinstance(element, cst.Slice) and target.kind is Kind.DATA:
            return target
        return target if target.kind is Kind.DATA and len(expr.slice) > 1 else UNKNOWN

    def _keyed(self, expr: cst.Subscript, base: Value, key: str) -> Value:
        if base.kind is Kind.DATA:
            return base
        if base.kind not in (Kind.UNKNOWN,):
            return UNKNOWN
        container = api.words((dotted_name(expr.value) or "").rsplit(".", 1)[-1])
        role = None
        if set(container) & {"ds", "dataset", "datasets", "data", "splits", "dsets", "dsets", "loaders"}:
            role = api.HF_SPLIT_KEYS.get(key) or api.role_from_name(key)
        elif api.words(key)[:1] in (["x"], ["y"]):
            role = api.role_from_name(key)  # `npz["X_train"]`
        return data(role, expr, f'["{key}"]', UNKNOWN) if role else UNKNOWN

    def arithmetic(self, operator: cst.BaseBinaryOp, left: Value, right: Value,
                   left_expr: cst.BaseExpression, right_expr: cst.BaseExpression, node: cst.CSTNode) -> Value:
        """`(X - mean) / std`, `X / 255.`: data scaled by statistics or by constants."""
        if not isinstance(operator, _ARITHMETIC):
            return UNKNOWN
        if left.kind is Kind.SCALER or right.kind is Kind.SCALER:
            statistics, other, other_expr = (left, right, right_expr) if left.kind is Kind.SCALER else (
                right, left, left_expr)
            if other.kind is Kind.SCALER or isinstance(other_expr, (cst.Integer, cst.Float)):
                return statistics  # statistics combined, or adjusted by a constant (std + 1e-8)
            target = as_data(other, other_expr)
            if target.kind is Kind.DATA:
                if is_scaled(target):
                    return data(target.detail, target.origin, "scaled", target.basis)
                return self._scaled(target.detail, target.origin, "scaled", statistics)
            return self._scaled("", node, "scaled", statistics) if target is UNKNOWN else UNKNOWN
        target = as_data(left, left_expr)
        if target.kind is not Kind.DATA:
            return UNKNOWN
        if isinstance(operator, cst.Divide) and isinstance(right_expr, (cst.Integer, cst.Float)):
            constant = Value(Kind.SCALER, "division by a constant", node, api.FIXED)
            return data(target.detail, target.origin, "scaled", constant)
        return data(target.detail, target.origin, target.producer, target.basis if is_scaled(target) else UNKNOWN)

    def augmented(self, operator: cst.BaseAugOp, target: Value, value: Value,
                  target_expr: cst.BaseExpression, value_expr: cst.BaseExpression, node: cst.CSTNode) -> Value:
        binary = _AUGMENTED.get(type(operator))
        if binary is None:
            return UNKNOWN
        return self.arithmetic(binary, target, value, target_expr, value_expr, node)

    def attribute(self, base: Value, expr: cst.Attribute) -> Value:
        if expr.attr.value not in api.DATA_ATTRIBUTES:
            return UNKNOWN
        if base.kind is Kind.SCALER and expr.attr.value == "values":
            return base
        target = as_data(base, expr.value)
        return target if target.kind is Kind.DATA else UNKNOWN

    @staticmethod
    def iterate(value: Value) -> Value:
        """What a for-loop over `value` binds: batches of its data (origin: the loader or array)."""
        if value.kind is not Kind.DATA:
            return UNKNOWN
        return data(value.detail, value.origin, "batch", value.basis, value.class_name)

    def bind(self, target: cst.BaseExpression, expr: cst.BaseExpression | None, value: Value) -> Value:
        """The value a target takes: unsplit data, index splits and slices take the split its name says."""
        if isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if any(isinstance(e, cst.StarredElement) for e in target.elements):
                return value
            sources = [e.value for e in expr.elements] if isinstance(expr, (cst.Tuple, cst.List)) else []
            if value.kind is not Kind.SEQUENCE or len(value.items) < len(elements):
                return value
            items = list(value.items)
            changed = False
            for position, element in enumerate(elements):
                source = sources[position] if position < len(sources) else None
                bound = self.bind(element, source, items[position])
                changed |= bound is not items[position]
                items[position] = bound
            return Value(Kind.SEQUENCE, items=tuple(items)) if changed else value
        name = dotted_name(target)
        if name is None:
            return value
        role = api.role_from_name(name)
        if role is None:
            return value
        if value.kind is Kind.DATA and not value.detail:
            return data(role, value.origin, value.producer, value.basis, value.class_name)
        if value.kind is Kind.DATA and value.producer == "slice" and value.origin is expr and value.detail != role:
            # `test_x = rest[test_idx:]`: the slice's own name says more than its bound's (`test_idx`
            # counts the rows before the test part, or is the train count misnamed)
            return data(role, value.origin, value.producer, value.basis, value.class_name)
        if value is UNKNOWN and isinstance(expr, cst.Subscript) and _selects_rows(expr):
            return data(role, expr, "slice", None)
        return value

    def store_item(self, container: Value, value: Value) -> Value | None:
        """`df[cols] = scaler.fit_transform(df[cols])`: the frame now holds scaled data."""
        if value.kind is not Kind.DATA or not is_scaled(value):
            return None
        role = container.detail if container.kind is Kind.DATA else value.detail
        return data(role, container.origin if container.kind is Kind.DATA else value.origin, value.producer,
                    value.basis)


def _last_step(args: list[Value], kwargs: dict[str, Value]) -> Value:
    """The last step of `Pipeline([("scale", StandardScaler()), ...])` or `make_pipeline(a, b)`."""
    if len(args) > 1:
        return args[-1]
    steps = args[0] if args else kwargs.get("steps", UNKNOWN)
    if steps.kind is not Kind.SEQUENCE or not steps.items:
        return steps
    last = steps.items[-1]
    return last.items[-1] if last.kind is Kind.SEQUENCE and last.items else last


def _transform_basis(kwargs: dict[str, Value]) -> Value | None:
    """How a dataset's `transform=` scales it: None when it is known not to normalize."""
    if "transform" not in kwargs:
        return None
    value = kwargs["transform"]
    if value.kind is Kind.SCALER:
        return None if value.detail == api.NO_SCALING else value
    return UNKNOWN


def _call_text(short: str, call: cst.Call) -> str:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in api.TRAIN_FLAG_KEYWORDS | api.SPLIT_KEYWORDS:
            return f"{short}({arg.keyword.value}={source_code(arg.value)})"
    return f"{short}(...)"


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    arg = keyword_arg(call, name)
    return arg.value if arg is not None else None


def _covers_samples(axis: cst.BaseExpression) -> bool:
    """An axis argument that reduces over the samples (axis 0, or every axis)."""
    if isinstance(axis, cst.Name) and axis.value == "None":
        return True
    if isinstance(axis, cst.Integer):
        return int(axis.value, 0) == 0
    if isinstance(axis, (cst.Tuple, cst.List)):
        return any(isinstance(e.value, cst.Integer) and int(e.value.value, 0) == 0 for e in axis.elements)
    return False


def _number(expr: cst.BaseExpression) -> float | None:
    if isinstance(expr, cst.Integer):
        return float(int(expr.value, 0))
    if isinstance(expr, cst.Float):
        return float(expr.value)
    return None


def _splits(element: cst.Slice) -> bool:
    """A slice that cuts data in two (`[:n]`, `[n:]`), not a window (`[i:i + bs]`)."""
    return (element.lower is None) != (element.upper is None) and element.step is None


def _slice_role(element: cst.Slice) -> str | None:
    """`[:n_train]` train, `[n_train:]` held out, `[-n_test:]` test, `[:-n_test]` train."""
    bound = element.upper if element.upper is not None else element.lower
    negative = isinstance(bound, cst.UnaryOperation) and isinstance(bound.operator, cst.Minus)
    role = _role_of_bound(bound.expression if negative else bound)
    if role is None:
        return None
    takes_start = element.upper is not None
    return role if takes_start != negative else _opposite(role)


def _selects_rows(expr: cst.Subscript) -> bool:
    """`X[:800]`, `X[n:]`, `X[idx]`: a selection of rows of the data."""
    if len(expr.slice) != 1:
        return False
    element = expr.slice[0].slice
    if isinstance(element, cst.Slice):
        return _splits(element)
    return isinstance(element, cst.Index) and string_value(element.value) is None and not isinstance(
        element.value, (cst.Integer, cst.UnaryOperation))
