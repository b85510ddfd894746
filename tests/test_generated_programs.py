"""Generated programs never make nnlint fail: no NN000, no exception, whatever the shape.

A few hundred programs per run, in-process (a subprocess each would take minutes);
scripts/fuzz.py runs many more, and mutated real files too."""

from __future__ import annotations

import json
import sys
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlint.analysis import lint_bytes
from nnlint.engine import RECURSION_LIMIT
from nnlint.rules import all_rules
from program_strategies import grammar_programs, training_programs

# hypothesmith compiles what it generates: Python's warnings about those programs are noise here.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

RULES = list(all_rules())
FUZZ_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def engine_recursion_limit() -> Iterator[None]:
    """The limit every lint worker runs with."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, RECURSION_LIMIT))
    yield
    sys.setrecursionlimit(before)


def internal_errors(path: str, source: str) -> list[str]:
    result = lint_bytes(path, source.encode("utf-8", "surrogatepass"), RULES)
    return [f"{f.line}:{f.column} {f.message}" for f in result.findings if f.code == "NN000"]


@FUZZ_SETTINGS
@given(st.one_of(training_programs(), grammar_programs()))
def test_generated_programs_lint_without_internal_errors(source: str) -> None:
    assert internal_errors("generated.py", source) == []


MAGICS = ("%matplotlib inline", "!pip install torch", "files = !ls", "model?", "%%time", "%time x = 1", "%%bash", "%% ",
          "!ls \\")


@settings(FUZZ_SETTINGS, max_examples=60)
@given(training_programs(), st.data())
def test_generated_notebooks_lint_without_internal_errors(source: str, data: st.DataObject) -> None:
    lines = source.splitlines(keepends=True)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(lines)), max_size=4)))
    cells = [lines[start:end] for start, end in zip([0, *cuts], [*cuts, len(lines)])]
    magic = data.draw(st.sampled_from(MAGICS))
    cells.insert(data.draw(st.integers(0, len(cells))), [magic + "\n"])
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": cell} for cell in cells],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert internal_errors("generated.ipynb", json.dumps(notebook)) == []
