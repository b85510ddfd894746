"""Writing fixed cells back into a notebook's JSON, byte for byte everywhere else.

The notebook is not loaded and dumped again (that would reformat it); the JSON text is walked
to find where each code cell's `source` value is, and only the values of changed cells are
written anew, in the layout the file already uses (a list of lines, or one string). Lines of a
changed cell that stayed the same keep their original JSON text."""

from __future__ import annotations

import difflib
import json
import re
from json.decoder import scanstring
from typing import Iterator, Mapping

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


class NotebookLayoutError(Exception):
    """The notebook's JSON is not laid out as one that can be written back."""


def code_cell_sources(text: str) -> dict[int, tuple[int, int]]:
    """Cell number (from 1, as code_cells counts them) -> where its source value is in `text`."""
    spans: dict[int, tuple[int, int]] = {}
    start = _skip(text, 1 if text.startswith("\ufeff") else 0)
    cells_at: list[tuple[int, str]] = []  # (position of a list of cells, the key holding a cell's source)
    for key, value_start, _ in _members(text, start):
        if key == "cells":
            cells_at.append((value_start, "source"))
        elif key == "worksheets" and text[value_start] == "[":  # nbformat 3
            for sheet_start, _ in _items(text, value_start):
                for sheet_key, sheet_value, _ in _members(text, sheet_start):
                    if sheet_key == "cells":
                        cells_at.append((sheet_value, "input"))
    number = 0
    for cells_start, source_key in cells_at:
        if text[cells_start] != "[":
            raise NotebookLayoutError("the cells are not a list")
        for cell_start, _ in _items(text, cells_start):
            number += 1
            for key, value_start, value_end in _members(text, cell_start):
                if key == source_key:
                    spans[number] = (value_start, value_end)
    return spans


def with_sources(data: bytes, sources: Mapping[int, str]) -> bytes:
    """The notebook with the source of the given cells replaced, every other byte unchanged."""
    try:
        text = data.decode("utf-8")
        spans = code_cell_sources(text)
    except (UnicodeDecodeError, ValueError, IndexError) as err:
        raise NotebookLayoutError(str(err)) from None
    ascii_only = "\\u" in text and text.isascii()
    pieces, position = [], 0
    for cell in sorted(sources, key=lambda number: spans[number][0]):
        start, end = spans[cell]
        pieces.extend((text[position:start], _source_value(text[start:end], sources[cell], ascii_only)))
        position = end
    pieces.append(text[position:])
    return "".join(pieces).encode("utf-8")


def _source_value(old: str, source: str, ascii_only: bool) -> str:
    if not old.startswith("["):
        return json.dumps(source, ensure_ascii=ascii_only)
    items = list(_items(old, 0))
    tokens = [old[start:end] for start, end in items]
    lines = _LINE.findall(source)
    if not lines:
        return "[]"
    old_lines = [json.loads(token) for token in tokens]
    new_tokens: list[str] = []
    matcher = difflib.SequenceMatcher(a=old_lines, b=lines, autojunk=False)
    for tag, old_from, old_to, new_from, new_to in matcher.get_opcodes():
        if tag == "equal":
            new_tokens.extend(tokens[old_from:old_to])
        else:
            new_tokens.extend(json.dumps(line, ensure_ascii=ascii_only) for line in lines[new_from:new_to])
    if items:
        opening = old[1:items[0][0]]
        between = old[items[0][1]:items[1][0]] if len(items) > 1 else "," + opening
        closing = old[items[-1][1]:-1]
    else:
        opening, between, closing = "\n", ",\n", "\n"
    return "[" + opening + between.join(new_tokens) + closing + "]"


def _skip(text: str, position: int) -> int:
    return _SPACE.match(text, position).end()  # type: ignore[union-attr]


def _members(text: str, start: int) -> Iterator[tuple[str, int, int]]:
    """(key, value start, value end) of each member of the object at `start`."""
    if text[start] != "{":
        raise NotebookLayoutError("expected an object")
    position = _skip(text, start + 1)
    if text[position] == "}":
        return
    while True:
        if text[position] != '"':
            raise NotebookLayoutError("expected a key")
        key, position = scanstring(text, position + 1)
        position = _skip(text, position)
        if text[position] != ":":
            raise NotebookLayoutError("expected ':'")
        value_start = _skip(text, position + 1)
        _, value_end = _DECODER.raw_decode(text, value_start)
        yield key, value_start, value_end
        position = _skip(text, value_end)
        if text[position] == "}":
            return
        if text[position] != ",":
            raise NotebookLayoutError("expected ',' or '}'")
        position = _skip(text, position + 1)


def _items(text: str, start: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each item of the array at `start`."""
    if text[start] != "[":
        raise NotebookLayoutError("expected a list")
    position = _skip(text, start + 1)
    if text[position] == "]":
        return
    while True:
        _, end = _DECODER.raw_decode(text, position)
        yield position, end
        position = _skip(text, end)
        if text[position] == "]":
            return
        if text[position] != ",":
            raise NotebookLayoutError("expected ',' or ']'")
        position = _skip(text, position + 1)
