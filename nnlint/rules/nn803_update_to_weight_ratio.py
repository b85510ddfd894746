"""NN803: optimizer steps far too large or too small for the weights. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN803",
    name="update-to-weight-ratio",
    severity=Severity.WARNING,
    summary="Optimizer steps move weight matrices by a fraction of their norm far outside 1e-5..1e-1 "
            "(nnlint trace only).",
)
