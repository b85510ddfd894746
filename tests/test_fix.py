"""--fix, --unsafe-fixes, --diff, --fix-only: what gets written, what is reported, what never changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest

from helpers import REPO, parse_text_output, run_nnlint
from nnlint import analysis
from nnlint.diagnostics import Applicability, Severity, TextEdit, TextFix
from nnlint.files import SourceFile
from nnlint.fixes import Remove, safe_fix
from nnlint.fixes.apply import apply_fixes
from nnlint.fixes.materialize import text_fixes
from nnlint.fixes.notebook_json import with_sources
from nnlint.fixes.run import fixed_content, write_fixed
from nnlint.rules import Report, Rule

LOG_OF_SOFTMAX = """import torch
import torch.nn.functional as F


def log_probs(logits):
    return torch.log(F.softmax(logits, dim=-1))
"""
FIXED_LOG_OF_SOFTMAX = LOG_OF_SOFTMAX.replace("torch.log(F.softmax(logits, dim=-1))", "F.log_softmax(logits, dim=-1)")
# NN204 (safe) and NN701 (unsafe) in one file.
SAFE_AND_UNSAFE = LOG_OF_SOFTMAX + """

def restore(model, path):
    model.load_state_dict(torch.load(path))
"""


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_comments_inside_and_around_the_fixed_expression_survive(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", """import torch
import torch.nn.functional as F


def kl_term(student_logits, t):
    # the student's log-probabilities
    student = torch.log(  # stable?
        F.softmax(student_logits / t, dim=-1)  # of the student
    )  # done
    return student
""")
    result = run_nnlint("--no-cache", "--fix", str(source))
    assert result.returncode == 0, result.stderr.decode()
    assert source.read_text() == """import torch
import torch.nn.functional as F


def kl_term(student_logits, t):
    # the student's log-probabilities
    student = F.log_softmax(  # stable?
        student_logits / t, dim=-1  # of the student
    )  # done
    return student
"""


def test_an_added_keyword_keeps_a_multi_line_call_and_its_comments(tmp_path: Path) -> None:
    source = _write(tmp_path / "model.py", """import torch.nn.functional as F
from torch import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.dropout(
            self.fc(x),  # hidden
            0.5,  # rate
        )
""")
    result = run_nnlint("--no-cache", "--fix", str(source))
    assert result.returncode == 0, result.stderr.decode()
    assert """        return F.dropout(
            self.fc(x),  # hidden
            0.5,  # rate
            training=self.training,
        )
""" in source.read_text()


def test_a_moved_statement_keeps_its_comment(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", """def train(model, loader, criterion, optimizer):
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        # start afresh
        optimizer.zero_grad()  # every step
        optimizer.step()
""")
    assert run_nnlint("--no-cache", "--fix", str(source)).returncode == 0
    assert source.read_text() == """def train(model, loader, criterion, optimizer):
    for x, y in loader:
        optimizer.zero_grad()  # every step
        loss = criterion(model(x), y)
        loss.backward()
        # start afresh
        optimizer.step()
"""


def test_fix_applies_safe_fixes_and_reports_what_is_left(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    result = run_nnlint("--no-cache", "--fix", str(source))
    assert result.returncode == 1
    assert FIXED_LOG_OF_SOFTMAX in source.read_text()
    assert "torch.load(path))" in source.read_text()
    assert result.stdout.decode().count("NN701") == 1
    assert "[*]" not in result.stdout.decode()
    assert "nnlint: fixed 1 finding (1 more with --unsafe-fixes); 1 remaining" in result.stderr.decode()


def test_unsafe_fixes_applies_the_unsafe_ones_too(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    result = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", str(source))
    assert result.returncode == 0, result.stdout.decode()
    assert "torch.load(path, weights_only=True)" in source.read_text()
    assert "nnlint: fixed 2 findings; 0 remaining" in result.stderr.decode()


def test_plain_lint_writes_nothing_and_marks_what_fix_would_repair(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    before = source.stat().st_mtime_ns
    result = run_nnlint("--no-cache", str(source))
    assert result.returncode == 1
    assert source.read_text() == SAFE_AND_UNSAFE and source.stat().st_mtime_ns == before
    lines = result.stdout.decode().splitlines()
    assert any(": NN204 [*] log of softmax" in line for line in lines)
    assert any(": NN701 torch.load" in line for line in lines)
    assert "; 1 fixable with --fix (1 more with --unsafe-fixes)" in result.stderr.decode()
    unsafe_shown = run_nnlint("--no-cache", "--unsafe-fixes", str(source)).stdout.decode()
    assert ": NN701 [*] torch.load" in unsafe_shown


def test_flake8_writes_nothing(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    flake8 = subprocess.run([sys.executable, "-m", "flake8", "--select", "NN", "--isolated", "train.py"],
                            cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert "NN204" in flake8.stdout and "[*]" not in flake8.stdout, flake8.stderr
    assert source.read_text() == SAFE_AND_UNSAFE


def test_diff_writes_nothing_and_git_applies_it(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    result = run_nnlint("--no-cache", "--diff", "train.py", cwd=tmp_path)
    assert result.returncode == 1
    assert source.read_text() == SAFE_AND_UNSAFE
    diff = result.stdout.decode()
    assert diff.startswith("--- a/train.py\n+++ b/train.py\n")
    assert "-    return torch.log(F.softmax(logits, dim=-1))\n+    return F.log_softmax(logits, dim=-1)\n" in diff
    assert "weights_only" not in diff
    assert "nnlint: would fix 1 finding (1 more with --unsafe-fixes)" in result.stderr.decode()
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        applied = subprocess.run(["git", "apply", "--check", "-"], cwd=tmp_path, input=result.stdout,
                                 capture_output=True)
        assert applied.returncode == 0, applied.stderr.decode()


def test_diff_of_a_file_without_a_final_line_break_applies(tmp_path: Path) -> None:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX.rstrip("\n"))
    result = run_nnlint("--no-cache", "--diff", "train.py", cwd=tmp_path)
    assert "\\ No newline at end of file" in result.stdout.decode()
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    applied = subprocess.run(["git", "apply", "-"], cwd=tmp_path, input=result.stdout, capture_output=True)
    assert applied.returncode == 0, applied.stderr.decode()
    assert source.read_text() == FIXED_LOG_OF_SOFTMAX.rstrip("\n")


def test_diff_with_nothing_to_fix_exits_zero(tmp_path: Path) -> None:
    source = _write(tmp_path / "clean.py", FIXED_LOG_OF_SOFTMAX)
    result = run_nnlint("--no-cache", "--diff", str(source))
    assert result.returncode == 0 and result.stdout == b""


def test_fix_only_prints_the_count(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    result = run_nnlint("--no-cache", "--fix-only", str(source))
    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr.decode().strip() == "nnlint: fixed 1 finding (1 more with --unsafe-fixes)"
    assert FIXED_LOG_OF_SOFTMAX in source.read_text()


def test_fixing_twice_changes_nothing(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    run_nnlint("--no-cache", "--fix", "--unsafe-fixes", str(source))
    fixed = source.read_bytes()
    again = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", str(source))
    assert source.read_bytes() == fixed
    assert "nnlint: fixed 0 findings; 0 remaining" in again.stderr.decode()


def test_fixes_that_touch_one_line_are_applied_over_passes(tmp_path: Path) -> None:
    """Both fixes add a name to the same import line: one per pass, until none is left."""
    source = _write(tmp_path / "model.py", """from torch.nn import Linear, Module


class Tower(Module):
    def __init__(self, dim):
        super().__init__()
        self.blocks = [Linear(dim, dim)]
        self.heads = {"a": Linear(dim, 1)}

    def forward(self, x):
        return self.heads["a"](self.blocks[0](x))
""")
    result = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", str(source))
    assert result.returncode == 0, result.stdout.decode()
    text = source.read_text()
    assert text.startswith("from torch.nn import Linear, Module, ModuleList, ModuleDict\n") or \
        text.startswith("from torch.nn import Linear, Module, ModuleDict, ModuleList\n")
    assert "self.blocks = ModuleList([Linear(dim, dim)])" in text
    assert 'self.heads = ModuleDict({"a": Linear(dim, 1)})' in text


def test_crlf_and_a_coding_cookie_are_kept(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\r\n# caf\xe9\r\n" + LOG_OF_SOFTMAX.replace("\n", "\r\n")
    source = tmp_path / "train.py"
    source.write_bytes(text.encode("latin-1"))
    assert run_nnlint("--no-cache", "--fix", str(source)).returncode == 0
    expected = "# -*- coding: latin-1 -*-\r\n# caf\xe9\r\n" + FIXED_LOG_OF_SOFTMAX.replace("\n", "\r\n")
    assert source.read_bytes() == expected.encode("latin-1")


def test_stdin_with_fix_prints_the_fixed_source(tmp_path: Path) -> None:
    result = run_nnlint("--no-cache", "--fix", "--stdin-filename", str(tmp_path / "train.py"), "-",
                        stdin=SAFE_AND_UNSAFE.encode())
    assert result.returncode == 1
    assert result.stdout.decode() == SAFE_AND_UNSAFE.replace("torch.log(F.softmax(logits, dim=-1))",
                                                              "F.log_softmax(logits, dim=-1)")
    assert "NN701" in result.stderr.decode()
    assert not (tmp_path / "train.py").exists()


def test_json_carries_the_fix(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    findings = json.loads(run_nnlint("--no-cache", "--output-format", "json", str(source)).stdout)
    by_code = {finding["code"]: finding for finding in findings}
    assert by_code["NN204"]["fix"] == {
        "applicability": "safe",
        "message": "use log_softmax",
        "edits": [{"start": {"line": 6, "column": 12}, "end": {"line": 6, "column": 48},
                   "content": "F.log_softmax(logits, dim=-1)", "cell": None}],
    }
    assert by_code["NN701"]["fix"]["applicability"] == "unsafe"


def test_sarif_carries_the_fix(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    log = json.loads(run_nnlint("--no-cache", "--output-format", "sarif", str(source)).stdout)
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "NN204")
    assert result["fixes"] == [{
        "description": {"text": "use log_softmax"},
        "artifactChanges": [{
            "artifactLocation": {"uri": source.as_uri()},
            "replacements": [{
                "deletedRegion": {"startLine": 6, "startColumn": 12, "endLine": 6, "endColumn": 48},
                "insertedContent": {"text": "F.log_softmax(logits, dim=-1)"},
            }],
        }],
        "properties": {"applicability": "safe"},
    }]


def test_list_rules_says_each_rules_fix() -> None:
    lines = run_nnlint("--list-rules").stdout.decode().splitlines()
    assert "fix: safe " in next(line for line in lines if line.startswith("NN204"))
    assert "fix: unsafe " in next(line for line in lines if line.startswith("NN701"))
    assert "fix: safe/unsafe " in next(line for line in lines if line.startswith("NN201"))
    assert "fix: none " in next(line for line in lines if line.startswith("NN501"))


@pytest.mark.parametrize("table, fixed", [
    ('fix = true\n', True),
    ('fix = true\nunfixable = ["NN2"]\n', False),
    ('fix = true\nfixable = ["NN1"]\n', False),
    ('fix = true\nfixable = ["NN204"]\n', True),
])
def test_configuration_decides_what_is_fixed(tmp_path: Path, table: str, fixed: bool) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\n" + table)
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX)
    run_nnlint("--no-cache", str(source), cwd=tmp_path)
    assert (source.read_text() == FIXED_LOG_OF_SOFTMAX) is fixed


def test_no_fix_and_unsafe_fixes_in_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\nfix = true\nunsafe-fixes = true\n")
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    run_nnlint("--no-cache", "--no-fix", str(source), cwd=tmp_path)
    assert source.read_text() == SAFE_AND_UNSAFE
    run_nnlint("--no-cache", "--no-unsafe-fixes", str(source), cwd=tmp_path)
    assert "weights_only" not in source.read_text() and FIXED_LOG_OF_SOFTMAX in source.read_text()
    run_nnlint("--no-cache", str(source), cwd=tmp_path)
    assert "weights_only=True" in source.read_text()


def test_unfixable_on_the_command_line_leaves_the_code_alone(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX)
    result = run_nnlint("--no-cache", "--fix", "--unfixable", "NN204", str(source))
    assert result.returncode == 1, result.stderr.decode()
    assert source.read_text() == LOG_OF_SOFTMAX
    assert [(f["code"], f["fixable"]) for f in parse_text_output(result.stdout.decode())] == [("NN204", None)]
    assert "nnlint: fixed 0 findings; 1 remaining" in result.stderr.decode()


def test_fixable_on_the_command_line_limits_fixing_to_the_family(tmp_path: Path) -> None:
    source = _write(tmp_path / "train.py", SAFE_AND_UNSAFE)
    result = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", "--fixable", "NN2", str(source))
    assert result.returncode == 1, result.stderr.decode()
    assert FIXED_LOG_OF_SOFTMAX in source.read_text() and "torch.load(path))" in source.read_text()
    assert [(f["code"], f["fixable"]) for f in parse_text_output(result.stdout.decode())] == [("NN701", None)]


@pytest.mark.parametrize("table, options, fixed", [
    ('fixable = ["NN1"]\n', ["--fixable", "NN2"], True),           # --fixable replaces the configuration's
    ('fixable = ["NN1"]\n', ["--extend-fixable", "NN204"], True),  # --extend-fixable adds to it
    ('fixable = ["NN1"]\n', ["--unfixable", "NN7"], False),
    ('unfixable = ["NN7"]\n', ["--unfixable", "NN204"], False),    # --unfixable adds to the configuration's
    ('unfixable = ["NN2"]\n', ["--fixable", "NN204"], False),      # and wins over --fixable
])
def test_fix_options_on_the_command_line_meet_the_configuration(tmp_path: Path, table: str, options: list[str],
                                                                fixed: bool) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\nfix = true\n" + table)
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX)
    result = run_nnlint("--no-cache", *options, str(source), cwd=tmp_path)
    assert result.returncode in (0, 1), result.stderr.decode()
    assert (source.read_text() == FIXED_LOG_OF_SOFTMAX) is fixed


@pytest.mark.parametrize("option", ["--fixable", "--extend-fixable", "--unfixable"])
def test_an_unknown_code_in_a_fix_option_is_a_usage_error(tmp_path: Path, option: str) -> None:
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX)
    result = run_nnlint("--no-cache", "--fix", option, "NN999", str(source))
    assert result.returncode == 2
    assert result.stderr.decode() == "nnlint: error: options: unknown rule code or prefix 'NN999'\n"
    assert source.read_text() == LOG_OF_SOFTMAX


@pytest.mark.parametrize("table", ['fix = "yes"\n', 'unfixable = ["NN999"]\n', 'fixable = 3\n'])
def test_a_bad_fix_setting_is_a_usage_error(tmp_path: Path, table: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\n" + table)
    source = _write(tmp_path / "train.py", LOG_OF_SOFTMAX)
    result = run_nnlint("--no-cache", str(source), cwd=tmp_path)
    assert result.returncode == 2, result.stderr.decode()
    assert source.read_text() == LOG_OF_SOFTMAX


def test_a_fix_that_would_break_the_syntax_is_never_applied() -> None:
    data = b"x = 1\ny = 2\n"
    breaking = TextFix(Applicability.SAFE, "break", (TextEdit(1, 1, 1, 2, "(", None),))
    harmless = TextFix(Applicability.SAFE, "rename", (TextEdit(2, 1, 2, 2, "z", None),))
    assert fixed_content("a.py", data, [breaking]) == (data, 0)
    assert fixed_content("a.py", data, [breaking, harmless]) == (b"x = 1\nz = 2\n", 1)


def test_a_file_changed_on_disk_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    source = tmp_path / "train.py"
    source.write_bytes(b"edited meanwhile\n")
    assert write_fixed(str(source), b"as read\n", b"fixed\n") == "it changed on disk while being fixed"
    assert source.read_bytes() == b"edited meanwhile\n"
    assert write_fixed(str(source), b"edited meanwhile\n", b"fixed\n") is None
    assert source.read_bytes() == b"fixed\n"


# ---------------------------------------------------------------- notebooks

def _notebook(*sources: str) -> str:
    """A notebook as Jupyter writes it (one-space indent, source as a list of lines), with a
    markdown cell and an output in between."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Train\n", "Ünïcode stays."]}]
    for number, source in enumerate(sources, start=1):
        lines = source.splitlines(keepends=True)
        cells.append({"cell_type": "code", "execution_count": number, "metadata": {"tags": ["x"]},
                      "outputs": [{"name": "stdout", "output_type": "stream", "text": ["out\n"]}],
                      "source": lines})
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1, ensure_ascii=False) + "\n"


def test_notebook_fixes_go_back_into_their_cells_and_nothing_else_changes(tmp_path: Path) -> None:
    first = "%matplotlib inline\nimport torch\nimport torch.nn.functional as F\n"
    second = "def log_probs(logits):\n    return torch.log(F.softmax(logits, dim=-1))"
    third = "!ls\nprint(1)\n"
    original = _notebook(first, second, third)
    path = tmp_path / "train.ipynb"
    path.write_text(original, encoding="utf-8")
    result = run_nnlint("--no-cache", "--fix", str(path))
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    fixed_second = "def log_probs(logits):\n    return F.log_softmax(logits, dim=-1)"
    assert path.read_text(encoding="utf-8") == _notebook(first, fixed_second, third)


def test_notebook_fix_is_reported_in_its_cell(tmp_path: Path) -> None:
    path = tmp_path / "train.ipynb"
    path.write_text(_notebook("import torch\nimport torch.nn.functional as F\n",
                              "x = 1\ny = torch.log(F.softmax(x, dim=-1))\n"), encoding="utf-8")
    finding = json.loads(run_nnlint("--no-cache", "--output-format", "json", str(path)).stdout)[0]
    assert finding["cell"] == 3 and finding["line"] == 2
    assert finding["fix"]["edits"] == [{"start": {"line": 2, "column": 5}, "end": {"line": 2, "column": 36},
                                        "content": "F.log_softmax(x, dim=-1)", "cell": 3}]


def test_notebook_source_as_one_string_stays_one_string() -> None:
    data = json.dumps({"cells": [{"cell_type": "code", "source": "a = 1\nb = 2"}], "metadata": {}}).encode()
    assert json.loads(with_sources(data, {1: "a = 1\nc = 3"}))["cells"][0]["source"] == "a = 1\nc = 3"


def test_notebook_unchanged_lines_keep_their_json_text() -> None:
    data = b'{"cells": [{"cell_type": "code", "source": ["caf\\u00e9 = 1\\n", "b = 2"]}], "metadata": {}}'
    assert with_sources(data, {1: "caf\u00e9 = 1\nb = 3"}) == \
        b'{"cells": [{"cell_type": "code", "source": ["caf\\u00e9 = 1\\n", "b = 3"]}], "metadata": {}}'


def test_removing_a_top_level_statement_removes_its_line() -> None:
    text = "import math\nimport torch\nx = 1\n"
    module = cst.parse_module(text)
    (fix,) = text_fixes(module, text, [safe_fix("drop", Remove(module.body[1]))])
    assert apply_fixes({None: text}, [fix])[0][None] == "import math\nx = 1\n"


def _failing_fix() -> None:
    raise ValueError("no fix today")


def test_a_fix_that_fails_to_build_costs_the_fix_not_the_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = Rule("NN999", "probe", Severity.WARNING, "A probe.", fixes=(Applicability.SAFE,),
                check=lambda facts: [Report(facts.module.body[0], "found", _failing_fix)])
    monkeypatch.setattr(analysis, "load_rule", lambda code: rule)
    (finding,) = analysis.lint_source(SourceFile("probe.py", "x = 1\n"), [rule])
    assert finding.code == "NN999" and finding.fix is None
