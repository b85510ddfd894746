"""What reaches the input of each loss: at the loss call itself, or, where the value enters
through a helper of the file that hands its parameter to the loss, at the helper's call.

A helper such as `def compute_loss(scores, y): return F.cross_entropy(scores, y)` is right for
callers that pass logits and wrong for one that passes probabilities: the finding belongs to the
call that passes them, not to the helper's body."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterator

import libcst as cst

from nnlint.facts.core.dataflow import CallEvent, Dataflow
from nnlint.facts.core.places import Place
from nnlint.facts.core.syntax import keyword_arg, passed_arg, positional_args
from nnlint.facts.core.values import Kind, Value
from nnlint.facts.pytorch.semantics import loss_family

# The parameters under which losses take their predictions.
INPUT_POSITION, INPUT_KEYWORD = 0, "input"
# Kinds worth following into a helper: what a model or an activation gives.
PREDICTION_KINDS = frozenset({Kind.PROBS, Kind.LOG_PROBS, Kind.SIGMOID_PROBS, Kind.LOGITS, Kind.ACTIVATED})


@dataclass(frozen=True)
class LossInput:
    family: str            # the loss computed (torch_api's families: cross_entropy, nll, ...)
    loss: str              # how the loss is named in messages (`CrossEntropyLoss`, `cross_entropy()`)
    value: Value           # the predictions that reach the loss's input
    node: cst.CSTNode      # where the finding belongs: the loss call, or the helper call
    helper: str | None = None  # the helper the value goes through, if any
    loss_node: cst.CSTNode | None = None  # the loss call inside a helper of this file
    elsewhere: Place | None = None  # the loss call inside a helper of another file

    def through(self, where: Callable[[cst.CSTNode], str]) -> str:
        """` through compute_loss() (see line 5)` for a value handed over by a helper, else nothing;
        `where` says where a node of the file is (`FileFacts.where`)."""
        if not self.helper:
            return ""
        place = where(self.loss_node) if self.loss_node is not None else (
            self.elsewhere.line_text if self.elsewhere is not None else "")
        return f" through {self.helper}()" + (f" (see {place})" if place else "")

    @property
    def related(self) -> tuple[tuple[cst.CSTNode, str], ...]:
        """The other places of the bug in this file: where the value is made, and the loss inside the helper."""
        places = []
        if self.value.origin is not None and self.value.origin is not self.node:
            places.append((self.value.origin, f"the {self.value.kind.value} come from {self.value.producer} here"))
        if self.loss_node is not None:
            places.append((self.loss_node, f"{self.helper}() hands them to {self.loss} here"))
        return tuple(places)

    @property
    def related_elsewhere(self) -> tuple[tuple[Place, str], ...]:
        """The loss inside another file's helper."""
        return ((self.elsewhere, f"{self.helper}() hands them to {self.loss} here"),) if self.elsewhere else ()


@dataclass(frozen=True)
class _ImportedUse:
    """A loss input through another file's helper, and the argument expression that carries it."""

    loss_input: LossInput
    argument: cst.BaseExpression | None


class LossInputs:
    def __init__(self, dataflow: Dataflow) -> None:
        self.dataflow = dataflow

    def __iter__(self) -> Iterator[LossInput]:
        return iter(self._all)

    @cached_property
    def _all(self) -> list[LossInput]:
        found = [LossInput(loss_family(event), event.result.producer, value, event.node)
                 for event in self.dataflow.calls() if loss_family(event)
                 for value in [event.arg(INPUT_POSITION, INPUT_KEYWORD)]
                 if not self._entered_through_a_parameter(event)]
        found.extend(self._through_helpers())
        found.extend(self._installed_in_imported_classes())
        return found

    def _installed_in_imported_classes(self) -> Iterator[LossInput]:
        """A loss installed into an object of another file's class (`model.add_loss_op(nn.NLLLoss())`,
        `Trainer(model, criterion=nn.NLLLoss())`) that the class calls on its predictions."""
        for call in self.dataflow.calls():
            if call.specialized:
                continue
            if call.method is not None and call.receiver is not None and call.receiver.imported:
                owner, setter = call.receiver.imported, call.method
            elif call.qualname is not None:
                owner, setter = call.qualname, "__init__"
            else:
                continue
            symbol = self.dataflow.project.get(owner)
            for method, param, position, _, kind, producer, user, span in symbol.installed_losses if symbol else ():
                loss = call.kwargs.get(param) or (call.args[position] if position < len(call.args) else None)
                if method == setter and loss is not None and loss.kind is Kind.LOSS_FN and loss.detail:
                    yield LossInput(loss.detail, loss.producer, Value(Kind(kind), producer), call.node,
                                    f"{owner.rsplit('.', 1)[-1]}.{user}", elsewhere=symbol.place(span))

    def _through_helpers(self) -> Iterator[LossInput]:
        """Calls of helpers that hand a parameter to a loss's input. A call inside a function
        analysed with its caller's values counts when what it passes is made there (`decoder(x)`
        with the caller's decoder), not handed on from that function's own parameter."""
        for call in self.dataflow.calls():
            helper = call.callee.origin if call.callee.kind is Kind.FUNCTION else None
            imported = self.dataflow.project.get(call.qualname) if call.qualname else None
            if imported is not None:
                for found in self._through_imported_helper(call, imported.loss_parameters):
                    if not call.specialized or not self._handed_on(call, found.argument):
                        yield found.loss_input
            if not isinstance(helper, cst.FunctionDef):
                continue
            for use in self.dataflow.parameter_uses(helper):
                if not loss_family(use.event) or not _is_input(use.position, use.keyword):
                    continue
                value = self.dataflow.argument_for(call, use.param)
                if value.kind not in PREDICTION_KINDS or (
                        call.specialized and self._handed_on(call, self.dataflow.argument_expression(call, use.param))):
                    continue
                yield LossInput(loss_family(use.event), use.event.result.producer, value, call.node, helper.name.value,
                                use.event.node)

    def _through_imported_helper(self, call: CallEvent,
                                 loss_parameters: tuple[tuple[str, int, str, str], ...]) -> Iterator[_ImportedUse]:
        """A function of another file that hands a parameter to a loss (from its summary)."""
        name = call.qualname.rsplit(".", 1)[-1] if call.qualname else ""
        node = call.node if isinstance(call.node, cst.Call) else None
        for param, position, family, loss in loss_parameters:
            value = call.kwargs.get(param) or (call.args[position] if position < len(call.args) else None)
            if value is not None and value.kind in PREDICTION_KINDS:
                passed = passed_arg(node, param, position) if node is not None else None
                yield _ImportedUse(LossInput(family, loss, value, call.node, name),
                                    passed.value if passed is not None else None)

    def _handed_on(self, call: CallEvent, argument: cst.BaseExpression | None) -> bool:
        """Whether `argument` of a call is a parameter of the function the call is in, handed on
        unchanged: the caller of that function is the one that passes the value."""
        function = call.function.node
        if function is None or argument is None or not isinstance(call.node, cst.Call):
            return False
        for use in self.dataflow.parameter_uses(function):
            if use.event.node is not call.node:
                continue
            if use.keyword is not None:
                passed = keyword_arg(call.node, use.keyword)
                if passed is not None and passed.value is argument:
                    return True
            elif use.position is not None:
                arguments = positional_args(call.node)
                if use.position < len(arguments) and arguments[use.position].value is argument:
                    return True
        return False

    def _entered_through_a_parameter(self, event: CallEvent) -> bool:
        """A loss inside a helper whose input is one of the helper's parameters, analysed with a
        caller's argument: the finding belongs to that caller's call (see `_through_helpers`)."""
        function = event.function.node
        return event.specialized and function is not None and any(
            use.event.node is event.node and _is_input(use.position, use.keyword)
            for use in self.dataflow.parameter_uses(function))


def _is_input(position: int | None, keyword: str | None) -> bool:
    return position == INPUT_POSITION or keyword == INPUT_KEYWORD
