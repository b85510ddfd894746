"""The values the interpreter tracks, their kinds, and how two paths' values join."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    ONE_HOT = "one-hot labels"           # rows of zeros with a single one along the last axis (F.one_hot)
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

    A value may know its extent along one `axis` (`width` entries) and, when it was made by
    joining values end to end along that axis, those `parts` in order, each with its own width
    along the axis when known: a selection of entries along the axis is like the parts it falls in.
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
    axis: int | None = None
    width: int | None = None
    parts: tuple["Value", ...] = ()
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

    def part_width(self, part: "Value") -> int | None:
        """How many entries a part has along this value's axis, when known."""
        return part.width if part.axis == self.axis else None

    def between(self, start: int, stop: int | None) -> "Value":
        """What the entries from `start` to `stop` along the axis hold (`stop` None: to the end;
        negative bounds count from the end, as slices do): the parts they fall in, joined; UNKNOWN
        where a bound is not placed or no part is touched."""
        if start < 0 or (stop is not None and stop < 0):
            if self.width is None:
                return UNKNOWN
            start = max(start + self.width, 0) if start < 0 else start
            stop = max(stop + self.width, 0) if stop is not None and stop < 0 else stop
        if stop is not None and stop <= start:
            return UNKNOWN
        touched: list[Value] = []
        offset = 0
        for position, part in enumerate(self.parts):
            width = self.part_width(part)
            if width is None:  # this part starts at `offset`; where it ends, and the next ones start, is not known
                if stop is None or stop > offset:
                    touched.extend(self.parts[position:])
                break
            if start < offset + width and (stop is None or stop > offset):
                touched.append(part)
            offset += width
        if not touched:
            return UNKNOWN
        selected = touched[0]
        for part in touched[1:]:
            selected = join(selected, part)
        return selected


UNKNOWN = Value(Kind.UNKNOWN)
NONE = Value(Kind.NONE, "None")



def join(first: Value, second: Value) -> Value:
    """The value a name holds where two paths meet: known only if both paths agree.

    None on one path does not spoil the other's value: where the value is used it is not None
    (`if criterion is None: criterion = nn.CrossEntropyLoss()`).
    """
    if first is second or second.kind is Kind.NONE:
        return first
    if first.same_as(second):
        if first.uniform and first.basis is None and second.kind is first.kind:
            return second  # a basis applied on one path counts (data scaled there): never claim it was not
        return _common_shape(first, second)
    if first.kind is Kind.NONE:
        return second
    return UNKNOWN


def _same_shape(first: Value, second: Value) -> bool:
    return first.axis == second.axis and first.width == second.width and len(first.parts) == len(second.parts) \
        and all(mine.same_as(theirs) and _same_shape(mine, theirs) for mine, theirs in zip(first.parts, second.parts))


def _common_shape(first: Value, second: Value) -> Value:
    """`first`, knowing of its extent and parts only what both paths agree on."""
    if _same_shape(first, second):
        return first
    if first.kind is Kind.UNKNOWN:
        return UNKNOWN
    return replace(first, axis=None, width=None, parts=())
