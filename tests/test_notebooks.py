"""Jupyter notebooks: code cells linted in order, IPython syntax masked, findings per cell."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers import run_nnlint
from nnlint.notebook import mask_magics, notebook_text

CELL_FINDING = re.compile(r"^(?P<path>.+?):cell (?P<cell>\d+):(?P<line>\d+):(?P<col>\d+): (?P<code>NN\d{3}) ")

IMPORTS = ("import torch.nn as nn\nimport torch.nn.functional as F\ncriterion = nn.CrossEntropyLoss()\n"
           "logits = labels = None\n")
BUG = "loss = criterion(F.softmax(logits, dim=1), labels)\n"  # NN201 at column 8


def notebook(*cells: tuple[str, str | list[str]], language: str = "python") -> str:
    return json.dumps({
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": source,
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for kind, source in cells
        ],
        "metadata": {"kernelspec": {"name": "k", "language": language}},
        "nbformat": 4,
        "nbformat_minor": 5,
    })


def write(path: Path, *cells: tuple[str, str | list[str]], language: str = "python") -> Path:
    path.write_text(notebook(*cells, language=language), encoding="utf-8")
    return path


def cell_findings(stdout: bytes) -> list[tuple[str, int, int, int, str]]:
    found = []
    for line in stdout.decode().splitlines():
        match = CELL_FINDING.match(line)
        assert match, f"not a notebook finding line: {line!r}"
        found.append((Path(match["path"]).name, int(match["cell"]), int(match["line"]), int(match["col"]), match["code"]))
    return found


def test_finding_is_reported_at_its_cell_and_line(tmp_path: Path) -> None:
    write(tmp_path / "train.ipynb", ("markdown", "# Train\n"), ("code", IMPORTS), ("code", ["x = 1\n", BUG]))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 1
    assert cell_findings(result.stdout) == [("train.ipynb", 3, 2, 8, "NN201")]


def test_magics_are_masked_and_lines_stay_true(tmp_path: Path) -> None:
    write(
        tmp_path / "magic.ipynb",
        ("code", "%matplotlib inline\n!pip install torch\n" + IMPORTS),
        ("code", "%%capture\nx = 1\n" + BUG),
        ("code", "files = !ls *.pt\nnn.Linear?\n?F.softmax\n%who\nfor f in files:\n    !echo $f\n" + BUG),
        ("code", "pip install timm\n" + BUG),
        ("code", "%time " + BUG),
    )
    result = run_nnlint("--no-cache", str(tmp_path / "magic.ipynb"))
    assert result.returncode == 1, result.stderr.decode()
    assert cell_findings(result.stdout) == [
        ("magic.ipynb", 2, 3, 8, "NN201"),
        ("magic.ipynb", 3, 7, 8, "NN201"),
        ("magic.ipynb", 4, 2, 8, "NN201"),
        ("magic.ipynb", 5, 1, 14, "NN201"),  # after `%time `
    ]


def test_cells_of_other_languages_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "shell.ipynb", ("code", IMPORTS), ("code", "%%bash\nfor f in *; do echo $f; done\n"),
          ("code", "%%writefile train.py\n" + BUG))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 0, result.stdout.decode()


def test_noqa_inside_a_cell_is_honoured(tmp_path: Path) -> None:
    write(tmp_path / "quiet.ipynb", ("code", IMPORTS), ("code", BUG.replace("\n", "  # noqa: NN201\n")))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 0, result.stdout.decode()


def test_syntax_error_is_placed_in_its_cell(tmp_path: Path) -> None:
    write(tmp_path / "broken.ipynb", ("code", "x = 1\n"), ("markdown", "text"), ("code", "y = 2\ndef f(:\n    pass\n"))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 1
    assert cell_findings(result.stdout) == [("broken.ipynb", 3, 2, 7, "NN001")]


def test_a_broken_cell_leaves_the_other_cells_analysed(tmp_path: Path) -> None:
    write(tmp_path / "broken.ipynb", ("code", IMPORTS), ("code", "y = 2\ndef f(:\n    pass\n"), ("code", BUG),
          ("code", "for batch in loader:\n"))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 1
    assert cell_findings(result.stdout) == [
        ("broken.ipynb", 2, 2, 7, "NN001"),
        ("broken.ipynb", 3, 1, 8, "NN201"),
        ("broken.ipynb", 4, 1, 21, "NN001"),  # the error at the end of a cell stays in it
    ]


@pytest.mark.parametrize("content, reason", [
    ('{"cells": [', "not valid JSON"),
    ("[1, 2, 3]", "the top level is not a JSON object"),
    ('{"nbformat": 4}', "no list of cells"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1 has no source text"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
])
def test_invalid_notebook_gets_nn002_and_the_run_goes_on(tmp_path: Path, content: str | bytes, reason: str) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    write(tmp_path / "good.ipynb", ("code", IMPORTS + BUG))
    result = run_nnlint("--no-cache", str(tmp_path))
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    bad_lines = [line for line in lines if "bad.ipynb" in line]
    assert len(bad_lines) == 1 and f"bad.ipynb:1:1: NN002 invalid notebook: {reason}" in bad_lines[0]
    assert any("good.ipynb:cell 1:5:8: NN201" in line for line in lines)


def test_non_python_kernel_is_not_linted(tmp_path: Path) -> None:
    write(tmp_path / "analysis.ipynb", ("code", "library(ggplot2)\nx <- c(1, 2)\n"), language="R")
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 0, result.stdout.decode()


def test_json_and_sarif_carry_the_cell(tmp_path: Path) -> None:
    path = write(tmp_path / "train.ipynb", ("code", IMPORTS), ("code", BUG))
    as_json = json.loads(run_nnlint("--no-cache", "--output-format", "json", str(path)).stdout)
    assert [(f["cell"], f["line"], f["column"], f["code"]) for f in as_json] == [(2, 1, 8, "NN201")]
    sarif = json.loads(run_nnlint("--no-cache", "--output-format", "sarif", str(path)).stdout)
    result, = sarif["runs"][0]["results"]
    assert result["properties"]["cell"] == 2
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_stdin_notebook(tmp_path: Path) -> None:
    data = notebook(("code", IMPORTS), ("code", BUG)).encode()
    result = run_nnlint("--stdin-filename", "nb.ipynb", "-", stdin=data)
    assert cell_findings(result.stdout) == [("nb.ipynb", 2, 1, 8, "NN201")]


def test_cached_run_keeps_the_cells(tmp_path: Path) -> None:
    write(tmp_path / "train.ipynb", ("code", IMPORTS), ("code", "\n" + BUG))
    first = run_nnlint(str(tmp_path), cwd=tmp_path)
    second = run_nnlint(str(tmp_path), cwd=tmp_path)
    assert cell_findings(first.stdout) == cell_findings(second.stdout) == [("train.ipynb", 2, 2, 8, "NN201")]


def test_checkpoints_are_not_linted(tmp_path: Path) -> None:
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write(tmp_path / ".ipynb_checkpoints" / "train-checkpoint.ipynb", ("code", IMPORTS + BUG))
    result = run_nnlint("--no-cache", str(tmp_path))
    assert result.returncode == 0


@pytest.mark.parametrize("cell, expected", [
    ("x = 1\n", [("x = 1", 0)]),
    ("!ls\nx = 1\n", [("pass", 0), ("x = 1", 0)]),
    ("if a:\n    %time f(x)\n", [("if a:", 0), ("    f(x)", 6)]),
    ("%timeit -n 3 f(x)\n", [("pass", 0)]),
    ("out = !ls \\\n  -la\n", [("out = ...", 0), ("pass", 0)]),
    ("!pip install \\\n    torch\ny = 2\n", [("pass", 0), ("pass", 0), ("y = 2", 0)]),
    ("%%time\ny = f(x)\n", [("", 0), ("y = f(x)", 0)]),
    ("%%html\n<b>hi</b>\n", [("", 0), ("", 0)]),
    # Magics that bind names stay assignments.
    ("%%capture --no-stderr log\nx = 1\n", [("log = ...", 0), ("x = 1", 0)]),
    ("%%bash --out listing --err errors\nls\n", [("listing = errors = ...", 0), ("", 0)]),
    ("%store -r model cfg\n%store -r\n", [("model = cfg = ...", 0), ("pass", 0)]),
    ("%% \nx = 1\n", [("", 0), ("", 0)]),
    ("%%\n", [("", 0)]),
    # Only a line that starts a statement can be a magic: not one inside brackets, a string or
    # after a backslash.
    ("%matplotlib inline\nprint('%d'\n      % 3)\n", [("pass", 0), ("print('%d'", 0), ("      % 3)", 0)]),
    ("!ls\nx = (a,\n     !b)\n", [("pass", 0), ("x = (a,", 0), ("     !b)", 0)]),
    ("!ls\nx = 10 \\\n  % 3\n", [("pass", 0), ("x = 10 \\", 0), ("  % 3", 0)]),
    ('!ls\ns = """\n%d items\n"""\n', [("pass", 0), ('s = """', 0), ("%d items", 0), ('"""', 0)]),
    ("torch.*Tensor?\nnp.*load*?\n?np.*load*\n", [("pass", 0), ("pass", 0), ("pass", 0)]),
    # A cell that parses is left alone, even with a line that looks like a magic.
    ("x = (a\n     % b)\n", [("x = (a", 0), ("     % b)", 0)]),
    ("y = 1  # why?\n!ls\n", [("y = 1  # why?", 0), ("pass", 0)]),
    # IPython strips the first line's indentation from every line of the cell.
    (" for x in xs:\n     f(x)\n", [("for x in xs:", 1), ("    f(x)", 1)]),
    ("  !ls\n  %time f(x)\n", [("pass", 2), ("f(x)", 8)]),
    ("x = 1\n y = 2\n", [("x = 1", 0), (" y = 2", 0)]),
])
def test_mask_magics(cell: str, expected: list[tuple[str, int]]) -> None:
    assert mask_magics(cell) == expected


def test_cells_that_may_bind_unseen_names_are_known() -> None:
    """%run, %load, %pylab, `%store -r` without names and cells that do not parse may bind any
    name; extensions loaded with %load_ext are magics IPython runs without `%`."""
    cells = notebook_text(notebook(
        ("markdown", "# Setup\n"),
        ("code", "%run setup.py\n"),
        ("code", "%load_ext watermark\nx = (\n"),
        ("code", "%store -r\n"),
        ("code", "%store -r a\n%pylab inline\n"),
        ("code", "%load_ext autoreload\ny = 1\n"),
    ).encode()).cells
    assert cells.opaque_cells == (2, 3, 4, 5)
    assert cells.magic_commands == {"watermark", "autoreload"}
    assert cells.line_cells == (2, 3, 3, 4, 5, 5, 6, 6)
