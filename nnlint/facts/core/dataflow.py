"""A small abstract interpreter: what kind of value each name holds, and every call made.

It walks each function once, in statement order, tracking `Value`s through assignments,
tuple unpacking, containers, attributes of `self`, same-file function calls (re-analysed
with the caller's argument values) and same-file classes (a model's `forward` decides what
calling it returns). Where paths disagree (if/else, loops) a name becomes UNKNOWN: rules
built on these facts only see what holds on every path.
"""

from __future__ import annotations

import ast

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence, cast

import libcst as cst

from nnlint.facts.pytorch import torch_api
from nnlint.facts.data.data_values import DataSemantics
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import (
    block_statements, code_snippet, descendants, dotted_name, expressions_in, keyword_arg, positional_args,
    string_value, walk_statements,
)
from nnlint.facts.core.values import CLASSES_FROM, NONE, ONE_CLASS, TENSOR_KINDS, UNKNOWN, Kind, Value, join

if TYPE_CHECKING:
    from nnlint.facts.summary import SymbolSummary

MAX_CALL_DEPTH = 4
# Argument values not worth a specialized analysis of the function they are passed to.
_UNINFORMATIVE = (Kind.UNKNOWN, Kind.NONE, Kind.STRING, Kind.BOOL)
# Argument values a function may branch on (`if fit:`, `if name == "ce":`), kept when probing it.
_CONSTANT_KINDS = (Kind.NONE, Kind.STRING, Kind.BOOL)
NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"})
ENABLE_GRAD_CONTEXTS = frozenset({"torch.enable_grad", "torch.autograd.enable_grad"})
SET_GRAD_ENABLED = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled"})
BACKPROPAGATED = "backward()"    # the producer of a value known to hold a graph because backward() ran on it
# Objects whose `.backward(loss)` backpropagates their argument (accelerate, Fabric, DeepSpeed, ...).
_BACKWARD_OWNER_WORDS = ("accelerat", "fabric", "engine", "strategy", "precision", "trainer", "deepspeed", "model")


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
    is_module: bool = False
    init_analysed: bool = False


@dataclass(eq=False)
class Event:
    """Something the code does, in the order the interpreter met it."""

    node: cst.CSTNode
    function: FunctionInfo
    loops: tuple[cst.CSTNode, ...]
    no_grad: bool
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

    @property
    def loss_family(self) -> str | None:
        """The loss this very call computes (cross_entropy, nll, ...), None for other calls."""
        if self.result.kind is Kind.LOSS and self.result.origin is self.node:
            return self.result.detail
        return None

    def arg(self, index: int, keyword: str | None = None) -> Value:
        if keyword is not None and keyword in self.kwargs:
            return self.kwargs[keyword]
        return self.args[index] if index < len(self.args) else UNKNOWN


@dataclass(eq=False)
class GradResetEvent(Event):
    """`param.grad = None`: a hand-written zero_grad."""


@dataclass(eq=False)
class GradReadEvent(Event):
    """`param.grad` read: gradients used by hand (manual updates, gradient statistics)."""


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
    a call the function makes, itself or through the helpers it calls."""

    param: str
    event: CallEvent
    position: int | None   # the positional argument it is, or None when passed by keyword
    keyword: str | None


@dataclass
class _Frame:
    function: FunctionInfo
    env: dict[str, Value]
    specialized: bool
    depth: int
    loops: list[cst.CSTNode] = field(default_factory=list)
    no_grad: int = 0
    returns: list[Value] = field(default_factory=list)
    branches: list[tuple[cst.CSTNode, int, int]] = field(default_factory=list)
    bound: list[set[str]] = field(default_factory=list)   # names bound so far in each loop's iteration


class Dataflow:
    """Runs the interpreter over a module; read `events`, `classes` and `functions`."""

    def __init__(self, module: cst.Module, names: ImportTable,
                 project: Mapping[str, "SymbolSummary"] | None = None) -> None:
        self.names = names
        # What other files of the project give: imported qualified name -> summary.
        self.project: Mapping[str, SymbolSummary] = project or {}
        self.events: list[Event] = []
        self.classes: dict[str, ClassInfo] = {}
        self._class_keys: dict[cst.ClassDef, str] = {}
        self.functions: dict[cst.FunctionDef, FunctionInfo] = {}
        self.function_events: dict[cst.FunctionDef | None, list[Event]] = {}
        self.globals: dict[str, Value] = {}
        self._summaries: dict[tuple, Value] = {}
        self._active: set[tuple] = set()
        self._forward_outputs: dict[str, Value] = {}
        self._loss_families: dict[str, str | None] = {}
        self._string_dispatch: dict[cst.FunctionDef, bool] = {}
        self._parameter_uses: dict[tuple, list[ParameterUse]] = {}
        # While set, events are collected here instead of recorded and nothing is memoized:
        # what-if analyses (a loss class probed with a marker input, parameter defaults).
        self._probing: list[Event] | None = None
        self._module = module
        self._passed: dict[str, tuple[int, set[str]]] | None = None
        self._call_events: dict[cst.CSTNode, CallEvent] | None = None
        self.data = DataSemantics(self)
        self._declare(module.body)
        module_info = FunctionInfo(None, "<module>")
        self.module_info = module_info
        frame = _Frame(module_info, self.globals, specialized=False, depth=0)
        self._run_block(module.body, frame)
        # Analysing a method can declare more classes (a class defined inside a function).
        analysed: set[str] = set()
        while len(analysed) < len(self.classes):
            for name, info in list(self.classes.items()):
                if name not in analysed:
                    analysed.add(name)
                    self._analyse_class(info)
        for node, function in list(self.functions.items()):
            if function.class_name is None and node not in self.function_events:
                self._analyse(function, (), specialized=False, depth=0)

    # ----------------------------------------------------------------- declarations
    def _declare(self, body: Sequence[cst.BaseStatement]) -> None:
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                self._function_info(statement, None)
                self.globals[statement.name.value] = Value(Kind.FUNCTION, statement.name.value, statement)
            elif isinstance(statement, cst.ClassDef):
                self._declare_class(statement)

    def _function_info(self, node: cst.FunctionDef, class_name: str | None) -> FunctionInfo:
        info = self.functions.get(node)
        if info is None:
            params = node.params
            names = tuple(p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params))
            decorators = tuple(filter(None, (self._decorator_name(d) for d in node.decorators)))
            info = FunctionInfo(node, node.name.value, class_name, names, decorators)
            self.functions[node] = info
        return info

    def _decorator_name(self, decorator: cst.Decorator) -> str | None:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        return self.names.qualname(expr) or dotted_name(expr)

    def _declare_class(self, node: cst.ClassDef) -> None:
        bases = tuple(
            self.names.qualname(arg.value) or dotted_name(arg.value) or "" for arg in node.bases if arg.keyword is None
        )
        info = ClassInfo(node, self._class_key(node), bases)
        for statement in block_statements(node.body):
            if isinstance(statement, cst.FunctionDef):
                info.methods[statement.name.value] = statement
                self._function_info(statement, info.name)
        info.is_module = any(self._is_module_base(base) for base in bases)
        self.classes[info.name] = info
        self.globals[node.name.value] = Value(Kind.CLASS, info.name, node, class_name=info.name)

    def _class_key(self, node: cst.ClassDef) -> str:
        """The class's name, made unique for a class defined again under the same name (a later
        notebook cell, a fallback in `try`): each call resolves to the definition in effect."""
        key = self._class_keys.get(node)
        if key is None:
            key = name = node.name.value
            count = 1
            while key in self.classes:
                count += 1
                key = f"{name}'{count}"
            self._class_keys[node] = key
        return key

    def _is_module_base(self, base: str) -> bool:
        if base in torch_api.MODULE_BASES or torch_api.is_torch_module_class(base):
            return True
        local = self.classes.get(base)
        return local is not None and local.is_module

    def class_of(self, name: str) -> ClassInfo | None:
        return self.classes.get(name)

    def class_defined_by(self, node: cst.ClassDef) -> ClassInfo | None:
        key = self._class_keys.get(node)
        return self.classes.get(key) if key is not None else None

    def _lineage(self, class_name: str) -> Iterator[ClassInfo]:
        """The class and its bases defined in this file, nearest first."""
        seen: set[str] = set()
        queue = [class_name]
        while queue:
            current = queue.pop(0)
            if current in seen or current not in self.classes:
                continue
            seen.add(current)
            yield self.classes[current]
            queue.extend(self.classes[current].bases)

    def method(self, class_name: str, method: str) -> cst.FunctionDef | None:
        return next((info.methods[method] for info in self._lineage(class_name) if method in info.methods), None)

    def class_attr(self, class_name: str, attr: str) -> Value:
        for info in self._lineage(class_name):
            self._ensure_attrs(info)
            if attr in info.attrs:
                return info.attrs[attr]
        method = self.method(class_name, attr)
        if method is not None:
            return Value(Kind.FUNCTION, attr, method, class_name=class_name)
        return UNKNOWN

    # ----------------------------------------------------------------- functions
    def _instance(self, class_name: str) -> Value:
        info = self.classes.get(class_name)
        kind = Kind.MODULE if info is not None and info.is_module else Kind.UNKNOWN
        return Value(kind, class_name, info.node if info else None, class_name=class_name)

    def _ensure_attrs(self, info: ClassInfo) -> None:
        """Learn `self.x` attributes from `__init__` before anything reads them."""
        if info.init_analysed:
            return
        info.init_analysed = True
        for base in info.bases:
            if base in self.classes:
                self._ensure_attrs(self.classes[base])
        init = info.methods.get("__init__")
        if init is not None:
            probing, self._probing = self._probing, None
            self._analyse(self.functions[init], (self._instance(info.name),), specialized=False, depth=0)
            self._probing = probing

    def _analyse_class(self, info: ClassInfo) -> None:
        self._ensure_attrs(info)
        self_value = self._instance(info.name)
        init = info.methods.get("__init__")
        for method in info.methods.values():
            if method is not init:
                self._analyse(self.functions[method], (self_value,), specialized=False, depth=0)

    def _analyse(self, function: FunctionInfo, args: tuple[Value, ...], specialized: bool, depth: int,
                 kwargs: dict[str, Value] | None = None, defaults: bool = True) -> Value:
        """Interpret `function` with these argument values; memoized; returns its result.

        Parameters not passed take their default's value when `defaults` (the call has no
        `*args`/`**kwargs`), else UNKNOWN.
        """
        kwargs = {name: value for name, value in (kwargs or {}).items() if name in function.params}
        key = (function.node, tuple(_identity(a) for a in args),
               tuple(sorted((k, *_identity(v)) for k, v in kwargs.items())), defaults)
        if key in self._summaries:
            return self._summaries[key]
        if key in self._active or depth > MAX_CALL_DEPTH or function.node is None:
            return UNKNOWN
        if self._probing is not None:
            specialized = True
        self._active.add(key)
        env = dict(self.globals)
        env.update(self._parameter_values(function, args, kwargs, defaults, trust_defaults=specialized))
        frame = _Frame(function, env, specialized, depth)
        if any(d in NO_GRAD_CONTEXTS for d in function.decorators):
            frame.no_grad = 1
        if not specialized:
            self.function_events.setdefault(function.node, [])
        self._run_block(block_statements(function.node.body), frame)
        result = UNKNOWN
        if frame.returns:
            result = frame.returns[0]
            for other in frame.returns[1:]:
                result = join(result, other)
        self._active.discard(key)
        if self._probing is None:
            self._summaries[key] = result
        return result

    def _never_passed(self, function: FunctionInfo, param: str) -> bool:
        """No call in this file passes `param` (a constructor's callers name the class)."""
        if self._passed is None:
            self._passed = _passed_arguments(self._module)
        callee = function.class_name if function.name == "__init__" and function.class_name else function.name
        positional, keywords = self._passed.get(callee, (0, set()))
        index = function.params.index(param) - (1 if function.is_method else 0)
        return index >= positional and param not in keywords and "**" not in keywords

    def _parameter_values(self, function: FunctionInfo, args: tuple[Value, ...], kwargs: dict[str, Value],
                          defaults: bool, trust_defaults: bool) -> dict[str, Value]:
        """Arguments by parameter; a parameter not passed takes its default's value when `defaults`.

        Outside a call (`trust_defaults` False) only None and loss-function defaults are taken,
        the latter only when no call in the file passes that parameter:
        `criterion=nn.CrossEntropyLoss()` is not what runs if the file calls
        `train(..., criterion=nn.MSELoss())`.
        """
        values = dict.fromkeys(function.params, UNKNOWN)
        values.update(zip(function.params, args))
        values.update(kwargs)
        if defaults and function.node is not None:
            params = function.node.params
            missing = [p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                       if p.default is not None and p.name.value in values
                       and p.name.value not in kwargs and function.params.index(p.name.value) >= len(args)]
            for param in missing:
                value = self._evaluate_quietly(param.default)
                if trust_defaults or value.kind is Kind.NONE or (
                        value.kind is Kind.LOSS_FN and self._never_passed(function, param.name.value)):
                    values[param.name.value] = value
        return values

    def _evaluate_quietly(self, expr: cst.BaseExpression) -> Value:
        """An expression's value in the module's scope, recording nothing (a parameter default)."""
        probing, self._probing = self._probing, []
        value = self.eval(expr, _Frame(self.module_info, dict(self.globals), specialized=True, depth=MAX_CALL_DEPTH))
        self._probing = probing
        return value

    def _call_function(self, callee: Value, args: list[Value], frame: _Frame, bound_self: Value | None,
                       kwargs: dict[str, Value] | None = None, defaults: bool = True) -> Value:
        node = callee.origin
        if not isinstance(node, cst.FunctionDef):
            return UNKNOWN
        function = self.functions.get(node)
        if function is None:
            return UNKNOWN
        full_args = tuple(([bound_self] if bound_self is not None else []) + args)
        passed = [*full_args[1 if bound_self is not None else 0:], *(kwargs or {}).values()]
        # A string is worth a specialized analysis only for a function that dispatches on it.
        boring = (Kind.UNKNOWN, Kind.NONE) if self._dispatches_on_constant(node) else _UNINFORMATIVE
        interesting = any(value.kind not in boring for value in passed)
        if not interesting:  # one analysis serves every such call
            full_args = tuple(a if a is bound_self else UNKNOWN for a in full_args)
            kwargs = None
        standalone = node in self.function_events
        specialized = interesting or standalone
        return self._analyse(function, full_args, specialized=specialized, depth=frame.depth + 1,
                             kwargs=kwargs, defaults=defaults)

    def parameter_uses(self, node: cst.FunctionDef, passed: Mapping[str, Value] | None = None) -> list[ParameterUse]:
        """Where each parameter of a function of this file goes: the function is run with a
        distinct marker for each parameter, and every call argument that is a marker is a use.

        With `passed` (what one call passes, see `arguments_of`), the parameters that call does
        not pass take their defaults and constants it passes (a flag, a name) are kept, so that
        branches taken only on request (`if fit: scaler.fit(x)`) are decided as for that call."""
        function = self.functions.get(node)
        if function is None or self._probing is not None:
            return []
        params = list(function.params)
        receiver = []
        if function.class_name is not None and params:
            params.pop(0)
            receiver = [self._instance(function.class_name)] if function.class_name in self.classes else [UNKNOWN]
        if passed is None:
            injected = {name: Value(Kind.LOGITS, f"<parameter {name}>") for name in params}
        else:
            injected = {name: value if value.kind in _CONSTANT_KINDS else Value(Kind.LOGITS, f"<parameter {name}>")
                        for name, value in passed.items() if name in params}
        key = (node, passed is None, tuple(sorted((name, value.kind, value.detail) for name, value in injected.items())))
        if key in self._parameter_uses:
            return self._parameter_uses[key]
        self._parameter_uses[key] = []  # recursion guard
        markers = {id(value): name for name, value in injected.items() if value.kind not in _CONSTANT_KINDS}
        probing, self._probing = self._probing, []
        self._analyse(function, tuple(receiver), specialized=True, depth=1, kwargs=injected, defaults=passed is not None)
        events, self._probing = self._probing, probing
        uses = []
        for event in events:
            if not isinstance(event, CallEvent):
                continue
            uses.extend(ParameterUse(markers[id(arg)], event, position, None)
                        for position, arg in enumerate(event.args) if id(arg) in markers)
            uses.extend(ParameterUse(markers[id(arg)], event, None, keyword)
                        for keyword, arg in event.kwargs.items() if id(arg) in markers)
        self._parameter_uses[key] = uses
        return uses

    def _bound_parameters(self, event: CallEvent) -> list[str] | None:
        """The parameters a call of a function of this file binds, in order (a bound method's
        `self` left out); None for a call of anything else."""
        node = event.callee.origin if event.callee.kind is Kind.FUNCTION else None
        function = self.functions.get(node) if isinstance(node, cst.FunctionDef) else None
        return list(function.params)[1 if event.callee.class_name else 0:] if function is not None else None

    def arguments_of(self, event: CallEvent) -> dict[str, Value]:
        """What a call of a function of this file passes for each parameter it passes."""
        params = self._bound_parameters(event) or []
        passed = dict(zip(params, event.args))
        passed.update((name, value) for name, value in event.kwargs.items() if name in params)
        return passed

    def argument_for(self, event: CallEvent, param: str) -> Value:
        """The value a call of a function of this file passes for one of its parameters."""
        return self.arguments_of(event).get(param, UNKNOWN)

    def argument_expression(self, event: CallEvent, param: str) -> cst.BaseExpression | None:
        """The expression a call of a function of this file passes for one of its parameters."""
        params = self._bound_parameters(event)
        if params is None or param not in params or not isinstance(event.node, cst.Call):
            return None
        keyword = next((arg.value for arg in event.node.args if arg.keyword is not None and arg.keyword.value == param), None)
        if keyword is not None:
            return keyword
        positional = [arg.value for arg in event.node.args if arg.keyword is None and not arg.star]
        index = params.index(param)
        return positional[index] if index < len(positional) else None

    def _dispatches_on_constant(self, node: cst.FunctionDef) -> bool:
        """`if name == "ce":` or `if fit:` on a parameter somewhere in the function: a factory
        chosen by name, or a step taken only when the caller asks for it."""
        if node not in self._string_dispatch:
            params = set(self.functions[node].params)
            self._string_dispatch[node] = any(
                isinstance(statement, cst.If) and (_string_test(statement.test, params) is not None
                                                   or _flag_test(statement.test, params) is not None)
                for statement in walk_statements(block_statements(node.body))
            )
        return self._string_dispatch[node]

    def forward_output(self, class_name: str, args: list[Value], depth: int, instance: Value | None = None) -> Value:
        """What calling a module class of this file returns; `instance` when it has sub-modules
        replaced after it was built."""
        forward = self.method(class_name, "forward") or self.method(class_name, "__call__")
        if forward is None:
            return UNKNOWN
        function = self.functions[forward]
        if instance is not None and instance.keys:
            return self._analyse(function, (instance, *args), specialized=True, depth=depth + 1)
        informative = any(a.kind not in _UNINFORMATIVE for a in args)
        if not informative and class_name in self._forward_outputs:
            return self._forward_outputs[class_name]
        if not informative:
            args = []
        result = self._analyse(function, (self._instance(class_name), *args), specialized=True, depth=depth + 1)
        if not informative:
            self._forward_outputs[class_name] = result
        return result

    # ----------------------------------------------------------------- statements
    def _record(self, event: Event) -> None:
        if self._probing is not None:
            self._probing.append(event)
            return
        self.events.append(event)
        if not event.specialized:
            self.function_events.setdefault(event.function.node, []).append(event)

    def _run_block(self, body: Sequence[cst.BaseStatement], frame: _Frame) -> None:
        for statement in body:
            self._run_statement(statement, frame)

    def _run_branch(self, body: Sequence[cst.BaseStatement], frame: _Frame,
                    branch: tuple[cst.CSTNode, int] | None = None) -> dict[str, Value]:
        saved = frame.env
        frame.env = dict(saved)
        if branch is not None:
            frame.branches.append((*branch, len(frame.loops)))
        self._run_block(body, frame)
        if branch is not None:
            frame.branches.pop()
        branch_env = frame.env
        frame.env = saved
        return branch_env

    @staticmethod
    def _merge(frame: _Frame, *branches: dict[str, Value]) -> None:
        first, rest = branches[0], branches[1:]
        for key in set().union(*branches):
            merged = first.get(key, UNKNOWN)
            for branch in rest:
                value = branch.get(key, UNKNOWN)
                if value is not merged:  # most names are untouched by the branches: the same object
                    merged = join(merged, value)
            frame.env[key] = merged

    def _run_statement(self, statement: cst.BaseStatement, frame: _Frame) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._run_small(small, frame)
        elif isinstance(statement, cst.If):
            self.eval(statement.test, frame)
            decided = self._decided(statement.test, frame)
            if decided is not None:
                self._run_decided(statement, decided, frame)
                return
            taken = self._run_branch(block_statements(statement.body), frame, (statement, 0))
            orelse = statement.orelse
            if orelse is None:
                other = dict(frame.env)
            elif isinstance(orelse, cst.If):
                other = self._run_branch([orelse], frame, (statement, 1))
            else:
                other = self._run_branch(block_statements(orelse.body), frame, (statement, 1))
            self._merge(frame, taken, other)
        elif isinstance(statement, (cst.For, cst.While)):
            self._run_loop(statement, frame)
        elif isinstance(statement, cst.With):
            self._run_with(statement, frame)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self._run_block(block_statements(statement.body), frame)
            for index, handler in enumerate(statement.handlers, start=1):
                self._merge(frame, dict(frame.env),
                            self._run_branch(block_statements(handler.body), frame, (statement, index)))
            if statement.orelse is not None:
                self._run_block(block_statements(statement.orelse.body), frame)
            if statement.finalbody is not None:
                self._run_block(block_statements(statement.finalbody.body), frame)
        elif isinstance(statement, cst.FunctionDef):
            self._define_function(statement, frame)
        elif isinstance(statement, cst.ClassDef):
            if statement not in self._class_keys:
                self._declare_class(statement)
            key = self._class_keys[statement]
            frame.env[statement.name.value] = Value(Kind.CLASS, key, statement, class_name=key)
        elif isinstance(statement, cst.Match):
            self.eval(statement.subject, frame)
            branches = [self._run_branch(block_statements(case.body), frame, (statement, index))
                        for index, case in enumerate(statement.cases)]
            self._merge(frame, dict(frame.env), *branches)

    def _decided(self, test: cst.BaseExpression, frame: _Frame) -> bool | None:
        """The outcome of `name == "ce"` or `if flag:` when a call passed the string or the flag."""
        if not frame.specialized:
            return None
        flag = _flag_test(test, set(frame.env))
        if flag is not None:
            value = frame.env.get(flag[0], UNKNOWN)
            return (value.detail == "True") == flag[1] if value.kind is Kind.BOOL else None
        compared = _string_test(test, set(frame.env))
        if compared is None:
            return None
        name, strings, equal = compared
        value = frame.env.get(name, UNKNOWN)
        if value.kind is not Kind.STRING:
            return None
        return (value.detail in strings) == equal

    def _run_decided(self, statement: cst.If, taken: bool, frame: _Frame) -> None:
        if taken:
            frame.env = self._run_branch(block_statements(statement.body), frame, (statement, 0))
        elif isinstance(statement.orelse, cst.If):
            frame.env = self._run_branch([statement.orelse], frame, (statement, 1))
        elif statement.orelse is not None:
            frame.env = self._run_branch(block_statements(statement.orelse.body), frame, (statement, 1))

    def _define_function(self, node: cst.FunctionDef, frame: _Frame) -> None:
        function = self._function_info(node, None)
        value = Value(Kind.FUNCTION, node.name.value, node)
        frame.env[node.name.value] = value
        if frame.function.node is not None and node not in self.function_events:
            # A closure: analyse it now, seeing the enclosing function's names.
            saved_globals = self.globals
            self.globals = dict(frame.env)
            self._analyse(function, (), specialized=False, depth=frame.depth + 1)
            self.globals = saved_globals

    def _run_loop(self, loop: cst.For | cst.While, frame: _Frame) -> None:
        iterated = self.eval(loop.iter, frame) if isinstance(loop, cst.For) else self.eval(loop.test, frame)
        before = dict(frame.env)
        frame.loops.append(loop)
        frame.bound.append(set())
        if isinstance(loop, cst.For):
            self._assign(loop.target, self.data.iterate(iterated), frame)
        self._run_block(block_statements(loop.body), frame)
        frame.loops.pop()
        frame.bound.pop()
        self._merge(frame, before, dict(frame.env))
        if loop.orelse is not None:
            self._run_block(block_statements(loop.orelse.body), frame)

    def _run_with(self, statement: cst.With, frame: _Frame) -> None:
        disables_grad = enables_grad = False
        for item in statement.items:
            self.eval(item.item, frame)
            disables_grad |= self._disables_grad(item.item)
            enables_grad |= self._enables_grad(item.item)
            if item.asname is not None:
                self._assign(item.asname.name, UNKNOWN, frame)
        saved = frame.no_grad
        frame.no_grad = 0 if enables_grad else saved + disables_grad
        self._run_block(block_statements(statement.body), frame)
        frame.no_grad = saved

    def _enables_grad(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Call):
            return self.names.qualname(expr) in ENABLE_GRAD_CONTEXTS
        name = self.names.qualname(expr.func)
        if name in ENABLE_GRAD_CONTEXTS:
            return True
        if name in SET_GRAD_ENABLED and expr.args:
            mode = expr.args[0].value
            return isinstance(mode, cst.Name) and mode.value == "True"
        return False

    def _disables_grad(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Call):
            return self.names.qualname(expr) in NO_GRAD_CONTEXTS
        name = self.names.qualname(expr.func)
        if name in NO_GRAD_CONTEXTS:
            mode = expr.args[0].value if expr.args else None
            return not (isinstance(mode, cst.Name) and mode.value == "False")
        if name in SET_GRAD_ENABLED and expr.args:
            mode = expr.args[0].value
            return isinstance(mode, cst.Name) and mode.value == "False"
        return False

    def _run_small(self, small: cst.BaseSmallStatement, frame: _Frame) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, frame)
            if len(small.targets) == 1 and _adds_to_itself(small.targets[0].target, small.value):
                self._record_accumulation(small, small.targets[0].target, UNKNOWN, small.value.right, frame)
            for target in small.targets:
                self._assign(target.target, self.data.bind(target.target, small.value, value), frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                value = self.eval(small.value, frame)
                self._assign(small.target, self.data.bind(small.target, small.value, value), frame)
        elif isinstance(small, cst.AugAssign):
            value = self.eval(small.value, frame)
            if isinstance(small.operator, cst.AddAssign):
                self._record_accumulation(small, small.target, value, small.value, frame)
            result = UNKNOWN
            if isinstance(small.target, cst.Name):
                current = frame.env.get(small.target.value, UNKNOWN)
                result = self.data.augmented(small.operator, current, value, small.target, small.value, small)
            self._assign(small.target, result, frame, bind=False)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Return):
            frame.returns.append(self.eval(small.value, frame) if small.value is not None else UNKNOWN)
        elif isinstance(small, (cst.Assert, cst.Raise, cst.Del)):
            for child in small.children:
                if isinstance(child, cst.BaseExpression):
                    self.eval(child, frame)

    def _record_accumulation(self, statement: cst.CSTNode, target: cst.BaseExpression, value: Value,
                             added: cst.BaseExpression, frame: _Frame) -> None:
        accumulator = dotted_name(target.value if isinstance(target, cst.Subscript) else target)
        if accumulator is None:
            return
        operands = tuple(frame.env.get(name, UNKNOWN) for name in added_names(added))
        bound_in = tuple(loop for loop, names in zip(frame.loops, frame.bound) if accumulator in names)
        self._record(AccumulateEvent(statement, frame.function, tuple(frame.loops), frame.no_grad > 0,
                                     frame.specialized, tuple(frame.branches), target=accumulator,
                                     value=value, operands=operands, bound_in=bound_in, added=added))

    def _assign(self, target: cst.BaseExpression, value: Value, frame: _Frame, bind: bool = True) -> None:
        bound_name = dotted_name(target) if bind else None
        if bound_name is not None:
            for names in frame.bound:
                names.add(bound_name)
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for index, element in enumerate(target.elements):
                inner = element.value
                if isinstance(element, cst.StarredElement):
                    self._assign(inner, UNKNOWN, frame)
                else:
                    self._assign(inner, value.item(index), frame)
        elif isinstance(target, cst.Attribute):
            owner = self.eval(target.value, frame)
            name = dotted_name(target)
            if name is not None:
                self._replace_submodule(target, owner, value, frame)
                frame.env[name] = value
                if target.attr.value == "grad":
                    self._record(GradResetEvent(target, frame.function, tuple(frame.loops), frame.no_grad > 0,
                                                frame.specialized, tuple(frame.branches)))
                self._store_self_attr(name, value, frame)
        elif isinstance(target, cst.Subscript):
            self.eval(target.value, frame)
            container = dotted_name(target.value)
            key = _constant_index(target)
            stored = self.data.store_item(frame.env.get(container, UNKNOWN), value) if container else None
            if stored is not None:
                frame.env[container] = stored
            elif container is not None and isinstance(key, str):
                current = frame.env.get(container, UNKNOWN)
                if current.kind is Kind.MAPPING or current is UNKNOWN:
                    keys = tuple(k for k in current.keys if k != key) + (key,)
                    items = tuple(current.item(k) for k in keys[:-1]) + (value,)
                    frame.env[container] = Value(Kind.MAPPING, items=items, keys=keys)

    def _replace_submodule(self, target: cst.Attribute, owner: Value, value: Value, frame: _Frame) -> None:
        """`net.head = nn.Sequential(..., nn.Softmax(dim=1))` on a model built earlier: what the
        model gives changes with it (its class's forward reads the new head; a pretrained
        classifier's last layer is that head)."""
        owner_name = dotted_name(target.value)
        if owner.kind is not Kind.MODULE or owner_name is None or owner_name == "self" or value.kind is not Kind.MODULE:
            return
        attr = target.attr.value
        if owner.class_name and owner.class_name in self.classes:
            keys = tuple(key for key in owner.keys if key != attr)
            items = tuple(owner.item(key) for key in keys)
            frame.env[owner_name] = replace(owner, keys=(*keys, attr), items=(*items, value))
        elif owner.detail == torch_api.CLASSIFIER and attr in torch_api.CLASSIFIER_HEADS:
            frame.env[owner_name] = replace(owner, output=value.output if value.output is not None else UNKNOWN)

    def _store_self_attr(self, name: str, value: Value, frame: _Frame) -> None:
        function = frame.function
        if function.class_name is None or not name.startswith("self.") or name.count(".") != 1:
            return
        info = self.classes.get(function.class_name)
        # A setter called with a loss function is learnt from the call (`trainer.set_criterion(...)`).
        setter = frame.specialized and function.name != "__init__" and value.kind is Kind.LOSS_FN
        if info is None or (frame.specialized and not setter):
            return
        attr = name[5:]
        if function.name == "__init__":
            info.attrs[attr] = join(info.attrs[attr], value) if attr in info.attrs else value
        elif value.kind is not Kind.UNKNOWN and (attr not in info.attrs or info.attrs[attr].kind is Kind.NONE):
            info.attrs[attr] = value

    # ----------------------------------------------------------------- expressions
    def eval(self, expr: cst.BaseExpression | None, frame: _Frame) -> Value:
        if expr is None:
            return UNKNOWN
        # A lookup by exact type: libcst's node classes are ABCs, and a chain of isinstance
        # checks on them was the hottest code of the whole analysis.
        handler = _EVALUATORS.get(type(expr))
        if handler is not None:
            return handler(self, expr, frame)
        for child in expressions_in(expr):
            self.eval(child, frame)
        return UNKNOWN

    def _eval_name(self, expr: cst.Name, frame: _Frame) -> Value:
        if expr.value in ("True", "False"):
            return Value(Kind.BOOL, expr.value, detail=expr.value)
        return NONE if expr.value == "None" else frame.env.get(expr.value, UNKNOWN)

    def _eval_boolean(self, expr: cst.BooleanOperation, frame: _Frame) -> Value:
        left = self.eval(expr.left, frame)
        right = self.eval(expr.right, frame)
        return right if isinstance(expr.operator, cst.Or) and left.kind is Kind.NONE else UNKNOWN

    def _eval_sequence(self, expr: cst.Tuple | cst.List, frame: _Frame) -> Value:
        items = tuple(self.eval(e.value, frame) for e in expr.elements)
        if any(isinstance(e, cst.StarredElement) for e in expr.elements):
            return UNKNOWN
        return Value(Kind.SEQUENCE, items=items)

    def _eval_dict(self, expr: cst.Dict, frame: _Frame) -> Value:
        keys, items = [], []
        for element in expr.elements:
            if isinstance(element, cst.DictElement):
                key = string_value(element.key)
                value = self.eval(element.value, frame)
                self.eval(element.key, frame)
                if key is not None:
                    keys.append(key)
                    items.append(value)
            else:
                self.eval(element.value, frame)
        return Value(Kind.MAPPING, items=tuple(items), keys=tuple(keys))

    def _eval_binary(self, expr: cst.BinaryOperation, frame: _Frame) -> Value:
        left, right = self.eval(expr.left, frame), self.eval(expr.right, frame)
        return self.data.arithmetic(expr.operator, left, right, expr.left, expr.right, expr)

    def _eval_if_expression(self, expr: cst.IfExp, frame: _Frame) -> Value:
        self.eval(expr.test, frame)
        return join(self.eval(expr.body, frame), self.eval(expr.orelse, frame))

    def _eval_string(self, expr: cst.SimpleString, frame: _Frame) -> Value:
        return _string_constant(expr)

    def _eval_opaque(self, expr: cst.BaseExpression, frame: _Frame) -> Value:
        return UNKNOWN

    def _eval_comprehension_value(self, expr: cst.BaseComp, frame: _Frame) -> Value:
        self._eval_comprehension(expr, frame)
        return UNKNOWN

    def _eval_comprehension(self, expr: cst.BaseComp, frame: _Frame) -> None:
        saved = frame.env
        frame.env = dict(saved)
        clause = expr.for_in
        while clause is not None:
            self.eval(clause.iter, frame)
            self._assign(clause.target, UNKNOWN, frame)
            for condition in clause.ifs:
                self.eval(condition.test, frame)
            clause = clause.inner_for_in
        if isinstance(expr, cst.DictComp):
            self.eval(expr.key, frame)
            self.eval(expr.value, frame)
        else:
            self.eval(expr.elt, frame)
        frame.env = saved

    def _eval_attribute(self, expr: cst.Attribute, frame: _Frame) -> Value:
        if expr.attr.value == "grad":
            self._record(GradReadEvent(expr, frame.function, tuple(frame.loops), frame.no_grad > 0,
                                       frame.specialized, tuple(frame.branches)))
        name = dotted_name(expr)
        if name is not None and name in frame.env:
            return frame.env[name]
        base = self.eval(expr.value, frame)
        if base.kind is Kind.MODULE and expr.attr.value in base.keys:
            return base.item(expr.attr.value)
        if base.class_name and base.kind in (Kind.MODULE, Kind.UNKNOWN):
            return self.class_attr(base.class_name, expr.attr.value)
        return self.data.attribute(base, expr)

    def _eval_subscript(self, expr: cst.Subscript, frame: _Frame) -> Value:
        base = self.eval(expr.value, frame)
        indices = [self.eval(child, frame) for element in expr.slice for child in expressions_in(element)]
        index = _constant_index(expr)
        if index is None and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
            key = self.eval(expr.slice[0].slice.value, frame)
            index = key.detail if key.kind is Kind.STRING else None
        if index is not None:
            item = base.item(index)
            if item is not UNKNOWN:
                return item
        if base.kind in TENSOR_KINDS:
            return _reshaped(base)
        index_value = indices[0] if len(expr.slice) == 1 and len(indices) == 1 else UNKNOWN
        result = self.data.subscript(expr, base, index_value)
        if Kind.DATA in (base.kind, index_value.kind, result.kind) or index_value.kind is Kind.PERMUTATION:
            self._record(SubscriptEvent(expr, frame.function, tuple(frame.loops), frame.no_grad > 0,
                                        frame.specialized, base=base, index=index_value, result=result))
        return result

    def _eval_call(self, call: cst.Call, frame: _Frame) -> Value:
        func = call.func
        root = func
        while isinstance(root, cst.Attribute):
            root = root.value
        shadowed = isinstance(root, cst.Name) and root.value in frame.env
        qualname = None if shadowed else self.names.qualname(func)
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        receiver = receiver_name = None
        if qualname is not None:
            callee = UNKNOWN
        elif isinstance(func, cst.Attribute):
            receiver = self.eval(func.value, frame)
            receiver_name = dotted_name(func.value)
            name = dotted_name(func)
            if name is not None and name in frame.env:
                callee = frame.env[name]
            elif receiver.kind is Kind.MODULE and func.attr.value in receiver.keys:
                callee = receiver.item(func.attr.value)
            elif receiver.class_name and receiver.kind in (Kind.MODULE, Kind.UNKNOWN):
                callee = self.class_attr(receiver.class_name, func.attr.value)
            else:
                callee = UNKNOWN
        else:
            callee = self.eval(func, frame)
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for arg in call.args:
            value = self.eval(arg.value, frame)
            if arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            elif arg.star:
                value = UNKNOWN
            else:
                args.append(value)
        result = self._call_result(call, qualname, method, receiver, callee, args, kwargs, frame)
        if result.kind is Kind.UNKNOWN:
            data_result, fitted = self.data.call_result(call, qualname, method, receiver, receiver_name, callee,
                                                        args, kwargs)
            result = data_result if data_result is not UNKNOWN else result
            if fitted is not None and receiver_name is not None:
                frame.env[receiver_name] = fitted
        self._record(CallEvent(
            call, frame.function, tuple(frame.loops), frame.no_grad > 0, frame.specialized, tuple(frame.branches),
            qualname=qualname, method=method, receiver=receiver, receiver_name=receiver_name,
            callee=callee, args=tuple(args), kwargs=kwargs, result=result,
        ))
        if method == "append" and receiver_name is not None and len(args) == 1 and qualname is None:
            self._record_accumulation(call, cast(cst.Attribute, func).value, args[0], call.args[0].value, frame)
        if method == "backward" and qualname is None:
            self._mark_backpropagated(call, frame)
        return result

    def _mark_backpropagated(self, call: cst.Call, frame: _Frame) -> None:
        """After `loss.backward()` the name `loss` is known to hold a loss tensor with a graph."""
        tensor = backpropagated(call)
        name = dotted_name(tensor)
        if name is not None and frame.env.get(name, UNKNOWN).kind not in TENSOR_KINDS:
            frame.env[name] = Value(Kind.LOSS, BACKPROPAGATED, tensor)

    def _call_result(
        self,
        call: cst.Call,
        qualname: str | None,
        method: str | None,
        receiver: Value | None,
        callee: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: _Frame,
    ) -> Value:
        if qualname is not None:
            return self._library_call(call, qualname, args, kwargs, frame)
        if callee.kind is Kind.FUNCTION:
            bound = receiver if callee.class_name and receiver is not None else None
            return self._call_function(callee, args, frame, bound, kwargs, not any(arg.star for arg in call.args))
        if callee.kind is Kind.CLASS:
            return self.instantiate(callee.class_name, call)
        if callee.kind is Kind.MODULE:
            if callee.output is not None:
                return callee.output
            if callee.class_name:
                return self.forward_output(callee.class_name, args, frame.depth, callee)
            return UNKNOWN
        if callee.kind is Kind.LOSS_FN:
            return Value(Kind.LOSS, callee.producer, call, detail=callee.detail)
        if method is not None and receiver is not None:
            return self._method_result(call, method, receiver)
        return UNKNOWN

    def instantiate(self, class_name: str, call: cst.Call | None = None) -> Value:
        """The value a call of a class of this file gives: a loss function, a model, an object."""
        info = self.classes.get(class_name)
        if info is not None and info.is_module:
            # The family only when the class hands its input to that loss unchanged: a class that
            # applies log_softmax before F.nll_loss takes logits, it is no NLLLoss for its callers.
            family = self._loss_input_family(info)
            if family is None and self._wrapped_loss(info) is not None:
                family = "other"
            if family is not None:
                return Value(Kind.LOSS_FN, info.name, call, detail=family)
            scores = self._scores_by_class_count(info)
            if scores is not None and call is None:  # what other files learn of the class: they build it
                return replace(self._instance(class_name), output=scores)
            built = built_with(scores, call) if scores is not None and call is not None else None
            if built is not None and built.detail == ONE_CLASS:
                return replace(self._instance(class_name), output=built)
        return self._instance(class_name)

    def _scores_by_class_count(self, info: ClassInfo) -> Value | None:
        """The scores a model class outputs when a parameter of its `__init__` sets how many classes
        they have: its forward returns the output of a layer whose size is that parameter
        (`nn.Linear(h, num_classes)`). Their detail says which parameter (see `built_with`)."""
        output = self.forward_output(info.name, [], depth=0)
        layer = output.origin
        if output.kind is not Kind.LOGITS or output.detail or not isinstance(layer, cst.Call):
            return None
        size = torch_api.output_size_argument(self.names.qualname(layer.func) or "", layer)
        init = self.method(info.name, "__init__")
        if not isinstance(size, cst.Name) or init is None:
            return None
        params = init.params
        param = next((p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                      if p.name.value == size.value), None)
        if param is None or not any(node is layer for node in descendants(init)):
            return None
        positional = [p.name.value for p in (*params.posonly_params, *params.params)][1:]
        position = positional.index(size.value) if size.value in positional else -1
        detail = f"{CLASSES_FROM}{size.value}:{position}:{int(torch_api.is_one(param.default))}"
        return Value(Kind.LOGITS, code_snippet(layer), layer, detail)

    def summary_of(self, function: FunctionInfo) -> Value:
        """What a top-level function returns when nothing is known of its arguments."""
        return self._analyse(function, (), specialized=False, depth=0)

    def _method_result(self, call: cst.Call, method: str, receiver: Value) -> Value:
        if receiver.kind is Kind.MODULE and method in torch_api.MODULE_RETURNING_SELF:
            return receiver
        if receiver.kind in (Kind.MODULE, Kind.OPTIMIZER, Kind.SCHEDULER, Kind.LOSS_FN, Kind.CLASS, Kind.FUNCTION):
            return UNKNOWN
        if method in torch_api.METHOD_RESULTS:
            return _made_by(torch_api.METHOD_RESULTS[method], f".{method}()", call, method)
        if method == "log" and receiver.kind is Kind.PROBS:
            return Value(Kind.LOG_PROBS, "log(softmax)", call, detail="log_of_probs")
        if method in ("detach", "detach_") and receiver.kind is Kind.LOSS:
            return UNKNOWN  # a detached loss holds no graph
        if method in torch_api.KIND_PRESERVING_METHODS and receiver.kind in TENSOR_KINDS:
            return receiver if method in torch_api.SHAPE_KEEPING_METHODS else _reshaped(receiver)
        return UNKNOWN

    def _library_call(
        self, call: cst.Call, qualname: str, args: list[Value], kwargs: dict[str, Value], frame: _Frame
    ) -> Value:
        short = qualname.rsplit(".", 1)[-1]
        symbol = self.project.get(qualname)
        if symbol is not None:
            value = symbol.value.to_value() if symbol.value is not None else UNKNOWN
            if value.kind is Kind.MODULE and value.output is not None and value.output.detail.startswith(CLASSES_FROM):
                return replace(value, output=built_with(value.output, call))
            return value
        if qualname in torch_api.FUNCTION_RESULTS:
            return _made_by(torch_api.FUNCTION_RESULTS[qualname], f"{short}()", call, short)
        first = args[0] if args else kwargs.get("input", UNKNOWN)
        if qualname in torch_api.LOG_FUNCTIONS and first.kind is Kind.PROBS:
            return Value(Kind.LOG_PROBS, "log(softmax)", call, detail="log_of_probs")
        if qualname in torch_api.KIND_PRESERVING_FUNCTIONS:
            if first.kind is Kind.SEQUENCE and first.items:
                merged = first.items[0]
                for item in first.items[1:]:
                    merged = join(merged, item)
                return _reshaped(merged) if merged.kind in TENSOR_KINDS else UNKNOWN
            return _reshaped(first) if first.kind in TENSOR_KINDS else UNKNOWN
        loss = torch_api.loss_kind(qualname)
        if loss is not None:
            if qualname in torch_api.LOSS_FUNCTIONS or qualname.startswith("torch.nn.functional."):
                return Value(Kind.LOSS, f"{short}()", call, detail=loss)
            return Value(Kind.LOSS_FN, short, call, detail=loss)
        size = torch_api.output_size_argument(qualname, call)
        if size is not None:  # a Linear or convolution: raw scores, of one class when its size is 1
            one_class = torch_api.is_one(size)
            return Value(Kind.MODULE, short, call, output=Value(
                Kind.LOGITS, code_snippet(call) if one_class else f"nn.{short}", call, ONE_CLASS if one_class else ""))
        if qualname in torch_api.MODULE_OUTPUTS:
            return Value(Kind.MODULE, short, call,
                         output=_made_by(torch_api.MODULE_OUTPUTS[qualname], f"nn.{short}", call, short))
        if qualname in torch_api.SEQUENTIAL_CLASSES:
            last = args[-1] if args else UNKNOWN
            output = self._module_output(last, frame)
            return Value(Kind.MODULE, short, call, output=output)
        if torch_api.is_torch_module_class(qualname):
            return Value(Kind.MODULE, short, call, output=UNKNOWN)
        if torch_api.is_optimizer_class(qualname):
            return Value(Kind.OPTIMIZER, short, call)
        if torch_api.is_scheduler_factory(qualname):
            return Value(Kind.SCHEDULER, short, call)
        classes = torch_api.class_count_keyword(qualname)
        count = keyword_arg(call, classes) if classes is not None else None
        one_class = count is not None and torch_api.is_one(count.value)
        if torch_api.is_classifier_factory(qualname):
            output = Value(Kind.LOGITS, code_snippet(call), call, ONE_CLASS) if one_class else UNKNOWN
            return Value(Kind.MODULE, short, call, detail=torch_api.CLASSIFIER, output=output)
        if one_class:
            return Value(Kind.MODULE, short, call, output=Value(Kind.LOGITS, code_snippet(call), call, ONE_CLASS))
        return UNKNOWN

    def _module_output(self, module: Value, frame: _Frame) -> Value:
        if module.kind is not Kind.MODULE:
            return UNKNOWN
        if module.output is not None:
            return module.output
        if module.class_name:
            return self.forward_output(module.class_name, [], frame.depth)
        return UNKNOWN

    def _loss_input_family(self, info: ClassInfo) -> str | None:
        """The loss a module class of this file applies to its first input, unchanged.

        `forward` is probed with a marker input: a class whose forward hands that very tensor
        (reshaped or sliced at most) to F.cross_entropy is a cross-entropy for its callers.
        """
        if info.name in self._loss_families:
            return self._loss_families[info.name]
        if self._probing is not None:
            return None
        self._loss_families[info.name] = None
        forward = self.method(info.name, "forward")
        if forward is None or len(self.functions[forward].params) < 2 or not self._computes_a_loss(forward):
            return None
        self._ensure_attrs(info)
        marker = Value(Kind.LOGITS, "<loss input>")
        probing, self._probing = self._probing, []
        self._analyse(self.functions[forward], (self._instance(info.name), marker), specialized=True, depth=1)
        events, self._probing = self._probing, probing
        families = {event.loss_family for event in events
                    if isinstance(event, CallEvent) and event.loss_family and event.arg(0, "input") is marker}
        family = families.pop() if len(families) == 1 else None
        self._loss_families[info.name] = family
        return family

    def _computes_a_loss(self, method: cst.FunctionDef) -> bool:
        """Whether a method calls a loss function, from its own analysis (run now if not yet)."""
        function = self.functions[method]
        owner = function.class_name or ""
        if owner in self.classes:
            self._ensure_attrs(self.classes[owner])
        self._analyse(function, (self._instance(owner),), specialized=False, depth=0)
        return any(isinstance(event, CallEvent) and event.loss_family is not None
                   for event in self.function_events.get(method, []))

    def _wrapped_loss(self, info: ClassInfo) -> str | None:
        """The loss family a module computes when its forward returns a loss: a user loss class."""
        if self.method(info.name, "forward") is None:
            return None
        result = self.forward_output(info.name, [], depth=0)
        return (result.detail or "other") if result.kind is Kind.LOSS else None

    # ----------------------------------------------------------------- queries
    def calls(self) -> Iterator[CallEvent]:
        return (e for e in self.events if isinstance(e, CallEvent))

    def call_event(self, node: cst.CSTNode) -> CallEvent | None:
        """The event of a call: the function's own analysis's, else one made for a call of it."""
        if self._call_events is None:
            self._call_events = {}
            for event in self.calls():
                if event.node not in self._call_events or not event.specialized:
                    self._call_events[event.node] = event
        return self._call_events.get(node)


def backpropagated(call: cst.Call) -> cst.BaseExpression:
    """The tensor a `.backward()` call backpropagates: `loss` in `loss.backward()`,
    `scaler.scale(loss).backward()` and `accelerator.backward(loss)`."""
    tensor = cast(cst.Attribute, call.func).value
    owner = (dotted_name(tensor) or "").rsplit(".", 1)[-1].lower()
    if call.args and call.args[0].keyword is None and any(word in owner for word in _BACKWARD_OWNER_WORDS):
        return call.args[0].value
    if isinstance(tensor, cst.Call) and isinstance(tensor.func, cst.Attribute) and tensor.func.attr.value == "scale" \
            and tensor.args:
        return tensor.args[0].value
    return tensor


def built_with(scores: Value, call: cst.Call) -> Value:
    """The scores of a model built by `call`, from scores whose detail says which parameter of the
    constructor sets their number of classes (`classes from num_classes:0:1`: the parameter, its
    position, whether its default is 1): of one class when the call passes 1 or leaves a default of 1."""
    param, position, default_is_one = scores.detail[len(CLASSES_FROM):].split(":")
    keyword = keyword_arg(call, param)
    positional = positional_args(call)
    if keyword is not None:
        one_class = torch_api.is_one(keyword.value)
    elif 0 <= int(position) < len(positional):
        one_class = torch_api.is_one(positional[int(position)].value)
    else:
        one_class = default_is_one == "1" and not any(arg.star for arg in call.args)
    if not one_class:
        return replace(scores, detail="")
    return replace(scores, producer=f"{scores.producer} with {param}=1", detail=ONE_CLASS)


def _made_by(kind: Kind, producer: str, call: cst.Call, function_or_layer: str) -> Value:
    """The value a function, method or layer of a known kind makes; an activation names itself in `detail`."""
    detail = torch_api.activation_name(function_or_layer) if kind is Kind.ACTIVATED else ""
    return Value(kind, producer, call, detail)


def _reshaped(value: Value) -> Value:
    """A tensor after a change of shape: scores of one class may now have any number of columns."""
    return replace(value, detail="") if value.detail == ONE_CLASS else value


def _passed_arguments(module: cst.Module) -> dict[str, tuple[int, set[str]]]:
    """Callee name -> (most positional arguments, keywords) over every call in the file."""
    passed: dict[str, tuple[int, set[str]]] = {}
    for node in ast.walk(ast.parse(module.code)):  # far faster than walking the libcst tree
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name is None:
            continue
        positional, keywords = passed.get(name, (0, set()))
        keywords.update(k.arg if k.arg is not None else "**" for k in node.keywords)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            keywords.add("**")
        passed[name] = (max(positional, len(node.args)), keywords)
    return passed


def _string_constant(expr: cst.SimpleString) -> Value:
    """A plain string literal's value, read without evaluating it (docstrings are many and long)."""
    raw = expr.raw_value
    if expr.prefix.lower() not in ("", "r", "u") or "\\" in raw or len(raw) > 64:
        return UNKNOWN
    return Value(Kind.STRING, detail=raw)


def _identity(value: Value) -> tuple:
    """What tells analyses with this argument apart (a model with a replaced head is another model)."""
    replaced = tuple((key, item.kind, item.output.kind if item.output is not None else None)
                     for key, item in zip(value.keys, value.items)) if value.kind is Kind.MODULE else ()
    return value.kind, value.detail, value.class_name, value.producer, replaced


def _flag_test(test: cst.BaseExpression, names: set[str]) -> tuple[str, bool] | None:
    """(name, wanted) for `if name:` (wanted True) and `if not name:` (wanted False)."""
    wanted = True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, wanted = test.expression, False
    return (test.value, wanted) if isinstance(test, cst.Name) and test.value in names else None


def _string_test(test: cst.BaseExpression, names: set[str]) -> tuple[str, frozenset[str], bool] | None:
    """(name, strings, equal) for `name == "a"`, `name != "a"`, `name in ("a", "b")`, `name not in [...]`."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    left, right = test.left, comparison.comparator
    if isinstance(left, cst.SimpleString) and isinstance(comparison.operator, (cst.Equal, cst.NotEqual)):
        left, right = right, left
    if not isinstance(left, cst.Name) or left.value not in names:
        return None
    operator = comparison.operator
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        strings = [string_value(right)]
    elif isinstance(operator, (cst.In, cst.NotIn)) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
        strings = [string_value(element.value) for element in right.elements]
    else:
        return None
    if any(text is None for text in strings):
        return None
    return left.value, frozenset(strings), isinstance(operator, (cst.Equal, cst.In))


def _adds_to_itself(target: cst.BaseExpression, value: cst.BaseExpression) -> bool:
    """`total = total + x`."""
    return (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)
            and dotted_name(target) is not None and dotted_name(value.left) == dotted_name(target))


def added_names(expr: cst.BaseExpression) -> Iterator[str]:
    """The names summed, scaled or negated in `expr` (`loss` in `loss * x.size(0)`), not inside calls."""
    if isinstance(expr, cst.BinaryOperation):
        yield from added_names(expr.left)
        yield from added_names(expr.right)
    elif isinstance(expr, cst.UnaryOperation):
        yield from added_names(expr.expression)
    else:
        name = dotted_name(expr)
        if name is not None:
            yield name


def _constant_index(expr: cst.Subscript) -> int | str | None:
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    index = expr.slice[0].slice.value
    text = string_value(index)
    if text is not None:
        return text
    if isinstance(index, cst.Integer):
        return int(index.value, 0)
    if isinstance(index, cst.UnaryOperation) and isinstance(index.operator, cst.Minus) and isinstance(
        index.expression, cst.Integer
    ):
        return -int(index.expression.value, 0)
    return None


_EVALUATORS: dict[type, Callable[[Dataflow, Any, _Frame], Value]] = {
    cst.Name: Dataflow._eval_name,
    cst.BooleanOperation: Dataflow._eval_boolean,
    cst.Call: Dataflow._eval_call,
    cst.Attribute: Dataflow._eval_attribute,
    cst.Subscript: Dataflow._eval_subscript,
    cst.Tuple: Dataflow._eval_sequence,
    cst.List: Dataflow._eval_sequence,
    cst.Dict: Dataflow._eval_dict,
    cst.BinaryOperation: Dataflow._eval_binary,
    cst.IfExp: Dataflow._eval_if_expression,
    cst.SimpleString: Dataflow._eval_string,
    cst.Integer: Dataflow._eval_opaque,
    cst.Float: Dataflow._eval_opaque,
    cst.Imaginary: Dataflow._eval_opaque,
    cst.Ellipsis: Dataflow._eval_opaque,
    cst.Lambda: Dataflow._eval_opaque,
    cst.ListComp: Dataflow._eval_comprehension_value,
    cst.SetComp: Dataflow._eval_comprehension_value,
    cst.GeneratorExp: Dataflow._eval_comprehension_value,
    cst.DictComp: Dataflow._eval_comprehension_value,
}
