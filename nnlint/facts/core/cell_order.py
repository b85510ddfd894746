"""Names a notebook uses before any cell above defines them.

pyflakes reads the code cells in order as one program (IPython syntax masked by the notebook
reader) and reports the names undefined where they are used. Each is placed at the cell that
binds it further down, if any: such a notebook works in its author's kernel, where that cell
ran first, and fails when run from the top. Like pyflakes, a name used in a function body is
undefined only if no cell binds it at all: the body runs when the function is called, maybe
after the cell that binds it. Nothing is reported for a notebook with a cell that may bind names
nnlint cannot see (one that does not parse, `%run`, `%load`, `%store -r`, `%pylab`).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import libcst as cst
from pyflakes import checker, messages

from nnlint.facts.core.syntax import descendants
from nnlint.notebook import HISTORY_NAME, IPYTHON_NAMES, NotebookCells

_COMMAND = re.compile(r"^\s*(?P<name>\w+)\s+\S")  # `watermark -iv`: a magic run without `%`
_LEFT_TO_THE_READER = re.compile(r"#.*\b(TODO|YOUR CODE)\b", re.IGNORECASE)


@dataclass(frozen=True)
class EarlyUse:
    """A use of a name no cell above defines. `defined_in` is the first cell that binds it further
    down (possibly the use's own cell, further down: `same_cell`), None when no cell does."""

    node: cst.Name
    defined_in: int | None
    same_cell: bool
    line_in_cell: int  # the line of `defined_in` that binds it (0 when no cell does)


class _BindingRecorder(checker.Checker):
    """pyflakes' checker, noting the line of every binding of a module-level name."""

    def __init__(self, tree: ast.Module, builtins: frozenset[str]) -> None:
        self.module_bindings: dict[str, list[int]] = {}
        super().__init__(tree, filename="<notebook>", builtins=builtins, withDoctest=False)

    def addBinding(self, node: Any, value: checker.Binding) -> None:  # noqa: N802 (pyflakes' name)
        super().addBinding(node, value)
        module_scope = self.scopeStack[0]
        if module_scope.get(value.name) is value and not isinstance(value, checker.Builtin):
            line = getattr(value.source, "lineno", None)
            if line is not None:
                self.module_bindings.setdefault(value.name, []).append(line)


class CellOrder:
    def __init__(self, module: cst.Module, text: str, notebook: NotebookCells | None) -> None:
        self.module = module
        self.text = text
        self.notebook = notebook

    @cached_property
    def early_uses(self) -> list[EarlyUse]:
        notebook = self.notebook
        if notebook is None or notebook.opaque_cells:
            return []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(self.text)
            recorder = _BindingRecorder(tree, IPYTHON_NAMES | notebook.magic_commands)
        lines = self.text.split("\n")  # the notebook reader joins the cells' lines with "\n"
        # (line, column) of a use -> (name, line binding it further down, None when no line does)
        defined_below: dict[tuple[int, int], tuple[str, int | None]] = {}
        defined_nowhere: dict[tuple[int, int], tuple[str, int | None]] = {}
        seen: set[tuple[int, str]] = set()  # a name used twice on a line is reported once
        for message in recorder.messages:
            if not isinstance(message, messages.UndefinedName):
                continue
            name, line = message.message_args[0], message.lineno
            if (line, name) in seen or HISTORY_NAME.fullmatch(name) or self._runs_a_magic(lines[line - 1], notebook):
                continue
            seen.add((line, name))
            place = (line, _characters(lines[line - 1], message.col))
            bindings = recorder.module_bindings.get(name, [])
            below = [binding for binding in bindings if binding > line]
            if below:
                defined_below[place] = (name, below[0])
            elif all(binding == line for binding in bindings):  # bound nowhere, or by this very statement
                defined_nowhere[place] = (name, None)
        if defined_nowhere and _is_unfinished(tree, lines, notebook):
            defined_nowhere = {}
        return self._at_names({**defined_below, **defined_nowhere}, notebook)

    @staticmethod
    def _runs_a_magic(line: str, notebook: NotebookCells) -> bool:
        """`watermark -iv` after `%load_ext watermark`: IPython runs the line as a magic."""
        command = _COMMAND.match(line)
        return command is not None and command["name"] in notebook.magic_commands

    def _at_names(self, found: dict[tuple[int, int], tuple[str, int | None]],
                  notebook: NotebookCells) -> list[EarlyUse]:
        """The uses as the Name nodes at those places (a name inside a string annotation has none)."""
        if not found:
            return []
        from nnlint.positions import node_positions  # positions.py builds on the facts package

        wanted = {name for name, _ in found.values()}
        names = [node for node in descendants(self.module) if type(node) is cst.Name and node.value in wanted]
        uses: list[EarlyUse] = []
        for node, where in node_positions(self.module, self.text, names).items():
            place = (where.start.line, where.start.column)
            if found.get(place, ("", None))[0] != node.value:
                continue
            binding = found[place][1]
            cell = notebook.line_cells[place[0] - 1]
            defined_in = notebook.line_cells[binding - 1] if binding is not None else None
            uses.append(EarlyUse(node, defined_in, defined_in == cell, _line_in_cell(notebook, binding)))
        return uses


def _is_unfinished(tree: ast.Module, lines: list[str], notebook: NotebookCells) -> bool:
    """A notebook whose missing names are the reader's to write: an exercise (a TODO, a code cell
    of comments only, waiting for its code), or snippets (solutions) that import nothing."""
    if not any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree)):
        return True
    if any(_LEFT_TO_THE_READER.search(line) for line in lines):
        return True
    comments_only: dict[int, bool] = {}
    for line, cell in zip(lines, notebook.line_cells):
        stripped = line.strip()
        if stripped:
            comments_only[cell] = comments_only.get(cell, True) and stripped.startswith("#")
    return any(comments_only.values())


def _characters(line: str, byte_offset: int) -> int:
    """The column, in characters, of an offset in UTF-8 bytes (as `ast` counts them)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _line_in_cell(notebook: NotebookCells, line: int | None) -> int:
    """The line of the notebook's text `line` is, counted within its cell."""
    if line is None:
        return 0
    cell = notebook.line_cells[line - 1]
    first = line
    while first > 1 and notebook.line_cells[first - 2] == cell:
        first -= 1
    return line - first + 1
