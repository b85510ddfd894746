"""flake8 entry point (prefix NN): the same engine, so editors show the same findings."""

from __future__ import annotations

import ast
from typing import Iterator, Sequence

from nnlint import __version__
from nnlint.analysis import lint_source
from nnlint.files import SourceFile
from nnlint.rules import all_rules
from nnlint.torch_requirement import TorchRequirements

STDIN_NAMES = ("stdin", "-")


class Plugin:
    name = "nnlint"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        rules = [rule for rule in all_rules() if rule.default_enabled]
        source = SourceFile(self.filename, "".join(self.lines))
        torch_requirement = TorchRequirements().for_file(self.filename) if self.filename not in STDIN_NAMES else None
        for finding in lint_source(source, rules, torch_requirement=torch_requirement):
            # flake8 columns are 0-based here; it adds one when it prints them.
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
