"""NN807: batches that each hold a single class. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN807",
    name="single-label-batches",
    severity=Severity.WARNING,
    summary="Each of the first training batches holds a single class: sorted data, not shuffled (nnlint trace only).",
)
