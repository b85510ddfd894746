"""NN204: `torch.log(softmax(x))`: -inf and NaN when a probability underflows; use log_softmax."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.torch_api import LOG_FUNCTIONS
from nnlint.facts.core.values import Kind, Value
from nnlint.fixes import Fix, Replace, safe_fix
from nnlint.fixes.build import hoisted, renamed_call
from nnlint.rules import Report, Rule

# The softmax spellings whose log_softmax twin takes the same arguments.
SOFTMAX_FUNCTIONS = frozenset({"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"})


def _fix(log_call: cst.CSTNode, argument: cst.BaseExpression | None, probabilities: Value,
         facts: FileFacts) -> Fix | None:
    """`torch.log(F.softmax(x, dim))` and `x.softmax(dim).log()` become `F.log_softmax(x, dim)`
    and `x.log_softmax(dim)`: only where the softmax is computed right there, for a named
    probability may be read elsewhere."""
    softmax = probabilities.origin
    if argument is not softmax or not isinstance(softmax, cst.Call) or not isinstance(log_call, cst.Call):
        return None
    func = softmax.func
    is_method = isinstance(func, cst.Attribute) and func.attr.value == "softmax" and \
        facts.names.qualname(func) is None
    if facts.names.qualname(func) not in SOFTMAX_FUNCTIONS and not is_method:
        return None
    log_softmax = renamed_call(softmax, "log_softmax")
    if log_softmax is None:
        return None
    return safe_fix("use log_softmax", Replace(log_call, hoisted(log_softmax, log_call)))


def check(facts: FileFacts) -> Iterator[Report]:
    for call in facts.dataflow.calls():
        node = call.node
        if call.qualname in LOG_FUNCTIONS:
            probabilities = call.arg(0, "input")
            argument = node.args[0].value if isinstance(node, cst.Call) and len(node.args) == 1 else None
        elif call.qualname is None and call.method == "log" and not call.args and call.receiver is not None:
            probabilities = call.receiver
            argument = node.func.value if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                else None
        else:
            continue
        if probabilities.kind is Kind.PROBS:
            yield Report(
                node,
                f"log of softmax output ({probabilities.producer}): a probability that underflows to 0 gives "
                "-inf and NaN gradients; use log_softmax, which computes the same values stably",
                partial(_fix, node, argument, probabilities, facts),
            )


RULE = Rule(
    code="NN204",
    name="log-of-softmax",
    severity=Severity.WARNING,
    summary="torch.log(softmax(x)) or softmax(x).log(): unstable; use log_softmax.",
    check=check,
    triggers=("log",),
    fixes=(Applicability.SAFE,),
)
