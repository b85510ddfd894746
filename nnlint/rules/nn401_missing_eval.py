"""NN401: evaluation code runs a model that is still in training mode."""

from __future__ import annotations

from typing import Iterator

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.modes import EvaluationCall, Mode
from nnlint.rules import Report, Rule


def _always_training(call: EvaluationCall) -> bool:
    return bool(call.settings) and all(setting.mode is Mode.TRAIN for setting in call.settings)


def _monte_carlo(call: EvaluationCall) -> bool:
    """`model.train()`, then the model sampled again and again with no training in between."""
    return call.sampled and all(setting.deliberate_training for setting in call.settings)


def _exempt(call: EvaluationCall) -> bool:
    """A module's own calls, models free of Dropout/BatchNorm, untrained networks being probed, and
    snapshots on random draws between training epochs (a GAN's samples from fixed noise)."""
    return call.owned or call.subject.mode_free or call.subject.untrained or _monte_carlo(call) \
        or call.training_snapshot


def check(facts: FileFacts) -> Iterator[Report]:
    modes = facts.modes
    for node, calls in modes.evaluation_calls.items():
        bad = next((call for call in calls if _always_training(call) and not _exempt(call)), None)
        if bad is None:
            continue
        # A method or sub-module taken from a model is switched with the model itself.
        model = bad.model.rsplit(".", 1)[0] if bad.subject.derived else bad.model
        yield Report(
            node,
            f"`{model}` runs {bad.context} while still in training mode: Dropout stays on and BatchNorm "
            f"uses and updates batch statistics; call {model}.eval() before evaluating",
        )


RULE = Rule(
    code="NN401",
    name="missing-eval",
    severity=Severity.ERROR,
    summary="Evaluation or inference code runs a model without model.eval(): Dropout and BatchNorm act as in training.",
    check=check,
    triggers=("no_grad", "inference_mode", "set_grad_enabled", "eval", "val", "test", "predict", "infer",
              "load_state_dict"),
)
