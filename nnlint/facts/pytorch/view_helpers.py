"""Functions whose view/reshape reads only their parameters (`def split_heads(x, b, h, n, d):
return x.view(b, h, n, d)`): a caller that passes a tensor and sizes of its axes views that
tensor with those sizes, and the view is judged at the call, where the axes are known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator

import libcst as cst

from nnlint.facts.core.places import Place, Span
from nnlint.facts.core.syntax import bound_names, positional_args, source_code
from nnlint.facts.pytorch.modules import CallSite

RESHAPE_METHODS = frozenset({"view", "reshape"})


@dataclass(frozen=True)
class ViewHelper:
    """What calling the helper views: the argument at `tensor`, with each size either the argument
    at a position (an int) or a literal as written (`-1`). Positions count the call's arguments
    (a method's `self` left out)."""

    name: str
    method: str
    tensor: int
    sizes: tuple[int | str, ...]
    view: cst.Call | None = None  # the view in this file's helper
    place: Place | None = None    # where the view is in another file's helper

    def to_summary(self, span: Span) -> tuple[str, int, tuple[str, ...], Span]:
        return self.method, self.tensor, tuple(f"#{size}" if isinstance(size, int) else size for size in self.sizes), span

    @classmethod
    def from_summary(cls, name: str, data: tuple[str, int, tuple[str, ...], Span], file: str) -> "ViewHelper":
        method, tensor, sizes, span = data
        return cls(name, method, tensor, tuple(int(size[1:]) if size.startswith("#") else size for size in sizes),
                   place=Place(file, span))

    def arguments(self, call: cst.Call) -> tuple[cst.BaseExpression, list[cst.BaseExpression]] | None:
        """The viewed tensor and the size expressions a call passes; None when its arguments cannot
        be matched by position (keywords, `*args`)."""
        if any(arg.keyword is not None or arg.star for arg in call.args):
            return None
        passed = [arg.value for arg in positional_args(call)]
        positions = [self.tensor, *(size for size in self.sizes if isinstance(size, int))]
        if max(positions) >= len(passed):
            return None
        sizes = [passed[size] if isinstance(size, int) else cst.parse_expression(size) for size in self.sizes]
        return passed[self.tensor], sizes


def _is_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Integer) or (isinstance(expr, cst.UnaryOperation) and isinstance(
        expr.operator, cst.Minus) and isinstance(expr.expression, cst.Integer))


def _helper(function: cst.FunctionDef, is_method: bool, views: list[cst.Call]) -> ViewHelper | None:
    """`views`: the view/reshape method calls the function makes, found by its caller."""
    params = [param.name.value for param in function.params.params]
    if is_method:
        params = params[1:]
    if not params or function.params.star_arg not in (None, cst.MaybeSentinel.DEFAULT) \
            or function.params.posonly_params or function.params.kwonly_params:
        return None
    if len(views) != 1:
        return None
    view = views[0]
    receiver = view.func.value
    if not isinstance(receiver, cst.Name) or receiver.value not in params or any(arg.keyword or arg.star for arg in view.args):
        return None
    sizes: list[int | str] = []
    for arg in view.args:
        if isinstance(arg.value, cst.Name) and arg.value.value in params:
            sizes.append(params.index(arg.value.value))
        elif _is_literal(arg.value):
            sizes.append(source_code(arg.value))
        else:
            return None
    if not any(isinstance(size, int) for size in sizes) or set(bound_names(function.body.body if isinstance(
            function.body, cst.IndentedBlock) else [])) & set(params):
        return None
    return ViewHelper(function.name.value, view.func.attr.value, params.index(receiver.value), tuple(sizes), view)


def view_helpers(module: cst.Module, calls: Iterable[CallSite]) -> dict[str, ViewHelper]:
    """This file's view helpers, keyed as calls spell them: `split_heads`, `self.split_heads`.
    `calls`: the file's call sites (facts/pytorch/modules.py), each with the function it is in."""
    views: dict[cst.FunctionDef, list[cst.Call]] = {}
    for site in calls:
        func = site.node.func
        if site.function is not None and site.qualname is None and type(func) is cst.Attribute \
                and func.attr.value in RESHAPE_METHODS:
            views.setdefault(site.function, []).append(site.node)
    found: dict[str, ViewHelper | None] = {}
    for name, function, is_method in _functions(module):
        helper = _helper(function, is_method, views[function]) if function in views else None
        # Methods of two classes share the name `self.<method>`: only one meaning is followed.
        found[name] = helper if name not in found else None
    return {name: helper for name, helper in found.items() if helper is not None}


def _functions(module: cst.Module) -> Iterator[tuple[str, cst.FunctionDef, bool]]:
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef):
            yield statement.name.value, statement, False
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
            for inner in statement.body.body:
                if isinstance(inner, cst.FunctionDef) and not inner.decorators:
                    yield f"self.{inner.name.value}", inner, True
