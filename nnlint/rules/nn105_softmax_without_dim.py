"""NN105: softmax without `dim`: the deprecated implicit dimension is wrong for 3-D inputs."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.syntax import dotted_name, keyword_arg, positional_args
from nnlint.fixes import Fix, Replace, safe_fix, unsafe_fix
from nnlint.fixes.build import expression, with_argument_value, with_keyword, with_keyword_renamed
from nnlint.rules import Report, Rule

F = "torch.nn.functional"
# Functions and layers whose `dim` may be left out: torch then guesses it (and warns).
IMPLICIT_DIM = {f"{F}.softmax": 1, f"{F}.log_softmax": 1, f"{F}.softmin": 1,
                "torch.nn.Softmax": 0, "torch.nn.LogSoftmax": 0, "torch.nn.Softmin": 0,
                "torch.nn.modules.activation.Softmax": 0, "torch.nn.modules.activation.LogSoftmax": 0}
# Functions and Tensor methods that require `dim`: leaving it out raises a TypeError. They also
# take NumPy's `axis` for `dim`; the functions and layers of IMPLICIT_DIM raise a TypeError on it.
REQUIRED_DIM = {"torch.softmax": 1, "torch.log_softmax": 1, "torch.special.softmax": 1,
                "torch.special.log_softmax": 1}
TENSOR_METHODS = frozenset({"softmax", "log_softmax"})
RECEIVERS = frozenset({"self", "cls"})


def _lacks_dim(call: cst.Call, dim_position: int, keywords: tuple[str, ...] = ("dim",)) -> bool:
    if any(arg.star for arg in call.args):
        return False
    keyword = next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value in keywords), None)
    if keyword is not None:
        return dotted_name(keyword.value) == "None"
    positional = positional_args(call)
    if len(positional) > dim_position:
        return dotted_name(positional[dim_position].value) == "None"
    return True


def _fix(call: cst.Call, dim_position: int | None) -> Fix:
    """`axis=d` where only `dim` is taken becomes `dim=d` (safe: the very dimension meant);
    a missing or None dim becomes `dim=-1` (unsafe: -1 is the class dimension of a
    (batch, ..., classes) tensor, not of an image's channels)."""
    positional = positional_args(call)
    given = keyword_arg(call, "dim") or keyword_arg(call, "axis") or (
        positional[dim_position] if dim_position is not None and len(positional) > dim_position else None)
    if given is None:
        return unsafe_fix("pass dim=-1", Replace(call, with_keyword(call, "dim", expression("-1"))))
    fixed = call
    if given.keyword is not None and given.keyword.value == "axis":
        fixed = with_keyword_renamed(call, given, "dim")
        given = fixed.args[list(call.args).index(given)]
        if dotted_name(given.value) != "None":
            return safe_fix("pass the dimension as dim", Replace(call, fixed))
    return unsafe_fix("pass dim=-1", Replace(call, with_argument_value(fixed, given, expression("-1"))))


def check(facts: FileFacts) -> Iterator[Report]:
    for site in facts.modules.calls:
        call, qualname = site.node, site.qualname
        if qualname in IMPLICIT_DIM:
            name = qualname.rsplit(".", 1)[-1]
            if keyword_arg(call, "axis") is not None:
                yield Report(call, f"{name} takes no axis argument and raises a TypeError (only the torch.* "
                                   "functions and Tensor methods alias axis to dim): pass dim instead",
                             partial(_fix, call, IMPLICIT_DIM[qualname]))
            elif _lacks_dim(call, IMPLICIT_DIM[qualname]):
                yield Report(call, f"{name} without dim: torch guesses the dimension (dim 0 for 1-D and 3-D inputs, "
                                   "1 otherwise), which for a (batch, sequence, classes) tensor normalizes across "
                                   "the batch; pass dim explicitly (usually dim=-1)",
                             partial(_fix, call, IMPLICIT_DIM[qualname]))
        elif qualname in REQUIRED_DIM and _lacks_dim(call, REQUIRED_DIM[qualname], ("dim", "axis")):
            yield Report(call, f"{qualname} without dim raises a TypeError: pass dim explicitly (usually dim=-1)",
                         partial(_fix, call, REQUIRED_DIM[qualname]))
        elif qualname is None and _is_tensor_method_without_dim(call):
            yield Report(call, f"Tensor.{call.func.attr.value}() without dim raises a TypeError: "
                               "pass dim explicitly (usually dim=-1)", partial(_fix, call, None))


def _is_tensor_method_without_dim(call: cst.Call) -> bool:
    func = call.func
    if not isinstance(func, cst.Attribute) or func.attr.value not in TENSOR_METHODS:
        return False
    receiver = func.value
    return not call.args and not (isinstance(receiver, cst.Name) and receiver.value in RECEIVERS)


RULE = Rule(
    code="NN105",
    name="softmax-without-dim",
    severity=Severity.WARNING,
    summary="Softmax / log_softmax without dim: the implicit dimension is deprecated and wrong for 3-D inputs.",
    check=check,
    triggers=("softmax", "Softmax", "softmin", "Softmin"),
    cross_file=False,
    fixes=(Applicability.SAFE, Applicability.UNSAFE),
)
