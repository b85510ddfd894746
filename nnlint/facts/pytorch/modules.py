"""Model structure: the classes of a file, the `self.x` attributes each method stores and reads,
and every call with the class and function around it. Built in one pass over the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import libcst as cst

from nnlint.facts.pytorch import torch_api
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import block_statements, dotted_name, positional_args, string_value, sub_nodes

# Reading these enumerates every submodule: any of them may be used.
ENUMERATING_METHODS = frozenset({"children", "named_children", "modules", "named_modules", "_modules", "__dict__"})
ATTRIBUTE_FUNCTIONS = frozenset({"getattr", "setattr", "hasattr", "delattr"})
CONTAINER_METHODS = frozenset({"append", "extend", "insert", "update", "setdefault", "add"})
REGISTERING_METHODS = frozenset({"add_module", "register_module"})


@dataclass(eq=False)
class AttributeStore:
    """`self.x = value` (or `self.x: T = value`) in a method."""

    attr: str
    node: cst.CSTNode
    value: cst.BaseExpression
    method: str
    conditional: bool


@dataclass(eq=False)
class AttributeRead:
    """A load of `self.x`; `then` is the attribute read from it next (`weight` in `self.fc.weight`)."""

    attr: str
    node: cst.Attribute
    method: str
    then: str | None


@dataclass(eq=False)
class ItemStore:
    """`container[key] = value`, anywhere in the file."""

    container: cst.BaseExpression
    value: cst.BaseExpression
    node: cst.CSTNode
    class_name: str | None
    method: str | None


@dataclass(eq=False)
class CallSite:
    node: cst.Call
    qualname: str | None
    function: cst.FunctionDef | None  # the innermost function around the call
    class_name: str | None            # the class whose method (or a function nested in one) makes the call
    method: str | None


@dataclass(eq=False)
class ClassFacts:
    node: cst.ClassDef
    name: str
    bases: tuple[str, ...]
    methods: dict[str, cst.FunctionDef]
    is_module: bool = False
    stores: list[AttributeStore] = field(default_factory=list)
    reads: list[AttributeRead] = field(default_factory=list)
    named_uses: set[str] = field(default_factory=set)  # getattr(self, "x") and the like
    self_calls: dict[str, set[str]] = field(default_factory=dict)
    super_init_calls: list[tuple[str, cst.Call]] = field(default_factory=list)
    enumerates_submodules: bool = False
    registers_submodules: bool = False
    _reached: dict[str, set[str]] = field(default_factory=dict, repr=False)

    @property
    def forward_is_stub(self) -> bool:
        """`forward` is left to be written (an exercise skeleton): it only passes, raises
        NotImplementedError or returns an argument unchanged, and reads nothing of `self`."""
        forward = self.methods.get("forward")
        if forward is None or any(read.method == "forward" for read in self.reads):
            return False
        params = {p.name.value for p in forward.params.params}
        return all(_is_stub_statement(statement, params) for statement in block_statements(forward.body))

    def methods_reached_from(self, start: str) -> set[str]:
        """`start` and every method of this class it calls through `self.method(...)`."""
        if start in self._reached:
            return self._reached[start]
        seen = self._reached[start] = {start}
        stack = [start]
        while stack:
            for callee in self.self_calls.get(stack.pop(), ()):
                if callee not in seen and callee in self.methods:
                    seen.add(callee)
                    stack.append(callee)
        return seen


def _is_stub_statement(statement: cst.BaseStatement, params: set[str]) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(
                small.value, (cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis))):
            continue
        if isinstance(small, cst.Return) and (small.value is None or (
                isinstance(small.value, cst.Name) and small.value.value in params)):
            continue
        if isinstance(small, cst.Raise) and small.exc is not None:
            raised = small.exc.func if isinstance(small.exc, cst.Call) else small.exc
            if dotted_name(raised) == "NotImplementedError":
                continue
        return False
    return True


class ModuleFacts:
    """Classes (which are nn.Module subclasses), their attributes, and every call of the file."""

    def __init__(self, module: cst.Module, names: ImportTable) -> None:
        self.names = names
        self.classes: dict[str, ClassFacts] = {}
        self.calls: list[CallSite] = []
        self.displays: list[cst.List | cst.Tuple] = []  # list and tuple displays of two or more items
        self.item_stores: list[ItemStore] = []
        self.foreign_attribute_reads: set[str] = set()  # `.x` read on anything but `self`
        self._class: ClassFacts | None = None
        self._method: str | None = None
        self._self: str | None = None
        self._function: cst.FunctionDef | None = None
        self._depth = 0  # compound statements around the current one, inside the method
        self._visit(module)
        for info in self.classes.values():
            info.is_module = self._is_module(info, set())

    # ------------------------------------------------------------------ queries
    def class_of(self, name: str) -> ClassFacts | None:
        return self.classes.get(name)

    def local_bases(self, info: ClassFacts) -> list[ClassFacts]:
        return [self.classes[base] for base in info.bases if base in self.classes and self.classes[base] is not info]

    def family(self, info: ClassFacts) -> list[ClassFacts]:
        """The class, its ancestors and its descendants defined in this file."""
        found = [info]
        index = 0
        while index < len(found):
            current = found[index]
            related = self.local_bases(current) + [c for c in self.classes.values() if current.name in c.bases]
            found.extend(c for c in related if c not in found)
            index += 1
        return found

    def fully_visible(self, info: ClassFacts) -> bool:
        """Every ancestor is a class of this file or a known torch base: all their code is here."""
        for base in info.bases:
            local = self.classes.get(base)
            if local is not None and local is not info:
                if not self.fully_visible(local):
                    return False
            elif base not in torch_api.MODULE_BASES and not torch_api.is_torch_module_class(base) and base != "object":
                return False
        return True

    def looks_like_module(self, info: ClassFacts) -> bool:
        """A known nn.Module subclass, or a class of an unseen base that has a `forward`."""
        return info.is_module or any("forward" in c.methods for c in [info, *self.local_bases(info)])

    def class_around(self, node: cst.CSTNode) -> ClassFacts | None:
        return next((info for info in self.classes.values() if any(m is node for m in info.methods.values())), None)

    def _is_module(self, info: ClassFacts, seen: set[str]) -> bool:
        seen.add(info.name)
        for base in info.bases:
            if base in torch_api.MODULE_BASES or torch_api.is_torch_module_class(base):
                return True
            local = self.classes.get(base)
            if local is not None and base not in seen and self._is_module(local, seen):
                return True
        return False

    # ------------------------------------------------------------------ the pass
    def _visit(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind in _LEAVES:
            return
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node)
        else:
            for child in sub_nodes(node):
                self._visit(child)

    def _visit_compound(self, node: cst.BaseCompoundStatement) -> None:
        self._depth += 1
        for child in sub_nodes(node):
            self._visit(child)
        self._depth -= 1

    def _visit_display(self, node: cst.List | cst.Tuple) -> None:
        if len(node.elements) > 1:
            self.displays.append(node)
        for child in sub_nodes(node):
            self._visit(child)

    def _visit_class(self, node: cst.ClassDef) -> None:
        for decorator in node.decorators:
            self._visit(decorator)
        for arg in node.bases:
            self._visit(arg)
        bases = tuple(
            self.names.qualname(arg.value) or dotted_name(arg.value) or "" for arg in node.bases if arg.keyword is None
        )
        methods = {
            statement.name.value: statement
            for statement in _class_body(node) if isinstance(statement, cst.FunctionDef)
        }
        info = ClassFacts(node, node.name.value, bases, methods)
        self.classes.setdefault(info.name, info)
        saved = (self._class, self._method, self._self, self._depth)
        self._class, self._method, self._self, self._depth = info, None, None, 0
        self._visit(node.body)
        self._class, self._method, self._self, self._depth = saved

    def _visit_function(self, node: cst.FunctionDef) -> None:
        for decorator in node.decorators:
            self._visit(decorator)
        self._visit(node.params)
        saved = (self._class, self._method, self._self, self._depth, self._function)
        self._function = node
        if self._class is not None and self._method is None and self._class.methods.get(node.name.value) is node:
            params = [*node.params.posonly_params, *node.params.params]
            static = any(dotted_name(d.decorator) == "staticmethod" for d in node.decorators)
            self._method = node.name.value
            self._self = params[0].name.value if params and not static else None
            self._depth = 0
        elif self._method is None:
            self._class = None
        self._visit(node.body)
        self._class, self._method, self._self, self._depth, self._function = saved

    def _is_self(self, expr: cst.BaseExpression) -> bool:
        return self._self is not None and isinstance(expr, cst.Name) and expr.value == self._self

    def _visit_attribute(self, node: cst.Attribute) -> None:
        inner = node.value
        if self._is_self(inner):
            self._read(node.attr.value, node, None)
            return
        if isinstance(inner, cst.Attribute) and self._is_self(inner.value):
            self._read(inner.attr.value, inner, node.attr.value)
        else:
            self._visit(inner)
        self.foreign_attribute_reads.add(node.attr.value)

    def _read(self, attr: str, node: cst.Attribute, then: str | None) -> None:
        info = self._class
        if info is None or self._method is None:
            return
        info.reads.append(AttributeRead(attr, node, self._method, then))
        if attr in ENUMERATING_METHODS or then in ENUMERATING_METHODS:
            info.enumerates_submodules = True

    def _visit_call(self, node: cst.Call) -> None:
        func = node.func
        info = self._class if self._method is not None else None
        if isinstance(func, cst.Attribute) and info is not None:
            self._note_self_call(info, func, node)
        elif isinstance(func, cst.Name) and info is not None:
            self._note_attribute_function(info, func.value, node)
        self.calls.append(CallSite(node, self.names.qualname(func), self._function, info.name if info else None,
                                   self._method))
        for child in sub_nodes(node):
            self._visit(child)

    def _note_self_call(self, info: ClassFacts, func: cst.Attribute, node: cst.Call) -> None:
        method = func.attr.value
        if self._is_self(func.value):
            info.self_calls.setdefault(self._method or "", set()).add(method)
            if method in REGISTERING_METHODS:
                info.registers_submodules = True
        elif method == "__init__" and _names_a_base(func.value):
            info.super_init_calls.append((self._method or "", node))

    def _note_attribute_function(self, info: ClassFacts, function: str, node: cst.Call) -> None:
        args = positional_args(node)
        if function == "vars" and args and self._is_self(args[0].value):
            info.enumerates_submodules = True
        if function not in ATTRIBUTE_FUNCTIONS or len(args) < 2 or not self._is_self(args[0].value):
            return
        name = string_value(args[1].value)
        if name is None:
            info.enumerates_submodules = True
            info.registers_submodules |= function == "setattr"
        elif function == "setattr":
            info.registers_submodules = True
        else:
            info.named_uses.add(name)

    def _visit_assignment(self, node: cst.Assign | cst.AnnAssign | cst.AugAssign) -> None:
        if isinstance(node, cst.Assign):
            targets = [target.target for target in node.targets]
        else:
            targets = [node.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and self._is_self(target.value):
                if isinstance(node, cst.AugAssign):
                    self._read(target.attr.value, target, None)
                if node.value is not None and self._class is not None:
                    self._class.stores.append(AttributeStore(target.attr.value, node, node.value, self._method or "",
                                                             self._depth > 0))
            elif isinstance(target, (cst.Tuple, cst.List)):
                for element in target.elements:  # a target, not a display of values
                    self._visit(element.value)
            else:
                if isinstance(target, cst.Subscript) and node.value is not None:
                    owner = self._class.name if self._class is not None and self._method is not None else None
                    self.item_stores.append(ItemStore(target.value, node.value, node, owner, self._method))
                self._visit(target)
        if node.value is not None:
            self._visit(node.value)


_LEAVES = frozenset({cst.Name, cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.Ellipsis, cst.Pass,
                     cst.Break, cst.Continue, cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal})
_HANDLERS = {
    cst.ClassDef: ModuleFacts._visit_class,
    cst.FunctionDef: ModuleFacts._visit_function,
    cst.Attribute: ModuleFacts._visit_attribute,
    cst.Call: ModuleFacts._visit_call,
    cst.Assign: ModuleFacts._visit_assignment,
    cst.AnnAssign: ModuleFacts._visit_assignment,
    cst.AugAssign: ModuleFacts._visit_assignment,
    cst.List: ModuleFacts._visit_display,
    cst.Tuple: ModuleFacts._visit_display,
    **{kind: ModuleFacts._visit_compound
       for kind in (cst.If, cst.For, cst.While, cst.Try, cst.TryStar, cst.With, cst.Match)},
}


def _class_body(node: cst.ClassDef) -> list[cst.BaseStatement]:
    body = node.body
    return list(body.body) if isinstance(body, cst.IndentedBlock) else []


def _names_a_base(expr: cst.BaseExpression) -> bool:
    """`super()`, `super(Net, self)`, `nn.Module`, `Base`: what `X.__init__(...)` initializes."""
    if isinstance(expr, cst.Call):
        return isinstance(expr.func, cst.Name) and expr.func.value == "super"
    return dotted_name(expr) is not None
