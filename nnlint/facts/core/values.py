"""The kinds of value the dataflow layer tracks, and how two paths' values join."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


class Kind(Enum):
    UNKNOWN = "unknown"
    PROBS = "probabilities"              # softmax output
    LOG_PROBS = "log-probabilities"      # log_softmax output (or log of softmax)
    SIGMOID_PROBS = "sigmoid output"
    ACTIVATED = "activation output"      # ReLU, Tanh, Softplus...: bounded or never negative (detail: which)
    LOGITS = "logits"                    # a Linear layer's raw output
    LOSS = "loss tensor"                 # the result of a loss function
    MODULE = "module"                    # a layer or model instance
    CLASS = "class"                      # a class defined in the file
    FUNCTION = "function"                # a function defined in the file
    OPTIMIZER = "optimizer"
    SCHEDULER = "scheduler"
    LOSS_FN = "loss function"
    SEQUENCE = "sequence"                # a tuple or list literal with known items
    MAPPING = "mapping"                  # a dict literal with string keys
    NONE = "None"                        # the literal None (a default not yet replaced)
    STRING = "string"                    # a string literal, in `detail` (a factory's `name`)
    BOOL = "bool"                        # the literal True or False, in `detail` (a flag argument)
    DATA = "data"                        # data of a known split (detail: data_api role), scaled or not
    SCALER = "statistics"                # a scaler, or statistics computed from data (detail: what it saw)
    PERMUTATION = "permutation"          # a random order of indices (origin: the call that drew it)


@dataclass(frozen=True, eq=False)
class Value:
    """An abstract value. `producer` says what made it (for messages), `origin` where.

    MODULE values carry `output` (what calling them returns) or `class_name` (a class of
    this file whose `forward` decides), and in `keys`/`items` the sub-modules assigned to this
    instance after it was built (`net.head = nn.Sequential(...)`); LOSS_FN values carry the loss family in `detail`;
    SEQUENCE/MAPPING values carry their items. DATA values carry in `basis` the SCALER that
    scaled them (None: not scaled since the split; UNKNOWN: not known); SCALER values carry in
    `basis` the data they were fitted on.
    """

    kind: Kind
    producer: str = ""
    origin: cst.CSTNode | None = None
    detail: str = ""
    output: "Value | None" = None
    class_name: str = ""
    items: tuple["Value", ...] = ()
    keys: tuple[str, ...] = ()
    basis: "Value | None" = None

    def same_as(self, other: "Value") -> bool:
        return (
            self.kind is other.kind
            and self.detail == other.detail
            and self.class_name == other.class_name
            and (self.kind is not Kind.FUNCTION or self.origin is other.origin)
            and (self.output is other.output or (
                self.output is not None and other.output is not None and self.output.same_as(other.output)))
        )

    def item(self, index: int | str) -> "Value":
        if self.kind is Kind.DATA:
            return self  # a sample, a batch or a column of data belongs to the same split
        if self.kind is Kind.SEQUENCE and isinstance(index, int) and -len(self.items) <= index < len(self.items):
            return self.items[index]
        if self.kind in (Kind.MAPPING, Kind.MODULE) and isinstance(index, str) and index in self.keys:
            return self.items[self.keys.index(index)]
        return UNKNOWN


UNKNOWN = Value(Kind.UNKNOWN)
NONE = Value(Kind.NONE, "None")

TENSOR_KINDS = frozenset({Kind.PROBS, Kind.LOG_PROBS, Kind.SIGMOID_PROBS, Kind.ACTIVATED, Kind.LOGITS, Kind.LOSS})
# The detail of LOGITS from a layer with a single output (`nn.Linear(h, 1)`): one class.
ONE_CLASS = "one class"
# The start of the detail of LOGITS a model class outputs when a parameter of its constructor sets
# their number of classes (dataflow.built_with reads it where the class is called).
CLASSES_FROM = "classes from "


def join(first: Value, second: Value) -> Value:
    """The value a name holds where two paths meet: known only if both paths agree.

    None on one path does not spoil the other's value: where the value is used it is not None
    (`if criterion is None: criterion = nn.CrossEntropyLoss()`).
    """
    if first is second or first.same_as(second) or second.kind is Kind.NONE:
        if first.kind is Kind.DATA and first.basis is None and second.kind is Kind.DATA:
            return second  # data scaled on one path counts as scaled: never claim it was not
        return first
    if first.kind is Kind.NONE:
        return second
    return UNKNOWN
