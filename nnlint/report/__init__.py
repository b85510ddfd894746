"""Output formats. Each formatter turns sorted findings into the text to print."""

from __future__ import annotations

from typing import Callable, Sequence

from nnlint.diagnostics import Finding
from nnlint.report import github, json_format, sarif, text
from nnlint.rules.metadata import RuleInfo

Formatter = Callable[[Sequence[Finding], Sequence[RuleInfo]], str]

FORMATTERS: dict[str, Formatter] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}
