"""The rule pages (rules/NNxxx.md): shipped in the wheel as nnlint/catalog, read from the
checkout's rules/ when running from source."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).parent


def catalog_dir() -> Path | None:
    for candidate in (_PACKAGE_DIR / "catalog", _PACKAGE_DIR.parent / "rules"):
        if candidate.is_dir():
            return candidate
    return None


@lru_cache(maxsize=None)
def page_text(code: str) -> str | None:
    directory = catalog_dir()
    if directory is None:
        return None
    page = directory / f"{code.upper()}.md"
    return page.read_text(encoding="utf-8") if page.is_file() else None
