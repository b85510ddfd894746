"""NN810: gradients that vanish or explode. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN810",
    name="vanishing-or-exploding-gradients",
    severity=Severity.WARNING,
    summary="Per-value gradients of the first and last layers more than 1e4 apart, or a gradient norm growing "
            "without bound (nnlint trace only).",
)
