"""`# noqa` comments, read exactly as flake8 reads them."""

from __future__ import annotations

import re

# The same expression flake8 uses (flake8/defaults.py), so both tools agree on every line.
NOQA_INLINE = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,\s]")


def is_suppressed(code: str, physical_line: str) -> bool:
    """True when the line's noqa comment covers `code` (a bare noqa covers every code)."""
    if "noqa" not in physical_line.lower():
        return False
    match = NOQA_INLINE.search(physical_line)
    if match is None:
        return False
    codes_text = match.group("codes")
    if codes_text is None:
        return True
    codes = tuple(c.strip().upper() for c in _SEPARATOR.split(codes_text) if c.strip())
    return code in codes or code.startswith(codes)


def with_noqa(physical_line: str, code: str) -> str:
    """The line with `code` added to its noqa comment (`# noqa: NN201,NN301`), or with
    `  # noqa: CODE` after its code; unchanged where its noqa already covers the code."""
    if is_suppressed(code, physical_line):
        return physical_line
    match = NOQA_INLINE.search(physical_line)
    if match is None:
        return f"{physical_line.rstrip()}  # noqa: {code}"
    end = match.start("codes") + len(match.group("codes").rstrip(", \t"))
    return f"{physical_line[:end]},{code}{physical_line[end:]}"
