"""NN702: a training script that never seeds torch (off by default)."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.core.names import first_import
from nnlint.facts.core.syntax import dotted_name, main_guard
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.rules import Report, Rule

# Seeding Python's or NumPy's generator leaves torch's (weight init, dropout, shuffling) unseeded.
NON_TORCH_SEEDS = frozenset({"random.seed", "numpy.random.seed", "numpy.random.default_rng",
                             "numpy.random.RandomState", "random.Random"})


def _callee_name(call: CallEvent) -> str:
    if call.qualname is not None:
        return call.qualname
    return (dotted_name(call.node.func) or "") if isinstance(call.node, cst.Call) else ""


def _seeds_torch(facts: FileFacts) -> bool:
    """Any call of a seeding function: torch.manual_seed, seed_everything, set_seed, a helper of the file."""
    for call in facts.dataflow.calls():
        name = _callee_name(call)
        if "seed" in name.rsplit(".", 1)[-1].lower() and name not in NON_TORCH_SEEDS:
            return True
    return False


def _trains(actions: list[Action]) -> bool:
    effects = {action.effect for action in actions}
    return Effect.BACKWARD in effects and Effect.STEP in effects


def _is_training_script(facts: FileFacts) -> bool:
    """A file run as a program (a __main__ block, or training at top level) that has a training loop."""
    training = facts.training
    if _trains(training.actions_of(None)):
        return True
    return main_guard(facts.module) is not None and any(_trains(loop.actions) for loop in training.loops)


def check(facts: FileFacts) -> Iterator[Report]:
    torch_import = first_import(facts.module, "torch")
    if torch_import is None or not _is_training_script(facts) or _seeds_torch(facts):
        return
    yield Report(
        torch_import,
        "this training script never seeds torch: weight initialisation, dropout masks and shuffling differ "
        "on every run, so results cannot be reproduced; call torch.manual_seed(seed) (or seed_everything) "
        "before building the model",
    )


RULE = Rule(
    code="NN702",
    name="unseeded-training",
    severity=Severity.NOTE,
    summary="A training script never seeds torch, so its runs cannot be reproduced.",
    check=check,
    triggers=("backward",),
    default_enabled=False,
)
