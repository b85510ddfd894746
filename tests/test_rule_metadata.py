"""The rule table (rules/metadata.py) and the rule modules agree, and what each path imports:
a run from the cache and the flake8 plugin import no check, a file only the facts it needs."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

import nnlint.rules
from helpers import REPO
from nnlint.rules import load_rule, rule_modules
from nnlint.rules.metadata import BUILTIN_RULES, RULES, RuleInfo

CHECKED_CODES = sorted(rule_modules())


def _metadata(rule: RuleInfo) -> dict:
    return {field.name: getattr(rule, field.name) for field in fields(RuleInfo)}


@pytest.mark.parametrize("code", CHECKED_CODES)
def test_every_rule_module_repeats_its_row(code: str) -> None:
    row = next((rule for rule in RULES if rule.code == code), None)
    assert row is not None, f"{rule_modules()[code]} has no row in nnlint/rules/metadata.py RULES"
    assert _metadata(load_rule(code)) == _metadata(row)


def test_every_row_has_a_module_and_every_module_of_the_package_is_a_rule() -> None:
    assert sorted(rule.code for rule in RULES if rule not in BUILTIN_RULES) == CHECKED_CODES
    others = {name for _, name, _ in pkgutil.iter_modules(nnlint.rules.__path__)} - set(rule_modules().values())
    assert others == {"metadata"}, "a module in nnlint/rules must be named nnXXX_name.py after its rule"


def test_the_table_is_sorted_by_code_and_each_code_appears_once() -> None:
    codes = [rule.code for rule in RULES]
    assert codes == sorted(set(codes))


def _modules_after(code: str, cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    result = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


def _checks_and_parsers(modules: set[str]) -> set[str]:
    data_only = {"nnlint.facts", "nnlint.facts.summary", "nnlint.facts.core", "nnlint.facts.core.values",
                 "nnlint.facts.core.places", "nnlint.facts.project"}
    return {name for name in modules if name.split(".")[0] == "libcst" or name == "nnlint.analysis"
            or (name.startswith("nnlint.facts") and name not in data_only)
            or (name.startswith("nnlint.rules.") and name != "nnlint.rules.metadata")}


def test_a_run_answered_from_the_cache_imports_no_parser_fact_or_rule(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("import torch\nloss = torch.nn.CrossEntropyLoss()(torch.softmax(x, 1), y)\n")
    run = "from nnlint.cli import run\nrun(['-q', 'train.py'])"
    env = {"NNLINT_CACHE_DIR": str(tmp_path / "cache")}
    assert "libcst" in _modules_after(run, tmp_path, env)
    assert _checks_and_parsers(_modules_after(run, tmp_path, env)) == set()


def test_listing_rules_and_loading_the_flake8_plugin_import_no_check(tmp_path: Path) -> None:
    assert _checks_and_parsers(_modules_after("from nnlint.cli import run\nrun(['--list-rules'])", tmp_path)) == set()
    assert _checks_and_parsers(_modules_after("import nnlint.flake8_plugin", tmp_path)) == set()


def test_a_file_imports_only_the_rules_its_text_triggers_and_the_facts_they_read(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text("import torch\n\nnorm = torch.nn.BatchNorm1d(3)\n")
    modules = _modules_after("from nnlint.engine import lint_file\nlint_file('model.py')", tmp_path)
    assert "nnlint.rules.nn103_bias_before_batchnorm" in modules
    assert not {name for name in modules if name.startswith(("nnlint.rules.nn3", "nnlint.rules.nn6"))}
    assert not {"nnlint.facts.pytorch.modes", "nnlint.facts.data.data_splits", "nnlint.facts.data.shuffling", "nnlint.facts.data.loaders",
                "nnlint.facts.pytorch.layout"} & modules
