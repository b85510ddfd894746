"""What the interpreter knows of a program: its functions and classes, and the events it records
in the order it meets them. Plain records; `dataflow.py` fills them."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from nnlint.facts.core.values import UNKNOWN, Value


@dataclass(eq=False)
class FunctionInfo:
    """A function or method of the file, or the module body itself (node None)."""

    node: cst.FunctionDef | None
    name: str
    class_name: str | None = None
    params: tuple[str, ...] = ()
    decorators: tuple[str, ...] = ()

    @property
    def is_method(self) -> bool:
        return self.class_name is not None


@dataclass(eq=False)
class ClassInfo:
    node: cst.ClassDef
    name: str
    bases: tuple[str, ...]
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)
    attrs: dict[str, Value] = field(default_factory=dict)
    is_module: bool = False   # its instances are callable objects (MODULE values): a semantics says so of a base
    init_analysed: bool = False


@dataclass(eq=False)
class Event:
    """Something the code does, in the order the interpreter met it."""

    node: cst.CSTNode
    function: FunctionInfo
    loops: tuple[cst.CSTNode, ...]
    scopes: frozenset[str]   # the scopes the code runs in, as the semantics name them (Semantics.scope)
    specialized: bool
    # The branches taken to get here: (if/try/match statement, branch index, loops around it).
    branches: tuple[tuple[cst.CSTNode, int, int], ...] = ()


@dataclass(eq=False)
class CallEvent(Event):
    qualname: str | None = None
    method: str | None = None
    receiver: Value | None = None
    receiver_name: str | None = None
    callee: Value = UNKNOWN
    args: tuple[Value, ...] = ()
    kwargs: dict[str, Value] = field(default_factory=dict)
    result: Value = UNKNOWN

    def arg(self, index: int, keyword: str | None = None) -> Value:
        if keyword is not None and keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if index < len(self.args) else UNKNOWN


@dataclass(eq=False)
class AttributeEvent(Event):
    """An attribute a semantics watches (see Semantics.watches), read or stored: `param.grad = None`."""

    attr: str = ""
    stored: bool = False


@dataclass(eq=False)
class AccumulateEvent(Event):
    """`total += value`, `total = total + value`, `totals[key] += value` or `items.append(value)`.

    `target` is the accumulator's dotted name; `added` the expression added and `operands` the
    values of the names added in it (`loss` in `total += loss * n`); `bound_in` the loops whose
    current iteration had already bound the accumulator afresh before this statement (a
    per-iteration sum, not a running one).
    """

    target: str = ""
    value: Value = UNKNOWN
    operands: tuple[Value, ...] = ()
    bound_in: tuple[cst.CSTNode, ...] = ()
    added: cst.BaseExpression | None = None


@dataclass(eq=False)
class SubscriptEvent(Event):
    """`X[idx]`, `X[:n_train]`, `X[perm]` on data or with a permutation (nothing else is recorded)."""

    base: Value = UNKNOWN
    index: Value = UNKNOWN
    result: Value = UNKNOWN


@dataclass(frozen=True)
class ParameterUse:
    """A function's parameter handed on unchanged (reshaped or sliced at most) as an argument of
    a call the function makes, itself or through the helpers it calls, or as the receiver of a
    method it calls (`x.mean()`: position and keyword None)."""

    param: str
    event: CallEvent
    position: int | None   # the positional argument it is, or None when passed by keyword or the receiver
    keyword: str | None
    receiver: bool = False
