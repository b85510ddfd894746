"""The on-disk cache: same answers warm as cold, invalidated by content and options, never trusted blindly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from helpers import REPO, run_nnlint
from test_cli import BUGGY

from nnlint.cache import CACHE_FILE, CACHE_FORMAT, RUNS_FILE


def _run(project: Path, cache: Path, *args: str):
    return run_nnlint(*args, ".", cwd=project, env={"NNLINT_CACHE_DIR": str(cache)})


def test_warm_run_repeats_the_cold_run_and_follows_edits(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    cold = _run(project, cache)
    assert (cache / CACHE_FILE).is_file()
    warm = _run(project, cache)
    assert warm.stdout == cold.stdout and warm.returncode == cold.returncode == 1
    (project / "train.py").write_text(BUGGY.replace("F.softmax(logits, dim=1)", "logits"))
    edited = _run(project, cache)
    assert b"NN201" not in edited.stdout and b"NN301" in edited.stdout


def test_options_are_part_of_the_key(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    _run(project, cache)
    assert b"NN301" not in _run(project, cache, "--select", "NN201").stdout
    assert b"NN301" in _run(project, cache).stdout


def test_corrupt_or_foreign_cache_is_ignored_and_rebuilt(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    expected = _run(project, cache).stdout
    cache_file, runs_file = cache / CACHE_FILE, cache / RUNS_FILE
    real, real_runs = json.loads(cache_file.read_text()), json.loads(runs_file.read_text())
    wrong_shapes = {**real, "entries": {key: 5 for key in real["entries"]}, "scans": {key: [1] for key in real["scans"]}}
    wrong_runs = [{**real_runs, "runs": {key: rows for key in real_runs["runs"]}}
                  for rows in ([5, "x"], [[1]], [["1", []]], [[3, [[1, 2]]]], "x")]
    for garbage in (b"\x80\x04 not json", b'{"format": 3, "version": "0.1.0", "entries": {"x": 5}}', b"[]",
                    json.dumps(wrong_shapes).encode(),
                    cache_file.read_bytes().replace(b'"NN201"', b'"NN999"').replace(b"[6, 12", b"[\"6\", 12")):
        for broken, content in ((cache_file, garbage), (runs_file, garbage),
                                *((runs_file, json.dumps(runs).encode()) for runs in wrong_runs)):
            broken.write_bytes(content)
            result = _run(project, cache)
            assert result.stdout == expected and b"Traceback" not in result.stderr
    rebuilt = json.loads(cache_file.read_text())
    assert rebuilt["format"] == CACHE_FORMAT and len(rebuilt["entries"]) == 1


def test_no_cache_reads_and_writes_nothing(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    assert b"NN201" in _run(project, cache, "--no-cache").stdout
    assert not cache.exists()


def test_default_cache_directory_is_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(BUGGY)
    run_nnlint("src", cwd=tmp_path, env={"NNLINT_CACHE_DIR": ""})
    assert (tmp_path / ".nnlint_cache" / CACHE_FILE).is_file()
    assert (tmp_path / ".nnlint_cache" / ".gitignore").read_text() == "*\n"


def test_an_unchanged_tree_is_served_whole_and_writes_nothing(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    (project / "clean.py").write_text("import torch\n")
    cold = _run(project, cache)
    written = (cache / RUNS_FILE).stat().st_mtime_ns
    (cache / CACHE_FILE).unlink()  # the run's own record answers it: the per-file results are not read
    warm = _run(project, cache)
    assert warm.stdout == cold.stdout and (cache / RUNS_FILE).stat().st_mtime_ns == written
    assert not (cache / CACHE_FILE).exists()
    (project / "clean.py").write_text("import torch\nimport numpy\n")
    assert _run(project, cache).stdout == cold.stdout and (cache / RUNS_FILE).stat().st_mtime_ns != written
    assert (cache / CACHE_FILE).is_file()


def test_editing_an_imported_file_changes_its_importers_findings(tmp_path: Path) -> None:
    project, cache = tmp_path / "project", tmp_path / "cache"
    shutil.copytree(REPO / "fixtures" / "projects" / "softmax_head_across_files", project)
    assert b"NN201" in _run(project, cache).stdout
    heads = project / "models" / "heads.py"
    heads.write_text(heads.read_text().replace("nn.Softmax(dim=-1)", "nn.Identity()"))
    assert b"NN201" not in _run(project, cache).stdout
    heads.write_text(heads.read_text().replace("nn.Identity()", "nn.Softmax(dim=-1)"))
    assert b"NN201" in _run(project, cache).stdout


def test_editing_the_torch_requirement_changes_the_verdict_on_a_warm_run(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    (project / ".git").mkdir(parents=True)
    (project / "train.py").write_text("import torch\n\nstate = torch.load('model.pt')\n")
    (project / "requirements.txt").write_text("torch>=2.0\n")
    assert b"NN701" in _run(project, cache).stdout
    (project / "requirements.txt").write_text("torch>=2.6\n")
    assert b"NN701" not in _run(project, cache).stdout  # the whole run's record must miss
    (project / "requirements.txt").write_text("torch>=2.0\n")
    (project / "other.py").write_text("import torch\n")
    assert b"NN701" in _run(project, cache).stdout  # and so must the file's own entry
