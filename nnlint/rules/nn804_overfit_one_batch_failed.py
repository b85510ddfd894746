"""NN804: with --overfit-batch, the model cannot overfit one batch. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN804",
    name="overfit-one-batch-failed",
    severity=Severity.WARNING,
    summary="Fed the same batch at every step, the loss does not fall to a small fraction of its first value "
            "(nnlint trace --overfit-batch only).",
)
