"""NN401: evaluation code runs a model that is still in training mode."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.semantics import NO_GRAD_CONTEXTS, SET_GRAD_ENABLED
from nnlint.facts.pytorch.evaluation import is_evaluation_function
from nnlint.facts.pytorch.modes import EvaluationCall, Mode
from nnlint.facts.core.syntax import descendants
from nnlint.fixes import Fix, InsertBefore, unsafe_fix
from nnlint.fixes.build import statement_line
from nnlint.rules import Report, Rule

# Calls that make a statement part of training: the eval() must not go before it.
TRAINING_METHODS = frozenset({"backward", "step", "zero_grad", "train"})


def _disables_grad(compound: cst.BaseStatement, facts: FileFacts) -> bool:
    return isinstance(compound, cst.With) and any(
        isinstance(item.item, cst.Call) and facts.names.qualname(item.item.func) in NO_GRAD_CONTEXTS | SET_GRAD_ENABLED
        for item in compound.items)


def _trains(node: cst.CSTNode) -> bool:
    return any(isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
               and inner.func.attr.value in TRAINING_METHODS for inner in descendants(node))


def _evaluates(function: cst.FunctionDef, facts: FileFacts) -> bool:
    """A function that is evaluation code itself: named so, or decorated to run without gradients."""
    return is_evaluation_function(function.name.value) or any(
        facts.names.qualname(decorator.decorator.func if isinstance(decorator.decorator, cst.Call)
                             else decorator.decorator) in NO_GRAD_CONTEXTS for decorator in function.decorators)


def _switches_to_training(function: cst.FunctionDef) -> bool:
    return any(isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "train"
               for node in descendants(function))


def _fix(call: cst.Call, model: str, through_helper: bool, facts: FileFacts) -> Fix | None:
    """`model.eval()` where the evaluation starts: before the `with torch.no_grad():` around the
    call, else before the outermost statement around it that does no training, or before the call
    of a helper that evaluates (unsafe: a model that trains afterwards needs `model.train()` again,
    which NN402's fix then adds where the iteration trains, and a model meant to sample with
    dropout on loses it)."""
    line = facts.statements.line_of(call)
    if line is None:
        return None
    chain = facts.statements.enclosing_statements(line)
    start = next((compound for compound in chain if _disables_grad(compound, facts)), None)
    if through_helper:
        start = start or line
    elif start is None:
        function = facts.statements.function_of(line)
        if function is not None and not _evaluates(function, facts) and _switches_to_training(function):
            return None  # evaluation only through a caller, in code that also trains: the caller's to fix
        start = next((outer for outer in reversed(chain) if not _trains(outer)), line)
    return unsafe_fix(f"call {model}.eval() before evaluating",
                      InsertBefore(start, (statement_line(f"{model}.eval()"),)))


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
            partial(_fix, bad.call, model, bad.elsewhere is not None, facts),
            elsewhere=((bad.elsewhere, "the model runs here, in the mode its caller left it in"),)
            if bad.elsewhere is not None else (),
        )


RULE = Rule(
    code="NN401",
    name="missing-eval",
    severity=Severity.ERROR,
    summary="Evaluation or inference code runs a model without model.eval(): Dropout and BatchNorm act as in training.",
    check=check,
    triggers=("no_grad", "inference_mode", "set_grad_enabled", "eval", "val", "test", "predict", "infer",
              "load_state_dict"),
    fixes=(Applicability.UNSAFE,),
)
