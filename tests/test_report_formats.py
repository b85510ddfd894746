"""The machine-readable formats, each checked against what its consumer reads: SARIF against the
official OASIS schema, GitLab Code Quality against the keys GitLab requires, JUnit parsed back
by a JUnit parser; and `full`, the text format with the flagged source lines."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from helpers import FIXTURES, parse_text_output, run_nnlint
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


def test_gitlab_code_quality(awkward_project: Path) -> None:
    (awkward_project / "again.py").write_text(BUGGY)  # the same findings in another file: other issues
    paths = (".", "./again.py", str(awkward_project / "again.py"))  # one file three times: one path, as GitLab wants it
    result = run_nnlint("--output-format", "gitlab", *paths, cwd=awkward_project)
    assert result.returncode == 1 and result.stderr == b""
    issues = json.loads(result.stdout)
    assert list(_validator("gitlab-code-quality.schema.json").iter_errors(issues)) == []
    text = parse_text_output(run_nnlint(".", cwd=awkward_project).stdout.decode().replace(":cell 3:", ":"))
    assert sorted((i["location"]["path"], i["location"]["lines"]["begin"], i["check_name"]) for i in issues) == sorted(
        [(f["path"], f["line"], f["code"]) for f in text] + 2 * [(f["path"], f["line"], f["code"]) for f in text
                                                                 if f["path"] == "again.py"])
    # GitLab keeps one issue per fingerprint: those of different files differ, those of one file
    # named three times do not.
    assert len({issue["fingerprint"] for issue in issues}) == len(text)
    first = next(i for i in issues if i["location"]["path"] == "again.py")
    assert first["severity"] == "major" and first["description"].startswith("NN201 probabilities from softmax()")
    assert [i["description"][-8:] for i in issues if i["location"]["path"] == "notebook.ipynb"] == ["(cell 3)"]

    # The fingerprint is the baseline's: it stays when the finding moves to another line.
    (awkward_project / "again.py").write_text("# a new first line\n" + BUGGY)
    moved = json.loads(run_nnlint("--output-format", "gitlab", ".", cwd=awkward_project).stdout)
    before = {i["fingerprint"]: i["location"]["lines"]["begin"] for i in issues if i["location"]["path"] == "again.py"}
    after = {i["fingerprint"]: i["location"]["lines"]["begin"] for i in moved if i["location"]["path"] == "again.py"}
    assert after == {fingerprint: line + 1 for fingerprint, line in before.items()}


def test_junit_has_a_test_case_per_file_and_a_failure_per_finding(awkward_project: Path) -> None:
    result = run_nnlint("--output-format", "junit", ".", cwd=awkward_project)
    assert result.returncode == 1 and result.stderr == b""
    findings = parse_text_output(run_nnlint(".", cwd=awkward_project).stdout.decode().replace(":cell 3:", ":"))
    report = JUnitXml.fromstring(result.stdout.decode())
    suites = list(report)
    assert len(suites) == 1 and suites[0].tests == len(AWKWARD_NAMES) + 2 and suites[0].failures == len(findings)
    cases = {case.name: case for case in suites[0]}
    assert set(cases) == {*AWKWARD_NAMES, "clean.py", "notebook.ipynb"}
    assert cases["clean.py"].is_passed
    failures = {name: [(r.type, r.message) for r in case.result if isinstance(r, Failure)] for name, case in cases.items()}
    assert sum(map(len, failures.values())) == len(findings)
    assert failures["my model.py"] == [(f["code"], f"{f['code']} {f['message']}") for f in findings
                                       if f["path"] == "my model.py"]
    # The structure Jenkins's JUnit plugin reads: testsuites > testsuite > testcase > failure.
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites" and [suite.tag for suite in root] == ["testsuite"]
    for case in root[0]:
        assert case.tag == "testcase" and case.get("classname") and case.get("name")
        assert all(failure.tag == "failure" and failure.get("type") and failure.get("message") for failure in case)


def test_full_shows_the_flagged_line_with_a_caret_under_the_column(tmp_path: Path) -> None:
    indented_with_tabs = BUGGY.replace("\n    for", "\n\tfor").replace("\n        ", "\n\t\t")
    (tmp_path / "train.py").write_text(indented_with_tabs)
    shutil.copy(NOTEBOOK, tmp_path / "notebook.ipynb")
    result = run_nnlint("--output-format", "full", ".", cwd=tmp_path)
    assert result.returncode == 1 and "3 findings in 2 of 2 files" in result.stderr.decode()
    notes = [line for line in result.stdout.decode().splitlines() if line.startswith("  = note: ")]
    assert notes == ["  = note: train.py:5:13: the probabilities come from softmax() here"]
    lines = [line for line in result.stdout.decode().splitlines() if line not in notes]
    text = run_nnlint("--output-format", "text", ".", cwd=tmp_path).stdout.decode().splitlines()
    assert lines[0::3] == text  # the text format, and two lines after each finding
    assert text[0].startswith("notebook.ipynb:cell 3:2:1: NN101 ")  # the line in its cell
    assert lines[1:3] == ["features = conv2(images)  # expect: NN101", "^"]
    assert text[1].startswith("train.py:6:12: NN201 ")
    assert lines[4:6] == ["    return F.cross_entropy(probs, target)", "           ^"]
    assert text[2].startswith("train.py:11:3: NN301 ")
    assert lines[7:9] == ["\t\tloss(model(x), y).backward()", "\t\t^"]  # tabs kept: the caret lines up


_HELPER_FED_PROBABILITIES = (
    "import torch.nn.functional as F\n"
    "\n"
    "\n"
    "def compute_loss(scores, labels):\n"
    "    return F.cross_entropy(scores, labels)\n"
    "\n"
    "\n"
    "def step(model, x, y):\n"
    "    probs = F.softmax(model(x), dim=1)\n"
    "    return compute_loss(probs, y)\n"
)


def test_json_and_sarif_name_the_other_places_of_the_bug(tmp_path: Path) -> None:
    """Reported at the call that passes the probabilities; related: the softmax, and the loss in the helper."""
    script = tmp_path / "train.py"
    script.write_text(_HELPER_FED_PROBABILITIES)
    [finding] = json.loads(run_nnlint("--no-cache", "--output-format", "json", str(script)).stdout)
    assert (finding["line"], finding["code"]) == (10, "NN201")
    assert "reach cross_entropy() through compute_loss() (see line 5), which" in finding["message"]
    assert [(place["line"], place["column"], place["message"]) for place in finding["related"]] == [
        (9, 13, "the probabilities come from softmax() here"),
        (5, 12, "compute_loss() hands them to cross_entropy() here"),
    ]
    log = json.loads(run_nnlint("--no-cache", "--output-format", "sarif", str(script)).stdout)
    assert list(_validator("sarif-schema-2.1.0.json").iter_errors(log)) == []
    [result] = log["runs"][0]["results"]
    related = result["relatedLocations"]
    assert [(place["id"], place["physicalLocation"]["region"]["startLine"], place["message"]["text"])
            for place in related] == [(1, 9, "the probabilities come from softmax() here"),
                                      (2, 5, "compute_loss() hands them to cross_entropy() here")]


def test_full_lists_the_other_places_of_the_bug_under_the_finding(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(_HELPER_FED_PROBABILITIES)
    result = run_nnlint("--no-cache", "--output-format", "full", "train.py", cwd=tmp_path)
    assert result.stdout.decode().splitlines()[1:] == [
        "    return compute_loss(probs, y)",
        "           ^",
        "  = note: train.py:9:13: the probabilities come from softmax() here",
        "  = note: train.py:5:12: compute_loss() hands them to cross_entropy() here",
    ]


def test_related_places_survive_the_cache_and_land_in_their_notebook_cell(tmp_path: Path) -> None:
    cells = [_HELPER_FED_PROBABILITIES.split("\n\n\n")[0],
             "def compute_loss(scores, labels):\n    return F.cross_entropy(scores, labels)",
             "def step(model, x, y):\n    probs = F.softmax(model(x), dim=1)\n    return compute_loss(probs, y)"]
    notebook = tmp_path / "train.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                               "execution_count": None, "source": cell} for cell in cells],
                                    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    cache = {"NNLINT_CACHE_DIR": str(tmp_path / "cache")}
    runs = [json.loads(run_nnlint("--output-format", "json", str(notebook), env=cache).stdout) for _ in range(2)]
    assert runs[0] == runs[1]
    [finding] = runs[1]
    assert (finding["cell"], finding["line"]) == (3, 3)
    assert "through compute_loss() (see cell 2, line 2)" in finding["message"]
    assert [(place["cell"], place["line"]) for place in finding["related"]] == [(3, 2), (2, 2)]


_SCORING_HELPER = (
    "import torch\n"
    "\n"
    "\n"
    "def score(model, loader):\n"
    "    with torch.no_grad():\n"
    "        return [model(x) for x in loader]\n"
)
_TRAINING_SCRIPT = (
    "import torch\n"
    "import torchvision\n"
    "\n"
    "from scoring import score\n"
    "\n"
    "\n"
    "def train(loader):\n"
    "    model = torchvision.models.resnet18()\n"
    "    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "    for x, y in loader:\n"
    "        optimizer.zero_grad()\n"
    "        torch.nn.functional.cross_entropy(model(x), y).backward()\n"
    "        optimizer.step()\n"
    "    return score(model, loader)\n"
)


def test_a_place_in_another_file_is_named_with_its_path_in_every_format_and_survives_the_cache(tmp_path: Path) -> None:
    """A helper of another file evaluates the model: the finding is at the call, and the model call inside
    the helper is a related place in scoring.py (JSON path, SARIF uri, full note), also from the cache."""
    (tmp_path / "scoring.py").write_text(_SCORING_HELPER)
    (tmp_path / "train.py").write_text(_TRAINING_SCRIPT)
    cache = {"NNLINT_CACHE_DIR": str(tmp_path / "cache")}
    runs = [json.loads(run_nnlint("--output-format", "json", ".", cwd=tmp_path, env=cache).stdout) for _ in range(2)]
    assert runs[0] == runs[1]
    [finding] = runs[1]
    assert (finding["path"], finding["line"], finding["code"]) == ("train.py", 14, "NN401")
    assert "in scoring.score() (its line 6)" in finding["message"]
    assert [(place["path"], place["line"], place["column"]) for place in finding["related"]] == [("scoring.py", 6, 17)]
    log = json.loads(run_nnlint("--no-cache", "--output-format", "sarif", ".", cwd=tmp_path).stdout)
    assert list(_validator("sarif-schema-2.1.0.json").iter_errors(log)) == []
    [related] = log["runs"][0]["results"][0]["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "scoring.py"
    full = run_nnlint("--no-cache", "--output-format", "full", ".", cwd=tmp_path).stdout.decode()
    assert "  = note: scoring.py:6:17: the model runs here, in the mode its caller left it in" in full
