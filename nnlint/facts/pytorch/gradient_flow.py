"""Where a backpropagated tensor comes from, and where on the way autograd was cut.

From the tensor `backward()` runs on, the walk follows local bindings back (def-use, through
`+=`, `losses.append(...)`, `terms[key] = ...`, loop targets and same-file helpers whose
parameters are mapped to the caller's arguments) and records every dotted name the tensor
depends on: the models it calls, the objects it reads. Each carries the cuts met on the way:
`.detach()`, `.data`, `.item()`, `.numpy()`, `.tolist()`, `torch.tensor(...)`,
`Variable(...)`, `float(...)`. A name reached only through cuts sends no gradient back.
Separately, a loss may be made only of fresh leaves (`torch.tensor(v, requires_grad=True)`,
`Variable(x, requires_grad=True)`): then it has no graph behind it at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

import libcst as cst

from nnlint.facts.core.dataflow import CallEvent, Dataflow
from nnlint.facts.core.defuse import DefUse, Definition, Read
from nnlint.facts.pytorch.modes import WRAPPERS
from nnlint.facts.pytorch.modules import ModuleFacts
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import descendants, dotted_name, expressions_in, keyword_arg, source_code, walk_statements
from nnlint.facts.pytorch.torch_api import MODULE_RETURNING_SELF, TENSOR_FACTORIES
from nnlint.facts.core.values import Kind
from nnlint.facts.pytorch.semantics import backpropagated

# Methods whose result carries no autograd graph back to the tensor they are called on.
CUTTING_METHODS = frozenset({"detach", "detach_", "item", "numpy", "tolist"})
CUTTING_ATTRIBUTES = frozenset({"data"})
# Calls that copy their argument into a new tensor (or number) without its graph.
CUTTING_FUNCTIONS = frozenset({"torch.tensor", "torch.autograd.Variable", "torch.autograd.variable.Variable",
                               "float", "int"})
# Calls that only wrap an already converted value (a NumPy array, a list) back into a tensor.
REWRAPPING_FUNCTIONS = frozenset({"torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor", "torch.HalfTensor",
                                  "torch.cuda.FloatTensor", "torch.cuda.DoubleTensor", "torch.from_numpy",
                                  "torch.as_tensor"})
LEAF_FUNCTIONS = frozenset({"torch.tensor", "torch.autograd.Variable", "torch.autograd.variable.Variable"})
CONTAINER_ADDING_METHODS = frozenset({"append", "extend", "insert", "add", "update"})
RECEIVERS = frozenset({"self", "cls"})
MAX_HELPER_DEPTH = 3
MAX_STEPS = 4000
MAX_LEAF_DEPTH = 100


@dataclass(frozen=True)
class Cut:
    node: cst.CSTNode
    spelling: str


@dataclass(frozen=True)
class Source:
    """A dotted name the tensor depends on where it is used; `cuts` lie between it and the
    tensor, the outermost first; `called` when it is called (a model's forward)."""

    name: str
    node: cst.CSTNode
    cuts: tuple[Cut, ...]
    called: bool

    @property
    def innermost_cut(self) -> Cut | None:
        return self.cuts[-1] if self.cuts else None


@dataclass
class Provenance:
    """Every source of a tensor; `complete` is False when the walk gave up (too large)."""

    sources: list[Source] = field(default_factory=list)
    complete: bool = True

    def uncut(self) -> Iterator[Source]:
        return (source for source in self.sources if not source.cuts)


@dataclass(frozen=True)
class _Context:
    """Where names are looked up: a helper's parameters stand for the caller's arguments."""

    arguments: tuple[tuple[str, cst.BaseExpression], ...] = ()
    caller: "_Context | None" = None
    depth: int = 0

    def argument(self, param: str) -> cst.BaseExpression | None:
        return next((expr for name, expr in self.arguments if name == param), None)


@dataclass(frozen=True)
class FlagStore:
    """`loss.requires_grad = True`: legal only on a tensor without a graph (a leaf)."""

    node: cst.Assign
    read: Read


class GradientFlow:
    def __init__(self, module: cst.Module, dataflow: Dataflow, defuse: DefUse, modules: ModuleFacts,
                 names: ImportTable) -> None:
        self.module = module
        self.dataflow = dataflow
        self.defuse = defuse
        self.names = names
        self._flag_stores: list[FlagStore] | None = None
        self._item_stores: dict[Definition, list[cst.BaseExpression]] = {}
        for store in modules.item_stores:
            container = store.container
            read = defuse.read_of(container) if isinstance(container, cst.Name) else None
            for definition in read.definitions if read is not None else ():
                self._item_stores.setdefault(definition, []).append(store.value)

    def stored_into(self, definition: Definition) -> list[cst.BaseExpression]:
        """The values `container[key] = value` puts into the container a definition binds."""
        return self._item_stores.get(definition, [])

    def backpropagated(self, event: CallEvent) -> cst.BaseExpression | None:
        """The tensor a backward call runs on."""
        call = event.node
        if not isinstance(call, cst.Call):
            return None
        if event.method != "backward":
            return call.args[0].value if call.args else None
        return backpropagated(call)

    def helper(self, call: cst.Call) -> cst.FunctionDef | None:
        """The same-file function, or forward of a same-file module class, that a call runs."""
        event = self.dataflow.call_event(call)
        if event is None:
            return None
        callee = event.callee
        if callee.kind is Kind.FUNCTION and isinstance(callee.origin, cst.FunctionDef):
            return callee.origin
        if callee.kind in (Kind.LOSS_FN, Kind.MODULE) and callee.class_name:
            return self.dataflow.method(callee.class_name, "forward")
        return None

    def provenance(self, expr: cst.BaseExpression) -> Provenance:
        return _Walk(self).run(expr)

    def flag_store_before(self, tensor: cst.BaseExpression) -> FlagStore | None:
        """A `name.requires_grad = True` on the very binding `tensor` reads, made before it on every
        path that reaches it, and not under a test of the flag itself (`if not loss.requires_grad:`
        is a deliberate fallback for a batch without a graph)."""
        read = self.defuse.read_of(tensor) if isinstance(tensor, cst.Name) else None
        if read is None or not read.definitions:
            return None
        for store in self.flag_stores():
            flagged = store.read
            if flagged.name == read.name and flagged.definitions == read.definitions and flagged.order < read.order \
                    and set(flagged.branches) <= set(read.branches) and not _tests_the_flag(flagged.branches):
                return store
        return None

    def flag_stores(self) -> list[FlagStore]:
        if self._flag_stores is None:
            self._flag_stores = []
            for statement in walk_statements(self.module.body):
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1 and _sets_the_flag(small):
                        target = small.targets[0].target
                        read = self.defuse.read_of(target.value)  # type: ignore[attr-defined]
                        if read is not None:
                            self._flag_stores.append(FlagStore(small, read))
        return self._flag_stores

    @cached_property
    def freezes_parameters(self) -> bool:
        """Whether the file switches gradients off for some parameters: `p.requires_grad = False`
        (or any value but True), `requires_grad_(False)`, `requires_grad=False` in a call."""
        for node in descendants(self.module):
            if isinstance(node, cst.Assign):
                target = node.targets[0].target
                if isinstance(target, cst.Attribute) and target.attr.value == "requires_grad" and not (
                        isinstance(node.value, cst.Name) and node.value.value == "True"):
                    return True
            elif isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value == "requires_grad_" and node.args and not (
                        isinstance(node.args[0].value, cst.Name) and node.args[0].value.value == "True"):
                    return True
                flag = keyword_arg(node, "requires_grad")
                if flag is not None and not (isinstance(flag.value, cst.Name) and flag.value.value == "True"):
                    return True
        return False

    def rebuilt_leaves(self, expr: cst.BaseExpression) -> list[cst.Call]:
        """The fresh leaves `expr` is made of when, on every path, it is built only from tensors
        created with requires_grad=True from values without a graph (and constants): then
        backward() on it reaches no parameter at all. Empty when some path may carry a graph."""
        leaves: list[cst.Call] = []
        return leaves if _LeafWalk(self, leaves).graphless(expr, _Context()) else []


class _Walk:
    """A worklist over (expression, cuts above it, context): no recursion, however long the
    chains of bindings (a loop feeding a model its own sampled output)."""

    def __init__(self, flow: GradientFlow) -> None:
        self.flow = flow
        self.result = Provenance()
        self._seen: set[tuple[int, tuple[Cut, ...], _Context]] = set()
        self._pending: list[tuple[cst.BaseExpression, tuple[Cut, ...], _Context]] = []

    def run(self, expr: cst.BaseExpression) -> Provenance:
        self.expression(expr, (), _Context())
        steps = 0
        while self._pending:
            steps += 1
            if steps > MAX_STEPS:
                self.result.complete = False
                break
            self._visit(*self._pending.pop())
        return self.result

    def expression(self, expr: cst.BaseExpression, cuts: tuple[Cut, ...], context: _Context) -> None:
        key = (id(expr), cuts, context)
        if key not in self._seen:
            self._seen.add(key)
            self._pending.append((expr, cuts, context))

    def _visit(self, expr: cst.BaseExpression, cuts: tuple[Cut, ...], context: _Context) -> None:
        if isinstance(expr, cst.Name):
            self._name(expr, cuts, context)
        elif isinstance(expr, cst.Attribute):
            self._attribute(expr, cuts, context)
        elif isinstance(expr, cst.Call):
            self._call(expr, cuts, context)
        elif isinstance(expr, cst.Lambda):
            return
        elif isinstance(expr, cst.Subscript):
            self.expression(expr.value, cuts, context)  # an index carries no gradient
        elif isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            self.expression(expr.elt, cuts, context)
        elif isinstance(expr, cst.DictComp):
            self.expression(expr.value, cuts, context)
        else:
            for child in expressions_in(expr):
                self.expression(child, cuts, context)

    # -- names -------------------------------------------------------------------------------

    def _name(self, name: cst.Name, cuts: tuple[Cut, ...], context: _Context) -> None:
        if name.value in ("True", "False", "None"):
            return
        read = self.flow.defuse.read_of(name)
        if read is None or not read.definitions:
            self._source(name.value, name, cuts, called=False)
            return
        self._source(name.value, name, cuts, called=False)
        for definition in read.definitions:
            self._definition(definition, name, cuts, context)

    def _definition(self, definition: Definition, name: cst.Name, cuts: tuple[Cut, ...], context: _Context) -> None:
        node = definition.node
        if isinstance(node, cst.Param):
            argument = context.argument(node.name.value)
            if argument is not None and context.caller is not None:
                self.expression(argument, cuts, context.caller)
            else:
                self._source(name.value, name, cuts, called=False)
            return
        if isinstance(node, cst.AugAssign):
            self.expression(node.value, cuts, context)
            self.expression(node.target, cuts, context)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self.expression(node.iter, cuts, context)
        elif isinstance(node, cst.WithItem):
            self.expression(node.item, cuts, context)
        elif definition.value is not None:
            self.expression(definition.value, cuts, context)
        elif not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Import, cst.ImportFrom)):
            self._source(name.value, name, cuts, called=False)
        for read in definition.reads:  # what the code puts into a container afterwards
            call = read.call
            if call is not None and isinstance(call.func, cst.Attribute) and call.func.value is read.node \
                    and call.func.attr.value in CONTAINER_ADDING_METHODS:
                for arg in call.args:
                    self.expression(arg.value, cuts, context)
        for value in self.flow.stored_into(definition):
            self.expression(value, cuts, context)

    # -- attributes and calls --------------------------------------------------------------

    def _attribute(self, expr: cst.Attribute, cuts: tuple[Cut, ...], context: _Context) -> None:
        if expr.attr.value in CUTTING_ATTRIBUTES:
            self.expression(expr.value, _with(cuts, Cut(expr, ".data")), context)
            return
        name = dotted_name(expr)
        if name is not None:
            self._source(name, expr, cuts, called=False)
        if name is None or name.split(".", 1)[0] not in RECEIVERS:
            self.expression(expr.value, cuts, context)

    def _call(self, call: cst.Call, cuts: tuple[Cut, ...], context: _Context) -> None:
        func = call.func
        qualname = self.flow.names.qualname(func) or (func.value if isinstance(func, cst.Name) else None)
        if isinstance(func, cst.Attribute) and func.attr.value in CUTTING_METHODS and qualname is None:
            self.expression(func.value, _with(cuts, Cut(call, f".{func.attr.value}()")), context)
            return
        if qualname in CUTTING_FUNCTIONS and self._is_the_builtin_or_torch(func):
            inner = _with(cuts, Cut(call, f"{dotted_name(func)}(...)"))
            for arg in call.args:
                self.expression(arg.value, inner, context)
            return
        if qualname in REWRAPPING_FUNCTIONS:
            for arg in call.args:
                self.expression(arg.value, cuts, context)
            return
        callee = dotted_name(func)
        if callee is not None:
            self._source(_in_caller_terms(callee, context), call, cuts, called=True)
            for alias in self._aliases(func):
                self._source(alias, call, cuts, called=True)
        helper = self.flow.helper(call)
        if helper is not None and context.depth < MAX_HELPER_DEPTH:
            self._returns(helper, call, cuts, context)
            return  # the helper's returns say what of its arguments reaches the result
        if isinstance(func, cst.Attribute):
            receiver = dotted_name(func.value)
            if receiver is None or receiver.split(".", 1)[0] not in RECEIVERS:
                self.expression(func.value, cuts, context)
        elif not isinstance(func, cst.Name):
            self.expression(func, cuts, context)
        for arg in call.args:
            self.expression(arg.value, cuts, context)

    def _aliases(self, func: cst.BaseExpression) -> Iterator[str]:
        """What a called local name stands for: `net` after `net = model`, `model.to(device)`
        or `nn.DataParallel(model)`."""
        read = self.flow.defuse.read_of(func) if isinstance(func, cst.Name) else None
        for definition in read.definitions if read is not None else ():
            value = definition.value
            while isinstance(value, cst.Call):
                inner = value.func
                if isinstance(inner, cst.Attribute) and inner.attr.value in MODULE_RETURNING_SELF:
                    value = inner.value
                elif self.flow.names.qualname(inner) in WRAPPERS and value.args:
                    value = value.args[0].value
                else:
                    break
            name = dotted_name(value) if value is not None else None
            if name is not None:
                yield name

    def _is_the_builtin_or_torch(self, func: cst.BaseExpression) -> bool:
        """`float(x)` is the builtin unless the file binds the name; `torch.tensor` is torch's."""
        if isinstance(func, cst.Name) and func.value in ("float", "int"):
            read = self.flow.defuse.read_of(func)
            return read is None or not read.definitions
        return True

    def _returns(self, helper: cst.FunctionDef, call: cst.Call, cuts: tuple[Cut, ...], context: _Context) -> None:
        inner = _Context(_arguments(helper, call), context, context.depth + 1)
        for returned in _returned_values(helper):
            self.expression(returned, cuts, inner)

    def _source(self, name: str, node: cst.CSTNode, cuts: tuple[Cut, ...], called: bool) -> None:
        self.result.sources.append(Source(name, node, cuts, called))


def _with(cuts: tuple[Cut, ...], cut: Cut) -> tuple[Cut, ...]:
    """The cuts with one more below them; a cut met again (round a loop) adds nothing."""
    return cuts if cut in cuts else cuts + (cut,)


def _arguments(helper: cst.FunctionDef, call: cst.Call) -> tuple[tuple[str, cst.BaseExpression], ...]:
    """Parameter -> the caller's argument expression (`self` of a method is left out)."""
    params = [p.name.value for p in (*helper.params.posonly_params, *helper.params.params)]
    if params and params[0] in RECEIVERS:
        params = params[1:]
    arguments = [(param, arg.value) for param, arg in zip(params, (a for a in call.args
                                                                   if a.keyword is None and not a.star))]
    arguments += [(arg.keyword.value, arg.value) for arg in call.args if arg.keyword is not None]
    return tuple(arguments)


def _in_caller_terms(name: str, context: _Context) -> str:
    """`encoder` inside `def encode(encoder, x)` called as `encode(self.enc, x)` is `self.enc`."""
    root, dot, rest = name.partition(".")
    while context.caller is not None:
        argument = context.argument(root)
        outer = dotted_name(argument) if argument is not None else None
        if outer is None:
            break
        name = outer + dot + rest
        root, dot, rest = name.partition(".")
        context = context.caller
    return name


def _sets_the_flag(assign: cst.Assign) -> bool:
    target = assign.targets[0].target
    return isinstance(target, cst.Attribute) and target.attr.value == "requires_grad" \
        and isinstance(target.value, cst.Name) and isinstance(assign.value, cst.Name) and assign.value.value == "True"


def _tests_the_flag(branches: tuple[tuple[cst.CSTNode, int], ...]) -> bool:
    for node, _ in branches:
        test = getattr(node, "test", None)
        if isinstance(test, cst.BaseExpression):
            text = source_code(test)
            if "requires_grad" in text or "grad_fn" in text:
                return True
    return False


def _requires_grad(call: cst.Call) -> bool:
    arg = keyword_arg(call, "requires_grad")
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"


def _returned_values(function: cst.FunctionDef) -> Iterator[cst.BaseExpression]:
    """The expressions the function returns (not those of functions nested in it)."""
    stack: list[cst.CSTNode] = [function.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.Return):
            if node.value is not None:
                yield node.value
            continue
        if isinstance(node, cst.BaseExpression):
            continue
        stack.extend(node.children)


# Tensor methods and torch functions through which a tensor made of fresh leaves stays one.
GRAPH_KEEPING_METHODS = frozenset({
    "sum", "mean", "to", "cuda", "cpu", "float", "double", "half", "view", "reshape", "squeeze", "unsqueeze",
    "clone", "contiguous", "abs", "pow", "sqrt", "log", "exp", "neg", "flatten", "type", "norm", "max", "min",
})
GRAPH_KEEPING_FUNCTIONS = frozenset({
    "torch.sum", "torch.mean", "torch.stack", "torch.cat", "torch.abs", "torch.sqrt", "torch.log", "torch.exp",
    "torch.norm",
})
CONSTANTS = (cst.Integer, cst.Float, cst.Imaginary)


class _LeafWalk:
    def __init__(self, flow: GradientFlow, leaves: list[cst.Call]) -> None:
        self.flow = flow
        self.leaves = leaves
        self._active: set[int] = set()

    def graphless(self, expr: cst.BaseExpression, context: _Context) -> bool:
        if isinstance(expr, CONSTANTS):
            return True
        if id(expr) in self._active:
            return True  # a loop back to a binding being judged: judged where it started
        if len(self._active) > MAX_LEAF_DEPTH:
            return False  # too long a chain to judge: say it may carry a graph
        self._active.add(id(expr))
        try:
            return self._judge(expr, context)
        finally:
            self._active.discard(id(expr))

    def _judge(self, expr: cst.BaseExpression, context: _Context) -> bool:
        if isinstance(expr, cst.Name):
            return self._name(expr, context)
        if isinstance(expr, cst.BinaryOperation):
            return self.graphless(expr.left, context) and self.graphless(expr.right, context)
        if isinstance(expr, cst.UnaryOperation):
            return self.graphless(expr.expression, context)
        if isinstance(expr, cst.Subscript):
            return self.graphless(expr.value, context)
        if isinstance(expr, (cst.List, cst.Tuple)):
            return all(self.graphless(element.value, context) for element in expr.elements)
        if isinstance(expr, cst.Call):
            return self._call(expr, context)
        return False

    def _name(self, name: cst.Name, context: _Context) -> bool:
        read = self.flow.defuse.read_of(name)
        if read is None or not read.definitions:
            return False
        for definition in read.definitions:
            node = definition.node
            if isinstance(node, cst.Param):
                argument = context.argument(node.name.value)
                if argument is None or context.caller is None or not self.graphless(argument, context.caller):
                    return False
            elif isinstance(node, cst.AugAssign):
                if not (self.graphless(node.value, context) and self.graphless(node.target, context)):
                    return False
            elif not isinstance(node, (cst.Assign, cst.AnnAssign)) or definition.value is None \
                    or not self.graphless(definition.value, context):
                return False
        return True

    def _call(self, call: cst.Call, context: _Context) -> bool:
        func = call.func
        qualname = self.flow.names.qualname(func)
        if qualname in LEAF_FUNCTIONS:
            if _requires_grad(call) and call.args and _computed(call.args[0].value, self.flow.names):
                self.leaves.append(call)
                return True
            return False
        if qualname in GRAPH_KEEPING_FUNCTIONS:
            return bool(call.args) and self.graphless(call.args[0].value, context)
        helper = self.flow.helper(call)
        if helper is not None:
            if context.depth >= MAX_HELPER_DEPTH:
                return False
            inner = _Context(_arguments(helper, call), context, context.depth + 1)
            returned = list(_returned_values(helper))
            return bool(returned) and all(self.graphless(value, inner) for value in returned)
        if isinstance(func, cst.Attribute) and qualname is None:
            method = func.attr.value
            if method == "requires_grad_" and _made_without_graph(func.value, self.flow.names):
                self.leaves.append(call)
                return True
            if method in GRAPH_KEEPING_METHODS:
                return self.graphless(func.value, context)
            return False
        return False


def _computed(expr: cst.BaseExpression, names: ImportTable) -> bool:
    """A value computed from something (not a literal, not a random or constant factory): what a
    rebuilt loss is made of, where `torch.tensor(2.0, requires_grad=True)` is a variable to learn."""
    if isinstance(expr, CONSTANTS) or isinstance(expr, cst.SimpleString):
        return False
    if isinstance(expr, cst.UnaryOperation):
        return _computed(expr.expression, names)
    if isinstance(expr, (cst.List, cst.Tuple)):
        return any(_computed(element.value, names) for element in expr.elements)
    if isinstance(expr, cst.Call):
        name = names.qualname(expr.func) or dotted_name(expr.func) or ""
        if name.rsplit(".", 1)[-1] in TENSOR_FACTORIES:
            return False
        if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in CUTTING_METHODS:
            return _computed(expr.func.value, names)
    return True


def _made_without_graph(expr: cst.BaseExpression, names: ImportTable) -> bool:
    """`torch.tensor(v)`, `torch.from_numpy(a)`, `x.detach()`: a tensor with no graph behind it."""
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    qualname = names.qualname(func)
    if qualname in CUTTING_FUNCTIONS or qualname in REWRAPPING_FUNCTIONS:
        return True
    return isinstance(func, cst.Attribute) and qualname is None and func.attr.value in CUTTING_METHODS
