"""Code actions: a finding's fix ("Fix NN201: ..."; unsafe ones marked and never preferred), a
noqa comment for its line, and fix-all (`source.fixAll.nnlint`), which the fix engine of
`nnlint --fix` computes."""

from __future__ import annotations

import io
import tokenize
from typing import Callable, Mapping

from lsprotocol import types
from pygls.workspace import PositionCodec

from nnlint.diagnostics import Applicability, FileResult, Finding, TextFix
from nnlint.fixes.run import fix_project
from nnlint.noqa import with_noqa
from nnlint.notebook import NotNotebook, code_cells
from nnlint.server.diagnostics import Placement
from nnlint.server.documents import Linted
from nnlint.server.positions import contains, text_edits

FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.nnlint"
KINDS = (types.CodeActionKind.QuickFix, FIX_ALL)

# Lints the project again with some files' content replaced (the fix engine's passes).
Linter = Callable[[Mapping[str, bytes]], list[FileResult]]


def wanted(kind: str, only: list[str] | None) -> bool:
    """Whether the client asked for actions of this kind (`source` asks for `source.fixAll.nnlint`)."""
    return only is None or any(kind == asked or kind.startswith(f"{asked}.") for asked in only)


def findings_at(linted: Linted, uri: str, where: types.Range, codec: PositionCodec
                ) -> tuple[list[Finding], Placement]:
    """The findings whose range meets `where` in the document or cell `uri`, and where they are."""
    placement = Placement(linted.snapshot, codec)
    placed = linted.snapshot.part_of(uri)
    if placed is None:
        return [], placement
    return [finding for finding in linted.findings
            if placement.part_of(finding) == placed and contains(where, placement.range(finding))], placement


def quick_fixes(linted: Linted, uri: str, where: types.Range, codec: PositionCodec) -> list[types.CodeAction]:
    """For each finding at `where`: its fix (where the configuration lets it be fixed) and a noqa."""
    actions = []
    found, placement = findings_at(linted, uri, where, codec)
    for finding in found:
        fix = finding.fix
        if fix is not None and linted.fix_settings.fixable(finding.code):
            edit = _fix_edit(placement, fix)
            if edit is not None:
                safe = fix.applicability is Applicability.SAFE
                actions.append(types.CodeAction(
                    title=f"Fix {finding.code}{'' if safe else ' (unsafe)'}: {fix.message}",
                    kind=types.CodeActionKind.QuickFix, diagnostics=[placement.diagnostic(finding)],
                    is_preferred=safe, edit=edit))
        noqa = _noqa_edit(placement, finding)
        if noqa is not None:
            actions.append(types.CodeAction(
                title=f"Disable {finding.code} for this line", kind=types.CodeActionKind.QuickFix,
                diagnostics=[placement.diagnostic(finding)], edit=noqa))
    return actions


def _fix_edit(placement: Placement, fix: TextFix) -> types.WorkspaceEdit | None:
    """The fix's own edits, in the file or in their cells; None where one has no text to go to."""
    changes: dict[str, list[types.TextEdit]] = {}
    for edit in fix.edits:
        part, lines = placement.snapshot.parts.get(edit.cell), placement.lines(edit.cell)
        if part is None or lines is None:
            return None
        changes.setdefault(part.uri, []).append(types.TextEdit(
            range=lines.range(edit.line, edit.column, edit.end_line, edit.end_column), new_text=edit.content))
    return types.WorkspaceEdit(changes=changes)


def _noqa_edit(placement: Placement, finding: Finding) -> types.WorkspaceEdit | None:
    """`# noqa: CODE` added to the finding's line, unless a comment cannot end that line (it
    continues with a backslash, or inside a string)."""
    placed = placement.part_of(finding)
    lines = placement.lines(placed[0]) if placed is not None else None
    if placed is None or lines is None or not 0 < finding.line <= len(lines.lines) \
            or not comment_can_end(placed[1].text, finding.line):
        return None
    line = lines.lines[finding.line - 1]
    new = with_noqa(line, finding.code)
    if new == line:
        return None
    return types.WorkspaceEdit(changes={placed[1].uri: [
        types.TextEdit(range=lines.range(finding.line, 1, finding.line, len(line) + 1), new_text=new)]})


def comment_can_end(text: str, line: int) -> bool:
    """Whether a comment added at the end of `line` (1-based) stays a comment and breaks nothing:
    the line does not continue with a backslash, nor end inside a string."""
    physical = io.StringIO(text, newline="").readlines()[line - 1]
    if physical.rstrip("\r\n").endswith("\\"):
        return False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline="").readline):
            if token.start[0] > line:
                break
            if token.start[0] <= line < token.end[0] and token.type != tokenize.NL and token.type != tokenize.NEWLINE:
                return False  # a string (or f-string part) that goes on below this line
    except (tokenize.TokenError, SyntaxError):
        pass  # text being edited: the backslash check stands
    return True


def fix_all_action(linted: Linted, uri: str) -> types.CodeAction | None:
    """Fix-all, its edit left to resolve; None when no fix would apply."""
    if not any(linted.fix_settings.applies(finding) for finding in linted.findings):
        return None
    return types.CodeAction(title="Fix all nnlint findings", kind=FIX_ALL, data={"uri": uri})


def fix_all_edit(linted: Linted, lint: Linter, codec: PositionCodec) -> types.WorkspaceEdit:
    """Every fix the settings choose, applied over passes as `nnlint --fix` applies them, as edits
    of the document or of its cells."""
    snapshot = linted.snapshot
    outcome = fix_project({snapshot.path: snapshot.data}, [FileResult(snapshot.path, linted.findings)], lint,
                          linted.fix_settings)
    fixed = outcome.contents.get(snapshot.path)
    if fixed is None:
        return types.WorkspaceEdit(changes={})
    if None in snapshot.parts:
        new_texts = {None: fixed.decode(snapshot.encoding)}
    else:
        try:
            new_texts = dict(code_cells(fixed))
        except NotNotebook:
            return types.WorkspaceEdit(changes={})
    changes = {}
    for key, part in snapshot.parts.items():
        new = new_texts.get(key, part.text)
        if new != part.text:
            changes[part.uri] = text_edits(part.text, new, codec)
    return types.WorkspaceEdit(changes=changes)
