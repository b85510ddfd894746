"""Facts about shuffling: every shuffle of a piece of data, in order, with the random stream and
the permutation it uses, and which shuffles reorder inputs and their labels differently."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
import libcst as cst

from nnlint.facts.data import data_api as api
from nnlint.facts.core.bindings import Bindings
from nnlint.facts.data.data_splits import root_name
from nnlint.facts.core.dataflow import CallEvent, Dataflow, Event, SubscriptEvent
from nnlint.facts.core.syntax import dotted_name, keyword_arg, positional_args, source_code
from nnlint.facts.core.values import Kind, Value

_INPUT_WORDS = frozenset({
    "x", "xs", "inputs", "input", "inp", "images", "image", "imgs", "img", "data", "features", "feature", "feats",
    "texts", "text", "sentences", "sents", "samples", "examples", "sequences", "seqs", "docs", "documents",
    "points", "signals", "audio", "tokens", "encodings", "vectors", "observations", "obs", "states",
})
_LABEL_WORDS = frozenset({
    "y", "ys", "labels", "label", "lbls", "targets", "target", "tgt", "tgts", "classes", "annotations", "gt",
    "masks", "answers", "outputs", "responses",
})
# Words that say how data is stored, not what it is: `X_df` and `y_series` are a pair.
_CONTAINER_WORDS = frozenset({"df", "series", "frame", "arr", "array", "tensor", "tensors", "t", "np", "list", "lst",
                              "mat", "matrix", "vec", "all", "full", "raw", "shuffled", "shuf"})
_PAIRING_METHODS = api.FIT_MODEL_METHODS | api.SCORE_METHODS
_COUNT_CALLS = frozenset({"len", "range"})


@dataclass(frozen=True)
class Shuffle:
    """One reordering of one piece of data."""

    node: cst.CSTNode
    target: str                 # root name of the shuffled data
    value: Value                # its value before shuffling
    stream: str                 # the random stream drawn from ("numpy", "random", "rng", ...)
    permutation: cst.CSTNode | None   # the call that drew the order, when shared orders are possible
    seed: str | None            # an explicit seed (random_state=0, default_rng(0)), when the shuffle has one
    event: Event


@dataclass(frozen=True)
class IndependentShuffle:
    first: Shuffle
    second: Shuffle


class ShuffleFacts:
    def __init__(self, dataflow: Dataflow, bindings: Bindings) -> None:
        self.dataflow = dataflow
        self.bindings = bindings

    @cached_property
    def independent_pairs(self) -> list[IndependentShuffle]:
        """Inputs and labels reordered by different random orders (per function, in order).

        Each piece of data gets the sequence of orders applied to it; inputs and labels stay
        aligned while their sequences match. At the first position where they differ, the
        later of the two shuffles is the one that breaks the pairing.
        """
        found: list[IndependentShuffle] = []
        for events in self.dataflow.function_events.values():
            shuffles: dict[str, list[Shuffle]] = {}
            reseeds: list[tuple[int, str, str]] = []
            positions: dict[int, int] = {}
            for position, event in enumerate(events):
                positions[id(event)] = position
                shuffle = self._shuffle(event)
                if shuffle is not None:
                    shuffles.setdefault(shuffle.target, []).append(shuffle)
                    continue
                reseed = self._reseed(event)
                if reseed is not None:
                    reseeds.append((position, *reseed))
            targets = list(shuffles)
            for index, first_target in enumerate(targets):
                for second_target in targets[index + 1:]:
                    first, second = shuffles[first_target], shuffles[second_target]
                    if not self._paired(first[0], second[0], events):
                        continue
                    for a, b in zip(first, second):
                        if not self._same_order(a, b, reseeds, positions):
                            earlier, later = (a, b) if positions[id(a.event)] < positions[id(b.event)] else (b, a)
                            found.append(IndependentShuffle(earlier, later))
                            break
        return found

    # ------------------------------------------------------------- what shuffles
    def _shuffle(self, event: Event) -> Shuffle | None:
        if isinstance(event, SubscriptEvent):
            if event.index.kind is Kind.PERMUTATION and event.index.origin is not None:
                target = root_name(event.node.value)
                if target is None:
                    return None
                origin = event.index.origin
                return Shuffle(event.node, target, event.base, self._stream_of_origin(origin), origin,
                               self._seed_of_origin(origin), event)
            return None
        if not isinstance(event, CallEvent):
            return None
        call = event.node
        arguments = positional_args(call)
        qualname = event.qualname
        if qualname in api.IN_PLACE_SHUFFLES and arguments:
            return self._on(arguments[0].value, event, api.STREAM_OF[qualname], None, None)
        if qualname in api.SKLEARN_SHUFFLE and len(arguments) == 1:
            return self._on(arguments[0].value, event, "sklearn", call, _literal(keyword_arg(call, "random_state")))
        if qualname in api.PERMUTATIONS and arguments and not _is_count(arguments[0].value):
            if qualname.endswith("permutation") or qualname.endswith("sample"):
                return self._on(arguments[0].value, event, api.STREAM_OF[qualname], call, None)
        receiver = event.receiver
        if event.qualname is None and isinstance(call.func, cst.Attribute) and receiver is not None:
            if event.method in api.GENERATOR_SHUFFLE_METHODS and arguments and self._is_generator(event):
                return self._on(arguments[0].value, event, self._stream_of_origin(call), None,
                                self._seed_of_origin(call))
            if event.method == "sample" and keyword_arg(call, "frac") is not None and not arguments:
                return self._on(call.func.value, event, "pandas", call, _literal(keyword_arg(call, "random_state")))
        return None

    def _on(self, expr: cst.BaseExpression, event: CallEvent, stream: str, permutation: cst.CSTNode | None,
            seed: str | None) -> Shuffle | None:
        target = root_name(expr)
        if target is None:
            return None
        value = event.args[0] if event.args else (event.receiver or Value(Kind.UNKNOWN))
        return Shuffle(event.node, target, value, stream, permutation if seed is None else None, seed, event)

    def _is_generator(self, event: CallEvent) -> bool:
        receiver = event.receiver
        if receiver is not None and receiver.producer in api.GENERATOR_FACTORIES:
            return True
        call = event.node
        base = call.func.value if isinstance(call.func, cst.Attribute) else None
        if isinstance(base, cst.Call):
            return self.dataflow.names.qualname(base.func) in api.GENERATOR_FACTORIES
        name = event.receiver_name or ""
        return bool(set(api.words(name.rsplit(".", 1)[-1])) & {"rng", "prng", "generator", "random", "rs"})

    def _stream_of_origin(self, origin: cst.CSTNode) -> str:
        """numpy's global stream for np.random.permutation, the generator's name for rng.permutation."""
        if isinstance(origin, cst.Call):
            qualname = self.dataflow.names.qualname(origin.func)
            if qualname in api.STREAM_OF:
                return api.STREAM_OF[qualname]
            if isinstance(origin.func, cst.Attribute):
                base = origin.func.value
                return f"generator {dotted_name(base) or source_code(base)}"
        return "unknown"

    def _seed_of_origin(self, origin: cst.CSTNode) -> str | None:
        """`0` for np.random.default_rng(0).permutation(n): a fresh generator seeded on the spot."""
        if isinstance(origin, cst.Call) and isinstance(origin.func, cst.Attribute):
            base = origin.func.value
            if isinstance(base, cst.Call) and self.dataflow.names.qualname(base.func) in api.GENERATOR_FACTORIES:
                return _literal(base.args[0]) if base.args else None
        return None

    def _reseed(self, event: Event) -> tuple[str, str] | None:
        if isinstance(event, CallEvent) and event.qualname in api.RESEEDS:
            seed = source_code(event.node.args[0].value) if event.node.args else ""
            return api.STREAM_OF[event.qualname], seed
        return None

    # ------------------------------------------------------------- same order?
    def _same_order(self, first: Shuffle, second: Shuffle, reseeds: list[tuple[int, str, str]],
                    positions: dict[int, int]) -> bool:
        if first.permutation is not None and first.permutation is second.permutation:
            return True
        if first.seed is not None and first.seed == second.seed:
            return True
        if first.stream != second.stream or first.seed is not None or second.seed is not None:
            return False
        start, end = sorted((positions[id(first.event)], positions[id(second.event)]))
        between = [seed for position, stream, seed in reseeds if stream == first.stream and start < position < end]
        if not between:
            return False
        before = [seed for position, stream, seed in reseeds if stream == first.stream and position < start]
        # set_state(saved) between the two restores the state the first shuffle drew from.
        return between[-1] == (before[-1] if before else None) or not between[-1].isdigit()

    # ------------------------------------------------------------- inputs and labels?
    def _paired(self, first: Shuffle, second: Shuffle, events: list[Event]) -> bool:
        """Inputs and their labels: named as such, split together, or used together."""
        if _input_and_label(first.target, second.target):
            return True
        a, b = first.value, second.value
        same_split = a.kind is Kind.DATA and b.kind is Kind.DATA and a.origin is not None and a.origin is b.origin
        if same_split and a.detail == b.detail and a.producer == b.producer == "train_test_split":
            return True
        return any(self._used_together(event, first.target, second.target) for event in events)

    @staticmethod
    def _used_together(event: Event, first: str, second: str) -> bool:
        if not isinstance(event, CallEvent):
            return False
        call = event.node
        roots = {root_name(arg.value) for arg in positional_args(call)}
        if first not in roots or second not in roots:
            return False
        name = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
        return (
            name == "zip" or "Dataset" in name or event.qualname in api.TRAIN_TEST_SPLIT
            or event.qualname in api.TENSOR_DATASETS or event.qualname in api.CROSS_VALIDATION
            or (event.qualname is None and event.method in _PAIRING_METHODS)
        )


def _input_and_label(first: str, second: str) -> bool:
    first_words, second_words = api.words(first.rsplit(".", 1)[-1]), api.words(second.rsplit(".", 1)[-1])
    for inputs, labels in ((first_words, second_words), (second_words, first_words)):
        input_words = [w for w in inputs if w in _INPUT_WORDS]
        label_words = [w for w in labels if w in _LABEL_WORDS]
        if input_words and label_words:
            rest_inputs = [w for w in inputs if w not in _INPUT_WORDS | _CONTAINER_WORDS]
            rest_labels = [w for w in labels if w not in _LABEL_WORDS | _CONTAINER_WORDS]
            if rest_inputs == rest_labels:
                return True
    return False


def _is_count(expr: cst.BaseExpression) -> bool:
    """`len(X)`, `X.shape[0]`, `n_samples`, `1000`: a count, not data."""
    if isinstance(expr, (cst.Integer, cst.BinaryOperation)):
        return True
    if isinstance(expr, cst.Call):
        name = dotted_name(expr.func) or ""
        return name in _COUNT_CALLS or name.endswith(("size", "numel", "__len__")) or name == "range"
    if isinstance(expr, cst.Subscript):
        return (dotted_name(expr.value) or "").endswith("shape")
    name = dotted_name(expr)
    return name is not None and api.is_count_name(name.rsplit(".", 1)[-1])


def _literal(arg: cst.Arg | None) -> str | None:
    if arg is None:
        return None
    value = arg.value
    if isinstance(value, (cst.Integer, cst.SimpleString)):
        return source_code(value)
    name = dotted_name(value)
    return name if name is not None and name not in ("None",) else None
