"""Which rules run on which file: select / extend-select / ignore and per-file-ignores."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Iterable

from nnlint.config import Config, ConfigError
from nnlint.rules.metadata import RULES, RuleInfo


def _validate(selectors: Iterable[str], codes: Iterable[str], origin: str) -> list[str]:
    known = list(codes)
    result = []
    for raw in selectors:
        selector = raw.strip().upper()
        if not selector:
            continue
        if selector != "ALL" and not any(code.startswith(selector) for code in known):
            raise ConfigError(f"{origin}: unknown rule code or prefix '{raw}'")
        result.append("" if selector == "ALL" else selector)
    return result


# A rule that is off by default runs only when a selector names its family (NN7) or itself.
FAMILY_PREFIX = "NN7"


def _longest(code: str, selectors: list[str]) -> int:
    return max((len(s) for s in selectors if code.startswith(s)), default=-1)


class RuleSelection:
    """Decides, like flake8's decision engine, by the most specific matching selector."""

    def __init__(
        self,
        rules: list[RuleInfo],
        select: list[str] | None,
        extend_select: list[str],
        ignore: list[str],
        per_file_ignores: dict[str, list[str]],
        root: Path,
        origin: str = "options",
    ) -> None:
        codes = [rule.code for rule in rules]
        chosen = _validate(select, codes, origin) if select is not None else None
        extra = _validate(extend_select, codes, origin)
        ignored = _validate(ignore, codes, origin)
        enabled = []
        for rule in rules:
            base = chosen if chosen is not None else ([""] if rule.default_enabled else [])
            picked = max(_longest(rule.code, base), _longest(rule.code, extra))
            if not rule.default_enabled and picked < len(FAMILY_PREFIX):
                picked = -1
            if picked >= 0 and picked > _longest(rule.code, ignored):
                enabled.append(rule)
        self.enabled: list[RuleInfo] = enabled
        self._per_file = [
            (pattern, str((root / pattern).absolute()), _validate(codes_for, codes, f"{origin} per-file-ignores"))
            for pattern, codes_for in per_file_ignores.items()
        ]

    @classmethod
    def configured(cls, config: Config, select: list[str] | None = None, extend_select: list[str] | None = None,
                   ignore: list[str] | None = None) -> "RuleSelection":
        """The selection of a configuration and options given beside it (the command line's, an
        editor's settings): `select` replaces the configuration's, the others add to it."""
        return cls(
            list(RULES),
            select=select if select is not None else config.select,
            extend_select=(config.extend_select or []) + (extend_select or []),
            ignore=(config.ignore or []) + (ignore or []),
            per_file_ignores=config.per_file_ignores,
            root=config.root,
            origin=str(config.path) if config.path else "options",
        )

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(rule.code for rule in self.enabled)

    def ignored_in(self, path: str) -> tuple[str, ...]:
        """Code prefixes that per-file-ignores switch off for `path`."""
        if not self._per_file:
            return ()
        absolute = str(Path(path).absolute())
        name = Path(path).name
        result: list[str] = []
        for pattern, absolute_pattern, prefixes in self._per_file:
            if fnmatch.fnmatch(absolute, absolute_pattern) or fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(path, pattern):
                result.extend(prefixes)
        return tuple(result)


class FixableCodes:
    """Which codes `--fix` may fix: those `fixable` names (default: all) and `unfixable` does not."""

    def __init__(self, rules: list[RuleInfo], fixable: list[str] | None, unfixable: list[str],
                 origin: str = "options") -> None:
        codes = [rule.code for rule in rules]
        self._fixable = _validate(fixable, codes, origin) if fixable is not None else [""]
        self._unfixable = _validate(unfixable, codes, origin)

    def __call__(self, code: str) -> bool:
        return _longest(code, self._fixable) >= 0 and _longest(code, self._unfixable) < 0
