"""The rules' checks: one module per rule (nnXXX_name.py) that defines `RULE = Rule(...)`,
imported only when a file needs its check. Their metadata is in rules/metadata.py."""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Iterable

from nnlint.rules.metadata import BUILTIN_RULES, RuleInfo

if TYPE_CHECKING:
    import libcst as cst

    from nnlint.facts import FileFacts
    from nnlint.facts.core.places import Place
    from nnlint.fixes import Fix

_RULE_MODULE = re.compile(r"nn\d{3}_\w+")


@dataclass(frozen=True)
class Report:
    """What a rule's check yields: the node to point at, the message and, where the rule knows
    the repair, a fix (applied by the engine, never by the rule). The fix may be given as a
    function that builds it: it is then built only for findings that are reported, and a fix
    that fails to build costs the fix, never the finding. `related` names other nodes of the
    file that are part of the bug, each with a message (where the value the finding is about was made)."""

    node: cst.CSTNode
    message: str
    fix: Fix | Callable[[], Fix | None] | None = None
    related: tuple[tuple[cst.CSTNode, str], ...] = ()
    # Places of the bug in other files of the project (a helper's loss, fit or view), each with a message.
    elsewhere: tuple[tuple[Place, str], ...] = ()


@dataclass(frozen=True)
class Rule(RuleInfo):
    """A rule with its check (None: only `nnlint trace` reports it)."""

    check: Callable[[FileFacts], Iterable[Report]] | None = None


@lru_cache(maxsize=1)
def rule_modules() -> dict[str, str]:
    """Rule code -> the name of its module, from the package's file names (nothing imported)."""
    modules: dict[str, str] = {}
    for _, name, _ in pkgutil.iter_modules(__path__):
        if _RULE_MODULE.fullmatch(name):
            code = name[:5].upper()
            if code in modules:
                raise RuntimeError(f"rule code {code} has two modules: {modules[code]} and {name}")
            modules[code] = name
    return modules


@lru_cache(maxsize=None)
def load_rule(code: str) -> Rule:
    """The rule of a code, with its check: imports its module (and the facts the module uses)."""
    rule = getattr(importlib.import_module(f"{__name__}.{rule_modules()[code]}"), "RULE", None)
    if not isinstance(rule, Rule) or rule.code != code:
        raise RuntimeError(f"module {rule_modules()[code]} must define RULE = Rule(code={code!r}, ...)")
    return rule


def all_rules() -> tuple[Rule, ...]:
    """Every rule with its check (None for the built-in diagnostics), sorted by code; imports
    every rule module, where metadata.RULES imports none."""
    builtins = [Rule(**vars(info)) for info in BUILTIN_RULES]
    return tuple(sorted([*builtins, *map(load_rule, rule_modules())], key=lambda rule: rule.code))
