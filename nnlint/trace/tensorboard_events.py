"""`nnlint trace SCRIPT --tensorboard DIR`: what the HTML report draws, as TensorBoard event files.

Scalars per optimizer step: `loss`, `update_weight_ratio/LAYER` and `gradient_norm/LAYER` (LAYER:
a weight matrix, `hidden.weight`), and `dead_unit_fraction/LAYER` (`act (ReLU)`) once, at the
last step. Histograms of the samples the recorder took: `weights/LAYER` and `activations/LAYER`
at step 0 (before the first update, the first training forward) and at the last step. Written
with torch's own SummaryWriter, which needs the `tensorboard` package.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence


def require_tensorboard() -> str | None:
    """None when TensorBoard event files can be written, else what to do about it."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return "--tensorboard needs the tensorboard package: pip install tensorboard (or 'nnlint[trace]')"
    return None


def write_events(directory: str | os.PathLike[str], steps: int, measurements: dict[str, Any]) -> None:
    """Write the recorded scalars and histograms of a run of `steps` optimizer steps into `directory`."""
    from torch.utils.tensorboard import SummaryWriter

    recording = measurements.get("recording")
    with SummaryWriter(log_dir=os.fspath(directory)) as writer:
        for step, loss in enumerate(measurements.get("loss", []), start=1):
            writer.add_scalar("loss", loss, step)
        for group, series in (("update_weight_ratio", getattr(recording, "update_ratios", {})),
                              ("gradient_norm", getattr(recording, "gradient_norms", {}))):
            for layer, points in series.items():
                for step, value in points:
                    writer.add_scalar(_tag(group, layer), value, step)
        for layer, fraction in measurements.get("dead_fraction", {}).items():
            writer.add_scalar(_tag("dead_unit_fraction", layer), fraction, steps)
        for group, samples in (("weights", getattr(recording, "weights", {})),
                               ("activations", getattr(recording, "activations", {}))):
            for layer, (first, last) in samples.items():
                # With no step taken, the first sample is the last one.
                for step, values in ((0, first), (steps, last)) if steps else ((0, first),):
                    _histogram(writer, _tag(group, layer), values, step)


def _tag(group: str, layer: str) -> str:
    """`activations/act (ReLU)`: the layer as the findings name it, without their backquotes."""
    return f"{group}/{layer.replace('`', '')}"


def _histogram(writer: Any, tag: str, values: Sequence[float], step: int) -> None:
    import torch

    finite = [value for value in values if math.isfinite(value)]
    if finite:  # a histogram of NaN and Inf has no range; NN801 reports them
        writer.add_histogram(tag, torch.tensor(finite), step)
