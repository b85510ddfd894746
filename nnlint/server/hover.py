"""Hover: on a finding's range, the rule's page (`nnlint --explain CODE`) as Markdown."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import PositionCodec

from nnlint.catalog import page_text
from nnlint.server.actions import findings_at
from nnlint.server.documents import Linted

SEPARATOR = "\n\n---\n\n"


def hover(linted: Linted, uri: str, position: types.Position, codec: PositionCodec) -> types.Hover | None:
    """The pages of the rules found at `position` (each once), over the first finding's range."""
    found, placement = findings_at(linted, uri, types.Range(start=position, end=position), codec)
    pages = {finding.code: page_text(finding.code) for finding in found}
    texts = [text.strip() for text in pages.values() if text]
    if not texts:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=SEPARATOR.join(texts)),
                       range=placement.range(found[0]))
