"""NN403: dropout that stays on in evaluation: `training=True` hard-coded (or, outside a
module, left to F.dropout's default), or an `is_training`-style flag passed as True at evaluation."""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.pytorch.evaluation import is_evaluation_function, is_stochastic_inference
from nnlint.facts.pytorch.modes import ForcedTrainingFlag
from nnlint.facts.core.syntax import keyword_arg, positional_args
from nnlint.fixes import Fix, Replace, safe_fix, unsafe_fix
from nnlint.fixes.build import expression, self_parameter, with_argument_value, with_keyword
from nnlint.rules import Report, Rule
from nnlint.facts.pytorch.semantics import grad_disabled

F = "torch.nn.functional"
# Dropout functions whose `training` argument defaults to True, and the keyword each one names it by.
TRAINING_BY_DEFAULT = {f"{F}.dropout": "training", f"{F}.dropout1d": "training", f"{F}.dropout2d": "training",
                       f"{F}.dropout3d": "training"}
TRAINING_REQUIRED = {f"{F}.alpha_dropout": "training", f"{F}.feature_alpha_dropout": "training",
                     "torch.dropout": "train", "torch.alpha_dropout": "train", "torch.feature_dropout": "train",
                     "torch.feature_alpha_dropout": "train"}
TRAINING_POSITION = 2
# Parameters through which functional code receives the mode it should run in.
MODE_PARAMETERS = frozenset({"training", "is_training", "train", "is_train", "train_mode", "mode"})
# The mode parameters that hold a boolean (`mode` may be a string such as "train").
BOOLEAN_MODE_PARAMETERS = MODE_PARAMETERS - {"mode"}


def _training_argument(call: cst.Call, keyword: str) -> cst.BaseExpression | None:
    arg = keyword_arg(call, keyword)
    if arg is not None:
        return arg.value
    positional = positional_args(call)
    return positional[TRAINING_POSITION].value if len(positional) > TRAINING_POSITION else None


def _is_true(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "True"


def _is_flag(expr: cst.BaseExpression) -> bool:
    """A plain switch (`use_mc`, `self.training`, `not cfg.x and y`): a deliberate configuration."""
    if isinstance(expr, (cst.Name, cst.Attribute)):
        return True
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Not):
        return _is_flag(expr.expression)
    if isinstance(expr, cst.BooleanOperation):
        return _is_flag(expr.left) and _is_flag(expr.right)
    return False


def _runs_at_evaluation(call: CallEvent, facts: FileFacts) -> bool:
    """Code that eval() should switch to inference: a model's method, mode-aware functional code,
    or evaluation code itself."""
    function = call.function
    if grad_disabled(call) or is_evaluation_function(function.name):
        return True
    if MODE_PARAMETERS & set(function.params):
        return True
    return _in_module(call, facts)


def _in_module(call: CallEvent, facts: FileFacts) -> bool:
    info = facts.dataflow.class_of(call.function.class_name) if call.function.class_name else None
    return info is not None and info.is_module


def _forced_dropout(call: CallEvent, facts: FileFacts) -> tuple[str, Callable[[], Fix | None]] | None:
    """The message and fix for a dropout call that ignores the mode, or None."""
    node = call.node
    if not isinstance(node, cst.Call) or call.specialized:
        return None
    qualname = call.qualname or ""
    keyword = TRAINING_BY_DEFAULT.get(qualname) or TRAINING_REQUIRED.get(qualname)
    if keyword is None:
        return None
    argument = _training_argument(node, keyword)
    # Leaving `training` to its default inside a module is NN106's finding, not this rule's.
    omitted = argument is None and qualname in TRAINING_BY_DEFAULT and not _in_module(call, facts)
    if not (omitted or _is_true(argument)):
        return None
    if is_stochastic_inference(call.function.name) or any(_is_flag(c) for c in facts.guards.conditions_of(node)):
        return None
    if not _runs_at_evaluation(call, facts):
        return None
    short = qualname.rsplit(".", 1)[-1]
    how = f"{short} defaults to {keyword}=True" if omitted else f"{keyword}=True is hard-coded"
    message = (f"{how}: dropout stays on after model.eval() and corrupts evaluation and inference; "
               f"pass {keyword}=self.training (or the function's own mode flag)")
    return message, partial(_fix, call, node, keyword, argument, facts)


def _fix(call: CallEvent, node: cst.Call, keyword: str, argument: cst.BaseExpression | None,
         facts: FileFacts) -> Fix | None:
    """The dropout follows the module's mode (`self.training`) or the function's mode flag
    (safe); in evaluation code with neither, it is switched off (unsafe: inference may mean to
    sample with dropout on, as Monte Carlo dropout does)."""
    function = call.function
    instance = self_parameter(function.node) if function.node is not None and _in_module(call, facts) else None
    flags = [param for param in function.params if param in BOOLEAN_MODE_PARAMETERS]
    mode = f"{instance}.training" if instance else flags[0] if flags else None
    value = mode or "False"
    if argument is None:
        fixed = with_keyword(node, keyword, expression(value))
    else:
        arg = next(arg for arg in node.args if arg.value is argument)
        fixed = with_argument_value(node, arg, expression(value))
    if mode is not None:
        return safe_fix(f"pass {keyword}={value}", Replace(node, fixed))
    if grad_disabled(call) or is_evaluation_function(function.name):
        return unsafe_fix(f"pass {keyword}=False", Replace(node, fixed))
    return None


def _forced_flag_fix(forced: ForcedTrainingFlag) -> Fix | None:
    """`is_training=True` at evaluation becomes `is_training=False`."""
    arg = keyword_arg(forced.call, forced.flag)
    if arg is None:
        return None
    return safe_fix(f"pass {forced.flag}=False", Replace(forced.call, with_argument_value(forced.call, arg,
                                                                                         expression("False"))))


def check(facts: FileFacts) -> Iterator[Report]:
    for call in facts.dataflow.calls():
        forced = _forced_dropout(call, facts)
        if forced is not None:
            yield Report(call.node, *forced)
    if "=True" not in facts.text:
        return
    for forced in facts.modes.forced_training_flags.values():
        yield Report(
            forced.call,
            f"{forced.flag}=True is passed {forced.context}: the model runs its training behaviour "
            f"(dropout, batch statistics) while being evaluated; pass {forced.flag}=False",
            partial(_forced_flag_fix, forced),
        )


RULE = Rule(
    code="NN403",
    name="dropout-forced-in-eval",
    severity=Severity.ERROR,
    summary="Dropout forced on at evaluation: training=True hard-coded, or an is_training flag fixed to True.",
    check=check,
    triggers=("dropout", "=True"),
    fixes=(Applicability.SAFE, Applicability.UNSAFE),
)
