"""Open documents as the engine lints them: a snapshot of each, taken when a lint starts, holds
the bytes that were linted and the texts its findings' positions refer to."""

from __future__ import annotations

import io
import json
import tokenize
from dataclasses import dataclass, field
from typing import Callable, NamedTuple
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.uris import to_fs_path

from nnlint.diagnostics import Finding
from nnlint.files import NOTEBOOK_SUFFIX, PYTHON_SUFFIXES
from nnlint.fixes.run import FixSettings

PYTHON_LANGUAGES = ("python", "python3", "ipython")


class Part(NamedTuple):
    """A text positions refer to: a Python file's, or one cell's of a notebook."""

    uri: str
    text: str


@dataclass(frozen=True)
class Snapshot:
    """One open document as one lint saw it. `parts` maps None to a Python file's text, or each
    cell's number (from 1, every cell counting, as findings number them) to that cell."""

    uri: str  # the document's, or the notebook's
    path: str  # the path the engine lints it as (the file's, on disk or not)
    version: int | None
    data: bytes
    parts: dict[int | None, Part] = field(default_factory=dict)
    encoding: str = "utf-8"

    def part_of(self, uri: str) -> tuple[int | None, Part] | None:
        """The part a document or cell uri names, with its key."""
        wanted = unquote(uri)
        return next(((key, part) for key, part in self.parts.items() if unquote(part.uri) == wanted), None)


def document_path(uri: str) -> str:
    """A file's path; for a document that is no file (an unsaved `untitled:` buffer), its name."""
    return to_fs_path(uri) or unquote(urlparse(uri).path) or uri


def is_python(path: str, language_id: str | None) -> bool:
    """A text document to lint (a notebook's JSON opened as text is none: its findings would be
    in cells the editor does not show)."""
    if path.endswith(NOTEBOOK_SUFFIX):
        return False
    return path.endswith(PYTHON_SUFFIXES) or (language_id or "").lower() in PYTHON_LANGUAGES


def python_snapshot(uri: str, text: str, version: int | None) -> Snapshot:
    path = document_path(uri)
    encoding = source_encoding(text)
    try:
        data = text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        encoding, data = "utf-8", text.encode("utf-8", errors="surrogatepass")
    return Snapshot(uri, path, version, data, {None: Part(uri, text)}, encoding)


def source_encoding(text: str) -> str:
    """The encoding the text's coding cookie declares (UTF-8 without one): its bytes must decode
    back to the same text, and the engine decodes them as the interpreter would."""
    head = "".join(io.StringIO(text).readlines()[:2])
    try:
        return tokenize.detect_encoding(io.BytesIO(head.encode("utf-8", errors="replace")).readline)[0]
    except SyntaxError:
        return "utf-8"


def notebook_snapshot(notebook: types.NotebookDocument, cell_document: Callable[[str], tuple[str, str | None] | None]
                      ) -> Snapshot:
    """A notebook as the engine reads one from disk: its cells in order (Markdown ones too, so that
    cells are numbered as Jupyter numbers them), code cells in another language as raw cells.
    `cell_document` gives a cell's text and language."""
    cells, parts = [], {}
    for number, cell in enumerate(notebook.cells, start=1):
        text, language = cell_document(cell.document) or ("", None)
        if cell.kind == types.NotebookCellKind.Markup:
            kind = "markdown"
        else:
            kind = "code" if language is None or language.lower() in PYTHON_LANGUAGES else "raw"
        cells.append({"cell_type": kind, "source": text, "metadata": {}})
        parts[number] = Part(cell.document, text)
    metadata = notebook.metadata if isinstance(notebook.metadata, dict) else {}
    data = json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    path = document_path(notebook.uri)
    if not path.endswith(NOTEBOOK_SUFFIX):  # an interactive window's, an unsaved notebook's
        path += NOTEBOOK_SUFFIX
    return Snapshot(notebook.uri, path, notebook.version, data.encode("utf-8"), parts)


@dataclass(frozen=True)
class Linted:
    """A snapshot and the findings its lint gave (fixes included), with the project's choice of
    fixes: what diagnostics, code actions and hovers of the document are made from."""

    snapshot: Snapshot
    findings: list[Finding]
    fix_settings: FixSettings
