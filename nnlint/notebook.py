"""Jupyter notebooks as Python text: the code cells in order, IPython syntax masked out.

Every line of the text keeps its place: `CellPosition` says which cell and which line of it
it came from, so findings are reported as `path:cell N:line:col`, numbered the way Jupyter,
VS Code and ruff number them (every cell counts, from 1). A masked line becomes `pass` at
the same indentation, so a block whose only statement was a magic still parses. A cell that
still does not parse is left out (its lines are empty), so the other cells are analysed; the
`BrokenCell` says where its syntax error is.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
import warnings
from typing import Any, NamedTuple

from nnlint.files import physical_lines

# Cell magics whose body is Python, run as it stands (the set ruff treats the same way).
TRANSPARENT_CELL_MAGICS = frozenset({"capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit"})
# Line magics that run the Python statement after them: `%time model(x)` keeps `model(x)`.
STATEMENT_LINE_MAGICS = ("%time ", "%timeit ")
# Magics IPython runs without the `%` (automagic); only whole command lines are masked.
AUTOMAGICS = frozenset({"cd", "conda", "env", "load_ext", "ls", "mamba", "matplotlib", "pip", "pwd", "reload_ext"})
# Line magics that run code nnlint cannot read in the notebook's namespace, so that any name may
# be defined after them: a script (`%run`), a file not yet loaded into its cell (`%load`), pylab's
# star imports; `%store -r` without names restores every stored variable.
CODE_RUNNING_MAGICS = frozenset({"run", "load", "pylab"})
# Names IPython defines in every notebook: its own functions, the input and output history.
IPYTHON_NAMES = frozenset({
    "get_ipython", "display", "In", "Out", "exit", "quit", "_", "__", "___", "_i", "_ii", "_iii", "_ih", "_oh",
    "_dh", "__IPYTHON__",
})
HISTORY_NAME = re.compile(r"_i?\d+")  # `_12`, `_i12`: the output and the input of cell 12

# `model?`, `?torch.nn`, `%timeit?`, and wildcard searches such as `torch.*Tensor?`.
_HELP = re.compile(r"^\s*(\?{1,2}[\w.*]+|%?[\w.*]+(\(\))?\?{1,2})\s*$")
_ASSIGNED_MAGIC = re.compile(r"^(\s*[\w.,\s\[\]()*]+?\s*=\s*)[!%]")
_AUTOMAGIC = re.compile(r"^\s*(?P<name>\w+)\s+[\w\-./~$'\"]")
_RESTORE = re.compile(r"^%store\s+-r\b(?P<names>.*)$")
_SCRIPT_OUTPUT = re.compile(r"--(?:out|err|proc)\s+(?P<name>\w+)")


class NotNotebook(Exception):
    """The bytes are not a notebook (not JSON, or not the notebook structure); says why."""


class CellPosition(NamedTuple):
    cell: int
    line: int
    shift: int = 0  # columns removed from the start of this line (`%time ` before a statement)
    rewritten: bool = False  # the line is not the cell's own (a masked magic, a broken cell's blank)


class BrokenCell(NamedTuple):
    """A cell with a syntax error: where it is in the notebook's text, and what it is."""

    line: int
    column: int
    message: str


class NotebookCells(NamedTuple):
    """What an analysis of the notebook's text needs to know of its cells."""

    line_cells: tuple[int, ...]  # the cell each line of the text comes from
    # Cells that may bind names the text does not show: they do not parse, or a magic in them
    # runs code nnlint cannot read (CODE_RUNNING_MAGICS, `%store -r`).
    opaque_cells: tuple[int, ...]
    magic_commands: frozenset[str]  # extensions loaded with %load_ext: IPython runs them without `%`


class NotebookText(NamedTuple):
    text: str
    positions: tuple[CellPosition, ...]  # where each line of `text` came from
    broken_cells: tuple[BrokenCell, ...]
    cells: NotebookCells


class _MaskedCell(NamedTuple):
    lines: list[tuple[str, int]]
    error: SyntaxError | None  # the syntax error left in the lines, None when they parse
    line_magics: list[tuple[str, str]]  # (name, arguments) of each line magic masked, automagics included


def code_cells(data: bytes) -> list[tuple[int, str]]:
    """(cell number, source) of each code cell of a Python notebook, in order."""
    try:
        notebook = json.loads(data)
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise NotNotebook(f"invalid notebook: not valid JSON ({_first_line(err)})") from None
    if not isinstance(notebook, dict):
        raise NotNotebook("invalid notebook: the top level is not a JSON object")
    cells, source_key = notebook.get("cells"), "source"
    worksheets = notebook.get("worksheets")  # nbformat 3
    if cells is None and isinstance(worksheets, list):
        cells = [c for sheet in worksheets if isinstance(sheet, dict) for c in sheet.get("cells") or []]
        source_key = "input"
    if not isinstance(cells, list):
        raise NotNotebook("invalid notebook: no list of cells")
    if not _is_python(notebook.get("metadata")):
        return []
    found = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise NotNotebook(f"invalid notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get(source_key, "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotNotebook(f"invalid notebook: cell {number} has no source text")
        found.append((number, source))
    return found


def _is_python(metadata: Any) -> bool:
    """False only for notebooks that declare another language (an R or Julia kernel)."""
    if not isinstance(metadata, dict):
        return True
    for section, key in (("language_info", "name"), ("kernelspec", "language")):
        table = metadata.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            return table[key].lower() in ("python", "python3", "ipython")
    return True


def notebook_text(data: bytes) -> NotebookText:
    """The code cells as one Python text, where each of its lines came from, and the cells that
    do not parse (their lines are left empty: Jupyter runs each cell on its own, and so the
    others are analysed as if it were absent)."""
    lines: list[str] = []
    positions: list[CellPosition] = []
    broken: list[BrokenCell] = []
    opaque: list[int] = []
    commands: set[str] = set()
    for number, source in code_cells(data):
        masked, error, line_magics = _masked_cell(source)
        if error is not None:
            broken.append(BrokenCell(len(lines) + (error.lineno or 1), max(error.offset or 1, 1), error.msg))
            masked = [("", 0)] * len(masked)
        if error is not None or any(_runs_unread_code(name, arguments) for name, arguments in line_magics):
            opaque.append(number)
        extensions = (arguments.split(".")[-1] for name, arguments in line_magics if name in ("load_ext", "reload_ext"))
        commands.update(extension for extension in extensions if extension.isidentifier())
        for index, ((line, shift), own) in enumerate(zip(masked, physical_lines(source)), start=1):
            lines.append(line)
            positions.append(CellPosition(number, index, shift, own[shift:] != line))
    cells = NotebookCells(tuple(position.cell for position in positions), tuple(opaque), frozenset(commands))
    return NotebookText("".join(line + "\n" for line in lines), tuple(positions), tuple(broken), cells)


def mask_magics(source: str) -> list[tuple[str, int]]:
    """The cell's lines with IPython syntax replaced by plain Python, and each line's shift."""
    return _masked_cell(source).lines


def _runs_unread_code(magic: str, arguments: str) -> bool:
    return magic in CODE_RUNNING_MAGICS or (magic == "store" and arguments.split() == ["-r"])


def _masked_cell(source: str) -> _MaskedCell:
    """The cell's masked lines, the syntax error left in them, and the line magics masked."""
    lines = physical_lines(source)
    masked = _without_leading_indent(lines)
    line_magics: list[tuple[str, str]] = []
    if lines and lines[0].lstrip().startswith("%%"):
        words = lines[0].strip()[2:].split(maxsplit=1)
        name = words[0] if words else ""
        binding = _bound_by_cell_magic(name, words[1] if len(words) > 1 else "")
        if name not in TRANSPARENT_CELL_MAGICS:  # %%bash, %%writefile, %%html...: not Python
            return _MaskedCell([(binding, 0)] + [("", 0) for _ in lines[1:]], None, line_magics)
        masked[0] = (binding, 0)
    if _syntax_error(masked) is None:
        return _MaskedCell(masked, None, line_magics)
    continuation: str | None = None  # the indentation of a masked line ending in a backslash
    for index, (line, indent_shift) in enumerate(masked):
        if continuation is not None:
            masked[index] = (continuation + "pass", 0)
            if not line.rstrip().endswith("\\"):
                continuation = None
            continue
        replacement = _mask_line(line)
        if replacement == (line, 0) or not _starts_statement(masked[:index]):
            continue
        masked[index] = (replacement[0], replacement[1] + indent_shift)
        magic = _line_magic(line)
        if magic is not None:
            line_magics.append(magic)
        if line.rstrip().endswith("\\"):
            continuation = _indent(line)
    return _MaskedCell(masked, _syntax_error(masked), line_magics)


def _without_leading_indent(lines: list[str]) -> list[tuple[str, int]]:
    """IPython removes the first line's indentation from every line that starts with it, so a
    cell pasted with one space too many still runs."""
    indent = _indent(lines[0]) if lines and lines[0].strip() else ""
    return [(line[len(indent):], len(indent)) if indent and line.startswith(indent) else (line, 0) for line in lines]


def _mask_line(line: str) -> tuple[str, int]:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    for prefix in STATEMENT_LINE_MAGICS:
        rest = stripped[len(prefix):].lstrip()
        if stripped.startswith(prefix) and rest and not rest.startswith("-"):
            return indent + rest, len(line) - len(indent) - len(rest)
    assigned = _ASSIGNED_MAGIC.match(line)
    if assigned:  # `files = !ls` keeps the assignment
        return assigned.group(1) + "...", 0
    restored = _RESTORE.match(stripped)
    names = [name for name in restored["names"].split() if name.isidentifier()] if restored else []
    if names:  # `%store -r model cfg` binds them
        return indent + " = ".join(names) + " = ...", 0
    automagic = _AUTOMAGIC.match(line)
    if stripped.startswith(("%", "!")) or _HELP.match(line) or (automagic and automagic["name"] in AUTOMAGICS):
        return indent + "pass", 0
    return line, 0


def _line_magic(line: str) -> tuple[str, str] | None:
    """(name, arguments) of a line magic, written with `%` or as an automagic; None for others."""
    stripped = line.strip()
    automagic = _AUTOMAGIC.match(line)
    if stripped.startswith("%") and not stripped.startswith("%%"):
        stripped = stripped[1:]
    elif not (automagic and automagic["name"] in AUTOMAGICS):
        return None
    words = stripped.split(maxsplit=1)
    return (words[0], words[1] if len(words) > 1 else "") if words else None


def _bound_by_cell_magic(name: str, arguments: str) -> str:
    """An assignment standing for the names a cell magic binds: `out` in `%%capture out`,
    `%%bash --out out`; empty when it binds none."""
    if name == "capture":
        names = [word for word in arguments.split() if not word.startswith("-")][:1]
    else:
        names = [match["name"] for match in _SCRIPT_OUTPUT.finditer(arguments)]
    return " = ".join(names) + " = ..." if names and all(n.isidentifier() for n in names) else ""


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _starts_statement(lines_before: list[tuple[str, int]]) -> bool:
    """Whether the line after these starts a statement, the only place IPython sees a magic: no
    bracket, string or backslash continuation is left open (`% 10` inside a call is modulo)."""
    text = "".join(line + "\n" for line, _ in lines_before)
    try:
        for _ in tokenize.generate_tokens(io.StringIO(text).readline):
            pass
    except tokenize.TokenError as err:
        return "EOF in multi-line" not in str(err.args[0])  # Python 3.12 says "unexpected EOF in ..."
    except SyntaxError:  # a dedent that matches no block: the cell is broken, whatever is masked
        return True
    return True


def _syntax_error(lines: list[tuple[str, int]]) -> SyntaxError | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse("\n".join(line for line, _ in lines))
    except SyntaxError as err:
        return err
    except (ValueError, RecursionError, MemoryError):
        pass  # not IPython syntax: left for the linter to report
    return None


def _first_line(err: Exception) -> str:
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__
