"""How a domain's knowledge plugs into the interpreter.

The interpreter (`dataflow.py`) knows Python: names, calls, functions, classes, containers and
control flow. What a library call gives, what a method of a library object returns, which
`with` blocks change how the code inside them runs: a `Semantics` answers. Each hook's default
here knows nothing, so a semantics overrides only what its domain gives meaning to. The
interpreter asks its semantics in order and the first answer that knows something wins; the
hooks that transform a value (`bind`, `imported_value`) pass it through each semantics in turn.
"""

from __future__ import annotations

from typing import Iterator, Mapping, Protocol

import libcst as cst

from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.program import ClassInfo, Event, FunctionInfo
from nnlint.facts.core.values import UNKNOWN, Kind, Value


class Interpreter(Protocol):
    """What a semantics may ask the interpreter that consults it."""

    names: ImportTable
    classes: Mapping[str, ClassInfo]
    functions: Mapping[cst.FunctionDef, FunctionInfo]

    @property
    def probing(self) -> bool: ...

    def method(self, class_name: str, method: str) -> cst.FunctionDef | None: ...

    def class_and_bases(self, class_name: str) -> Iterator[str]: ...

    def instance_of(self, class_name: str) -> Value: ...

    def forward_output(self, class_name: str, args: list[Value], depth: int, instance: Value | None = None,
                       kwargs: dict[str, Value] | None = None) -> Value:
        ...

    def module_output(self, module: Value, depth: int) -> Value: ...

    def events_of(self, node: cst.FunctionDef) -> list[Event]: ...

    def probe(self, function: FunctionInfo, args: tuple[Value, ...], kwargs: dict[str, Value] | None = None,
              defaults: bool = True) -> list[Event]: ...


class Semantics:
    """A domain's meaning of code, consulted by one interpreter."""

    # Methods a call of an instance runs, besides `__call__` (torch modules run `forward`).
    call_methods: tuple[str, ...] = ()

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter

    # ------------------------------------------------------------- classes
    def calls_dispatch(self, base: str) -> bool:
        """Instances of classes with this (qualified) base are callable objects (MODULE values)."""
        return False

    def instance(self, info: ClassInfo, call: cst.Call | None) -> Value | None:
        """What building a callable class of the file gives, when the domain says more than "an instance"."""
        return None

    def assigned_attribute(self, owner: Value, attr: str, value: Value) -> Value | None:
        """The new value of an object built elsewhere (not of this file's classes) after `owner.attr = value`."""
        return None

    # ------------------------------------------------------------- calls
    def library_call(self, call: cst.Call, qualname: str, args: list[Value], kwargs: dict[str, Value],
                     depth: int) -> Value:
        """What calling an imported name gives (`depth`: how deep in calls the interpreter is)."""
        return UNKNOWN

    def imported_value(self, value: Value, call: cst.Call) -> Value:
        """What calling a name imported from another file of the project gives, from its summary's value."""
        return value

    def object_call(self, call: cst.Call, callee: Value) -> Value:
        """What calling a value that is no function, class or callable object of the file gives."""
        return UNKNOWN

    def method_result(self, call: cst.Call, method: str, receiver: Value) -> Value:
        """What a method of a value the file did not define returns."""
        return UNKNOWN

    def call_result(self, call: cst.Call, qualname: str | None, method: str | None, receiver: Value | None,
                    receiver_name: str | None, callee: Value, args: list[Value],
                    kwargs: dict[str, Value]) -> tuple[Value, Value | None]:
        """A last word on a call nothing else knew: its result, and the receiver's new value (or None)."""
        return UNKNOWN, None

    def after_call(self, call: cst.Call, method: str | None, qualname: str | None, env: dict[str, Value]) -> None:
        """What a call does to the names around it (`loss.backward()` says `loss` held a graph)."""

    # ------------------------------------------------------------- scopes and attributes
    def scope(self, expr: cst.BaseExpression) -> tuple[str, bool] | None:
        """A `with` item's effect on the code inside: (scope tag, entered) or None."""
        return None

    def decorator_scope(self, decorator: str) -> str | None:
        """The scope a decorator puts its function's body in."""
        return None

    def watches(self, attr: str) -> bool:
        """Reads and stores of this attribute are recorded as AttributeEvents."""
        return False

    def learnt_from_setter(self, value: Value) -> bool:
        """A method other than `__init__` storing this value into `self` teaches the class its attribute."""
        return False

    def default_holds(self, value: Value) -> bool:
        """A parameter's default of this value is what runs when no call of the file passes the parameter."""
        return False

    def marker(self, name: str) -> Value:
        """A distinct value standing for a parameter while probing where parameters go."""
        return Value(Kind.UNKNOWN, f"<parameter {name}>")

    # ------------------------------------------------------------- values
    def subscript(self, expr: cst.Subscript, base: Value, index: Value) -> Value:
        return UNKNOWN

    def records_subscript(self, base: Value, index: Value, result: Value) -> bool:
        """Whether this subscript is worth a SubscriptEvent."""
        return False

    def attribute(self, base: Value, expr: cst.Attribute) -> Value:
        return UNKNOWN

    def arithmetic(self, operator: cst.BaseBinaryOp, left: Value, right: Value,
                   left_expr: cst.BaseExpression, right_expr: cst.BaseExpression, expr: cst.CSTNode) -> Value:
        return UNKNOWN

    def augmented(self, operator: cst.BaseAugOp, target: Value, value: Value,
                  target_expr: cst.BaseExpression, value_expr: cst.BaseExpression, statement: cst.CSTNode) -> Value:
        return UNKNOWN

    def iterate(self, value: Value) -> Value:
        """What a for-loop over the value binds."""
        return UNKNOWN

    def bind(self, target: cst.BaseExpression, expr: cst.BaseExpression | None, value: Value) -> Value:
        """The value a name is bound to, given what the semantics before this one said."""
        return value

    def store_item(self, container: Value, value: Value) -> Value | None:
        """The container after `container[...] = value`, or None when this semantics does not know."""
        return None
