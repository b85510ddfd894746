"""The editor's settings: the command line's names, from `initializationOptions` or
`workspace/didChangeConfiguration` (at the top level, or under "nnlint")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlint.config import ConfigError
from nnlint.rules.metadata import RULES
from nnlint.selection import RuleSelection

SECTION = "nnlint"
CODE_LISTS = ("select", "extend-select", "ignore")
NAMES = (*CODE_LISTS, "unsafe-fixes", "config")


class SettingsError(ValueError):
    """Settings that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """As `nnlint --select ... --extend-select ... --ignore ... --unsafe-fixes --config FILE`:
    None where the setting is not given (the configuration file decides)."""

    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    unsafe_fixes: bool | None = None
    config: str | None = None


def own_section(value: Any) -> Any:
    """The settings meant for nnlint: the "nnlint" member where there is one."""
    if isinstance(value, dict) and isinstance(value.get(SECTION), dict):
        return value[SECTION]
    return value


def read_settings(value: Any) -> Settings:
    """Settings from a client's JSON (None or {} for none); SettingsError for a bad one."""
    value = own_section(value)
    if value is None:
        return Settings()
    if not isinstance(value, dict):
        raise SettingsError(f"settings must be an object with {', '.join(NAMES)}")
    unknown = sorted(set(value) - set(NAMES))
    if unknown:
        raise SettingsError(f"unknown setting '{unknown[0]}' (known: {', '.join(NAMES)})")
    codes = {name: _codes(name, value[name]) if value.get(name) is not None else None for name in CODE_LISTS}
    unsafe = value.get("unsafe-fixes")
    if unsafe is not None and not isinstance(unsafe, bool):
        raise SettingsError("unsafe-fixes must be true or false")
    config = value.get("config")
    if config is not None and not isinstance(config, str):
        raise SettingsError("config must be the path of a configuration file")
    try:  # unknown codes are found now, not at the first lint
        RuleSelection(list(RULES), codes["select"], codes["extend-select"] or [], codes["ignore"] or [], {},
                      Path.cwd(), origin="settings")
    except ConfigError as err:
        raise SettingsError(str(err)) from None
    return Settings(codes["select"], codes["extend-select"], codes["ignore"], unsafe, config or None)


def _codes(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise SettingsError(f"{name} must be a list of rule codes or prefixes")
    return [code.strip() for code in value if code.strip()]
