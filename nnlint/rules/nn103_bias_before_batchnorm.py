"""NN103: a Conv/Linear layer with a bias feeding straight into BatchNorm, which cancels the bias."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.layers import BATCH_NORM, CONV, INSTANCE_NORM, LINEAR, Bias, Layer
from nnlint.rules import Report, Rule


def _cancels_bias(first: Layer, second: Layer) -> bool:
    if first.family not in (CONV, LINEAR) or first.bias is not Bias.ON:
        return False
    return second.family == BATCH_NORM or (second.family == INSTANCE_NORM and first.family == CONV)


def check(facts: FileFacts) -> Iterator[Report]:
    for adjacency in facts.layers.adjacencies:
        first, second = adjacency.first, adjacency.second
        if not _cancels_bias(first, second):
            continue
        origin = f" (bias comes from `{first.bias_via}`, which defaults to True)" if first.bias_via else ""
        yield Report(
            adjacency.reported_at,
            f"{first.name} keeps its bias{origin} but feeds straight into {second.name} ({adjacency.where}), whose "
            "per-channel mean subtraction cancels it: the bias is wasted parameters, pass bias=False",
        )


RULE = Rule(
    code="NN103",
    name="bias-before-batchnorm",
    severity=Severity.WARNING,
    summary="A Conv/Linear layer keeps its bias although it feeds straight into BatchNorm, which cancels it.",
    check=check,
    triggers=("BatchNorm", "InstanceNorm"),
    cross_file=False,
)
