"""NN805: the same batch at every step. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN805",
    name="same-batch-every-step",
    severity=Severity.WARNING,
    summary="The model receives the very same batch at every training step while a DataLoader with more batches "
            "exists (nnlint trace only).",
)
