"""engine.LintSession, the language server's way of linting: the files asked for with those they
import, again and again, from memory."""

from __future__ import annotations

import pytest

import nnlint.engine as engine
from nnlint.engine import LintSession, lint_project
from nnlint.files import discover
from nnlint.rules.metadata import RULES

from helpers import FIXTURES

CODES = frozenset(rule.code for rule in RULES if rule.default_enabled)
PROJECTS = sorted(path for path in (FIXTURES / "projects").iterdir() if path.is_dir())


def project_files(folder) -> list[str]:
    return [entry for entry in discover([str(folder.absolute())], []) if isinstance(entry, str)]


def found(result) -> list[tuple[int, int, str]]:
    return sorted((f.line, f.column, f.code) for f in result.findings)


@pytest.mark.parametrize("folder", PROJECTS, ids=lambda folder: folder.name)
def test_a_file_linted_with_what_it_imports_has_the_findings_of_the_whole_project(folder):
    files = project_files(folder)
    whole = {result.path: found(result) for result in lint_project(files, CODES, lambda _: (), workers=1)}
    session = LintSession(files)
    for path in files:
        assert found(session.lint([path], CODES, lambda _: (), {})[0]) == whole[path], path


def test_an_edited_buffer_of_an_imported_file_changes_the_importer(tmp_path):
    (tmp_path / "models.py").write_text(
        "from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=1))\n\n"
        "    def forward(self, x):\n        return self.body(x)\n")
    (tmp_path / "train.py").write_text(
        "import torch.nn.functional as F\n\nfrom models import Net\n\n\ndef loss(x, y):\n"
        "    return F.cross_entropy(Net()(x), y)\n")
    files = project_files(tmp_path)
    train, models = str(tmp_path / "train.py"), str(tmp_path / "models.py")
    session = LintSession(files)
    assert [f.code for f in session.lint([train], CODES, lambda _: (), {})[0].findings] == ["NN201"]
    without_softmax = (tmp_path / "models.py").read_bytes().replace(b", nn.Softmax(dim=1)", b"")
    assert session.lint([train], CODES, lambda _: (), {models: without_softmax})[0].findings == []
    assert [f.code for f in session.lint([train], CODES, lambda _: (), {})[0].findings] == ["NN201"]


def test_unchanged_files_are_not_analysed_again(tmp_path, monkeypatch):
    folder = FIXTURES / "projects" / "softmax_head_across_files"
    files = project_files(folder)
    train = str((folder / "train.py").absolute())
    session = LintSession(files)
    first = session.lint([train], CODES, lambda _: (), {})
    analysed = []
    analyse = engine._analyse_job
    monkeypatch.setattr(engine, "_analyse_job", lambda job: analysed.append(job[0]) or analyse(job))
    assert found(session.lint([train], CODES, lambda _: (), {})[0]) == found(first[0])
    edited = (folder / "train.py").read_bytes() + b"\n"
    session.lint([train], CODES, lambda _: (), {train: edited})
    assert analysed == [train]  # the files it imports are served from memory
