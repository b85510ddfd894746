"""Local def-use facts: for every binding of a local name, the reads that can see it.

A reaching-definitions pass over each scope (module, class body, function, lambda), in
statement order, through branches, loops (to a fixpoint, with break and continue), try,
with and match. It answers the questions a use-before-rebinding rule needs and that
pyflakes' binding facts do not (pyflakes only knows whether a name is used at all):

- `Definition.reads`: every read that can observe this value, on some path;
- `Definition.killers`: the bindings that replace this value on some path;
- `Read.definitions`: the bindings a read can observe (its reaching definitions).

Names a nested scope reads (closures), `global`/`nonlocal` names, and every name of a scope
that calls `locals()`, `vars()`, `eval` or `exec` are marked `escaped`: they may be read
anywhere, so no rule may call them unread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Collection, Sequence

import libcst as cst

from nnlint.facts.core.syntax import block_statements, sub_nodes

MAX_LOOP_PASSES = 4
INTROSPECTION_CALLS = frozenset({"locals", "vars", "eval", "exec"})

Env = dict[str, frozenset["Definition"]]


class Role(Enum):
    """Where a read sits in the expression that contains it."""

    DATA = "data"        # an argument, an operand, a value being stored
    CALLEE = "callee"    # part of what is called: `blk` in `blk(x)`, `i` in `self.layers[i](x)`
    META = "metadata"    # only described: `x` in `x.shape`, `x.size(0)`, `x.device`


# Reading these describes a tensor without using its values.
METADATA_ATTRIBUTES = frozenset({"shape", "device", "dtype", "ndim", "is_cuda", "requires_grad", "layout"})


@dataclass(eq=False)
class Definition:
    """One binding statement; a tuple target or `a = b = v` binds several names at once.

    `value` is the bound expression for assignments and None for parameters, loop targets,
    imports and the like. `pure` is False when the statement also stores into an attribute
    or subscript (`a, self.b = f(x)`), so the value escapes even when the names are unread.
    """

    node: cst.CSTNode
    names: tuple[str, ...]
    value: cst.BaseExpression | None
    scope: cst.CSTNode
    loops: tuple[cst.CSTNode, ...]
    branches: tuple[tuple[cst.CSTNode, int], ...]
    order: int
    pure: bool = True
    escaped: bool = False
    value_reads: list["Read"] = field(default_factory=list)
    reads: list["Read"] = field(default_factory=list)
    killers: list["Definition"] = field(default_factory=list)

    @property
    def is_assignment(self) -> bool:
        return self.value is not None

    @property
    def node_binds_code(self) -> bool:
        """An import, def or class: the name holds code, not data."""
        return type(self.node) in (cst.Import, cst.ImportFrom, cst.FunctionDef, cst.ClassDef)


@dataclass(eq=False)
class Read:
    """A load of a local name.

    `owner` is the definition whose value contains it, `call` the innermost call it is an
    argument (or the receiver) of, if any.
    """

    node: cst.Name
    role: Role
    loops: tuple[cst.CSTNode, ...]
    branches: tuple[tuple[cst.CSTNode, int], ...]
    order: int
    owner: Definition | None
    call: cst.Call | None
    definitions: set[Definition] = field(default_factory=set)

    @property
    def name(self) -> str:
        return self.node.value


def exclusive(first: tuple[tuple[cst.CSTNode, int], ...], second: tuple[tuple[cst.CSTNode, int], ...]) -> bool:
    """Whether two places lie in different branches of one if/elif/else or match: never both run."""
    taken = dict(first)
    return any(node in taken and taken[node] != index for node, index in second)


@dataclass
class _LoopContext:
    node: cst.CSTNode
    breaks: list[Env] = field(default_factory=list)
    continues: list[Env] = field(default_factory=list)


def _merge(*envs: Env | None) -> Env | None:
    """Where paths meet: a name may hold any value it holds on any reaching path."""
    live = [env for env in envs if env is not None]
    if not live:
        return None
    merged = dict(live[0])
    for env in live[1:]:
        for name, definitions in env.items():
            current = merged.get(name)
            merged[name] = definitions if current is None or current is definitions else current | definitions
    return merged


class _Scope:
    """The pass over one scope's statements."""

    def __init__(self, facts: "DefUse", node: cst.CSTNode, params: Sequence[cst.Param]) -> None:
        self.facts = facts
        self.node = node
        self.loops: list[_LoopContext] = []
        self.loop_nodes: tuple[cst.CSTNode, ...] = ()
        self.branches: tuple[tuple[cst.CSTNode, int], ...] = ()
        self.owner: list[Definition | None] = [None]
        self.calls: list[cst.Call | None] = [None]
        self.role = Role.DATA
        self.definitions: dict[int, Definition] = {}  # by id() of the binding node: hashing nodes is slow
        self.escaping: set[str] = set()    # names nested scopes read or rebind
        self.declared: set[str] = set()    # global and nonlocal names
        self.unresolved: set[str] = set()  # names read with no binding in this scope
        self.introspects = False
        self.entry: Env = {}
        for param in params:
            definition = self._definition(param, (param.name.value,), None)
            self.entry[param.name.value] = frozenset({definition})

    def run(self, body: Sequence[cst.BaseStatement]) -> None:
        self._block(body, dict(self.entry))
        for definition in self.definitions.values():
            if self.introspects or any(name in self.escaping or name in self.declared for name in definition.names):
                definition.escaped = True

    # ------------------------------------------------------------------ bindings
    def _definition(self, node: cst.CSTNode, names: tuple[str, ...], value: cst.BaseExpression | None,
                    pure: bool = True) -> Definition:
        definition = self.definitions.get(id(node))
        if definition is None:
            definition = Definition(node, names, value, self.node, self.loop_nodes, self.branches,
                                    self.facts._next_order(), pure)
            self.definitions[id(node)] = definition
            self.facts.definitions.append(definition)
        return definition

    def _bind(self, definition: Definition, env: Env) -> None:
        for name in definition.names:
            for previous in env.get(name, ()):
                if definition not in previous.killers:
                    previous.killers.append(definition)
            env[name] = frozenset({definition})

    def _bind_target(self, node: cst.CSTNode, target: cst.BaseExpression, env: Env) -> None:
        names = _target_names(target)
        self._read_target_parts(target, env)
        if names:
            self._bind(self._definition(node, tuple(names), None), env)

    # ------------------------------------------------------------------ statements
    def _block(self, body: Sequence[cst.BaseStatement], env: Env | None) -> Env | None:
        for statement in body:
            if env is None:
                return None
            env = self._statement(statement, env)
        return env

    def _statement(self, statement: cst.BaseStatement, env: Env) -> Env | None:
        if type(statement) is cst.SimpleStatementLine:
            for small in statement.body:
                if env is None:
                    return None
                env = self._small(small, env)
            return env
        if type(statement) is cst.If:
            self._expr(statement.test, env)
            taken = self._branch(statement, 0, block_statements(statement.body), dict(env))
            orelse = statement.orelse
            if orelse is None:
                return _merge(taken, env)
            other = [orelse] if type(orelse) is cst.If else block_statements(orelse.body)
            return _merge(taken, self._branch(statement, 1, other, dict(env)))
        if type(statement) in (cst.For, cst.While):
            return self._loop(statement, env)
        if type(statement) is cst.With:
            for item in statement.items:
                self._expr(item.item, env)
                if item.asname is not None:
                    self._bind_target(item, item.asname.name, env)
            return self._block(block_statements(statement.body), env)
        if type(statement) in (cst.Try, cst.TryStar):
            return self._try(statement, env)
        if type(statement) in (cst.FunctionDef, cst.ClassDef):
            self._nested_definition(statement, env)
            self._bind(self._definition(statement, (statement.name.value,), None), env)
            return env
        if type(statement) is cst.Match:
            self._expr(statement.subject, env)
            outcomes: list[Env | None] = [env]
            for index, case in enumerate(statement.cases):
                case_env = dict(env)
                saved = self.branches
                self.branches += ((statement, index),)
                names = _pattern_names(case.pattern)
                if names:
                    self._bind(self._definition(case, tuple(names), None), case_env)
                if case.guard is not None:
                    self._expr(case.guard, case_env)
                self.branches = saved
                outcomes.append(self._branch(statement, index, block_statements(case.body), case_env))
            return _merge(*outcomes)
        return env

    def _branch(self, node: cst.CSTNode, index: int, body: Sequence[cst.BaseStatement], env: Env) -> Env | None:
        saved = self.branches
        self.branches += ((node, index),)
        result = self._block(body, env)
        self.branches = saved
        return result

    def _small(self, small: cst.BaseSmallStatement, env: Env) -> Env | None:
        if type(small) is cst.Assign:
            self._assign(small, [target.target for target in small.targets], small.value, env)
        elif type(small) is cst.AnnAssign:
            if small.value is not None:
                self._assign(small, [small.target], small.value, env)
        elif type(small) is cst.AugAssign:
            self._expr(small.target, env)
            self._expr(small.value, env)
            if type(small.target) is cst.Name:
                self._bind(self._definition(small, (small.target.value,), None), env)
        elif type(small) is cst.Expr:
            self._expr(small.value, env)
        elif type(small) in (cst.Return, cst.Raise):
            for child in sub_nodes(small):
                self._expr(child, env)
            return None
        elif type(small) is cst.Break:
            if self.loops:
                self.loops[-1].breaks.append(env)
            return None
        elif type(small) is cst.Continue:
            if self.loops:
                self.loops[-1].continues.append(env)
            return None
        elif type(small) is cst.Del:
            self._expr(small.target, env)
            for name in _target_names(small.target):
                env[name] = frozenset()
        elif type(small) in (cst.Global, cst.Nonlocal):
            self.declared.update(item.name.value for item in small.names)
        elif type(small) in (cst.Import, cst.ImportFrom):
            names = _imported_names(small)
            if names:
                self._bind(self._definition(small, tuple(names), None), env)
        elif type(small) is cst.Assert:
            for child in sub_nodes(small):
                self._expr(child, env)
        return env

    def _assign(self, node: cst.CSTNode, targets: list[cst.BaseExpression], value: cst.BaseExpression,
                env: Env) -> None:
        names: list[str] = []
        pure = True
        for target in targets:
            names.extend(_target_names(target))
            pure &= _only_names(target)
        definition = self._definition(node, tuple(names), value, pure) if names else None
        self.owner.append(definition)
        self._expr(value, env)
        self.owner.pop()
        for target in targets:
            self._read_target_parts(target, env)
        if definition is not None:
            self._bind(definition, env)

    def _read_target_parts(self, target: cst.BaseExpression, env: Env) -> None:
        """The loads inside a store target: `a` and `i` in `a.b[i] = v`."""
        if type(target) in (cst.Attribute, cst.Subscript):
            self._expr(target, env)
        elif type(target) in (cst.Tuple, cst.List):
            for element in target.elements:
                self._read_target_parts(element.value, env)
        elif type(target) is cst.StarredElement:
            self._read_target_parts(target.value, env)

    def _loop(self, loop: cst.For | cst.While, env: Env) -> Env | None:
        if type(loop) is cst.For:
            self._expr(loop.iter, env)
        context = _LoopContext(loop)
        state: Env = env
        normal_exit: Env | None = env
        for _ in range(MAX_LOOP_PASSES):
            header = dict(state)
            context.breaks.clear()
            context.continues.clear()
            self.loops.append(context)
            self.loop_nodes += (loop,)
            if type(loop) is cst.While:
                self._expr(loop.test, header)
            normal_exit = dict(header)
            body_env = dict(header)
            if type(loop) is cst.For:
                self._bind_target(loop, loop.target, body_env)
            end = self._block(block_statements(loop.body), body_env)
            self.loops.pop()
            self.loop_nodes = self.loop_nodes[:-1]
            following = _merge(env, end, *context.continues)
            if following == state:
                break
            state = following if following is not None else state
        after = self._block(block_statements(loop.orelse.body), normal_exit) if loop.orelse is not None else normal_exit
        return _merge(after, *context.breaks)

    def _try(self, statement: cst.Try | cst.TryStar, env: Env) -> Env | None:
        # An exception may leave the body after any statement: handlers see every such state.
        raising: list[Env | None] = [dict(env)]
        current: Env | None = env
        for child in block_statements(statement.body):
            if current is None:
                break
            current = self._statement(child, current)
            raising.append(dict(current) if current is not None else None)
        handler_entry = _merge(*raising)
        outcomes: list[Env | None] = []
        if statement.orelse is not None and current is not None:
            current = self._block(block_statements(statement.orelse.body), current)
        outcomes.append(current)
        for handler in statement.handlers:
            handler_env = dict(handler_entry) if handler_entry is not None else {}
            if handler.type is not None:
                self._expr(handler.type, handler_env)
            if handler.name is not None:
                self._bind_target(handler, handler.name.name, handler_env)
            outcomes.append(self._block(block_statements(handler.body), handler_env))
        merged = _merge(*outcomes)
        if statement.finalbody is not None:
            final_env = _merge(merged, handler_entry) or {}
            final = self._block(block_statements(statement.finalbody.body), final_env)
            return final if merged is not None else None
        return merged

    def _nested_definition(self, statement: cst.FunctionDef | cst.ClassDef, env: Env) -> None:
        for decorator in statement.decorators:
            self._expr(decorator.decorator, env)
        if type(statement) is cst.FunctionDef:
            for param in _all_params(statement.params):
                if param.default is not None:
                    self._expr(param.default, env)
            self.escaping |= self.facts._scope(statement)
        else:
            for arg in statement.bases + statement.keywords:
                self._expr(arg.value, env)
            self.escaping |= self.facts._scope(statement)

    # ------------------------------------------------------------------ expressions
    def _read(self, node: cst.Name, env: Env) -> None:
        reaching = env.get(node.value)
        if not reaching:  # a global, a builtin, or a name bound later: no local value to record
            self.unresolved.add(node.value)
            return
        read = self.facts.reads.get(id(node))
        if read is None:
            read = Read(node, self.role, self.loop_nodes, self.branches, self.facts._next_order(), self.owner[-1],
                        self.calls[-1])
            self.facts.reads[id(node)] = read
            if read.owner is not None:
                read.owner.value_reads.append(read)
        for definition in reaching:
            if definition not in read.definitions:
                read.definitions.add(definition)
                definition.reads.append(read)

    def _expr(self, node: cst.CSTNode, env: Env) -> None:
        kind = type(node)
        if kind in _CONSTANTS:
            return
        if kind is cst.Name:
            self._read(node, env)
        elif kind is cst.Attribute:
            if node.attr.value in METADATA_ATTRIBUTES:
                self._with_role(Role.META, node.value, env)
            else:
                self._expr(node.value, env)
        elif kind is cst.Call:
            self._call(node, env)
            if type(node.func) is cst.Name and node.func.value in INTROSPECTION_CALLS:
                self.introspects = True
        elif kind is cst.Arg:
            self._expr(node.value, env)
        elif kind is cst.NamedExpr:
            definition = self._definition(node, tuple(_target_names(node.target)), node.value)
            self.owner.append(definition)
            self._expr(node.value, env)
            self.owner.pop()
            self._bind(definition, env)
        elif kind is cst.Lambda:
            for param in _all_params(node.params):
                if param.default is not None:
                    self._expr(param.default, env)
            self.escaping |= self.facts._scope(node)
        elif kind in (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp):
            self._comprehension(node, env)
        else:
            for child in sub_nodes(node):
                self._expr(child, env)

    def _with_role(self, role: Role, node: cst.CSTNode, env: Env) -> None:
        saved = self.role
        self.role = role
        self._expr(node, env)
        self.role = saved

    def _call(self, node: cst.Call, env: Env) -> None:
        func = node.func
        self.calls.append(node)
        if type(func) is cst.Attribute:
            # The receiver of a method is its data (`x.view(...)`), unless it is only described.
            self._with_role(Role.META if func.attr.value in self.facts.query_methods else self.role, func.value, env)
        else:
            self._with_role(Role.CALLEE, func, env)
        for arg in node.args:
            self._expr(arg.value, env)
        self.calls.pop()

    def _comprehension(self, node: cst.BaseComp, env: Env) -> None:
        """A comprehension's targets are its own; a walrus inside it binds in our scope."""
        inner = dict(env)
        targets: set[str] = set()
        clause: cst.CompFor | None = node.for_in
        while clause is not None:
            self._expr(clause.iter, inner)
            names = _target_names(clause.target)
            for name in names:
                inner.pop(name, None)  # shadows, does not replace, a local of ours
            self._bind_target(clause, clause.target, inner)
            targets.update(names)
            for condition in clause.ifs:
                self._expr(condition.test, inner)
            clause = clause.inner_for_in
        parts = (node.key, node.value) if type(node) is cst.DictComp else (node.elt,)
        for part in parts:
            self._expr(part, inner)
        for name, definitions in inner.items():
            if name not in targets and definitions is not env.get(name):
                env[name] = env.get(name, frozenset()) | definitions


class DefUse:
    """Def-use facts for every scope of a module; read `definitions` and `read_of`."""

    def __init__(self, module: cst.Module, query_methods: Collection[str] = frozenset()) -> None:
        # Methods that only describe their receiver (`x.size()`): it is read as metadata, not as data.
        self.query_methods = query_methods
        self.definitions: list[Definition] = []
        self.reads: dict[int, Read] = {}  # by id() of the Name node
        self._order = 0
        scope = _Scope(self, module, ())
        scope.run(module.body)

    def _next_order(self) -> int:
        self._order += 1
        return self._order

    def _scope(self, node: cst.FunctionDef | cst.ClassDef | cst.Lambda) -> set[str]:
        """Run a nested scope; return the names it reads from outside (free names)."""
        if type(node) is cst.ClassDef:
            scope = _Scope(self, node, ())
            scope.run(block_statements(node.body))
        elif type(node) is cst.Lambda:
            scope = _Scope(self, node, _all_params(node.params))
            scope._expr(node.body, dict(scope.entry))
        else:
            scope = _Scope(self, node, _all_params(node.params))
            scope.run(block_statements(node.body))
        bound = {name for definition in scope.definitions.values() for name in definition.names}
        return ((scope.unresolved | scope.escaping) - bound) | scope.declared

    def read_of(self, name: cst.Name) -> Read | None:
        return self.reads.get(id(name))


_PATTERN_PARTS = (cst.MatchPattern, cst.MatchSequenceElement, cst.MatchMappingElement, cst.MatchKeywordElement)
_CONSTANTS = frozenset({cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis})


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for star in (params.star_arg, params.star_kwarg):
        if type(star) is cst.Param:
            found.append(star)
    return found


def _target_names(target: cst.BaseExpression) -> list[str]:
    if type(target) is cst.Name:
        return [target.value]
    if type(target) in (cst.Tuple, cst.List):
        return [name for element in target.elements for name in _target_names(element.value)]
    if type(target) is cst.StarredElement:
        return _target_names(target.value)
    return []


def _only_names(target: cst.BaseExpression) -> bool:
    if type(target) is cst.Name:
        return True
    if type(target) in (cst.Tuple, cst.List):
        return all(_only_names(element.value) for element in target.elements)
    if type(target) is cst.StarredElement:
        return _only_names(target.value)
    return False


def _imported_names(node: cst.Import | cst.ImportFrom) -> list[str]:
    if type(node.names) is cst.ImportStar:
        return []
    names = []
    for alias in node.names:
        if alias.asname is not None and type(alias.asname.name) is cst.Name:
            names.append(alias.asname.name.value)
        else:
            expr = alias.name
            while type(expr) is cst.Attribute:
                expr = expr.value
            if type(expr) is cst.Name:
                names.append(expr.value)
    return names


def _pattern_names(pattern: cst.MatchPattern) -> list[str]:
    names = []
    stack: list[cst.CSTNode] = [pattern]
    while stack:
        node = stack.pop()
        if type(node) in (cst.MatchAs, cst.MatchStar) and type(node.name) is cst.Name:
            names.append(node.name.value)
        elif type(node) is cst.MatchMapping and type(node.rest) is cst.Name:
            names.append(node.rest.value)
        stack.extend(child for child in sub_nodes(node) if isinstance(child, _PATTERN_PARTS))
    return names
