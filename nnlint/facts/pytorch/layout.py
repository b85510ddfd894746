"""Tensor layouts: which axis of which tensor each size variable holds, and the view/reshape
calls whose sizes put those axes in another order.

Sizes come from unpacking `x.shape` / `x.size()`, from `x.size(i)` / `x.shape[i]`, and from
products and splits of those (`h * w`, `c // heads`). A tensor keeps its identity until its
name is rebound; permute/transpose/contiguous give a new tensor whose axes are known in terms
of the old one. A view is judged only when its sizes name axes of the very tensor it views.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Collection, Iterable, Mapping, Sequence

import libcst as cst

from nnlint.facts.pytorch.modules import CallSite
from nnlint.facts.pytorch.view_helpers import RESHAPE_METHODS, ViewHelper
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import (block_statements, bound_names, dotted_name, keyword_arg, positional_args, source_code,
                                      sub_nodes, walk_statements)

FROM_END = 1_000  # where axis -1 of a tensor of unknown rank is placed, for ordering only
RESHAPE_FUNCTIONS = frozenset({"torch.reshape"})
# Layers whose output has their input's axes, in the same order.
SAME_LAYOUT_LAYERS = frozenset({
    "torch.nn.Dropout", "torch.nn.Dropout1d", "torch.nn.Dropout2d", "torch.nn.Dropout3d", "torch.nn.AlphaDropout",
    "torch.nn.ReLU", "torch.nn.ReLU6", "torch.nn.LeakyReLU", "torch.nn.ELU", "torch.nn.SELU", "torch.nn.GELU",
    "torch.nn.SiLU", "torch.nn.Mish", "torch.nn.Tanh", "torch.nn.Sigmoid", "torch.nn.Identity", "torch.nn.LayerNorm",
})
# Layers that append an axis to their input's: nn.Embedding(num_embeddings, embedding_dim).
EMBEDDINGS = frozenset({"torch.nn.Embedding"})
# Methods that return a tensor with the same axes, in the same order.
SAME_LAYOUT_METHODS = frozenset({
    "contiguous", "float", "double", "half", "bfloat16", "to", "cuda", "cpu", "detach", "clone", "type",
    "type_as", "requires_grad_", "long", "int", "bool",
})


@dataclass(frozen=True)
class Axis:
    """Axis `index` of tensor number `tensor` (negative when counted from the end, rank unknown)."""

    tensor: int
    index: int


@dataclass(frozen=True)
class Tensor:
    """A tensor value: its own number, and its axes when its rank is known."""

    number: int
    axes: tuple[Axis, ...] | None = None

    def position(self, axis: Axis) -> int | None:
        """Where `axis` sits in this tensor, counted from 0."""
        if self.axes is not None:
            return self.axes.index(axis) if axis in self.axes else None
        if axis.tensor == self.number:
            # rank unknown: axes counted from the end come after those counted from the start
            return axis.index if axis.index >= 0 else FROM_END + axis.index
        return None


# Expressions with a scope of their own, whose names are not the function's.
_OWN_SCOPES = frozenset({cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})


@dataclass(frozen=True)
class Size:
    """What one size expression is: the product of some axes, a part of one axis (`c // heads`),
    -1, or something unknown (`other`)."""

    axes: tuple[Axis, ...] = ()
    split_by: str | None = None
    minus_one: bool = False
    neutral: bool = False  # a literal 1: an axis of size one, no data
    written: cst.BaseExpression | None = field(default=None, compare=False)  # as the call spells it

    @property
    def other(self) -> bool:
        return not self.axes and not self.minus_one and not self.neutral


@dataclass(frozen=True)
class ReorderingView:
    """A view/reshape whose sizes take the axes of `tensor_name` out of their memory order."""

    node: cst.Call
    method: str  # view, reshape
    tensor_name: str
    sizes: tuple[str, ...]
    order: tuple[int, ...]
    helper: ViewHelper | None = None  # the view is made inside this helper, with the call's sizes

    @property
    def written_order(self) -> tuple[str, ...]:
        """The order as axis numbers, those counted from the end of a tensor of unknown rank negative."""
        return tuple(str(p - FROM_END if p >= FROM_END // 2 else p) for p in self.order)


@dataclass(frozen=True)
class _ClassLayers:
    """What a module class's `__init__` builds that keeps or extends a layout: attributes holding
    a layer that keeps its input's axes, and embeddings with how their size is written in the
    class's methods (`args.char_dim` stored with `self.args = args` reads `self.args.char_dim`)."""

    same_layout: frozenset[str] = frozenset()
    embeddings: Mapping[str, frozenset[str]] = field(default_factory=dict)


class _Scope:
    """What the names of one function hold: tensors and sizes."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.sizes: dict[str, Size] = {}
        self.shapes: dict[str, tuple[str | None, Tensor]] = {}  # `s = x.shape`: the name and tensor it describes
        # The last shape unpacked into a name for every axis, by rank: `B, L, H, D = q.shape`.
        self.unpacked: dict[int, Tensor] = {}
        # The sizes of each reordering view, as written: `k.view(B, H, L, -1)` -> its order.
        self.reorderings: dict[tuple[str, ...], tuple[int, ...]] = {}
        # Sizes gathered into a name before a view (`shape = (B, D, L)` ... `x.view(*shape)`): the
        # sizes as they were when bound, and how they are written.
        self.size_lists: dict[str, tuple[tuple[Size, ...], tuple[str, ...]]] = {}

    def copy(self) -> "_Scope":
        other = _Scope()
        other.tensors = dict(self.tensors)
        other.sizes = dict(self.sizes)
        other.shapes = dict(self.shapes)
        other.unpacked = dict(self.unpacked)
        other.reorderings = dict(self.reorderings)
        other.size_lists = dict(self.size_lists)
        return other


def functions_holding_views(calls: Iterable[CallSite], parents: Mapping[cst.FunctionDef, cst.FunctionDef | None],
                            helpers: Mapping[str, ViewHelper]) -> set[cst.FunctionDef]:
    """The functions with a view/reshape call in them, or a call of a view helper, nested ones
    included: the only functions whose layouts can matter."""
    holding: set[cst.FunctionDef] = set()
    for site in calls:
        func = site.node.func
        if site.qualname in RESHAPE_FUNCTIONS or site.qualname in helpers or (
                site.qualname is None and type(func) is cst.Attribute and func.attr.value in RESHAPE_METHODS) or (
                site.qualname is None and dotted_name(func) in helpers):
            function = site.function
            while function is not None and function not in holding:
                holding.add(function)
                function = parents.get(function)
    return holding


class LayoutFacts:
    def __init__(self, module: cst.Module, names: ImportTable, functions: Collection[cst.FunctionDef] | None = None,
                 helpers: Mapping[str, ViewHelper] | None = None) -> None:
        """`functions`: the functions worth following (see `functions_holding_views`); None for all.
        `helpers`: the view helpers calls reach, keyed by their name or qualified name."""
        self.names = names
        self._functions = functions
        self._helpers = helpers or {}
        self._views: dict[cst.Call, ReorderingView] = {}
        # Tensors holding the result of a reordering view: the view, and whether it was sliced since.
        self._results: dict[int, tuple[cst.Call, bool]] = {}
        self._numbers = itertools.count()
        self._classes: list[_ClassLayers] = []
        self._embedded: dict[cst.Call, Tensor] = {}
        self._run_block(module.body, _Scope())

    # ----------------------------------------------------------------- statements
    def _run_block(self, body: Sequence[cst.BaseStatement], scope: _Scope) -> None:
        for statement in body:
            self._run_statement(statement, scope)

    def _run_statement(self, statement: cst.BaseStatement, scope: _Scope) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._run_small(small, scope)
        elif isinstance(statement, cst.ClassDef):
            self._classes.append(self._class_layers(statement))
            self._run_block(block_statements(statement.body), _Scope())
            self._classes.pop()
        elif isinstance(statement, cst.FunctionDef) and (self._functions is None or statement in self._functions):
            self._run_block(block_statements(statement.body), _Scope())
        elif isinstance(statement, cst.If):
            self._scan(statement.test, scope)
            taken = scope.copy()
            self._run_block(block_statements(statement.body), taken)
            other = scope.copy()
            if statement.orelse is not None:
                orelse = statement.orelse
                self._run_block([orelse] if isinstance(orelse, cst.If) else block_statements(orelse.body), other)
            self._merge(scope, taken, other)
        elif isinstance(statement, (cst.For, cst.While)):
            self._scan(statement.iter if isinstance(statement, cst.For) else statement.test, scope)
            self._forget(_assigned_names(statement), scope)
            body = scope.copy()
            self._run_block(block_statements(statement.body), body)
            if statement.orelse is not None:
                self._run_block(block_statements(statement.orelse.body), body)
            self._merge(scope, scope.copy(), body)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                self._scan(item.item, scope)
                if item.asname is not None:
                    self._assign(item.asname.name, None, scope)
            self._run_block(block_statements(statement.body), scope)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self._forget(_assigned_names(statement), scope)
            for block in (statement.body, *(h.body for h in statement.handlers)):
                self._run_block(block_statements(block), scope.copy())
            for extra in (statement.orelse, statement.finalbody):
                if extra is not None:
                    self._run_block(block_statements(extra.body), scope.copy())
            self._forget(_assigned_names(statement), scope)
        elif isinstance(statement, cst.Match):
            self._forget(_assigned_names(statement), scope)
            for case in statement.cases:
                self._run_block(block_statements(case.body), scope.copy())
            self._forget(_assigned_names(statement), scope)

    def _class_layers(self, node: cst.ClassDef) -> _ClassLayers:
        init = next((s for s in block_statements(node.body) if isinstance(s, cst.FunctionDef)
                     and s.name.value == "__init__"), None)
        if init is None:
            return _ClassLayers()
        stores: list[tuple[str, cst.BaseExpression]] = []
        for statement in walk_statements(block_statements(init.body)):
            if isinstance(statement, cst.SimpleStatementLine):
                stores.extend((target.target.attr.value, small.value) for small in statement.body
                              if isinstance(small, cst.Assign) for target in small.targets
                              if isinstance(target.target, cst.Attribute) and dotted_name(target.target.value) == "self")
        parameters = {p.name.value for p in (*init.params.params, *init.params.kwonly_params)}
        aliases = {value.value: f"self.{attr}" for attr, value in stores
                   if isinstance(value, cst.Name) and value.value in parameters}
        same_layout, embeddings = set(), {}
        for attr, value in stores:
            qualname = self.names.qualname(value.func) if isinstance(value, cst.Call) else None
            if qualname in SAME_LAYOUT_LAYERS:
                same_layout.add(attr)
            elif qualname in EMBEDDINGS:
                size = keyword_arg(value, "embedding_dim") or (positional_args(value)[1:2] or [None])[0]
                written = dotted_name(size.value) if size is not None else None
                root, dot, rest = written.partition(".") if written is not None else ("", "", "")
                if root in aliases:  # `args.char_dim` with `self.args = args`: `self.args.char_dim`
                    embeddings[attr] = frozenset({aliases[root] + dot + rest})
                elif written is not None and root not in parameters:  # a constant of the module
                    embeddings[attr] = frozenset({written})
        stored_twice = {attr for attr, _ in stores if sum(1 for other, _ in stores if other == attr) > 1}
        return _ClassLayers(frozenset(same_layout - stored_twice),
                            {attr: written for attr, written in embeddings.items() if attr not in stored_twice})

    def _merge(self, scope: _Scope, *branches: _Scope) -> None:
        """A name keeps what it holds only where every branch agrees."""
        for table in ("tensors", "sizes", "shapes", "unpacked", "reorderings", "size_lists"):
            merged = {}
            keys = set().union(*(getattr(branch, table) for branch in branches))
            for key in keys:
                values = [getattr(branch, table).get(key) for branch in branches]
                if all(value is not None and value == values[0] for value in values):
                    merged[key] = values[0]
                elif table == "tensors":
                    merged[key] = self._fresh()
            setattr(scope, table, merged)

    def _forget(self, names: set[str], scope: _Scope) -> None:
        for name in names:
            scope.sizes.pop(name, None)
            scope.shapes.pop(name, None)
            scope.size_lists.pop(name, None)
            scope.tensors[name] = self._fresh()

    def _run_small(self, small: cst.BaseSmallStatement, scope: _Scope) -> None:
        if isinstance(small, cst.Assign):
            self._scan(small.value, scope)
            for target in small.targets:
                self._assign(target.target, small.value, scope)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self._scan(small.value, scope)
                self._assign(small.target, small.value, scope)
        elif isinstance(small, cst.AugAssign):
            self._scan(small.value, scope)
            self._assign(small.target, None, scope)
        elif isinstance(small, cst.Expr):
            self._scan(small.value, scope)
            self._mutated(small.value, scope)
        else:
            for child in sub_nodes(small):
                if isinstance(child, cst.BaseExpression):
                    self._scan(child, scope)

    def _mutated(self, expr: cst.BaseExpression, scope: _Scope) -> None:
        """`x.transpose_(1, 2)` changes x in place."""
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and isinstance(expr.func.value, cst.Name):
            method = expr.func.attr.value
            if method.endswith("_") and not method.startswith("_"):
                scope.tensors[expr.func.value.value] = self._fresh()

    def _fresh(self, axes: tuple[Axis, ...] | None = None) -> Tensor:
        return Tensor(next(self._numbers), axes)

    # ----------------------------------------------------------------- assignments
    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression | None, scope: _Scope) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            self._assign_many(target, value, scope)
        elif isinstance(target, cst.Name):
            origin = self._view_origin(value, scope) if value is not None else None
            shape = self._shape_of(value, scope) if value is not None else None
            self._bind(target.value, *self._value(value, scope), scope)
            if origin is not None:
                self._results[scope.tensors[target.value].number] = origin
            if shape is not None and shape[1] is not None:
                scope.shapes[target.value] = (shape[0], shape[1])
            if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) > 1 and not any(
                    isinstance(element, cst.StarredElement) for element in value.elements):
                scope.size_lists[target.value] = (tuple(self._size(element.value, scope) for element in value.elements),
                                                  tuple(source_code(element.value) for element in value.elements))

    def _value(self, value: cst.BaseExpression | None, scope: _Scope) -> tuple[Size, Tensor | None]:
        """What a value is as a size, or else as a tensor."""
        if value is None:
            return Size(), None
        size = self._size(value, scope)
        return size, (self._tensor(value, scope, create=False) if size.other else None)

    def _bind(self, name: str, size: Size, tensor: Tensor | None, scope: _Scope) -> None:
        scope.sizes.pop(name, None)
        scope.shapes.pop(name, None)
        scope.size_lists.pop(name, None)
        scope.tensors[name] = tensor or self._fresh()
        if not size.other:
            scope.sizes[name] = size

    def _assign_many(self, target: cst.Tuple | cst.List, value: cst.BaseExpression | None, scope: _Scope) -> None:
        elements = target.elements
        axes = self._shape_axes(value, elements, scope) if value is not None else None
        if axes is None and isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == len(elements):
            values = [self._value(item.value, scope) for item in value.elements]
            for element, (size, tensor) in zip(elements, values):
                if isinstance(element.value, cst.Name) and not isinstance(element, cst.StarredElement):
                    self._bind(element.value.value, size, tensor, scope)
                else:
                    self._assign(element.value, None, scope)
            return
        for position, element in enumerate(elements):
            axis = axes[position] if axes is not None else None
            if axis is not None and isinstance(element.value, cst.Name):
                self._bind(element.value.value, Size(axes=(axis,)), None, scope)
            else:
                self._assign(element.value, None, scope)

    def _shape_axes(self, value: cst.BaseExpression, elements: Sequence[cst.BaseElement],
                    scope: _Scope) -> list[Axis | None] | None:
        """The axis each unpacked name receives from `x.shape`, `x.size()`, `x.shape[:2]`, `x.shape[-2:]`."""
        start, stop = 0, None
        if isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(value.slice[0].slice, cst.Slice):
            part = value.slice[0].slice
            if part.step is not None:
                return None
            start = _integer(part.lower) if part.lower is not None else 0
            stop = _integer(part.upper) if part.upper is not None else None
            if start is None or (part.upper is not None and stop is None):
                return None
            value = value.value
        owner, tensor = self._shape_of(value, scope) or (None, None)
        if tensor is None:
            return None
        count = len(elements)
        starred = [i for i, e in enumerate(elements) if isinstance(e, cst.StarredElement)]
        if starred:
            if start != 0 or stop is not None or len(starred) > 1:
                return None
            indices: list[int | None] = [i if i < starred[0] else None if i == starred[0] else i - count
                                         for i in range(count)]
        elif start < 0:
            if stop is not None or -start != count:
                return None
            indices = [start + i for i in range(count)]
        else:
            if stop is not None and stop - start != count:
                return None
            indices = [start + i for i in range(count)]
            if start == 0 and stop is None and tensor.axes is None and owner is not None \
                    and scope.tensors.get(owner) == tensor:
                tensor = Tensor(tensor.number, self._whole_shape_axes(tensor, elements, scope))
                scope.tensors[owner] = tensor
        return [self._axis(tensor, index) if index is not None else None for index in indices]

    @staticmethod
    def _whole_shape_axes(tensor: Tensor, elements: Sequence[cst.BaseElement], scope: _Scope) -> tuple[Axis, ...]:
        """The axes a whole shape unpacking gives a tensor. An axis left to `_` after another
        tensor's shape of the same rank was unpacked into names is that tensor's axis at the same
        place: `B, L_Q, H, D = queries.shape` then `_, L_K, _, _ = keys.shape` (batch, heads and
        width already have names, only the length is new)."""
        axes = tuple(Axis(tensor.number, i) for i in range(len(elements)))
        skipped = [isinstance(e.value, cst.Name) and e.value.value == "_" for e in elements]
        named = [isinstance(e.value, cst.Name) and not skip for e, skip in zip(elements, skipped)]
        other = scope.unpacked.get(len(elements))
        if all(named):
            scope.unpacked[len(elements)] = Tensor(tensor.number, axes)
        elif any(skipped) and other is not None and other.axes is not None and other.number != tensor.number:
            axes = tuple(other.axes[i] if skip else axis for i, (axis, skip) in enumerate(zip(axes, skipped)))
        return axes

    @staticmethod
    def _axis(tensor: Tensor, index: int) -> Axis | None:
        if tensor.axes is not None:
            return tensor.axes[index] if -len(tensor.axes) <= index < len(tensor.axes) else None
        return Axis(tensor.number, index)

    # ----------------------------------------------------------------- expressions
    def _tensor(self, expr: cst.BaseExpression, scope: _Scope, create: bool) -> Tensor | None:
        """The tensor `expr` is, as far as its axes go; None when unknown."""
        if isinstance(expr, cst.Name):
            tensor = scope.tensors.get(expr.value)
            if tensor is None and create:
                tensor = scope.tensors[expr.value] = self._fresh()
            return tensor
        if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)):
            return None
        layer = self._layer_output(expr, scope, create)
        if layer is not None:
            return layer
        method = expr.func.attr.value
        if method not in SAME_LAYOUT_METHODS | {"permute", "transpose", "swapaxes", "t"}:
            return None
        base = self._tensor(expr.func.value, scope, create)
        if base is None or method in SAME_LAYOUT_METHODS:
            return base
        indices = [_integer(arg.value) for arg in positional_args(expr)]
        if len(indices) == 1 and isinstance(expr.args[0].value, (cst.Tuple, cst.List)):
            indices = [_integer(e.value) for e in expr.args[0].value.elements]
        if any(i is None for i in indices):
            return self._fresh()
        axes = base.axes
        if axes is None:
            if method == "permute" and all(i >= 0 for i in indices):
                axes = tuple(Axis(base.number, i) for i in range(len(indices)))
            else:
                return self._fresh()
        return self._fresh(_rearranged(axes, method, indices))

    def _layer_output(self, call: cst.Call, scope: _Scope, create: bool) -> Tensor | None:
        """`self.dropout(x)`: x's layout; `self.embedding(x)`: x's axes and one more, last, whose
        size the embedding's size as the class writes it now names."""
        classes = self._classes[-1] if self._classes else None
        func = call.func
        arguments = positional_args(call)
        if classes is None or not isinstance(func, cst.Attribute) or dotted_name(func.value) != "self" \
                or len(arguments) != 1 or len(call.args) != 1:
            return None
        attr = func.attr.value
        if attr in classes.same_layout:
            return self._tensor(arguments[0].value, scope, create)
        if attr not in classes.embeddings:
            return None
        if call not in self._embedded:
            base = self._tensor(arguments[0].value, scope, create=False)
            number = next(self._numbers)
            axes = (*base.axes, Axis(number, len(base.axes))) if base is not None and base.axes is not None else None
            self._embedded[call] = Tensor(number, axes)
            appended = axes[-1] if axes is not None else Axis(number, -1)
            for written in classes.embeddings[attr]:
                scope.sizes[written] = Size(axes=(appended,))
        return self._embedded[call]

    def _size(self, expr: cst.BaseExpression, scope: _Scope) -> Size:
        if isinstance(expr, cst.Name) and expr.value in scope.sizes:
            return replace(scope.sizes[expr.value], written=expr)
        if isinstance(expr, cst.Attribute) and dotted_name(expr) in scope.sizes:
            return replace(scope.sizes[dotted_name(expr)], written=expr)
        integer = _integer(expr)
        if integer is not None:
            return Size(minus_one=integer == -1, neutral=integer == 1, written=expr)
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "int" and expr.args:
            return self._size(expr.args[0].value, scope)
        axis = self._size_call_axis(expr, scope)
        if axis is not None:
            return Size(axes=(axis,), written=expr)
        if isinstance(expr, cst.BinaryOperation):
            left, right = self._size(expr.left, scope), self._size(expr.right, scope)
            if isinstance(expr.operator, cst.Multiply) and left.axes and right.axes and not (left.split_by or right.split_by):
                return Size(axes=left.axes + right.axes, written=expr)
            if isinstance(expr.operator, (cst.FloorDivide, cst.Divide)) and len(left.axes) == 1 and not left.split_by:
                return Size(axes=left.axes, split_by=source_code(expr.right), written=expr)
        return Size(written=expr)

    def _size_call_axis(self, expr: cst.BaseExpression, scope: _Scope) -> Axis | None:
        """The axis `x.size(i)`, `x.shape[i]` or `x.size()[i]` reads."""
        owner, index = None, None
        if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "size":
            args = positional_args(expr)
            if len(args) == 1 and len(expr.args) == 1:
                owner, index = expr.func.value, _integer(args[0].value)
        elif isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            index = _integer(expr.slice[0].slice.value)
            shape = self._shape_of(expr.value, scope)
            if shape is not None and shape[1] is not None and index is not None:
                return self._axis(shape[1], index)
            return None
        if owner is None or index is None:
            return None
        tensor = self._tensor(owner, scope, create=True)
        return self._axis(tensor, index) if tensor is not None else None

    def _shape_of(self, expr: cst.BaseExpression, scope: _Scope) -> tuple[str | None, Tensor | None] | None:
        """For `x.shape`, `x.size()` or a name holding one: the tensor's name and the tensor."""
        if isinstance(expr, cst.Name) and expr.value in scope.shapes:
            return scope.shapes[expr.value]
        owner = _shape_owner(expr)
        if owner is None:
            return None
        return (owner.value if isinstance(owner, cst.Name) else None), self._tensor(owner, scope, create=True)

    def _view_origin(self, expr: cst.BaseExpression, scope: _Scope) -> tuple[cst.Call, bool] | None:
        """The reordering view a value comes from, and whether it was sliced on the way."""
        if isinstance(expr, cst.Call) and expr in self._views:
            return expr, False
        if isinstance(expr, cst.Name) and expr.value in scope.tensors:
            return self._results.get(scope.tensors[expr.value].number)
        if isinstance(expr, cst.Subscript):
            origin = self._view_origin(expr.value, scope)
            return (origin[0], True) if origin is not None else None
        return None

    # ----------------------------------------------------------------- views
    def _scan(self, node: cst.CSTNode | None, scope: _Scope) -> None:
        """Judge every view/reshape call inside `node`, innermost first."""
        if node is None or type(node) in _OWN_SCOPES:
            return
        for child in sub_nodes(node):
            self._scan(child, scope)
        if type(node) is cst.Call:
            self._judge(node, scope)

    def _judge(self, call: cst.Call, scope: _Scope) -> None:
        args = list(call.args)
        qualname = self.names.qualname(call.func)
        if qualname in RESHAPE_FUNCTIONS and len(args) == 2:
            receiver, args = args[0].value, args[1:]
        elif qualname is None and isinstance(call.func, cst.Attribute) and call.func.attr.value in RESHAPE_METHODS:
            receiver = call.func.value
        else:
            helper = self._helpers.get(qualname if qualname is not None else dotted_name(call.func) or "")
            passed = helper.arguments(call) if helper is not None else None
            if helper is not None and passed is not None:
                self._judge_sizes(call, helper.method, passed[0], passed[1], None, scope, helper)
            return
        gathered = scope.size_lists.get(args[0].value.value) if len(args) == 1 and isinstance(
            args[0].value, cst.Name) and args[0].star in ("", "*") and args[0].keyword is None else None
        if gathered is None and (any(arg.keyword is not None or arg.star for arg in args) or not args):
            return
        size_exprs = [arg.value for arg in args]
        if len(size_exprs) == 1 and isinstance(size_exprs[0], (cst.Tuple, cst.List)):
            size_exprs = [element.value for element in size_exprs[0].elements
                          if not isinstance(element, cst.StarredElement)]
        method = call.func.attr.value if isinstance(call.func, cst.Attribute) else "reshape"
        self._judge_sizes(call, method, receiver, size_exprs, gathered, scope)

    def _judge_sizes(self, call: cst.Call, method: str, receiver: cst.BaseExpression,
                     size_exprs: list[cst.BaseExpression], gathered: tuple[tuple[Size, ...], tuple[str, ...]] | None,
                     scope: _Scope, helper: ViewHelper | None = None) -> None:
        origin = self._view_origin(receiver, scope)
        if origin is not None and origin[1]:
            # reinterpret, slice, reinterpret back: the relative-shift trick of Transformer-XL and its heirs
            self._views.pop(origin[0], None)
        tensor = self._tensor(receiver, scope, create=True)
        if tensor is None:
            return
        sizes = list(gathered[0]) if gathered else [self._size(expr, scope) for expr in size_exprs]
        written = gathered[1] if gathered else tuple(source_code(e) for e in size_exprs)
        order = _memory_order(tensor, sizes)
        if order is None and tensor.axes is None and any(size.axes for size in sizes) and all(
                tensor.position(axis) is None for size in sizes for axis in size.axes):
            # `values.view(B, H, L_K, -1)` right after `keys.view(B, H, L_K, -1)` reordered keys: a
            # tensor of unknown layout viewed with the very sizes of another's reordering view
            order = scope.reorderings.get(written)
        if order is not None:
            self._views[call] = ReorderingView(call, method, source_code(receiver), written, order, helper)
            scope.reorderings[written] = order

    @property
    def reordering_views(self) -> list[ReorderingView]:
        return list(self._views.values())


def _memory_order(tensor: Tensor, sizes: list[Size]) -> tuple[int, ...] | None:
    """The axes of `tensor` the sizes read, in the order they appear, when that order is not
    the memory order; None when the view keeps the order or cannot be judged."""
    groups: list[list[int] | None] = []
    for size in sizes:
        if size.neutral:
            groups.append([])
        elif size.axes:
            positions = [tensor.position(axis) for axis in size.axes]
            if any(p is None for p in positions):
                return None  # sizes of another tensor, or of this one before it was rebound
            groups.append(sorted(p for p in positions if p is not None))
        else:
            groups.append(None)
    split_axes = _link_split_factors(sizes, groups)
    _infer_missing(tensor, sizes, groups)
    flat = [position for group in groups if group for position in group]
    for first, second in zip(flat, flat[1:]):
        if second == first and first not in split_axes:
            return None  # the same axis twice: not a reordering we can name
    if all(first <= second for first, second in zip(flat, flat[1:])):
        return None
    return tuple(position for position, _ in itertools.groupby(flat))


def _link_split_factors(sizes: list[Size], groups: list[list[int] | None]) -> set[int]:
    """`x.view(b, heads, n, c // heads)`: `heads` is the other factor of axis c. A split takes an
    unknown size written like its divisor: one right beside it if there is one (`ws, h // ws` or
    `h // ws, ws`), else the nearest. Returns the axes that are split."""
    splits = [i for i, size in enumerate(sizes) if size.split_by is not None and groups[i]]
    claimed: dict[int, int] = {}

    def candidates(index: int) -> list[int]:
        return [i for i, other in enumerate(sizes) if other.other and groups[i] is None and i not in claimed
                and source_code(other.written) == sizes[index].split_by]

    for index in splits:
        beside = [i for i in (index - 1, index + 1) if i in candidates(index)]
        if beside:
            claimed[beside[0]] = index
    for index in splits:
        if index in claimed.values():
            continue
        remaining = candidates(index)
        if remaining:
            claimed[min(remaining, key=lambda i: abs(i - index))] = index
    for factor, index in claimed.items():
        groups[factor] = list(groups[index] or [])
    return {axis for index in splits for axis in groups[index] or []}


def _infer_missing(tensor: Tensor, sizes: list[Size], groups: list[list[int] | None]) -> None:
    """With the rank known, the axes no size names must be where -1 (or the one run of unknown
    sizes) stands, since a view keeps the number of elements."""
    if tensor.axes is None:
        return
    named = {p for group in groups if group for p in group}
    missing = sorted(set(range(len(tensor.axes))) - named)
    if not missing:
        return
    unknown = [i for i, (size, group) in enumerate(zip(sizes, groups)) if group is None and size.other]
    minus_ones = [i for i, size in enumerate(sizes) if size.minus_one]
    if len(minus_ones) == 1 and not unknown:
        groups[minus_ones[0]] = missing
    elif unknown and not minus_ones and unknown == list(range(unknown[0], unknown[-1] + 1)):
        groups[unknown[0]] = missing
        for index in unknown[1:]:
            groups[index] = []


def _rearranged(axes: tuple[Axis, ...], method: str, indices: list[int]) -> tuple[Axis, ...] | None:
    rank = len(axes)
    if method == "permute":
        if sorted(i % rank for i in indices) != list(range(rank)) or len(indices) != rank:
            return None
        return tuple(axes[i] for i in indices)
    if method == "t":
        return tuple(reversed(axes)) if rank == 2 else None
    if len(indices) != 2 or not all(-rank <= i < rank for i in indices):
        return None
    first, second = indices[0] % rank, indices[1] % rank
    reordered = list(axes)
    reordered[first], reordered[second] = reordered[second], reordered[first]
    return tuple(reordered)


def _shape_owner(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`x` for `x.shape` and `x.size()`."""
    if isinstance(expr, cst.Attribute) and expr.attr.value == "shape":
        return expr.value
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "size" \
            and not expr.args:
        return expr.func.value
    return None


def _integer(expr: cst.BaseExpression | None) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.value, 0)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(
        expr.expression, cst.Integer
    ):
        return -int(expr.expression.value, 0)
    return None


def _assigned_names(statement: cst.BaseStatement) -> set[str]:
    """Every plain name bound anywhere inside `statement` (loops rebind them on later iterations)."""
    return set(bound_names([statement]))
