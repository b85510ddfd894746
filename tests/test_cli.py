"""The command as users run it: exit codes, formats, selection, noqa, config, stdin, bad input."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import pytest

from helpers import REPO, parse_text_output, run_nnlint

BUGGY = textwrap.dedent("""\
    import torch.nn.functional as F


    def loss(logits, target):
        probs = F.softmax(logits, dim=1)
        return F.cross_entropy(probs, target)


    def train(model, loader, opt):
        for x, y in loader:
            loss(model(x), y).backward()
            opt.step()
""")
CLEAN = "import torch\n\nx = torch.zeros(3)\n"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(BUGGY)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_text_output_is_flake8_format_sorted(project: Path) -> None:
    result = run_nnlint(".", cwd=project)
    assert result.returncode == 1
    findings = parse_text_output(result.stdout.decode())
    assert [(f["path"], f["line"], f["col"], f["code"]) for f in findings] == [
        ("train.py", 6, 12, "NN201"),
        ("train.py", 11, 9, "NN301"),
    ]
    assert "2 findings in 1 of 2 files" in result.stderr.decode()


def test_default_path_is_current_directory(project: Path) -> None:
    assert run_nnlint(cwd=project).stdout == run_nnlint(".", cwd=project).stdout


def test_clean_code_exits_zero(project: Path) -> None:
    result = run_nnlint("clean.py", cwd=project)
    assert result.returncode == 0
    assert result.stdout == b""


def test_exit_zero_and_quiet(project: Path) -> None:
    result = run_nnlint("--exit-zero", "--quiet", cwd=project)
    assert result.returncode == 0
    assert len(parse_text_output(result.stdout.decode())) == 2
    assert result.stderr == b""


def test_statistics(project: Path) -> None:
    result = run_nnlint("--statistics", cwd=project)
    lines = result.stdout.decode().splitlines()
    assert re.match(r"^1\s+NN201 ", lines[-2]) and re.match(r"^1\s+NN301 ", lines[-1])


def test_json_output(project: Path) -> None:
    result = run_nnlint("--output-format", "json", cwd=project)
    data = json.loads(result.stdout)
    assert [(d["path"], d["line"], d["column"], d["code"]) for d in data] == [
        ("train.py", 6, 12, "NN201"), ("train.py", 11, 9, "NN301")]
    first = data[0]
    assert first["rule"] == "softmax-into-cross-entropy" and first["severity"] == "error"
    assert (first["end_line"], first["end_column"]) == (6, 42)
    assert "log_softmax" in first["message"]


def test_sarif_output(project: Path) -> None:
    result = run_nnlint("--output-format", "sarif", cwd=project)
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {"NN201", "NN301", "NN001"} <= {r["id"] for r in rules}
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    result_ids = [(r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]]
    assert result_ids == [("NN201", 6), ("NN301", 11)]
    for sarif_result in run["results"]:
        assert rules[sarif_result["ruleIndex"]]["id"] == sarif_result["ruleId"]
        assert sarif_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "train.py"


def test_github_output(project: Path) -> None:
    result = run_nnlint("--output-format", "github", cwd=project)
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("::error file=train.py,line=6,col=12,endLine=6,endColumn=42,title=NN201 ")
    assert lines[0].split("::", 2)[2].startswith("NN201 probabilities from softmax() reach cross_entropy()")
    assert len(lines) == 2


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        (["--select", "NN201"], {"NN201"}),
        (["--select", "NN2"], {"NN201"}),
        (["--ignore", "NN3"], {"NN201"}),
        (["--ignore", "NN"], set()),
        (["--select", "NN2", "--extend-select", "NN301"], {"NN201", "NN301"}),
        (["--ignore", "NN3", "--extend-select", "NN301"], {"NN201", "NN301"}),
        (["--select", "nn301"], {"NN301"}),
    ],
)
def test_selection(project: Path, options: list[str], codes: set[str]) -> None:
    result = run_nnlint(*options, "train.py", cwd=project)
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == codes
    assert result.returncode == (1 if codes else 0)


def test_unknown_selector_is_a_usage_error(project: Path) -> None:
    result = run_nnlint("--select", "NN999", cwd=project)
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and "NN999" in result.stderr.decode()


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # noqa", True),
        ("  # noqa: NN201", True),
        ("  # noqa:NN201,NN301", True),
        ("  # NOQA: NN2", True),
        ("  # noqa: NN301", False),
        ("  # noqa : NN301", True),  # flake8 reads a malformed list as a bare noqa
    ],
)
def test_noqa(tmp_path: Path, comment: str, suppressed: bool) -> None:
    source = BUGGY.replace("return F.cross_entropy(probs, target)", "return F.cross_entropy(probs, target)" + comment)
    (tmp_path / "t.py").write_text(source)
    codes = {f["code"] for f in parse_text_output(run_nnlint("t.py", cwd=tmp_path).stdout.decode())}
    assert ("NN201" not in codes) is suppressed
    assert "NN301" in codes


def test_config_in_pyproject_is_found_from_the_linted_path(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nnlint]\nignore = ["NN301"]\n')
    result = run_nnlint(str(project / "train.py"), cwd=project.parent)
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == {"NN201"}


def test_pyproject_without_table_is_skipped(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = run_nnlint(".", cwd=project)
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == {"NN201", "NN301"}


def test_explicit_config_file_overrides(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nnlint]\nignore = ["NN301"]\n')
    (project / "other.toml").write_text('[tool.nnlint]\nselect = ["NN301"]\noutput-format = "json"\n')
    result = run_nnlint("--config", "other.toml", ".", cwd=project)
    assert [d["code"] for d in json.loads(result.stdout)] == ["NN301"]


def test_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nnlint.per-file-ignores]\n"train.py" = ["NN2"]\n')
    result = run_nnlint(".", cwd=project)
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == {"NN301"}


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('[tool.nnlint]\nselekt = ["NN2"]\n', "selekt"),
        ('[tool.nnlint]\nselect = "NN2\n', "invalid TOML"),
        ('[tool.nnlint]\nselect = [1, 2]\n', "select"),
        ('[tool.nnlint]\noutput-format = "xml"\n', "output-format"),
        ('[tool.nnlint]\nignore = ["XX1"]\n', "XX1"),
        ('[tool.nnlint.per-file-ignores]\n"a.py" = "NN9"\n', "NN9"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(project: Path, table: str, named: str) -> None:
    (project / "pyproject.toml").write_text(table)
    result = run_nnlint(".", cwd=project)
    err = result.stderr.decode()
    assert result.returncode == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "pyproject.toml" in err and named in err


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b'[tool.nnlint]\nignore = ["NN301"]\nowner = "Andr\xe9"\n', "not UTF-8"),
        (b"\xff\xfe[\x00t\x00o\x00o\x00l\x00.\x00n\x00n\x00l\x00i\x00n\x00t\x00]\x00", "not UTF-8"),
        (b"[tool]\nnnlint = 5\n", "[tool.nnlint] must be a table, not an integer"),
        (b'tool.nnlint = ["NN2"]\n', "[tool.nnlint] must be a table, not an array"),
    ],
)
def test_a_broken_nnlint_table_is_one_line_and_exit_2(project: Path, content: bytes, named: str) -> None:
    (project / "pyproject.toml").write_bytes(content)
    result = run_nnlint(".", cwd=project)
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "pyproject.toml" in err and named in err


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"tool = 5\n", "tool must be a table, not an integer"),
        (b'tool = ["nnlint"]\n', "tool must be a table, not an array"),
        (b'[tool.nnlint]\nowner = "Andr\xe9"\n', "not UTF-8"),
        (b"[tool]\nnnlint = 5\n", "[tool.nnlint] must be a table"),
    ],
)
def test_a_broken_config_named_by_option_is_one_line_and_exit_2(project: Path, content: bytes, named: str) -> None:
    (project / "pyproject.toml").write_bytes(content)
    result = run_nnlint("--config", "pyproject.toml", ".", cwd=project)
    err = result.stderr.decode()
    assert result.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "pyproject.toml" in err and named in err


@pytest.mark.parametrize(
    "content",
    [b"tool = 5\n", b'tool = ["nnlint"]\n', b'[project]\nname = "caf\xe9"\n', b"[project\nname = 1\n",
     b'[tool.black]\nline-length = "88\n'],
)
def test_a_pyproject_above_the_project_without_an_nnlint_table_is_ignored(tmp_path: Path, content: bytes) -> None:
    """Discovery walks up: one bad file in a parent folder must not break every run below it."""
    (tmp_path / "pyproject.toml").write_bytes(content)
    project = tmp_path / "work" / "project"
    project.mkdir(parents=True)
    (project / "train.py").write_text(BUGGY)
    result = run_nnlint(".", cwd=project)
    assert result.returncode == 1, result.stderr.decode()
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == {"NN201", "NN301"}
    (project / "pyproject.toml").write_text('[tool.nnlint]\nignore = ["NN301"]\n')  # the nearest table wins
    assert {f["code"] for f in parse_text_output(run_nnlint(".", cwd=project).stdout.decode())} == {"NN201"}


def test_missing_path_and_bad_option_exit_2(project: Path) -> None:
    assert run_nnlint("nope.py", cwd=project).returncode == 2
    result = run_nnlint("nope.py", "gone/", cwd=project)
    assert result.returncode == 2 and result.stderr.decode() == "nnlint: error: no such file or directory: gone/, nope.py\n"
    result = run_nnlint("--output-format", "xml", cwd=project)
    assert result.returncode == 2 and "Traceback" not in result.stderr.decode()


def test_a_missing_path_among_others_is_one_nn002_line_and_the_run_goes_on(project: Path) -> None:
    result = run_nnlint("nope.py", "train.py", "missing/dir", cwd=project)
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    findings = [(f["path"], f["line"], f["code"], f["message"]) for f in parse_text_output(result.stdout.decode())]
    assert findings[0] == ("missing/dir", 1, "NN002", "cannot read: No such file or directory")
    assert findings[1] == ("nope.py", 1, "NN002", "cannot read: No such file or directory")
    assert [code for _, _, code, _ in findings[2:]] == ["NN201", "NN301"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_device_named_on_the_command_line_is_skipped_with_one_line(project: Path) -> None:
    os.mkfifo(project / "pipe.py")
    (project / "null.py").symlink_to(os.devnull)
    result = run_nnlint("pipe.py", "null.py", "train.py", cwd=project, timeout=60)
    lines = result.stdout.decode().splitlines()
    assert lines[:2] == ["null.py:1:1: NN002 cannot read file: not a regular file (a character device)",
                         "pipe.py:1:1: NN002 cannot read file: not a regular file (a FIFO)"]
    assert [f["code"] for f in parse_text_output("\n".join(lines[2:]))] == ["NN201", "NN301"]
    assert result.returncode == 1 and b"Traceback" not in result.stderr


def test_stdin_among_other_paths_is_linted_with_them(project: Path) -> None:
    named = run_nnlint("--stdin-filename", "piped.py", "clean.py", "-", "train.py", cwd=project, stdin=BUGGY.encode())
    assert [(f["path"], f["code"]) for f in parse_text_output(named.stdout.decode())] == [
        ("piped.py", "NN201"), ("piped.py", "NN301"), ("train.py", "NN201"), ("train.py", "NN301")]
    assert named.returncode == 1 and "2 of 3 files" in named.stderr.decode()
    unnamed = run_nnlint("-", "clean.py", cwd=project, stdin=BUGGY.encode())
    assert [(f["path"], f["code"]) for f in parse_text_output(unnamed.stdout.decode())] == [
        ("-", "NN201"), ("-", "NN301")]


def test_stdin_with_filename(project: Path) -> None:
    result = run_nnlint("--stdin-filename", "src/train.py", "-", cwd=project, stdin=BUGGY.encode())
    findings = parse_text_output(result.stdout.decode())
    assert [(f["path"], f["line"], f["code"]) for f in findings] == [("src/train.py", 6, "NN201"), ("src/train.py", 11, "NN301")]


def test_stdin_honours_per_file_ignores_by_stdin_filename(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.nnlint.per-file-ignores]\n"train.py" = ["NN2"]\n')
    result = run_nnlint("--stdin-filename", "train.py", "-", cwd=project, stdin=BUGGY.encode())
    assert {f["code"] for f in parse_text_output(result.stdout.decode())} == {"NN301"}


def test_stdin_takes_the_torch_requirement_of_the_stdin_filename(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "requirements.txt").write_text("torch>=2.6\n")
    source = b"import torch\n\nstate = torch.load('m.pt')\nmodel = torch.load('m.pt', weights_only=False)\n"
    named = run_nnlint("--stdin-filename", "train.py", "-", cwd=tmp_path, stdin=source)
    unnamed = run_nnlint("-", cwd=tmp_path, stdin=source)
    assert [f["line"] for f in parse_text_output(named.stdout.decode())] == [4]
    assert [f["line"] for f in parse_text_output(unnamed.stdout.decode())] == [3]


def test_syntax_error_is_reported_and_the_run_goes_on(project: Path) -> None:
    (project / "broken.py").write_text("def f(:\n    pass\n")
    result = run_nnlint(".", cwd=project)
    findings = parse_text_output(result.stdout.decode())
    assert ("broken.py", 1, 7, "NN001") in {(f["path"], f["line"], f["col"], f["code"]) for f in findings}
    assert "cannot parse: invalid syntax" in result.stdout.decode()
    assert {f["code"] for f in findings if f["path"] == "train.py"} == {"NN201", "NN301"}
    assert b"Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"x = 1\x00\x00\x00", "NUL bytes"),
        (b"name = '\xff\xfe caf\xe9'\n", "cannot decode"),
        (b"# -*- coding: klingon -*-\nx = 1\n", "unknown encoding"),
    ],
)
def test_undecodable_files_get_nn002(project: Path, content: bytes, reason: str) -> None:
    (project / "bad.py").write_bytes(content)
    result = run_nnlint(".", cwd=project)
    out = result.stdout.decode()
    bad = [line for line in out.splitlines() if line.startswith("bad.py")]
    assert len(bad) == 1 and " NN002 " in bad[0] and reason in bad[0]
    assert "train.py:6:12: NN201" in out


def test_latin1_with_cookie_and_bom_decode(project: Path) -> None:
    (project / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n")
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf" + BUGGY.encode())
    result = run_nnlint("latin.py", "bom.py", cwd=project)
    assert [(f["path"], f["line"], f["code"]) for f in parse_text_output(result.stdout.decode())] == [
        ("bom.py", 6, "NN201"), ("bom.py", 11, "NN301")]


def test_default_excludes_and_explicit_files(project: Path) -> None:
    for skipped in (".venv/lib", "build", "node_modules/pkg", "site-packages/x", "env"):
        directory = project / skipped
        directory.mkdir(parents=True)
        (directory / "t.py").write_text(BUGGY)
    (project / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    paths = {f["path"] for f in parse_text_output(run_nnlint(".", cwd=project).stdout.decode())}
    assert paths == {"train.py"}
    named = parse_text_output(run_nnlint("build/t.py", cwd=project).stdout.decode())
    assert {f["path"] for f in named} == {"build/t.py"}


def test_config_excludes(project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BUGGY)
    (project / "gen_model.py").write_text(BUGGY)
    (project / "pyproject.toml").write_text('[tool.nnlint]\nextend-exclude = ["legacy", "gen_*.py"]\n')
    paths = {f["path"] for f in parse_text_output(run_nnlint(".", cwd=project).stdout.decode())}
    assert paths == {"train.py"}


def test_parallel_and_serial_runs_agree(project: Path) -> None:
    for index in range(6):
        (project / f"copy{index}.py").write_text(BUGGY)
    assert run_nnlint("--jobs", "1", cwd=project).stdout == run_nnlint("--jobs", "2", cwd=project).stdout


def test_version_and_help() -> None:
    assert run_nnlint("--version").stdout.decode().startswith("nnlint ")
    assert b"--select" in run_nnlint("--help").stdout


def test_force_exclude_skips_named_files_the_excludes_match(project: Path) -> None:
    (project / "legacy" / "sub").mkdir(parents=True)
    (project / "build").mkdir()
    for name in ("legacy/sub/old.py", "build/t.py", "gen_model.py"):
        (project / name).write_text(BUGGY)
    named = ["legacy/sub/old.py", "build/t.py", "gen_model.py", "train.py"]
    (project / "pyproject.toml").write_text('[tool.nnlint]\nextend-exclude = ["legacy", "gen_*.py"]\n')
    assert {f["path"] for f in parse_text_output(run_nnlint(*named, cwd=project).stdout.decode())} == set(named)
    forced = run_nnlint("--force-exclude", *named, cwd=project)
    assert {f["path"] for f in parse_text_output(forced.stdout.decode())} == {"train.py"}
    only_excluded = run_nnlint("--force-exclude", "legacy/sub/old.py", "legacy", cwd=project)
    assert (only_excluded.returncode, only_excluded.stdout) == (0, b"")


def test_force_exclude_in_the_config(project: Path) -> None:
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BUGGY)
    (project / "pyproject.toml").write_text('[tool.nnlint]\nextend-exclude = ["legacy"]\nforce-exclude = true\n')
    assert run_nnlint("legacy/old.py", cwd=project).stdout == b""
    (project / "pyproject.toml").write_text('[tool.nnlint]\nforce-exclude = "yes"\n')
    assert run_nnlint("legacy/old.py", cwd=project).returncode == 2


def _pre_commit_hook() -> dict[str, str]:
    """The hook's keys and values (the file is one flat mapping in a list)."""
    text = (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    pairs = (line.lstrip("- ").split(":", 1) for line in text.splitlines() if line.strip()
             and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_the_pre_commit_hook_lints_all_staged_files_in_one_process_and_forces_the_excludes() -> None:
    hook = _pre_commit_hook()
    # pre-commit splits the files of a hook that is not serial across processes: a model in one
    # chunk and its misuse in another would never be seen together.
    assert hook["require_serial"] == "true"
    assert hook["entry"].split() == ["nnlint", "--force-exclude"]
