"""The catalog: a page per rule, complete, and its examples behave as the page says."""

from __future__ import annotations

import json
import re

import pytest

from helpers import RULE_PAGES, expected_findings, run_nnlint
from nnlint.rules import all_rules

REQUIRED_SECTIONS = ("## What it finds", "## Why it is a bug", "## Bad", "## Good", "## How to fix", "## Known limits")
BUILTIN_SECTIONS = ("## What it finds", "## How to fix")
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
CELL_MARKER = "# %%"  # an example that starts with one is a notebook, its cells in the percent format
CODES = [rule.code for rule in all_rules()]
RULE_CODES = [rule.code for rule in all_rules() if rule.check is not None]


def _section(page: str, heading: str) -> str:
    start = page.index(heading) + len(heading)
    following = page.find("\n## ", start)
    return page[start: following if following != -1 else len(page)]


def _as_notebook(code: str) -> tuple[str, dict[tuple[int, int], int]]:
    """An example written as cells (each after a `# %%` line) as a notebook, and the line of the
    example each (cell, line in the cell) is."""
    cells: list[list[str]] = []
    example_lines: dict[tuple[int, int], int] = {}
    for number, line in enumerate(code.splitlines(), start=1):
        if line.startswith(CELL_MARKER):
            cells.append([])
            continue
        cells[-1].append(line)
        example_lines[(len(cells), len(cells[-1]))] = number
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": "\n".join(lines)} for lines in cells],
        "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook), example_lines


def _lint_example(code: str, rule: str) -> set[tuple[int, str]]:
    if code.startswith(CELL_MARKER):
        notebook, example_lines = _as_notebook(code)
        result = run_nnlint("--output-format", "json", "--extend-select", rule, "--stdin-filename", "example.ipynb",
                            "-", stdin=notebook.encode())
        assert result.returncode in (0, 1), result.stderr.decode()
        return {(example_lines[(f["cell"], f["line"])], f["code"]) for f in json.loads(result.stdout)}
    result = run_nnlint("--output-format", "json", "--extend-select", rule, "-", stdin=code.encode())
    assert result.returncode in (0, 1), result.stderr.decode()
    return {(f["line"], f["code"]) for f in json.loads(result.stdout)}


def test_every_rule_has_a_page_and_every_page_a_rule() -> None:
    pages = {p.stem for p in RULE_PAGES.glob("NN*.md")}
    assert pages == set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_page_is_complete(code: str) -> None:
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    rule = next(r for r in all_rules() if r.code == code)
    assert page.startswith(f"# {code} {rule.name}\n")
    for heading in REQUIRED_SECTIONS if rule.check is not None else BUILTIN_SECTIONS:
        assert heading in page, f"{code}: missing {heading}"


@pytest.mark.parametrize("code", RULE_CODES)
def test_bad_example_is_flagged_at_the_marked_line(code: str) -> None:
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    blocks = CODE_BLOCK.findall(_section(page, "## Bad"))
    assert blocks, f"{code}: no python block under ## Bad"
    for block in blocks:
        expected = expected_findings(block)
        assert any(c == code for _, c in expected), f"{code}: the bad example marks no line with # expect: {code}"
        assert _lint_example(block, code) == expected


@pytest.mark.parametrize("code", RULE_CODES)
def test_good_example_is_clean(code: str) -> None:
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    blocks = CODE_BLOCK.findall(_section(page, "## Good"))
    assert blocks, f"{code}: no python block under ## Good"
    for block in blocks:
        assert _lint_example(block, code) == set()


@pytest.mark.parametrize("code", CODES)
def test_explain_prints_the_page(code: str) -> None:
    result = run_nnlint("--explain", code.lower())
    assert result.returncode == 0
    assert result.stdout.decode() == (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")


def test_explain_unknown_code_is_a_usage_error() -> None:
    result = run_nnlint("--explain", "NN999")
    assert result.returncode == 2
    assert b"unknown rule code" in result.stderr


def test_list_rules_names_every_rule_with_its_default() -> None:
    result = run_nnlint("--list-rules")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    for rule in all_rules():
        line = next(line for line in lines if line.startswith(rule.code))
        assert rule.name in line
        assert (" on " if rule.default_enabled else " off ") in line
