"""NN808: inputs far from unit scale. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN808",
    name="unnormalised-input",
    severity=Severity.WARNING,
    summary="The first layer receives values far from zero mean and unit variance, such as raw 0..255 pixels "
            "(nnlint trace only).",
)
