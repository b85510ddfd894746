"""The machine-readable formats, each checked against what its consumer reads: SARIF against the
official OASIS schema."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from helpers import FIXTURES, run_nnlint
from test_cli import BUGGY, CLEAN

DATA = Path(__file__).parent / "data"
# Relative paths that a URI must percent-encode: a space, `%`, `#`, `:` (else read as a scheme),
# non-ASCII characters.
AWKWARD_NAMES = ("my model.py", "100%.py", "a#b.py", "données/modèle.py", "x:y.py", "训练.py")
NOTEBOOK = FIXTURES / "buggy" / "notebooks" / "chain_restarts_in_one_cell.ipynb"


@pytest.fixture()
def awkward_project(tmp_path: Path) -> Path:
    for name in AWKWARD_NAMES:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(BUGGY)
    (tmp_path / "clean.py").write_text(CLEAN)
    shutil.copy(NOTEBOOK, tmp_path / "notebook.ipynb")
    return tmp_path


def _validator(schema_file: str) -> jsonschema.protocols.Validator:
    schema = json.loads((DATA / schema_file).read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, format_checker=jsonschema.FormatChecker())


def test_uri_references_are_checked_at_all() -> None:
    """Without rfc3986-validator (or rfc3987), jsonschema passes every uri-reference unchecked."""
    checker = jsonschema.FormatChecker()
    assert "uri-reference" in checker.checkers
    assert not checker.conforms("my model.py", "uri-reference") and checker.conforms("my%20model.py", "uri-reference")


@pytest.mark.parametrize("absolute", [False, True])
def test_sarif_is_valid_against_the_oasis_schema(awkward_project: Path, absolute: bool) -> None:
    target = str(awkward_project) if absolute else "."
    result = run_nnlint("--output-format", "sarif", target, cwd=awkward_project)
    log = json.loads(result.stdout)
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
              for error in _validator("sarif-schema-2.1.0.json").iter_errors(log)]
    assert errors == []
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    if absolute:
        assert all(uri.startswith("file:///") for uri in uris)
        assert {Path(unquote(uri.removeprefix("file://"))) for uri in uris} == {
            awkward_project / name for name in (*AWKWARD_NAMES, "notebook.ipynb")}
    else:
        assert {unquote(uri) for uri in uris} == {*AWKWARD_NAMES, "notebook.ipynb"}
        assert "my%20model.py" in uris and "100%25.py" in uris and "a%23b.py" in uris and "x%3Ay.py" in uris
