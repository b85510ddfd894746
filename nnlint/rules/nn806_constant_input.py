"""NN806: a model input with no variance. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN806",
    name="constant-input",
    severity=Severity.WARNING,
    summary="Every value of a model's training input is the same, such as all zero (nnlint trace only).",
)
