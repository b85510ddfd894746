"""flake8 entry point (prefix NN): the same engine, so editors show the same findings.

flake8 imports every installed plugin and runs it on every file, whatever it selects, so this
module imports nothing heavy: the engine is imported on the first file that needs a check,
and a run that selects no NN code never imports it.

Like `nnlint PATHS`, the plugin lints the files under the paths flake8 was given as one
project (once per flake8 process), so a model defined in one file is known where another
misuses it. Source read from stdin is linted alone."""

from __future__ import annotations

import argparse
import ast
import multiprocessing
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator, Sequence

from nnlint import __version__
from nnlint.rules.metadata import RULES
from nnlint.selection import FAMILY_PREFIX

if TYPE_CHECKING:
    from nnlint.diagnostics import FileResult, Finding

STDIN_NAMES = ("stdin", "-")


def selected_codes(options: argparse.Namespace) -> frozenset[str]:
    """The codes flake8 would report under these options. A rule that is off by default must
    be selected by its family (NN7) or its code, as `nnlint --select` demands."""
    from flake8.style_guide import Decision, DecisionEngine

    decisions = DecisionEngine(options)
    explicit = tuple(selector.strip().upper() for selector in [*(options.select or ()), *(options.extend_select or ())]
                     if len(selector.strip()) >= len(FAMILY_PREFIX))
    return frozenset(rule.code for rule in RULES if decisions.decision_for(rule.code) is Decision.Selected
                     and (rule.default_enabled or rule.code.startswith(explicit)))


class Plugin:
    name = "nnlint"
    version = __version__
    # Set by parse_options, before flake8 forks its workers: the codes to run, the paths given.
    codes: frozenset[str] = frozenset()
    paths: tuple[str, ...] = ()

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        cls.codes = selected_codes(options)
        cls.paths = tuple(options.filenames or (".",))

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        if not self.codes:
            return
        for finding in self._findings():
            # flake8 columns are 0-based here; it adds one when it prints them.
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)

    def _findings(self) -> list[Finding]:
        if "-" not in self.paths and self.filename not in STDIN_NAMES:
            result = _project_results(self.paths, self.codes).get(os.path.abspath(self.filename))
            if result is not None:
                return result.findings
        return _lint_alone(self.filename, "".join(self.lines), self.codes)


@lru_cache(maxsize=1)
def _project_results(paths: tuple[str, ...], codes: frozenset[str]) -> dict[str, FileResult]:
    """Every file under `paths` linted as one project, by absolute path."""
    from nnlint.engine import default_workers, lint_project
    from nnlint.files import discover

    # flake8's workers are daemon processes, which may not start processes of their own.
    workers = 1 if multiprocessing.current_process().daemon else default_workers()
    results = lint_project(list(discover(paths, ())), codes, lambda _: (), workers)
    return {os.path.abspath(result.path): result for result in results}


def _lint_alone(filename: str, text: str, codes: frozenset[str]) -> list[Finding]:
    from nnlint.analysis import lint_source
    from nnlint.files import SourceFile
    from nnlint.torch_requirement import TorchRequirements

    torch_requirement = TorchRequirements().for_file(filename) if filename not in STDIN_NAMES else None
    return lint_source(SourceFile(filename, text), [rule for rule in RULES if rule.code in codes],
                       torch_requirement=torch_requirement)
