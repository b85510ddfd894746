"""NN801: the first NaN or Inf of a traced run. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN801",
    name="non-finite-value",
    severity=Severity.ERROR,
    summary="A NaN or Inf appears in a module's output, the loss, a gradient or a weight (nnlint trace only).",
)
