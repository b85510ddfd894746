"""NN103: a Conv/Linear layer with a bias feeding straight into BatchNorm, which cancels the bias."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.layers import BATCH_NORM, CONV, INSTANCE_NORM, LINEAR, Adjacency, Bias, Layer
from nnlint.facts.core.syntax import dotted_name, keyword_arg, positional_args
from nnlint.fixes import Fix, Replace, unsafe_fix
from nnlint.fixes.build import expression, with_argument_value, with_keyword
from nnlint.rules import Report, Rule

# Where `bias` comes among the positional parameters: Linear(in, out, bias), Conv2d(in, out,
# kernel, stride, padding, dilation, groups, bias).
BIAS_POSITION = {LINEAR: 2, CONV: 7}


def _cancels_bias(first: Layer, second: Layer) -> bool:
    if first.family not in (CONV, LINEAR) or first.bias is not Bias.ON:
        return False
    return second.family == BATCH_NORM or (second.family == INSTANCE_NORM and first.family == CONV)


def _takes_bias_keyword(call: cst.Call, facts: FileFacts) -> bool:
    """A torch layer, or a subclass of one in this file that keeps the layer's own __init__."""
    qualname = facts.names.qualname(call.func)
    if qualname is not None and qualname.startswith("torch."):
        return True
    local = facts.modules.class_of((dotted_name(call.func) or "").rsplit(".", 1)[-1])
    return local is not None and "__init__" not in local.methods and local.is_module


def _fix(adjacency: Adjacency, facts: FileFacts) -> Fix | None:
    """`bias=False` on the layer (unsafe: the bias leaves the state_dict, so checkpoints saved
    with it no longer load strictly, and a norm that is optional needs `bias=not use_bn`)."""
    layer = adjacency.first
    call = layer.node
    if adjacency.reported_at is not call:
        return None  # a factory's call: the layer is built elsewhere
    given = keyword_arg(call, "bias")
    if given is not None:
        return unsafe_fix("pass bias=False", Replace(call, with_argument_value(call, given, expression("False"))))
    if len(positional_args(call)) > BIAS_POSITION[layer.family] or any(arg.star for arg in call.args) or \
            not _takes_bias_keyword(call, facts):
        return None
    return unsafe_fix("pass bias=False", Replace(call, with_keyword(call, "bias", expression("False"))))


def check(facts: FileFacts) -> Iterator[Report]:
    for adjacency in facts.layers.adjacencies:
        first, second = adjacency.first, adjacency.second
        if not _cancels_bias(first, second):
            continue
        origin = f" (bias comes from `{first.bias_via}`, which defaults to True)" if first.bias_via else ""
        yield Report(
            adjacency.reported_at,
            f"{first.name} keeps its bias{origin} but feeds straight into {second.name} ({adjacency.where}), whose "
            "per-channel mean subtraction cancels it: the bias is wasted parameters, pass bias=False",
            partial(_fix, adjacency, facts),
        )


RULE = Rule(
    code="NN103",
    name="bias-before-batchnorm",
    severity=Severity.WARNING,
    summary="A Conv/Linear layer keeps its bias although it feeds straight into BatchNorm, which cancels it.",
    check=check,
    triggers=("BatchNorm", "InstanceNorm"),
    cross_file=False,
    fixes=(Applicability.UNSAFE,),
)
