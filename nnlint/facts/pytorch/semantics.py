"""What torch code means to the interpreter: the kinds of tensor layers and functions make,
losses and loss modules, models whose head sets their number of classes, `torch.no_grad()`
scopes and `.backward()`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from typing import cast

import libcst as cst

from nnlint.facts.core.program import CallEvent, ClassInfo, Event
from nnlint.facts.core.semantics import Interpreter, Semantics
from nnlint.facts.core.syntax import (
    code_snippet, descendants, dotted_name, integer_value, keyword_arg, positional_args,
)
from nnlint.facts.core.values import UNKNOWN, Kind, Value, join
from nnlint.facts.pytorch import torch_api

TENSOR_KINDS = frozenset({Kind.PROBS, Kind.LOG_PROBS, Kind.SIGMOID_PROBS, Kind.ACTIVATED, Kind.LOGITS, Kind.LOSS})
# The detail of LOGITS from a layer with a single output (`nn.Linear(h, 1)`): one class.
ONE_CLASS = "one class"
# The start of the detail of LOGITS a model class outputs when a parameter of its constructor sets
# their number of classes (`built_with` reads it where the class is called).
CLASSES_FROM = "classes from "
NO_GRAD = "no_grad"   # the scope of code run with gradients disabled
NO_GRAD_CONTEXTS = frozenset({"torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad"})
ENABLE_GRAD_CONTEXTS = frozenset({"torch.enable_grad", "torch.autograd.enable_grad"})
SET_GRAD_ENABLED = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled"})
BACKPROPAGATED = "backward()"    # the producer of a value known to hold a graph because backward() ran on it
# Objects whose `.backward(loss)` backpropagates their argument (accelerate, Fabric, DeepSpeed, ...).
_BACKWARD_OWNER_WORDS = ("accelerat", "fabric", "engine", "strategy", "precision", "trainer", "deepspeed", "model")
# Values whose methods say nothing of tensors.
_OPAQUE_RECEIVERS = (Kind.MODULE, Kind.OPTIMIZER, Kind.SCHEDULER, Kind.LOSS_FN, Kind.CLASS, Kind.FUNCTION)


def grad_disabled(event: Event) -> bool:
    """The event happens with gradients disabled (inside `torch.no_grad()`, a no_grad function)."""
    return NO_GRAD in event.scopes


def loss_family(event: CallEvent) -> str | None:
    """The loss this very call computes (cross_entropy, nll, ...), None for other calls."""
    if event.result.kind is Kind.LOSS and event.result.origin is event.node:
        return event.result.detail
    return None


class TorchSemantics(Semantics):
    call_methods = ("forward",)

    def __init__(self, interpreter: Interpreter) -> None:
        super().__init__(interpreter)
        self._loss_families: dict[str, str | None] = {}

    # ------------------------------------------------------------- classes
    def calls_dispatch(self, base: str) -> bool:
        return base in torch_api.MODULE_BASES or torch_api.is_torch_module_class(base)

    def instance(self, info: ClassInfo, call: cst.Call | None) -> Value | None:
        """A loss class of the file is a loss function; a model whose constructor sets its number of
        classes gives scores of one class when built with one."""
        # The family only when the class hands its input to that loss unchanged: a class that
        # applies log_softmax before F.nll_loss takes logits, it is no NLLLoss for its callers.
        family = self._loss_input_family(info)
        if family is None and self._wrapped_loss(info) is not None:
            family = "other"
        if family is not None:
            return Value(Kind.LOSS_FN, info.name, call, detail=family)
        scores = self._scores_by_class_count(info)
        if scores is not None and call is None:  # what other files learn of the class: they build it
            return replace(self.interpreter.instance_of(info.name), output=scores)
        built = built_with(scores, call) if scores is not None and call is not None else None
        if built is not None and built.detail == ONE_CLASS:
            return replace(self.interpreter.instance_of(info.name), output=built)
        return None

    def assigned_attribute(self, owner: Value, attr: str, value: Value) -> Value | None:
        """`model.classifier = nn.Sequential(...)` on a pretrained classifier: its output is the new head's."""
        if owner.detail == torch_api.CLASSIFIER and attr in torch_api.CLASSIFIER_HEADS:
            return replace(owner, output=value.output if value.output is not None else UNKNOWN)
        return None

    def _scores_by_class_count(self, info: ClassInfo) -> Value | None:
        """The scores a model class outputs when a parameter of its `__init__` sets how many classes
        they have: its forward returns the output of a layer whose size is that parameter
        (`nn.Linear(h, num_classes)`). Their detail says which parameter (see `built_with`)."""
        interpreter = self.interpreter
        output = interpreter.forward_output(info.name, [], depth=0)
        layer = output.origin
        if output.kind is not Kind.LOGITS or output.detail or not isinstance(layer, cst.Call):
            return None
        size = torch_api.output_size_argument(interpreter.names.qualname(layer.func) or "", layer)
        init = interpreter.method(info.name, "__init__")
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

    def _loss_input_family(self, info: ClassInfo) -> str | None:
        """The loss a module class of this file applies to its first input, unchanged.

        `forward` is probed with a marker input: a class whose forward hands that very tensor
        (reshaped or sliced at most) to F.cross_entropy is a cross-entropy for its callers.
        """
        interpreter = self.interpreter
        if info.name in self._loss_families:
            return self._loss_families[info.name]
        if interpreter.probing:
            return None
        self._loss_families[info.name] = None
        forward = interpreter.method(info.name, "forward")
        if forward is None or len(interpreter.functions[forward].params) < 2 or not any(
                isinstance(event, CallEvent) and loss_family(event) for event in interpreter.events_of(forward)):
            return None
        marker = Value(Kind.LOGITS, "<loss input>")
        events = interpreter.probe(interpreter.functions[forward], (interpreter.instance_of(info.name), marker))
        families = {loss_family(event) for event in events
                    if isinstance(event, CallEvent) and loss_family(event) and event.arg(0, "input") is marker}
        family = families.pop() if len(families) == 1 else None
        self._loss_families[info.name] = family
        return family

    def _wrapped_loss(self, info: ClassInfo) -> str | None:
        """The loss family a module computes when its forward returns a loss: a user loss class."""
        if self.interpreter.method(info.name, "forward") is None:
            return None
        result = self.interpreter.forward_output(info.name, [], depth=0)
        return (result.detail or "other") if result.kind is Kind.LOSS else None

    # ------------------------------------------------------------- calls
    def library_call(self, call: cst.Call, qualname: str, args: list[Value], kwargs: dict[str, Value],
                     depth: int) -> Value:
        short = qualname.rsplit(".", 1)[-1]
        first = args[0] if args else kwargs.get("input", UNKNOWN)
        if qualname in torch_api.FUNCTION_RESULTS:
            made = _made_by(torch_api.FUNCTION_RESULTS[qualname], f"{short}()", call, short)
            return made if qualname in torch_api.RESHAPING_FUNCTIONS else _shaped_like(made, first)
        if qualname in torch_api.LOG_FUNCTIONS and first.kind is Kind.PROBS:
            return Value(Kind.LOG_PROBS, "log(softmax)", call, detail="log_of_probs")
        if qualname in torch_api.ONE_HOT_FUNCTIONS:
            return Value(Kind.ONE_HOT, f"{short}()", call)
        if qualname in torch_api.MATRIX_PRODUCTS:
            return _weighted_labels(call, first, args[1] if len(args) > 1 else _second_factor(kwargs))
        if qualname in torch_api.CONCATENATIONS:
            return _concatenation(call, args[0] if args else kwargs.get("tensors", UNKNOWN))
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
            width = integer_value(size) if qualname in torch_api.LAST_AXIS_OUTPUTS else None
            return Value(Kind.MODULE, short, call, output=Value(
                Kind.LOGITS, code_snippet(call) if one_class else f"nn.{short}", call, ONE_CLASS if one_class else "",
                axis=-1 if width is not None else None, width=width))
        if qualname in torch_api.MODULE_OUTPUTS:
            return Value(Kind.MODULE, short, call,
                         output=_made_by(torch_api.MODULE_OUTPUTS[qualname], f"nn.{short}", call, short))
        if qualname in torch_api.SEQUENTIAL_CLASSES:
            last = args[-1] if args else UNKNOWN
            return Value(Kind.MODULE, short, call, output=self.interpreter.module_output(last, depth))
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

    def imported_value(self, value: Value, call: cst.Call) -> Value:
        if value.kind is Kind.MODULE and value.output is not None and value.output.detail.startswith(CLASSES_FROM):
            return replace(value, output=built_with(value.output, call))
        return value

    def object_call(self, call: cst.Call, callee: Value) -> Value:
        if callee.kind is Kind.LOSS_FN:
            return Value(Kind.LOSS, callee.producer, call, detail=callee.detail)
        return UNKNOWN

    def method_result(self, call: cst.Call, method: str, receiver: Value) -> Value:
        if receiver.kind is Kind.MODULE and method in torch_api.MODULE_RETURNING_SELF:
            return receiver
        if receiver.kind in _OPAQUE_RECEIVERS:
            return UNKNOWN
        if method in torch_api.METHOD_RESULTS:
            return _shaped_like(_made_by(torch_api.METHOD_RESULTS[method], f".{method}()", call, method), receiver)
        if receiver.kind is Kind.ONE_HOT:  # `.float()` keeps the rows; a view or a transpose may not
            return receiver if method in torch_api.SHAPE_KEEPING_METHODS else UNKNOWN
        if method == "log" and receiver.kind is Kind.PROBS:
            return Value(Kind.LOG_PROBS, "log(softmax)", call, detail="log_of_probs")
        if method in ("detach", "detach_") and receiver.kind is Kind.LOSS:
            return UNKNOWN  # a detached loss holds no graph
        if method in torch_api.SHAPE_KEEPING_METHODS and receiver.parts:
            return receiver
        if method in torch_api.KIND_PRESERVING_METHODS and receiver.kind in TENSOR_KINDS:
            return receiver if method in torch_api.SHAPE_KEEPING_METHODS else _reshaped(receiver)
        return UNKNOWN

    def call_result(self, call: cst.Call, qualname: str | None, method: str | None, receiver: Value | None,
                    receiver_name: str | None, callee: Value, args: list[Value],
                    kwargs: dict[str, Value]) -> tuple[Value, Value | None]:
        """`weights.bmm(one_hot)`: see `_weighted_labels`."""
        if qualname is None and method in torch_api.MATRIX_PRODUCT_METHODS and receiver is not None:
            return _weighted_labels(call, receiver, args[0] if args else _second_factor(kwargs)), None
        return UNKNOWN, None

    def after_call(self, call: cst.Call, method: str | None, qualname: str | None, env: dict[str, Value]) -> None:
        """After `loss.backward()` the name `loss` is known to hold a loss tensor with a graph."""
        if method != "backward" or qualname is not None:
            return
        tensor = backpropagated(call)
        name = dotted_name(tensor)
        if name is not None and env.get(name, UNKNOWN).kind not in TENSOR_KINDS:
            env[name] = Value(Kind.LOSS, BACKPROPAGATED, tensor)

    # ------------------------------------------------------------- scopes and attributes
    def scope(self, expr: cst.BaseExpression) -> tuple[str, bool] | None:
        """`with torch.no_grad():` enters the no-grad scope, `with torch.enable_grad():` leaves it."""
        names = self.interpreter.names
        if not isinstance(expr, cst.Call):
            name = names.qualname(expr)
            return (NO_GRAD, True) if name in NO_GRAD_CONTEXTS else (NO_GRAD, False) if name in ENABLE_GRAD_CONTEXTS \
                else None
        name = names.qualname(expr.func)
        mode = expr.args[0].value if expr.args else None
        literal = mode.value if isinstance(mode, cst.Name) else None
        if name in ENABLE_GRAD_CONTEXTS:
            return NO_GRAD, False
        if name in NO_GRAD_CONTEXTS:
            return None if literal == "False" else (NO_GRAD, True)
        if name in SET_GRAD_ENABLED and literal in ("True", "False"):
            return NO_GRAD, literal == "False"
        return None

    def decorator_scope(self, decorator: str) -> str | None:
        return NO_GRAD if decorator in NO_GRAD_CONTEXTS else None

    def watches(self, attr: str) -> bool:
        return attr == "grad"

    def learnt_from_setter(self, value: Value) -> bool:
        """`trainer.set_criterion(nn.CrossEntropyLoss())`."""
        return value.kind is Kind.LOSS_FN

    def default_holds(self, value: Value) -> bool:
        """`criterion=nn.CrossEntropyLoss()`, when no call of the file passes another."""
        return value.kind is Kind.LOSS_FN

    def marker(self, name: str) -> Value:
        # A tensor kind, so that reshaping and slicing the parameter keep the marker.
        return Value(Kind.LOGITS, f"<parameter {name}>")

    def arithmetic(self, operator: cst.BaseBinaryOp, left: Value, right: Value,
                   left_expr: cst.BaseExpression, right_expr: cst.BaseExpression, expr: cst.CSTNode) -> Value:
        """`weights @ one_hot`: see `_weighted_labels`."""
        return _weighted_labels(expr, left, right) if isinstance(operator, cst.MatrixMultiply) else UNKNOWN

    def subscript(self, expr: cst.Subscript, base: Value, index: Value) -> Value:
        """A selection from a tensor holds what the tensor holds; from a concatenation, what the parts
        it falls in hold when they agree (`p[..., 4:5]` of `torch.cat([xywh, conf.sigmoid()], -1)`).
        Entries selected along one axis by constant bounds keep their width along it."""
        if base.kind is Kind.ONE_HOT:  # rows (`torch.eye(n)[labels]`) are one-hot; columns may be all zeros
            return base if _selects_rows(expr) else UNKNOWN
        selection = _Selection.of(expr)
        if base.parts:
            if selection is None or selection.axis != base.axis:
                return UNKNOWN
            chosen = base.between(selection.start, selection.stop)
            return selection.applied(_reshaped(chosen), base) if chosen.kind in TENSOR_KINDS else UNKNOWN
        if base.kind in TENSOR_KINDS:
            # While probing, the markers that stand for parameters are known by identity: a selection
            # of one is that marker (the parameter handed on, sliced).
            if selection is None or self.interpreter.probing:
                return _reshaped(base)
            return selection.applied(_reshaped(base), base)
        if base.kind is Kind.UNKNOWN and selection is not None and len(expr.slice) > 1:
            # Only past the first axis: `x[:n]` of an unknown value is rows of data to the data semantics.
            return selection.applied(UNKNOWN, base)
        return UNKNOWN


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


@dataclass(frozen=True)
class _Selection:
    """The entries a subscript selects along its one selecting axis: `x[..., 4:5]` takes 4 to 5
    along the last axis, `x[:, 2]` takes entry 2 along axis 1 and drops that axis. The axis is
    counted as written: from the end after an ellipsis, from the start otherwise."""

    axis: int
    start: int
    stop: int | None  # None: to the end
    drops_axis: bool

    @classmethod
    def of(cls, expr: cst.Subscript) -> "_Selection | None":
        """The selection of a subscript whose elements, all but one, take everything (`:` or `...`);
        None for any other subscript, or one whose bounds are not integer literals."""
        elements = [element.slice for element in expr.slice]
        selecting = [position for position, element in enumerate(elements) if not _takes_all(element)]
        ellipses = [position for position, element in enumerate(elements) if _is_ellipsis(element)]
        if len(selecting) != 1 or len(ellipses) > 1:
            return None
        position = selecting[0]
        axis = position - len(elements) if ellipses and ellipses[0] < position else position
        element = elements[position]
        if isinstance(element, cst.Index):
            entry = integer_value(element.value)
            if entry is None:
                return None
            return cls(axis, entry, entry + 1 if entry != -1 else None, True)
        if element.step is not None and integer_value(element.step) != 1:
            return None
        start = integer_value(element.lower) if element.lower is not None else 0
        stop = integer_value(element.upper) if element.upper is not None else None
        if start is None or (element.upper is not None and stop is None):
            return None
        return cls(axis, start, stop, False)

    def applied(self, selected: Value, base: Value) -> Value:
        """`selected`, the value this selection takes from `base`, with its width along the axis when known."""
        if self.drops_axis:
            return selected
        extent = base.width if base.axis == self.axis else None
        start, stop = self.start, self.stop
        if extent is not None:
            start = min(max(start + extent, 0) if start < 0 else start, extent)
            stop = extent if stop is None else min(max(stop + extent, 0) if stop < 0 else stop, extent)
        if start < 0 or stop is None or stop < 0:
            return selected
        return replace(selected, axis=self.axis, width=max(stop - start, 0))


def _selects_rows(expr: cst.Subscript) -> bool:
    """`x[labels]`, `x[i]`, `x[:n]`: a selection along the first axis only."""
    if len(expr.slice) != 1:
        return False
    element = expr.slice[0].slice
    if isinstance(element, cst.Slice):
        return True
    index = element.value
    return not isinstance(index, cst.Ellipsis) and not (isinstance(index, cst.Name) and index.value == "None")


def _weighted_labels(origin: cst.CSTNode, weights: Value, labels: Value) -> Value:
    """Probabilities times one-hot label rows (`softmax(sim).bmm(one_hot)`, a matching network's
    attention over its support labels): a probability-weighted sum of the rows, so probabilities
    over the labels' classes. Times anything else (values, in attention) nothing is known."""
    if weights.kind is Kind.PROBS and labels.kind is Kind.ONE_HOT:
        return Value(Kind.PROBS, f"{weights.producer} weighting one-hot labels", origin)
    return UNKNOWN


def _second_factor(kwargs: dict[str, Value]) -> Value:
    """The right factor of `torch.bmm(input, mat2=...)` or `torch.matmul(input, other=...)` passed by keyword."""
    return kwargs.get("mat2", kwargs.get("other", UNKNOWN))


def _takes_all(element: cst.BaseSlice) -> bool:
    """`:` or `...`: an element of a subscript that selects nothing."""
    if isinstance(element, cst.Slice):
        return element.lower is None and element.upper is None and element.step is None
    return _is_ellipsis(element)


def _is_ellipsis(element: cst.BaseSlice) -> bool:
    return isinstance(element, cst.Index) and isinstance(element.value, cst.Ellipsis)


def _concatenation(call: cst.Call, tensors: Value) -> Value:
    """`torch.cat([xywh, conf.sigmoid()], dim=-1)`: of its parts' kind where they all agree; else,
    when the axis is an integer literal, a value of no kind that keeps its parts and their widths
    along the axis, so that a selection of some of them takes their kind."""
    if tensors.kind is not Kind.SEQUENCE or not tensors.items:
        return UNKNOWN
    items = tensors.items
    axis = _concatenation_axis(call)
    widths = [item.width if axis is not None and item.axis == axis else None for item in items]
    width = sum(cast(list[int], widths)) if None not in widths else None
    merged = reduce(join, items)
    if merged.kind in TENSOR_KINDS:
        return replace(_reshaped(merged), axis=axis, width=width) if width is not None else _reshaped(merged)
    if axis is None or not any(item.kind in TENSOR_KINDS or item.parts for item in items) or any(
            item.kind not in TENSOR_KINDS and item.kind is not Kind.UNKNOWN for item in items):
        return UNKNOWN
    parts = tuple(part for item in items for part in (item.parts if item.parts and item.axis == axis else (item,)))
    return Value(Kind.UNKNOWN, code_snippet(call), call, axis=axis, width=width, parts=parts)


def _concatenation_axis(call: cst.Call) -> int | None:
    """The axis a concatenation joins along when written as an integer literal (0 when not written)."""
    named = keyword_arg(call, "dim") or keyword_arg(call, "axis")
    positional = positional_args(call)
    written = named.value if named is not None else positional[1].value if len(positional) > 1 else None
    return integer_value(written) if written is not None else 0


def _made_by(kind: Kind, producer: str, call: cst.Call, function_or_layer: str) -> Value:
    """The value a function, method or layer of a known kind makes; an activation names itself in `detail`."""
    detail = torch_api.activation_name(function_or_layer) if kind is Kind.ACTIVATED else ""
    return Value(kind, producer, call, detail)


def _shaped_like(made: Value, source: Value) -> Value:
    """What an elementwise function made of `source`: of its width along its axis."""
    return replace(made, axis=source.axis, width=source.width) if source.width is not None else made


def _reshaped(value: Value) -> Value:
    """A tensor after a change of shape: scores of one class may now have any number of columns,
    and its width along an axis and its parts are no longer known."""
    if value.axis is not None or value.parts:
        value = replace(value, axis=None, width=None, parts=())
    return replace(value, detail="") if value.detail == ONE_CLASS else value
