"""`[tool.nnlint]` discovery and validation, merged with command-line options."""

from __future__ import annotations

import codecs
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlint.files import read_regular_file

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

OUTPUT_FORMATS = ("text", "full", "json", "sarif", "github", "gitlab", "junit")
TEXT_FORMATS = ("text", "full")  # for people: a summary may follow the findings; the others are for machines
OUTPUT_FORMAT_HELP = ("text (default); full: text and the flagged source line; json; sarif (code scanning); "
                      "github (annotations); gitlab (Code Quality); junit (XML)")
LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "fixable", "unfixable")
FIX_SWITCHES = ("fix", "unsafe-fixes")
KNOWN_KEYS = LIST_KEYS + ("per-file-ignores", "output-format", "force-exclude") + FIX_SWITCHES


class ConfigError(Exception):
    """A configuration problem, reported on one line and answered with exit code 2."""


@dataclass
class Config:
    """Options from a config file; paths in it are relative to `root`."""

    path: Path | None = None
    root: Path = field(default_factory=Path.cwd)
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    output_format: str | None = None
    force_exclude: bool = False
    fix: bool = False
    unsafe_fixes: bool = False
    fixable: list[str] | None = None
    unfixable: list[str] = field(default_factory=list)

    def exclude_patterns(self) -> list[str]:
        """exclude and extend-exclude as the file walk matches them: a pattern with a folder in
        it is relative to the configuration's folder, a bare name matches anywhere."""
        return [str(self.root / p) if "/" in p else p for p in self.exclude + self.extend_exclude]


# A pyproject.toml that cannot be parsed is the configuration only when it plainly means to
# be one: a [tool.nnlint...] header or a tool.nnlint... key. Any other broken one above the
# project (a parent folder's, another tool's) is none of nnlint's business.
MENTIONS_NNLINT = re.compile(r"""^[ \t]*\[*[ \t]*["']?tool["']?[ \t]*\.[ \t]*["']?nnlint\b""", re.MULTILINE)
MAX_CONFIG_BYTES = 1_000_000


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.nnlint] table."""
    start = start.absolute()
    for directory in [start, *start.parents] if os.path.isdir(start) else list(start.parents):
        candidate = directory / "pyproject.toml"
        if _configures_nnlint(candidate):
            return candidate
    return None


def _configures_nnlint(candidate: Path) -> bool:
    try:
        data = read_regular_file(candidate, limit=MAX_CONFIG_BYTES)
    except OSError:  # none there, or one that cannot be read (in a folder without permission...)
        return False
    try:
        tool = tomllib.loads(data.decode("utf-8")).get("tool")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return _mentions_nnlint(data)
    return isinstance(tool, dict) and "nnlint" in tool


def _mentions_nnlint(data: bytes) -> bool:
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # as some Windows editors save it
    return MENTIONS_NNLINT.search(data.decode("utf-16" if utf16 else "utf-8", errors="replace")) is not None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        data = read_regular_file(path, limit=MAX_CONFIG_BYTES)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8 text, as TOML must be: {err.reason} at byte {err.start}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    return names.get(type(value), "a date or time")


def _string_list(path: Path, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: [tool.nnlint] {key} must be a list of strings")
    return value


def load_config(path: Path, *, explicit: bool = False) -> Config:
    """Read and validate one config file. `explicit` files may hold the table at top level."""
    data = _load_toml(path)
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool must be a table, not {_toml_type(tool)}")
    table = tool.get("nnlint")
    if table is None:
        if not explicit:
            return Config(path=path, root=path.parent)
        table = data if path.name != "pyproject.toml" else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nnlint] must be a table, not {_toml_type(table)}")
    config = Config(path=path, root=path.parent.absolute())
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{path}: [tool.nnlint] unknown key '{key}' (known: {', '.join(KNOWN_KEYS)})")
        if key in LIST_KEYS:
            setattr(config, key.replace("-", "_"), _string_list(path, key, value))
        elif key in FIX_SWITCHES:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: [tool.nnlint] {key} must be true or false")
            setattr(config, key.replace("-", "_"), value)
        elif key == "output-format":
            if value not in OUTPUT_FORMATS:
                raise ConfigError(
                    f"{path}: [tool.nnlint] output-format must be one of {', '.join(OUTPUT_FORMATS)}, got {value!r}"
                )
            config.output_format = value
        elif key == "force-exclude":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: [tool.nnlint] force-exclude must be true or false")
            config.force_exclude = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [tool.nnlint] per-file-ignores must be a table of pattern = [codes]")
            config.per_file_ignores = {
                pattern: _string_list(path, f"per-file-ignores.{pattern}", codes) for pattern, codes in value.items()
            }
    return config


def discover_config(paths: list[str], explicit: str | None) -> Config:
    if explicit:
        config_path = Path(explicit)
        if not os.path.isfile(config_path):
            raise ConfigError(f"{explicit}: config file not found")
        return load_config(config_path, explicit=True)
    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    found = find_config(start)
    return load_config(found) if found else Config(root=Path.cwd())
