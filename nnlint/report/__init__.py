"""Output formats. Each formatter turns sorted findings into the text to print; it is also
handed the rules and every linted path (a JUnit report has a test case for each file)."""

from __future__ import annotations

from typing import Callable, Sequence

from nnlint.diagnostics import Finding
from nnlint.report import full, github, gitlab, json_format, junit, sarif, text
from nnlint.rules.metadata import RuleInfo

Formatter = Callable[[Sequence[Finding], Sequence[RuleInfo], Sequence[str]], str]

FORMATTERS: dict[str, Formatter] = {
    "text": text.render,
    "full": full.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
}
