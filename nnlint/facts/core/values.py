"""The values the interpreter tracks, their kinds, and how two paths' values join."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


class Kind(Enum):
    """Every layer's kinds, in one vocabulary so that values stay plain data (summaries store them
    by name). The core reads and makes only the kinds Python gives (UNKNOWN, NONE, BOOL, STRING,
    SEQUENCE, MAPPING, CLASS, FUNCTION and MODULE, a callable object); the others are tags the
    torch and data semantics give values, which the core carries without looking (a test holds it)."""

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
    this file whose call method decides), and in `keys`/`items` the sub-modules assigned to this
    instance after it was built (`net.head = nn.Sequential(...)`); LOSS_FN values carry the loss family in `detail`;
    SEQUENCE/MAPPING values carry their items. A `uniform` value is like each of its parts (a
    batch of data belongs to the split the data does). DATA values carry in `basis` the SCALER that
    scaled them (None: not scaled since the split; UNKNOWN: not known); SCALER values carry in
    `basis` the data they were fitted on. `imported` names the class or function of another file
    whose summary gave the value.
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
    uniform: bool = False
    # What another file's summary says this value is: the imported name that gave it (`model.Net`).
    imported: str = ""

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
        if self.uniform:
            return self
        if self.kind is Kind.SEQUENCE and isinstance(index, int) and -len(self.items) <= index < len(self.items):
            return self.items[index]
        if self.kind in (Kind.MAPPING, Kind.MODULE) and isinstance(index, str) and index in self.keys:
            return self.items[self.keys.index(index)]
        return UNKNOWN


UNKNOWN = Value(Kind.UNKNOWN)
NONE = Value(Kind.NONE, "None")



def join(first: Value, second: Value) -> Value:
    """The value a name holds where two paths meet: known only if both paths agree.

    None on one path does not spoil the other's value: where the value is used it is not None
    (`if criterion is None: criterion = nn.CrossEntropyLoss()`).
    """
    if first is second or first.same_as(second) or second.kind is Kind.NONE:
        if first.uniform and first.basis is None and second.kind is first.kind:
            return second  # a basis applied on one path counts (data scaled there): never claim it was not
        return first
    if first.kind is Kind.NONE:
        return second
    return UNKNOWN
