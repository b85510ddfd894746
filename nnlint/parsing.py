"""libcst's parse, without re-validating the tree its own parser builds.

Every libcst node checks its invariants in `__post_init__` when it is constructed; that is
right for trees built by hand (fixes) and redundant for a tree the parser builds from text
that has already passed Python's own syntax check. On real code it is about a fifth of the
parse (libcst's authors say as much in a PERF note on `CSTNode.__post_init__`). So while
nnlint parses, node construction skips the check; nodes built at any other time are checked
as usual. A libcst without that hook simply parses with its checks."""

from __future__ import annotations

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATING_POST_INIT = CSTNode.__dict__.get("__post_init__")


def _unchecked(self: CSTNode) -> None:
    return None


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module(text)`, minus the per-node validation; raises what it raises."""
    if _VALIDATING_POST_INIT is None:
        return cst.parse_module(text)
    CSTNode.__post_init__ = _unchecked  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        CSTNode.__post_init__ = _VALIDATING_POST_INIT  # type: ignore[method-assign]
