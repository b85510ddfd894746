"""Where an expression's value goes: the name it is assigned to, the text it is printed with.

Rules read intent from these: `test_acc = model.score(...)` and
`print(f"Test accuracy: {model.score(...)}")` evaluate on held-out data by intent.
The index is built on the first question, from the file's simple statements.
"""

from __future__ import annotations

import libcst as cst

from nnlint.facts.syntax import descendants, dotted_name, walk_statements

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

    def target_of(self, node: cst.CSTNode) -> str | None:
        """The name the value of `node` (or of the expression it is part of) is assigned to;
        a dict literal's string key counts as a name (`{"test_acc": clf.score(...)}`)."""
        return self._index().get(node)

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
                        self._read(small)
        return self._targets

    def _read(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Assign):
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
