"""`nnlint trace SCRIPT --tensorboard DIR`: the report's scalars and histograms as TensorBoard
event files, read back with TensorBoard's own reader; without the package, one line and exit 2
before the script runs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from helpers import FIXTURES  # noqa: E402
from nnlint.trace.cli import main  # noqa: E402

TRACE = FIXTURES / "trace"


def _events(directory: Path) -> tuple[dict[str, list[tuple[int, float]]], dict[str, list[int]]]:
    """Scalars (step, value) and histogram steps per tag."""
    events = EventAccumulator(str(directory), size_guidance={"scalars": 0, "histograms": 0})
    events.Reload()
    tags = events.Tags()
    scalars = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in tags["scalars"]}
    histograms = {tag: [e.step for e in events.Histograms(tag)] for tag in tags["histograms"]}
    return scalars, histograms


def test_scalars_and_histograms_of_every_step(tmp_path: Path) -> None:
    directory = tmp_path / "runs"
    assert main(["--tensorboard", str(directory), "--output-format", "json", str(TRACE / "nn809_dead_units.py")]) == 1
    scalars, histograms = _events(directory)
    layers = ("hidden.weight", "out.weight")
    assert set(scalars) == {"loss", "dead_unit_fraction/act (ReLU)",
                            *(f"{group}/{layer}" for group in ("update_weight_ratio", "gradient_norm")
                              for layer in layers)}
    for tag, points in scalars.items():
        if tag != "dead_unit_fraction/act (ReLU)":
            assert [step for step, _ in points] == [1, 2, 3, 4, 5], tag
    assert scalars["dead_unit_fraction/act (ReLU)"] == [(5, 1.0)]  # every unit of the fixture's ReLU is dead
    assert histograms == {
        **{f"weights/{layer}": [0, 5] for layer in layers},
        **{f"activations/{layer}": [0, 5] for layer in ("hidden (Linear)", "act (ReLU)", "out (Linear)")},
    }


def test_the_steps_follow_the_run(tmp_path: Path) -> None:
    directory = tmp_path / "runs"
    assert main(["--tensorboard", str(directory), "--steps", "3", "--quiet", str(TRACE / "healthy.py")]) == 0
    scalars, histograms = _events(directory)
    assert [step for step, _ in scalars["loss"]] == [1, 2, 3]
    ratios = [points for tag, points in scalars.items() if tag.startswith("update_weight_ratio/")]
    assert ratios and all([step for step, _ in points] == [1, 2, 3] and all(v > 0 for _, v in points)
                          for points in ratios)
    assert histograms and all(steps == [0, 3] for steps in histograms.values())


def _marking_script(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "ran"
    script = tmp_path / "train.py"
    script.write_text(f"open({str(marker)!r}, 'w').close()\n", encoding="utf-8")
    return script, marker


def test_without_tensorboard_one_line_and_the_script_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if not installed
    script, marker = _marking_script(tmp_path)
    assert main(["--tensorboard", str(tmp_path / "runs"), str(script)]) == 2
    assert capsys.readouterr().err == ("nnlint trace: error: --tensorboard needs the tensorboard package: "
                                       "pip install tensorboard (or 'nnlint[trace]')\n")
    assert not marker.exists() and not (tmp_path / "runs").exists()


def test_a_file_in_place_of_the_directory_is_refused_before_the_script_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script, marker = _marking_script(tmp_path)
    taken = tmp_path / "runs"
    taken.write_text("", encoding="utf-8")
    assert main(["--tensorboard", str(taken), str(script)]) == 2
    assert capsys.readouterr().err == f"nnlint trace: error: --tensorboard {taken}: not a directory\n"
    assert not marker.exists()
