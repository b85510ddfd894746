"""NN809: ReLU units that never activate. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN809",
    name="dead-units",
    severity=Severity.WARNING,
    summary="More than half the units of a ReLU layer output zero for every sample of the traced steps "
            "(nnlint trace only).",
)
