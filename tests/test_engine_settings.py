"""The engine's process settings stay in its workers: a host process gets its own back."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from nnlint import analysis
from nnlint.engine import GC_THRESHOLDS, lint_project


def test_an_inline_run_gives_back_the_collectors_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "train.py"
    script.write_text("import torch\nloss = torch.nn.CrossEntropyLoss()(torch.softmax(x, dim=1), y)\n")
    during = []

    def lint_bytes(*args, **kwargs):
        during.append(gc.get_threshold())
        return real(*args, **kwargs)

    real = analysis.lint_bytes
    monkeypatch.setattr(analysis, "lint_bytes", lint_bytes)
    before = gc.get_threshold()
    try:
        gc.set_threshold(1000, 5, 5)
        results = lint_project([str(script)], frozenset({"NN201"}), lambda _: (), workers=1)
        assert gc.get_threshold() == (1000, 5, 5)
    finally:
        gc.set_threshold(*before)
    assert [f.code for f in results[0].findings] == ["NN201"]
    assert during == [GC_THRESHOLDS]
