"""NN811: a model that mixes the samples of a batch. Runtime only: `nnlint trace` reports it."""

from nnlint.diagnostics import Severity
from nnlint.rules import Rule

RULE = Rule(
    code="NN811",
    name="batch-mixing",
    severity=Severity.ERROR,
    summary="In eval mode, a sample's output depends on other samples of its batch: a view or reshape across "
            "the batch axis (nnlint trace only).",
)
