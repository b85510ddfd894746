"""NN802: the first cross-entropy loss is far above ln(C). Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN802",
    name="initial-loss-far-from-chance",
    severity=Severity.WARNING,
    summary="The first C-class cross-entropy loss is far above ln(C), the loss of uniform predictions "
            "(nnlint trace only).",
)
