"""A small abstract interpreter: what kind of value each name holds, and every call made.

It walks each function once, in statement order, tracking `Value`s through assignments,
tuple unpacking, containers, attributes of `self`, same-file function calls (re-analysed
with the caller's argument values) and same-file classes (calling an instance runs its class's
call method). Where paths disagree (if/else, loops) a name becomes UNKNOWN: rules built on
these facts only see what holds on every path.

It knows Python only. What library calls give, which `with` blocks change how code runs, which
classes' instances are callable: the `Semantics` it is given answer (see `semantics.py`).
"""

from __future__ import annotations

import ast

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping, Protocol, Sequence, TypeVar, cast

import libcst as cst

from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.program import (
    AccumulateEvent, AttributeEvent, CallEvent, ClassInfo, Event, FunctionInfo, ParameterUse, SubscriptEvent,
)
from nnlint.facts.core.semantics import Semantics
from nnlint.facts.core.syntax import (
    block_statements, descendants, dotted_name, expressions_in, integer_value, own_statements, string_value,
    walk_statements,
)
from nnlint.facts.core.values import NONE, UNKNOWN, Kind, Value, join

MAX_CALL_DEPTH = 4
# Argument values not worth a specialized analysis of the function they are passed to.
_UNINFORMATIVE = (Kind.UNKNOWN, Kind.NONE, Kind.STRING, Kind.BOOL)
# Argument values a function may branch on (`if fit:`, `if name == "ce":`), kept when probing it.
_CONSTANT_KINDS = (Kind.NONE, Kind.STRING, Kind.BOOL)
SemanticsType = TypeVar("SemanticsType", bound=Semantics)


class ImportedSymbol(Protocol):
    """What another file of the project says of one of its top-level names."""

    def called_value(self) -> Value:
        """The value calling it gives."""


@dataclass
class _Frame:
    function: FunctionInfo
    env: dict[str, Value]
    specialized: bool
    depth: int
    loops: list[cst.CSTNode] = field(default_factory=list)
    scopes: frozenset[str] = frozenset()
    returns: list[Value] = field(default_factory=list)
    branches: list[tuple[cst.CSTNode, int, int]] = field(default_factory=list)
    bound: list[set[str]] = field(default_factory=list)   # names bound so far in each loop's iteration


class Dataflow:
    """Runs the interpreter over a module; read `events`, `classes` and `functions`."""

    def __init__(self, module: cst.Module, names: ImportTable, semantics: Sequence[type[Semantics]] = (),
                 project: Mapping[str, ImportedSymbol] | None = None) -> None:
        self.names = names
        # What other files of the project give: imported qualified name -> what they say of it.
        self.project: Mapping[str, ImportedSymbol] = project or {}
        self.events: list[Event] = []
        self.classes: dict[str, ClassInfo] = {}
        self._class_keys: dict[cst.ClassDef, str] = {}
        self.functions: dict[cst.FunctionDef, FunctionInfo] = {}
        self.function_events: dict[cst.FunctionDef | None, list[Event]] = {}
        self.globals: dict[str, Value] = {}
        self._summaries: dict[tuple, Value] = {}
        self._active: set[tuple] = set()
        self._forward_outputs: dict[str, Value] = {}
        self._string_dispatch: dict[cst.FunctionDef, bool] = {}
        self._parameter_uses: dict[tuple, list[ParameterUse]] = {}
        # While set, events are collected here instead of recorded and nothing is memoized:
        # what-if analyses (a loss class probed with a marker input, parameter defaults).
        self._probing: list[Event] | None = None
        self._module = module
        self._passed: dict[str, tuple[int, set[str]]] | None = None
        self._call_events: dict[cst.CSTNode, CallEvent] | None = None
        self.semantics = tuple(kind(self) for kind in semantics)
        self._call_methods = (*(name for each in self.semantics for name in each.call_methods), "__call__")
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

    def semantics_of(self, kind: type[SemanticsType]) -> SemanticsType:
        """The interpreter's semantics of this class (data splits read what the data semantics saw)."""
        return next(each for each in self.semantics if isinstance(each, kind))

    def _first(self, answers: Iterator[Value]) -> Value:
        """The first answer of a known kind; else the first that knows something (a shape), else UNKNOWN."""
        fallback = UNKNOWN
        for answer in answers:
            if answer.kind is not Kind.UNKNOWN:
                return answer
            if fallback is UNKNOWN:
                fallback = answer
        return fallback

    def _is_module_base(self, base: str) -> bool:
        if any(each.calls_dispatch(base) for each in self.semantics):
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

    def class_and_bases(self, class_name: str) -> Iterator[str]:
        """The class's name and the names of all its bases, through the classes of this file."""
        seen: set[str] = set()
        queue = [class_name]
        while queue:
            current = queue.pop()
            if current in seen:
                continue
            seen.add(current)
            yield current
            info = self.classes.get(current)
            if info is not None:
                queue.extend(info.bases)

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
    def instance_of(self, class_name: str) -> Value:
        """An instance of a class of this file, as `self` inside its methods."""
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
            self._analyse(self.functions[init], (self.instance_of(info.name),), specialized=False, depth=0)
            self._probing = probing

    def _analyse_class(self, info: ClassInfo) -> None:
        self._ensure_attrs(info)
        self_value = self.instance_of(info.name)
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
        frame = self._entered(function, args, kwargs, defaults, specialized, depth)
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

    def _entered(self, function: FunctionInfo, args: tuple[Value, ...], kwargs: dict[str, Value], defaults: bool,
                 specialized: bool, depth: int) -> _Frame:
        """The frame a call of `function` with these arguments starts in."""
        env = dict(self.globals)
        env.update(self._parameter_values(function, args, kwargs, defaults, trust_defaults=specialized))
        frame = _Frame(function, env, specialized, depth)
        frame.scopes = frozenset(filter(None, (each.decorator_scope(d) for d in function.decorators
                                               for each in self.semantics)))
        return frame

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
                        any(each.default_holds(value) for each in self.semantics)
                        and self._never_passed(function, param.name.value)):
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
        interesting = any(value.kind not in boring or value.parts for value in passed)
        if not interesting:  # one analysis serves every such call
            full_args = tuple(a if a is bound_self else UNKNOWN for a in full_args)
            kwargs = None
        standalone = node in self.function_events
        specialized = interesting or standalone
        return self._analyse(function, full_args, specialized=specialized, depth=frame.depth + 1,
                             kwargs=kwargs, defaults=defaults)

    def parameter_uses(self, node: cst.FunctionDef, passed: Mapping[str, Value] | None = None) -> list[ParameterUse]:
        """Where each parameter of a function of this file goes: the function is run with a
        distinct marker for each parameter, and every call argument or method receiver that is a
        marker is a use.

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
            receiver = [self.instance_of(function.class_name)] if function.class_name in self.classes else [UNKNOWN]
        if passed is None:
            injected = {name: self._marker(name) for name in params}
        else:
            injected = {name: value if value.kind in _CONSTANT_KINDS else self._marker(name)
                        for name, value in passed.items() if name in params}
        key = (node, passed is None, tuple(sorted((name, value.kind, value.detail) for name, value in injected.items())))
        if key in self._parameter_uses:
            return self._parameter_uses[key]
        self._parameter_uses[key] = []  # recursion guard
        markers = {id(value): name for name, value in injected.items() if value.kind not in _CONSTANT_KINDS}
        events = self.probe(function, tuple(receiver), injected, defaults=passed is not None)
        uses = []
        for event in events:
            if not isinstance(event, CallEvent):
                continue
            uses.extend(ParameterUse(markers[id(arg)], event, position, None)
                        for position, arg in enumerate(event.args) if id(arg) in markers)
            uses.extend(ParameterUse(markers[id(arg)], event, None, keyword)
                        for keyword, arg in event.kwargs.items() if id(arg) in markers)
            if event.receiver is not None and id(event.receiver) in markers:
                uses.append(ParameterUse(markers[id(event.receiver)], event, None, None, receiver=True))
        self._parameter_uses[key] = uses
        return uses

    def _marker(self, name: str) -> Value:
        default = Value(Kind.UNKNOWN, f"<parameter {name}>")
        return next((marker for marker in (each.marker(name) for each in self.semantics)
                     if marker.kind is not Kind.UNKNOWN), default)

    @property
    def probing(self) -> bool:
        """A what-if analysis is running: nothing is recorded or memoized."""
        return self._probing is not None

    def probe(self, function: FunctionInfo, args: tuple[Value, ...], kwargs: dict[str, Value] | None = None,
              defaults: bool = True) -> list[Event]:
        """The events of running `function` with these values, recording and memoizing nothing."""
        receiver = args[0] if args and function.class_name is not None else None
        if receiver is not None and receiver.class_name in self.classes:
            self._ensure_attrs(self.classes[receiver.class_name])
        probing, self._probing = self._probing, []
        self._analyse(function, args, specialized=True, depth=1, kwargs=kwargs, defaults=defaults)
        events, self._probing = self._probing, probing
        return events

    def events_of(self, node: cst.FunctionDef) -> list[Event]:
        """The events of a function's own analysis (a method's, with an instance of its class), run now if not yet."""
        function = self.functions[node]
        owner = function.class_name or ""
        if owner in self.classes:
            self._ensure_attrs(self.classes[owner])
        self._analyse(function, (self.instance_of(owner),), specialized=False, depth=0)
        return self.function_events.get(node, [])

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

    def forward_output(self, class_name: str, args: list[Value], depth: int, instance: Value | None = None,
                       kwargs: dict[str, Value] | None = None) -> Value:
        """What calling a module class of this file returns; `instance` when it has sub-modules
        replaced after it was built."""
        forward = next(filter(None, (self.method(class_name, name) for name in self._call_methods)), None)
        if forward is None:
            return UNKNOWN
        function = self.functions[forward]
        if instance is not None and instance.keys:
            return self._analyse(function, (instance, *args), specialized=True, depth=depth + 1, kwargs=kwargs)
        informative = any(a.kind not in _UNINFORMATIVE or a.parts for a in [*args, *(kwargs or {}).values()])
        if not informative and class_name in self._forward_outputs:
            return self._forward_outputs[class_name]
        if not informative:
            args, kwargs = [], None
        result = self._analyse(function, (self.instance_of(class_name), *args), specialized=True, depth=depth + 1,
                               kwargs=kwargs)
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

    def _merge(self, frame: _Frame, before: Mapping[str, Value], *branches: dict[str, Value]) -> None:
        """Where the branches meet, each name holds the join of what they left in it; a branch
        that did not set it leaves what it held before them (after `if self.cache is None:
        self.cache = load()`, what `load()` gave, or the None the class starts with)."""
        first, rest = branches[0], branches[1:]
        for key in set().union(*branches):
            merged = first[key] if key in first else self._held_before(key, before)
            for branch in rest:
                value = branch[key] if key in branch else self._held_before(key, before)
                if value is not merged:  # most names are untouched by the branches: the same object
                    merged = join(merged, value)
            frame.env[key] = merged

    def _held_before(self, key: str, env: Mapping[str, Value]) -> Value:
        """What a name held in `env`: its value there, or an attribute read through its object
        (`self.mean` from the class); UNKNOWN for a name bound nowhere yet."""
        if key in env:
            return env[key]
        owner, _, attr = key.rpartition(".")
        if not owner:
            return UNKNOWN
        base = self._held_before(owner, env)
        if base.kind is Kind.MODULE and attr in base.keys:
            return base.item(attr)
        if base.class_name and base.kind in (Kind.MODULE, Kind.UNKNOWN):
            return self.class_attr(base.class_name, attr)
        return UNKNOWN

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
            self._merge(frame, frame.env, taken, other)
        elif isinstance(statement, (cst.For, cst.While)):
            self._run_loop(statement, frame)
        elif isinstance(statement, cst.With):
            self._run_with(statement, frame)
        elif isinstance(statement, (cst.Try, cst.TryStar)):
            self._run_block(block_statements(statement.body), frame)
            for index, handler in enumerate(statement.handlers, start=1):
                self._merge(frame, frame.env, dict(frame.env),
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
            self._merge(frame, frame.env, dict(frame.env), *branches)

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
            self._assign(loop.target, self._first(each.iterate(iterated) for each in self.semantics), frame)
        self._run_block(block_statements(loop.body), frame)
        frame.loops.pop()
        frame.bound.pop()
        self._merge(frame, before, before, dict(frame.env))
        if loop.orelse is not None:
            self._run_block(block_statements(loop.orelse.body), frame)

    def _run_with(self, statement: cst.With, frame: _Frame) -> None:
        entered: set[str] = set()
        left: set[str] = set()
        for item in statement.items:
            self.eval(item.item, frame)
            for each in self.semantics:
                effect = each.scope(item.item)
                if effect is not None:
                    (entered if effect[1] else left).add(effect[0])
            if item.asname is not None:
                self._assign(item.asname.name, UNKNOWN, frame)
        saved = frame.scopes
        frame.scopes = (saved | entered) - left
        self._run_block(block_statements(statement.body), frame)
        frame.scopes = saved

    def _run_small(self, small: cst.BaseSmallStatement, frame: _Frame) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, frame)
            if len(small.targets) == 1 and _adds_to_itself(small.targets[0].target, small.value):
                self._record_accumulation(small, small.targets[0].target, UNKNOWN, small.value.right, frame)
            for target in small.targets:
                self._assign(target.target, self._bind(target.target, small.value, value), frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                value = self.eval(small.value, frame)
                self._assign(small.target, self._bind(small.target, small.value, value), frame)
        elif isinstance(small, cst.AugAssign):
            value = self.eval(small.value, frame)
            if isinstance(small.operator, cst.AddAssign):
                self._record_accumulation(small, small.target, value, small.value, frame)
            result = UNKNOWN
            if isinstance(small.target, cst.Name):
                current = frame.env.get(small.target.value, UNKNOWN)
                result = self._first(each.augmented(small.operator, current, value, small.target, small.value, small)
                                     for each in self.semantics)
            self._assign(small.target, result, frame, bind=False)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Return):
            frame.returns.append(self.eval(small.value, frame) if small.value is not None else UNKNOWN)
        elif isinstance(small, (cst.Assert, cst.Raise, cst.Del)):
            for child in small.children:
                if isinstance(child, cst.BaseExpression):
                    self.eval(child, frame)

    def _bind(self, target: cst.BaseExpression, expr: cst.BaseExpression | None, value: Value) -> Value:
        for each in self.semantics:
            value = each.bind(target, expr, value)
        return value

    def _record_accumulation(self, statement: cst.CSTNode, target: cst.BaseExpression, value: Value,
                             added: cst.BaseExpression, frame: _Frame) -> None:
        accumulator = dotted_name(target.value if isinstance(target, cst.Subscript) else target)
        if accumulator is None:
            return
        operands = tuple(frame.env.get(name, UNKNOWN) for name in added_names(added))
        bound_in = tuple(loop for loop, names in zip(frame.loops, frame.bound) if accumulator in names)
        self._record(AccumulateEvent(statement, frame.function, tuple(frame.loops), frame.scopes,
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
                if any(each.watches(target.attr.value) for each in self.semantics):
                    self._record(AttributeEvent(target, frame.function, tuple(frame.loops), frame.scopes,
                                                frame.specialized, tuple(frame.branches), target.attr.value, True))
                self._store_self_attr(name, value, frame)
        elif isinstance(target, cst.Subscript):
            self.eval(target.value, frame)
            container = dotted_name(target.value)
            key = _constant_index(target)
            current = frame.env.get(container, UNKNOWN) if container else UNKNOWN
            stored = next((new for new in (each.store_item(current, value) for each in self.semantics) if new is not None),
                          None) if container else None
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
        model gives changes with it (its class's call method reads the new head; a semantics says
        what it means for objects of library classes)."""
        owner_name = dotted_name(target.value)
        if owner.kind is not Kind.MODULE or owner_name is None or owner_name == "self" or value.kind is not Kind.MODULE:
            return
        attr = target.attr.value
        if owner.class_name and owner.class_name in self.classes:
            keys = tuple(key for key in owner.keys if key != attr)
            items = tuple(owner.item(key) for key in keys)
            frame.env[owner_name] = replace(owner, keys=(*keys, attr), items=(*items, value))
        else:
            changed = next(filter(None, (each.assigned_attribute(owner, attr, value) for each in self.semantics)), None)
            if changed is not None:
                frame.env[owner_name] = changed

    def _store_self_attr(self, name: str, value: Value, frame: _Frame) -> None:
        function = frame.function
        if function.class_name is None or not name.startswith("self.") or name.count(".") != 1:
            return
        info = self.classes.get(function.class_name)
        # A setter is learnt from the call (`trainer.set_criterion(...)`) when a semantics says so.
        setter = frame.specialized and function.name != "__init__" and any(
            each.learnt_from_setter(value) for each in self.semantics)
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
        return self._first(each.arithmetic(expr.operator, left, right, expr.left, expr.right, expr)
                           for each in self.semantics)

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
        if any(each.watches(expr.attr.value) for each in self.semantics):
            self._record(AttributeEvent(expr, frame.function, tuple(frame.loops), frame.scopes,
                                        frame.specialized, tuple(frame.branches), expr.attr.value, False))
        name = dotted_name(expr)
        if name is not None and name in frame.env:
            return frame.env[name]
        base = self.eval(expr.value, frame)
        if base.kind is Kind.MODULE and expr.attr.value in base.keys:
            return base.item(expr.attr.value)
        if base.class_name and base.kind in (Kind.MODULE, Kind.UNKNOWN):
            return self.class_attr(base.class_name, expr.attr.value)
        return self._first(each.attribute(base, expr) for each in self.semantics)

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
        index_value = indices[0] if len(expr.slice) == 1 and len(indices) == 1 else UNKNOWN
        result = self._first(each.subscript(expr, base, index_value) for each in self.semantics)
        if any(each.records_subscript(base, index_value, result) for each in self.semantics):
            self._record(SubscriptEvent(expr, frame.function, tuple(frame.loops), frame.scopes,
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
        for each in self.semantics:
            if result.kind is not Kind.UNKNOWN:
                break
            answer, fitted = each.call_result(call, qualname, method, receiver, receiver_name, callee, args, kwargs)
            result = answer if answer is not UNKNOWN else result  # an instance of a class of the file stays one
            if fitted is not None and receiver_name is not None:
                frame.env[receiver_name] = fitted
        self._record(CallEvent(
            call, frame.function, tuple(frame.loops), frame.scopes, frame.specialized, tuple(frame.branches),
            qualname=qualname, method=method, receiver=receiver, receiver_name=receiver_name,
            callee=callee, args=tuple(args), kwargs=kwargs, result=result,
        ))
        if method == "append" and receiver_name is not None and len(args) == 1 and qualname is None:
            self._record_accumulation(call, cast(cst.Attribute, func).value, args[0], call.args[0].value, frame)
        for each in self.semantics:
            each.after_call(call, method, qualname, frame.env)
        return result

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
            symbol = self.project.get(qualname)
            if symbol is not None:
                value = symbol.called_value()
                if value.kind is not Kind.UNKNOWN:
                    value = replace(value, imported=qualname)
                for each in self.semantics:
                    value = each.imported_value(value, call)
                return value
            return self._first(each.library_call(call, qualname, args, kwargs, frame.depth) for each in self.semantics)
        if callee.kind is Kind.FUNCTION:
            bound = receiver if callee.class_name and receiver is not None else None
            return self._call_function(callee, args, frame, bound, kwargs, not any(arg.star for arg in call.args))
        if callee.kind is Kind.CLASS:
            return self.instantiate(callee.class_name, call)
        if callee.kind is Kind.MODULE:
            if callee.output is not None:
                return callee.output
            if callee.class_name:
                return self.forward_output(callee.class_name, args, frame.depth, callee, kwargs)
            return UNKNOWN
        called = self._first(each.object_call(call, callee) for each in self.semantics)
        if called is not UNKNOWN or method is None or receiver is None:
            return called
        return self._first(each.method_result(call, method, receiver) for each in self.semantics)

    def instantiate(self, class_name: str, call: cst.Call | None = None) -> Value:
        """The value a call of a class of this file gives: what a semantics says of it, or an instance."""
        info = self.classes.get(class_name)
        if info is not None and info.is_module:
            for each in self.semantics:
                value = each.instance(info, call)
                if value is not None:
                    return value
        return self.instance_of(class_name)

    def summary_of(self, function: FunctionInfo) -> Value:
        """What a top-level function returns when nothing is known of its arguments."""
        return self._analyse(function, (), specialized=False, depth=0)

    def module_output(self, module: Value, depth: int) -> Value:
        """What calling a callable object gives, when nothing is known of the arguments."""
        if module.kind is not Kind.MODULE:
            return UNKNOWN
        if module.output is not None:
            return module.output
        if module.class_name:
            return self.forward_output(module.class_name, [], depth)
        return UNKNOWN

    # ----------------------------------------------------------------- queries
    def unset_at(self, call: CallEvent, attr: str) -> bool:
        """Whether attribute `attr` of the object a recorded method call is made on is still None
        there: the object was built on every path to the call, in the same function, by a class
        of this file whose `__init__` leaves it None for what that construction passes, and since
        then no call was handed the object and the function sets none of its attributes."""
        receiver = call.receiver
        if receiver is None:
            return False
        built: CallEvent | None = None
        for event in self.events:
            if event is call:
                break
            if not isinstance(event, CallEvent):
                continue
            if built is None:
                if event.result is receiver and event.callee.kind is Kind.CLASS and event.function is call.function:
                    built = event
            elif _hands_on(event, receiver):
                return False
        if built is None or not _on_every_path_to(built, call) or (
                call.receiver_name is not None and self._sets_attributes_of(call.receiver_name, call.function)):
            return False
        return self._attributes_after_init(built).get(attr, UNKNOWN).kind is Kind.NONE

    def _attributes_after_init(self, construction: CallEvent) -> dict[str, Value]:
        """The attributes of `self` when the class's `__init__` returns, run quietly with what
        this construction passes."""
        class_name = construction.callee.class_name
        init = self.method(class_name, "__init__")
        if init is None or not isinstance(construction.node, cst.Call):
            return {}
        defaults = not any(arg.star for arg in construction.node.args)
        probing, self._probing = self._probing, []
        frame = self._entered(self.functions[init], (self.instance_of(class_name), *construction.args),
                              dict(construction.kwargs), defaults, specialized=True, depth=1)
        self._run_block(block_statements(init.body), frame)
        self._probing = probing
        return {name[5:]: value for name, value in frame.env.items()
                if name.startswith("self.") and name.count(".") == 1}

    def _sets_attributes_of(self, name: str, function: FunctionInfo) -> bool:
        """Whether the function's own code assigns an attribute of `name` (`scaler.mean = ...`)."""
        body = block_statements(function.node.body) if function.node is not None else self._module.body
        prefix = f"{name}."
        for statement in own_statements(body):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                targets = [target.target for target in small.targets] if isinstance(small, cst.Assign) else (
                    [small.target] if isinstance(small, (cst.AugAssign, cst.AnnAssign)) else [])
                if any(isinstance(node, cst.Attribute) and (dotted_name(node) or "").startswith(prefix)
                       for target in targets for node in descendants(target)):
                    return True
        return False

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


def _hands_on(event: CallEvent, value: Value) -> bool:
    """Whether a call is made on `value` or is handed it (alone, or in a tuple or list)."""
    if event.receiver is value:
        return True
    return any(passed is value or any(item is value for item in passed.items)
               for passed in (*event.args, *event.kwargs.values()))


def _on_every_path_to(earlier: Event, later: Event) -> bool:
    """Whether every path to `later` goes through `earlier`: it sits in no branch or loop that `later` is not in."""
    same_branches = all(mine[0] is theirs[0] and mine[1] == theirs[1]
                        for mine, theirs in zip(earlier.branches, later.branches))
    return (len(earlier.branches) <= len(later.branches) and len(earlier.loops) <= len(later.loops)
            and same_branches and all(mine is theirs for mine, theirs in zip(earlier.loops, later.loops)))


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
    shape = (value.axis, value.width, tuple(_identity(part) for part in value.parts))
    return value.kind, value.detail, value.class_name, value.producer, replaced, shape


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


def added_terms(expr: cst.BaseExpression) -> Iterator[cst.BaseExpression]:
    """The terms summed, scaled or negated in `expr` (`loss` and `x.size(0)` in `loss * x.size(0)`)."""
    if isinstance(expr, cst.BinaryOperation):
        yield from added_terms(expr.left)
        yield from added_terms(expr.right)
    elif isinstance(expr, cst.UnaryOperation):
        yield from added_terms(expr.expression)
    else:
        yield expr


def added_names(expr: cst.BaseExpression) -> Iterator[str]:
    """The names among the terms of `expr` (`loss` in `loss * x.size(0)`), not inside calls."""
    return (name for term in added_terms(expr) if (name := dotted_name(term)) is not None)


def _constant_index(expr: cst.Subscript) -> int | str | None:
    if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None
    index = expr.slice[0].slice.value
    text = string_value(index)
    return text if text is not None else integer_value(index)


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
