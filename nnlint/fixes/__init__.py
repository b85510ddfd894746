"""Fixes. A rule proposes one as edits of the parsed tree (`Fix`: replace a node, insert or
remove a statement); the engine turns the edits into text edits (materialize.py), applies the
chosen ones to the files over a few passes (apply.py, run.py) and writes notebooks back cell by
cell (notebook.py). Rules never touch text or files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from nnlint.diagnostics import Applicability

if TYPE_CHECKING:  # the parent process applies and writes fixes without libcst
    import libcst as cst


@dataclass(frozen=True)
class Replace:
    """`node` becomes `replacement` (built from the node, so its comments and spacing stay)."""

    node: cst.CSTNode
    replacement: cst.CSTNode


@dataclass(frozen=True)
class InsertBefore:
    """New statements just before `statement`, after the blank lines above it and before the
    comment lines that belong to it."""

    statement: cst.BaseStatement
    new: tuple[cst.BaseStatement, ...]


@dataclass(frozen=True)
class InsertAfter:
    statement: cst.BaseStatement
    new: tuple[cst.BaseStatement, ...]


@dataclass(frozen=True)
class Remove:
    """`statement` goes; the comment lines above it stay, above the statement that follows
    (a block left empty keeps a `pass`)."""

    statement: cst.BaseStatement


NodeEdit = Union["Replace", "InsertBefore", "InsertAfter", "Remove"]


@dataclass(frozen=True)
class Fix:
    """What a rule proposes for one finding: edits applied together, and whether `--fix` may
    apply them on its own (safe) or only with `--unsafe-fixes`."""

    message: str
    edits: tuple[NodeEdit, ...]
    applicability: Applicability = Applicability.SAFE


def safe_fix(message: str, *edits: NodeEdit) -> Fix:
    return Fix(message, edits, Applicability.SAFE)


def unsafe_fix(message: str, *edits: NodeEdit) -> Fix:
    return Fix(message, edits, Applicability.UNSAFE)
