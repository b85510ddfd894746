"""Where an expression's value goes: the name it is assigned to, the text it is printed with.

Rules read intent from these: `test_acc = model.score(...)` and
`print(f"Test accuracy: {model.score(...)}")` evaluate on held-out data by intent.
"""

from __future__ import annotations

import libcst as cst

from nnlint.facts.syntax import dotted_name

_MESSAGE_FUNCTIONS = frozenset({"print"})
_MESSAGE_METHODS = frozenset({
    "log", "info", "debug", "warning", "add_scalar", "add_scalars", "log_metric", "log_metrics", "set_postfix",
    "set_description", "write", "print",
})


class Bindings(cst.CSTVisitor):
    """Every call and subscript below an assignment, mapped to the name assigned; every call
    below a print or log call, mapped to that call's literal text."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__()
        self._targets: dict[cst.CSTNode, str] = {}
        self._messages: dict[cst.CSTNode, str] = {}
        self._texts: list[str] = []
        module.visit(self)

    def target_of(self, node: cst.CSTNode) -> str | None:
        """The name the value of `node` (or of the expression it is part of) is assigned to."""
        return self._targets.get(node)

    def message_of(self, node: cst.CSTNode) -> str:
        """The literal text of the print / log call `node` appears in, lower-cased; '' if none."""
        return self._messages.get(node, "")

    # ------------------------------------------------------------- assignments
    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if isinstance(node.key, cst.SimpleString) and isinstance(node.key.evaluated_value, str):
            self._name_all(node.value, node.key.evaluated_value)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            if len(target.elements) == len(value.elements):
                for inner_target, inner_value in zip(target.elements, value.elements):
                    self._bind(inner_target.value, inner_value.value)
            return
        name = dotted_name(target)
        if name is not None:
            self._name_all(value, name)

    def _name_all(self, value: cst.BaseExpression, name: str) -> None:
        targets = self._targets

        class _Namer(cst.CSTVisitor):
            def visit_Call(self, node: cst.Call) -> None:
                targets.setdefault(node, name)

            def visit_Subscript(self, node: cst.Subscript) -> None:
                targets.setdefault(node, name)

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        value.visit(_Namer())

    # ------------------------------------------------------------- messages
    def visit_Call(self, node: cst.Call) -> None:
        if not self._is_message(node):
            return
        texts: list[str] = []

        class _Texts(cst.CSTVisitor):
            def visit_SimpleString(self, inner: cst.SimpleString) -> None:
                value = inner.evaluated_value
                if isinstance(value, str):
                    texts.append(value)

            def visit_FormattedStringText(self, inner: cst.FormattedStringText) -> None:
                texts.append(inner.value)

        node.visit(_Texts())
        text = " ".join(texts).lower()
        messages = self._messages

        class _Marker(cst.CSTVisitor):
            def visit_Call(self, inner: cst.Call) -> None:
                if inner is not node:
                    messages.setdefault(inner, text)

        for arg in node.args:
            arg.visit(_Marker())

    @staticmethod
    def _is_message(node: cst.Call) -> bool:
        func = node.func
        if isinstance(func, cst.Name):
            return func.value in _MESSAGE_FUNCTIONS
        return isinstance(func, cst.Attribute) and func.attr.value in _MESSAGE_METHODS
