"""Where an expression's value goes: the name it is assigned to (and whether anything reads that
name), the text it is printed with.

Rules read intent from these: `test_acc = model.score(...)` and
`print(f"Test accuracy: {model.score(...)}")` evaluate on held-out data by intent.
The index is built on the first question, from the file's simple statements.
"""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from nnlint.facts.core.syntax import descendants, dotted_name, walk_statements

_MESSAGE_FUNCTIONS = frozenset({"print"})
_MESSAGE_METHODS = frozenset({
    "log", "info", "debug", "warning", "add_scalar", "add_scalars", "log_metric", "log_metrics", "set_postfix",
    "set_description", "write", "print",
})


class Bindings:
    def __init__(self, module: cst.Module) -> None:
        self._module = module
        self._targets: dict[cst.CSTNode, str] | None = None
        self._messages: dict[cst.CSTNode, str] = {}
        self._whole_values: dict[cst.CSTNode, str] = {}

    @property
    def module(self) -> cst.Module:
        return self._module

    def target_of(self, node: cst.CSTNode) -> str | None:
        """The name the value of `node` (or of the expression it is part of) is assigned to;
        a dict literal's string key counts as a name (`{"test_acc": clf.score(...)}`)."""
        return self._index().get(node)

    def is_discarded(self, node: cst.CSTNode) -> bool:
        """`node` is the whole value of an assignment to a plain name that nothing in the file reads."""
        self._index()
        name = self._whole_values.get(node)
        return name is not None and name not in self._read_names

    def message_of(self, node: cst.CSTNode) -> str:
        """The literal text of the print / log call `node` appears in, lower-cased; '' if none."""
        self._index()
        return self._messages.get(node, "")

    def _index(self) -> dict[cst.CSTNode, str]:
        if self._targets is None:
            self._targets = {}
            for statement in walk_statements(self._module.body):
                if isinstance(statement, cst.SimpleStatementLine):
                    for small in statement.body:
                        self._read_statement(small)
        return self._targets

    @cached_property
    def _read_names(self) -> set[str]:
        """Every name the file reads (a name is read wherever it is not the target of an assignment)."""
        targets = {id(node) for node in self._plain_targets()}
        return {node.value for node in descendants(self._module) if isinstance(node, cst.Name) and id(node) not in targets}

    def _plain_targets(self) -> list[cst.Name]:
        found: list[cst.Name] = []
        for node in descendants(self._module):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else (
                [node.target] if isinstance(node, (cst.AnnAssign, cst.For)) else [])
            for target in targets:
                elements = [e.value for e in target.elements] if isinstance(target, (cst.Tuple, cst.List)) else [target]
                found.extend(element for element in elements if isinstance(element, cst.Name))
        return found

    def _read_statement(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Assign):
            if len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                self._whole_values[small.value] = small.targets[0].target.value
            for target in small.targets:
                self._bind(target.target, small.value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, small.value)
        value = getattr(small, "value", None)
        if isinstance(value, cst.BaseExpression):
            for node in descendants(value):
                if isinstance(node, cst.Call) and _is_message(node):
                    self._mark_message(node)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            if len(target.elements) == len(value.elements):
                for inner_target, inner_value in zip(target.elements, value.elements):
                    self._bind(inner_target.value, inner_value.value)
            return
        name = dotted_name(target)
        if name is None:
            return
        assert self._targets is not None
        keyed: dict[cst.CSTNode, str] = {}
        for node in descendants(value):
            if isinstance(node, cst.DictElement) and isinstance(node.key, cst.SimpleString):
                key = node.key.evaluated_value
                if isinstance(key, str):
                    keyed.update((inner, key) for inner in descendants(node.value))
            if isinstance(node, (cst.Call, cst.Subscript)):
                self._targets.setdefault(node, keyed.get(node, name))

    def _mark_message(self, call: cst.Call) -> None:
        texts: list[str] = []
        inner_calls: list[cst.Call] = []
        for arg in call.args:
            for node in descendants(arg):
                if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
                    texts.append(node.evaluated_value)
                elif isinstance(node, cst.FormattedStringText):
                    texts.append(node.value)
                elif isinstance(node, cst.Call):
                    inner_calls.append(node)
        text = " ".join(texts).lower()
        for inner in inner_calls:
            self._messages.setdefault(inner, text)


def _is_message(node: cst.Call) -> bool:
    func = node.func
    if isinstance(func, cst.Name):
        return func.value in _MESSAGE_FUNCTIONS
    return isinstance(func, cst.Attribute) and func.attr.value in _MESSAGE_METHODS
