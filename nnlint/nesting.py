"""How deep a file's syntax tree nests, checked before the expensive passes.

libcst's parser slows down super-linearly on long left-recursive chains (`a.b.b.b...`,
`x[0][0]...`, `1 + 1 + ...`: seconds at a thousand levels, hours at fifty thousand), and
recursive tree walkers need Python frames per level; libcst even crashes the interpreter on
some (`a and a and ...` ten thousand times). Hand-written code nests a few dozen levels at
most; only machine-generated code goes deeper, and it gets a clear diagnostic instead."""

from __future__ import annotations

import ast
import io
import tokenize
from itertools import accumulate

MAX_NESTING = 300

_STRING_TOKENS = {tokenize.STRING} | ({tokenize.FSTRING_START} if hasattr(tokenize, "FSTRING_START") else set())


class _Source:
    """Line arithmetic over the text, built only when a long node needs it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] = []
        self._starts: list[int] = []

    @property
    def lines(self) -> list[str]:
        if not self._lines:
            # The lines as the tokenizer sees them (str.splitlines also splits at form feeds).
            self._lines = io.StringIO(self.text, newline="").readlines() or [""]
            self._starts = list(accumulate(map(len, self._lines), initial=0))
        return self._lines

    def span(self, node: ast.AST) -> int | None:
        """About how many characters the node covers; None for nodes without a position."""
        line, end_line = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if line is None or end_line is None:
            return None
        if line == end_line:
            return node.end_col_offset - node.col_offset
        last = len(self.lines)
        return (self._starts[min(end_line, last) - 1] + node.end_col_offset
                - self._starts[min(line, last) - 1] - node.col_offset)

    def segment(self, node: ast.AST) -> str:
        lines = self.lines[node.lineno - 1: node.end_lineno]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0].encode()[node.col_offset: node.end_col_offset].decode(errors="replace")
        first = lines[0].encode()[node.col_offset:].decode(errors="replace")
        last = lines[-1].encode()[: node.end_col_offset].decode(errors="replace")
        return first + "".join(lines[1:-1]) + last


def too_deep(tree: ast.AST, text: str, limit: int = MAX_NESTING) -> ast.AST | None:
    """The innermost statement holding code nested more than `limit` levels deep (as libcst
    nests it), or None.

    A subtree spanning n characters cannot nest much deeper than n levels, so only statements
    and the few expressions long enough to hold `limit` levels are walked: an ordinary file
    costs one look at each statement."""
    source = _Source(text)
    stack: list[tuple[ast.AST, int, ast.AST]] = [(tree, 0, tree)]
    while stack:
        node, depth, anchor = stack.pop()
        depth += _extra_levels(node, source, limit - depth)
        if depth > limit:
            return anchor
        for child in ast.iter_child_nodes(node):
            size = source.span(child)
            if size is None or depth + size + 2 > limit or _holds_statements(child):
                stack.append((child, depth + 1, child if isinstance(child, ast.stmt) else anchor))
    return None


def _extra_levels(node: ast.AST, source: _Source, room: int) -> int:
    """Levels libcst adds where ast stays flat: `a and b and c` and `"a" "b" "c"` nest there."""
    if isinstance(node, ast.BoolOp):
        return len(node.values) - 1
    if isinstance(node, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(node, "value", ""), (str, bytes)):
        size = source.span(node)
        if size is not None and size > room:
            segment = source.segment(node)
            # Each literal has two quotes at least: few quotes, few literals, no tokenizing.
            if segment.count('"') + segment.count("'") > 2 * room:
                return _string_pieces(segment) - 1
    return 0


def _string_pieces(segment: str) -> int:
    """How many string literals are implicitly concatenated in `segment`."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(f"({segment})").readline)
        return max(1, sum(1 for token in tokens if token.type in _STRING_TOKENS))
    except (tokenize.TokenError, SyntaxError):
        return 1


def _holds_statements(node: ast.AST) -> bool:
    """Compound statements, handlers and match cases: their span says nothing of their depth."""
    return hasattr(node, "body") and isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case))
