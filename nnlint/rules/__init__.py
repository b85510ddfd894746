"""The rule registry. Every module in this package that defines `RULE` is a rule."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterable

import libcst as cst

from nnlint.diagnostics import Applicability, Severity

if TYPE_CHECKING:
    from nnlint.facts import FileFacts
    from nnlint.fixes import Fix


@dataclass(frozen=True)
class Report:
    """What a rule's check yields: the node to point at, the message and, where the rule knows
    the repair, a fix (applied by the engine, never by the rule). The fix may be given as a
    function that builds it: it is then built only for findings that are reported, and a fix
    that fails to build costs the fix, never the finding."""

    node: cst.CSTNode
    message: str
    fix: "Fix | Callable[[], Fix | None] | None" = None


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    check: Callable[["FileFacts"], Iterable[Report]] | None = None
    # The rule runs only on files whose text contains one of these strings (a cheap pre-filter),
    # or, when it reads facts from other files (`cross_file`), on files that import project files.
    triggers: tuple[str, ...] = ()
    cross_file: bool = True
    default_enabled: bool = True
    # The kinds of fix the rule proposes (none, safe, unsafe or both), as --list-rules shows them.
    fixes: tuple[Applicability, ...] = ()


PARSE_ERROR = Rule("NN001", "syntax-error", Severity.ERROR, "The file cannot be parsed as Python.")
UNREADABLE = Rule("NN002", "unreadable-file", Severity.ERROR,
                  "The file cannot be read or decoded (binary, bad encoding, invalid notebook).")
INTERNAL_ERROR = Rule("NN000", "internal-error", Severity.ERROR,
                      "A rule failed on this file; the other rules and files still ran.")
BUILTIN_RULES = (INTERNAL_ERROR, PARSE_ERROR, UNREADABLE)


@lru_cache(maxsize=1)
def all_rules() -> tuple[Rule, ...]:
    """Built-in diagnostics and every rule module, sorted by code."""
    found: dict[str, Rule] = {rule.code: rule for rule in BUILTIN_RULES}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rule = getattr(module, "RULE", None)
        if isinstance(rule, Rule):
            if rule.code in found:
                raise RuntimeError(f"rule code {rule.code} defined twice")
            found[rule.code] = rule
    return tuple(sorted(found.values(), key=lambda r: r.code))


def rule_by_code(code: str) -> Rule | None:
    return next((rule for rule in all_rules() if rule.code == code.upper()), None)
