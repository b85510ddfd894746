"""`[tool.nnlint]` discovery and validation, merged with command-line options."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

OUTPUT_FORMATS = ("text", "json", "sarif", "github")
LIST_KEYS = ("select", "ignore", "extend-select", "exclude", "extend-exclude", "fixable", "unfixable")
BOOLEAN_KEYS = ("fix", "unsafe-fixes")
KNOWN_KEYS = LIST_KEYS + ("per-file-ignores", "output-format") + BOOLEAN_KEYS


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
    fix: bool = False
    unsafe_fixes: bool = False
    fixable: list[str] | None = None
    unfixable: list[str] = field(default_factory=list)


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` that has a [tool.nnlint] table."""
    start = start.absolute()
    for directory in [start, *start.parents] if start.is_dir() else list(start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                if "nnlint" in _load_toml(candidate).get("tool", {}):
                    return candidate
            except ConfigError:
                return candidate
    return None


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None


def _string_list(path: Path, key: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: [tool.nnlint] {key} must be a list of strings")
    return value


def load_config(path: Path, *, explicit: bool = False) -> Config:
    """Read and validate one config file. `explicit` files may hold the table at top level."""
    data = _load_toml(path)
    table = data.get("tool", {}).get("nnlint")
    if table is None:
        if not explicit:
            return Config(path=path, root=path.parent)
        table = data if path.name != "pyproject.toml" else {}
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nnlint] must be a table")
    config = Config(path=path, root=path.parent.absolute())
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            raise ConfigError(f"{path}: [tool.nnlint] unknown key '{key}' (known: {', '.join(KNOWN_KEYS)})")
        if key in LIST_KEYS:
            setattr(config, key.replace("-", "_"), _string_list(path, key, value))
        elif key in BOOLEAN_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: [tool.nnlint] {key} must be true or false")
            setattr(config, key.replace("-", "_"), value)
        elif key == "output-format":
            if value not in OUTPUT_FORMATS:
                raise ConfigError(
                    f"{path}: [tool.nnlint] output-format must be one of {', '.join(OUTPUT_FORMATS)}, got {value!r}"
                )
            config.output_format = value
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
        if not config_path.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return load_config(config_path, explicit=True)
    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    found = find_config(start)
    return load_config(found) if found else Config(root=Path.cwd())
