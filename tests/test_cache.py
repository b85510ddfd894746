"""The on-disk cache: same answers warm as cold, invalidated by content and options, never trusted blindly."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path
from typing import Callable

import pytest

from helpers import KEY_HOME, REPO, parse_text_output, run_nnlint
from test_cli import BUGGY

from nnlint.cache import CACHE_FILE, CACHE_FORMAT, MAX_FILE_BYTES, RUNS_FILE, key_file, seal, signing_key, unseal


def _run(project: Path, cache: Path, *args: str, timeout: float = 300):
    return run_nnlint(*args, ".", cwd=project, env={"NNLINT_CACHE_DIR": str(cache)}, timeout=timeout)


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


def _key(monkeypatch: pytest.MonkeyPatch, key_home: str = KEY_HOME) -> bytes:
    """The cache key of the user whose cache folder is `key_home` (the tests' user by default)."""
    monkeypatch.setenv("XDG_CACHE_HOME", key_home)
    key = signing_key()
    assert key is not None
    return key


def _payload(data: bytes) -> dict:
    return json.loads(data.partition(b"\n")[2])


def test_corrupt_or_foreign_cache_is_ignored_and_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    expected = _run(project, cache).stdout
    cache_file, runs_file = cache / CACHE_FILE, cache / RUNS_FILE
    real, real_runs = _payload(cache_file.read_bytes()), _payload(runs_file.read_bytes())
    wrong_shapes = [{**real, "entries": {key: 5 for key in real["entries"]}, "scans": {key: [1] for key in real["scans"]}},
                    {**real, "entries": {key: [[1], *entry[1:]] for key, entry in real["entries"].items()},
                     "scans": {key: [{}, *entry[1:]] for key, entry in real["scans"].items()}},
                    {**real, "entries": {"x": [[1], 1, [], None]}},
                    {**real, "entries": {key: [entry[0], 1.5, "x", 7] for key, entry in real["entries"].items()}},
                    {**real, "entries": []}, {**real, "version": "0.1.0"}]
    wrong_runs = [{**real_runs, "runs": {key: rows for key in real_runs["runs"]}}
                  for rows in ([5, "x"], [[1]], [["1", []]], [[3, [[1, 2]]]], "x", [[3, [[1, 2, 3, 4, 5, 6, 7, 8, 9]]]])]
    key = _key(monkeypatch)
    # Unsealed (written by anyone), then sealed with this user's key: what the seal lets
    # through is still checked, and an invalid entry costs that entry only.
    garbage = [b"\x80\x04 not json", b'{"format": 4, "version": "0.1.0", "entries": {"x": 5}}', b"[]", b"",
               b"\n", cache_file.read_bytes().replace(b'"NN201"', b'"NN999"'), json.dumps(real).encode()]
    sealed = [(name, seal(key, name, json.dumps(content).encode()))
              for name, contents in ((CACHE_FILE, wrong_shapes), (RUNS_FILE, wrong_runs)) for content in contents]
    for broken, content in [*((file, junk) for junk in garbage for file in (cache_file, runs_file)),
                            *((cache / name, data) for name, data in sealed)]:
        broken.write_bytes(content)
        result = _run(project, cache)
        assert result.stdout == expected and b"Traceback" not in result.stderr, (broken.name, content[:200])
    rebuilt = _payload(cache_file.read_bytes())
    assert rebuilt["format"] == CACHE_FORMAT and len(rebuilt["entries"]) == 1


@pytest.mark.parametrize("sealed", [False, True])
def test_deeply_nested_json_in_the_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    sealed: bool) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    expected = _run(project, cache).stdout
    deep = b"[" * 200_000 + b"]" * 200_000
    for name in (CACHE_FILE, RUNS_FILE):
        (cache / name).write_bytes(seal(_key(monkeypatch), name, deep) if sealed else deep)
    result = _run(project, cache)
    assert result.stdout == expected and b"Traceback" not in result.stderr, result.stderr.decode()[-500:]
    assert unseal(_key(monkeypatch), RUNS_FILE, (cache / RUNS_FILE).read_bytes())  # rewritten


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_cache_file_that_is_a_fifo_a_device_or_huge_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    expected = _run(project, cache).stdout
    def fifo(path: Path) -> None:
        os.mkfifo(path)

    def link_to_zeros(path: Path) -> None:
        path.symlink_to("/dev/zero")

    def sparse(size: int) -> Callable[[Path], None]:
        def make(path: Path) -> None:
            path.touch()
            os.truncate(path, size)
        return make

    for make_results, make_runs in ((fifo, link_to_zeros), (link_to_zeros, fifo),
                                    (sparse(MAX_FILE_BYTES + 1), sparse(2**40))):
        for name, make in ((CACHE_FILE, make_results), (RUNS_FILE, make_runs)):
            (cache / name).unlink()
            make(cache / name)
        result = _run(project, cache, timeout=60)
        assert result.stdout == expected and b"Traceback" not in result.stderr
        assert (cache / RUNS_FILE).is_file() and not (cache / RUNS_FILE).is_symlink()  # rewritten
        assert unseal(_key(monkeypatch), RUNS_FILE, (cache / RUNS_FILE).read_bytes())


def _forged(data: bytes) -> bytes:
    """A cache file's JSON with every finding taken out: the results it reports are clean."""
    content = json.loads(data if data.startswith(b"{") else data.partition(b"\n")[2])
    for entry in [*content.get("entries", {}).values(), *content.get("scans", {}).values()]:
        entry[2] = []
    for rows in content.get("runs", {}).values():
        for row in rows:
            row[1] = []
    return json.dumps(content).encode()


@pytest.mark.parametrize("sealed_by_the_author", [False, True])
def test_a_committed_forged_cache_does_not_hide_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        sealed_by_the_author: bool) -> None:
    """A pull request commits a `.nnlint_cache` whose entries say that its buggy file is clean."""
    project, author_home, gate_home = tmp_path / "p", str(tmp_path / "author"), str(tmp_path / "ci")
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.nnlint]\n")
    (project / "train.py").write_text(BUGGY)
    cache = project / ".nnlint_cache"
    author = {"NNLINT_CACHE_DIR": "", "XDG_CACHE_HOME": author_home}
    assert b"NN201" in run_nnlint(".", cwd=project, env=author).stdout
    for name in (CACHE_FILE, RUNS_FILE):
        forged = _forged((cache / name).read_bytes())
        if sealed_by_the_author:
            forged = seal(_key(monkeypatch, author_home), name, forged)
        (cache / name).write_bytes(forged)
    if sealed_by_the_author:  # the forgery works where its author's key is: it is a real one
        assert run_nnlint(".", cwd=project, env=author).stdout == b""
    gate = run_nnlint(".", cwd=project, env={"NNLINT_CACHE_DIR": "", "XDG_CACHE_HOME": gate_home})
    assert gate.returncode == 1
    assert [f["code"] for f in parse_text_output(gate.stdout.decode())] == ["NN201", "NN301"]
    assert unseal(_key(monkeypatch, gate_home), RUNS_FILE, (cache / RUNS_FILE).read_bytes())  # rewritten


def test_the_key_is_private_and_a_bad_one_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    key_path = tmp_path / "nnlint" / "key"
    assert key_file() == key_path
    key = signing_key()
    assert key is not None and len(key) == 32 and key_path.read_bytes() == key
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600 and signing_key() == key
    assert [p.name for p in key_path.parent.iterdir()] == ["key"]  # no temporary file left behind
    key_path.chmod(0o644)  # others could read it: it is no secret any more
    assert signing_key() not in (None, key)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(key)
    key_path.unlink()
    key_path.symlink_to(elsewhere)
    assert signing_key() not in (None, key) and not key_path.is_symlink()
    assert elsewhere.read_bytes() == key


def test_without_a_key_the_run_goes_on_uncached(tmp_path: Path) -> None:
    project, cache = tmp_path / "p", tmp_path / "cache"
    project.mkdir()
    (project / "train.py").write_text(BUGGY)
    (tmp_path / "not-a-folder").write_text("")
    result = run_nnlint(".", cwd=project, env={"NNLINT_CACHE_DIR": str(cache),
                                               "XDG_CACHE_HOME": str(tmp_path / "not-a-folder")})
    assert result.returncode == 1 and b"NN201" in result.stdout and b"Traceback" not in result.stderr
    assert not cache.exists()


def test_the_cache_is_never_written_through_a_planted_link(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "p", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "pyproject.toml").write_text("[tool.nnlint]\n")
    (project / "train.py").write_text(BUGGY)
    (project / ".nnlint_cache").symlink_to(elsewhere, target_is_directory=True)
    result = run_nnlint(".", cwd=project, env={"NNLINT_CACHE_DIR": ""})
    assert b"NN201" in result.stdout and list(elsewhere.iterdir()) == []
    (project / ".nnlint_cache").unlink()
    (project / ".nnlint_cache").mkdir()
    (project / ".nnlint_cache" / ".gitignore").symlink_to(elsewhere / "planted")
    (project / ".nnlint_cache" / CACHE_FILE).symlink_to(elsewhere / "results")
    run_nnlint(".", cwd=project, env={"NNLINT_CACHE_DIR": ""})
    assert list(elsewhere.iterdir()) == [] and (project / ".nnlint_cache" / RUNS_FILE).is_file()
    assert not (project / ".nnlint_cache" / CACHE_FILE).is_symlink()


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
