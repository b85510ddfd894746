"""NN202: NLLLoss given raw logits or softmax probabilities instead of log-probabilities."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.loss_inputs import LossInput
from nnlint.facts.pytorch.torch_api import NLL
from nnlint.facts.core.values import Kind
from nnlint.fixes import Fix, Replace, safe_fix, unsafe_fix
from nnlint.fixes.build import method_call, renamed_call
from nnlint.fixes.loss_inputs import activation_input, entry_argument, entry_function, only_read_by_losses
from nnlint.rules import Report, Rule

_WHY = {
    Kind.LOGITS: "raw logits ({producer}) are passed to {loss}, which expects log-probabilities: "
                 "apply log_softmax first, or use CrossEntropyLoss on the logits",
    Kind.PROBS: "softmax probabilities ({producer}) are passed to {loss}, which expects log-probabilities: "
                "use log_softmax instead of softmax",
}
SOFTMAX_FUNCTIONS = frozenset({"torch.nn.functional.softmax", "torch.softmax", "torch.special.softmax"})
SOFTMAX_LAYERS = frozenset({"torch.nn.Softmax", "torch.nn.modules.activation.Softmax"})
CLASS_DIM = 1  # NLLLoss takes (batch, classes, ...): the classes are dimension 1


def _fix(entry: LossInput, loss_arguments: list[cst.BaseExpression], facts: FileFacts) -> Fix | None:
    """Logits are wrapped in `.log_softmax(dim=1)` (safe). A softmax becomes log_softmax: safe
    where its value reaches nothing but NLL inputs, unsafe where it is computed elsewhere (a
    model's forward, a helper: other readers get log-probabilities), nn.Softmax becoming
    nn.LogSoftmax included."""
    argument = entry_argument(entry)
    if entry.value.kind is Kind.LOGITS:
        if argument is None:
            return None
        wrapped = method_call(argument, "log_softmax", f"dim={CLASS_DIM}")
        return safe_fix("apply log_softmax to the logits", Replace(argument, wrapped))
    softmax = entry.value.origin
    if not isinstance(softmax, cst.Call):
        return None
    if facts.names.qualname(softmax.func) in SOFTMAX_LAYERS:
        layer = renamed_call(softmax, "LogSoftmax")
        return unsafe_fix("use nn.LogSoftmax in the model", Replace(softmax, layer)) if layer is not None else None
    log_softmax = renamed_call(softmax, "log_softmax")
    if activation_input(softmax, SOFTMAX_FUNCTIONS, "softmax", facts) is None or log_softmax is None:
        return None
    if only_read_by_losses(softmax, argument, entry_function(entry, facts), loss_arguments):
        return safe_fix("use log_softmax", Replace(softmax, log_softmax))
    return unsafe_fix("use log_softmax where the softmax is computed", Replace(softmax, log_softmax))


def check(facts: FileFacts) -> Iterator[Report]:
    found = [entry for entry in facts.loss_inputs if entry.family == NLL and entry.value.kind in _WHY]
    loss_arguments = [argument for entry in found if (argument := entry_argument(entry)) is not None]
    for entry in found:
        yield Report(entry.node, _WHY[entry.value.kind].format(producer=entry.value.producer,
                                                               loss=entry.loss + entry.through(facts.where)),
                     partial(_fix, entry, loss_arguments, facts), entry.related, entry.related_elsewhere)


RULE = Rule(
    code="NN202",
    name="nll-loss-without-log-softmax",
    severity=Severity.ERROR,
    summary="NLLLoss / F.nll_loss receives logits or probabilities instead of log-probabilities.",
    check=check,
    triggers=("nll_loss", "NLLLoss", "Loss"),
    fixes=(Applicability.SAFE, Applicability.UNSAFE),
)
