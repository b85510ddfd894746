"""Model selection, read from a function's statements (NN607): the comparisons with a best score
that save a checkpoint or keep the new best, the flags that decide a later save, the
early-stopping calls, and the metric each one selects by. Syntax only: the summary of every
file uses it, so it stays light."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from nnlint.facts.core.syntax import calls_in, dotted_name, string_value, sub_nodes
from nnlint.facts.data import data_api as api

_BEST_WORDS = frozenset({"best", "lowest", "highest", "min", "max"})
_COUNTER_WORDS = frozenset({"epoch", "step", "iter", "iteration", "patience", "count", "counter"})
_NOT_TEST_METRIC_WORDS = frozenset({"val", "valid", "validation", "dev", "train", "training", "trn"}) | _COUNTER_WORDS
_SAVE_WORDS = frozenset({"save", "deepcopy", "state"})
_STOPPING_WORDS = frozenset({"stop", "stopping", "stopper"})


@dataclass(frozen=True)
class TestSelection:
    """A choice of checkpoint or epoch made on a metric computed on the test split."""

    node: cst.CSTNode     # the comparison, or the early-stopping call
    metric: str
    how: str              # what the comparison decides: "saves a checkpoint", "keeps the best score", ...

    @property
    def named_for_another_split(self) -> bool:
        """The metric's name says it is a validation or training score, or a counter."""
        return bool(set(api.words(self.metric.rsplit(".", 1)[-1])) & _NOT_TEST_METRIC_WORDS)


_STEP_TYPES = (cst.Assign, cst.If, cst.Call)


def function_steps(root: cst.CSTNode) -> list[cst.CSTNode]:
    """The assignments, `if` statements and calls of one function body (or module), in source
    order, nested functions and classes left out."""
    steps: list[cst.CSTNode] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node is not root and isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(node, _STEP_TYPES):
            steps.append(node)
        stack.extend(reversed(sub_nodes(node)))
    return steps


def selection_at(step: cst.CSTNode, later: list[cst.CSTNode]) -> TestSelection | None:
    """The choice a step of a function makes by a metric, if any: a comparison with the best
    score that saves a checkpoint or keeps the new best, a flag that decides a later save, an
    early-stopping call; `later` holds the steps after it."""
    if isinstance(step, cst.If):
        found = _selection_comparison(step.test)
        if found is None:
            return None
        comparison, metric, best = found
        if _saves(step.body):
            return TestSelection(comparison, metric, "decides which checkpoint is saved")
        if _assigns(step.body, best):
            return TestSelection(comparison, metric, f"decides the best score {best}")
        return None
    if isinstance(step, cst.Assign) and len(step.targets) == 1:
        found = _selection_comparison(step.value)
        flag = dotted_name(step.targets[0].target)
        if found is not None and flag is not None and any(_saves_on_flag(other, flag) for other in later):
            return TestSelection(found[0], found[1], f"decides which checkpoint is saved ({flag})")
        return None
    if isinstance(step, cst.Call) and step.args and step.args[0].keyword is None:
        words = set(api.words((dotted_name(step.func) or "").rsplit(".", 1)[-1]))
        metric = _metric_name(step.args[0].value)
        if "early" in words and words & _STOPPING_WORDS and metric is not None:
            return TestSelection(step, metric, "decides when training stops and which epoch is kept")
    return None


def parameter_selections(function: cst.FunctionDef, steps: list[cst.CSTNode]) -> tuple[tuple[str, int, str, str], ...]:
    """(parameter, its position among the arguments, metric, what the selection decides) for each
    checkpoint or epoch a function selects by a metric computed by a call given that parameter
    (`acc = validate(model, val_loader)` then `if acc > best_acc: torch.save(...)`): what it selects
    on is what its callers pass. Parameters named as the test split are left out: the function's
    own analysis reports them. `steps`: the function's `function_steps`."""
    params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    offset = 1 if params and params[0] in ("self", "cls") else 0
    named = set(params[offset:]) | {p.name.value for p in function.params.kwonly_params}
    metric_params: dict[str, set[str]] = {}
    found = []
    for index, step in enumerate(steps):
        if isinstance(step, cst.Assign):
            passed = {name for call in calls_in(step.value) for arg in call.args
                      for name in [dotted_name(arg.value)] if name in named}
            for target in step.targets:
                name = dotted_name(target.target)
                if name is not None:
                    metric_params[name] = passed
        candidate = selection_at(step, steps[index + 1:])
        if candidate is None or candidate.named_for_another_split:
            continue
        for param in sorted(metric_params.get(metric_source(candidate.metric), ())):
            if api.role_from_name(param) != api.TEST:
                position = params.index(param) - offset if param in params else -1
                found.append((param, position, candidate.metric, candidate.how))
    return tuple(found)


def _metric_name(expr: cst.BaseExpression) -> str | None:
    """`acc`, `self.val_loss`, or an item of a dict of metrics: `result["auc"]`."""
    name = dotted_name(expr)
    if name is None:
        container, key = _keyed_item(expr)
        name = f'{container}["{key}"]' if container is not None else None
    if name is None:
        return None
    words = set(api.words(name.rsplit(".", 1)[-1]))
    return name if words and not words & _BEST_WORDS else None


def _keyed_item(expr: cst.BaseExpression) -> tuple[str | None, str | None]:
    """(`result`, `auc`) for `result["auc"]`; (None, None) for anything else."""
    if not isinstance(expr, cst.Subscript) or len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
        return None, None
    key = string_value(expr.slice[0].slice.value)
    container = dotted_name(expr.value)
    return (container, key) if key is not None and container is not None else (None, None)


def metric_source(metric: str) -> str:
    """The name a metric was assigned to: `result` for `result["auc"]`, the metric itself otherwise."""
    return metric.split("[", 1)[0]


def _best_name(expr: cst.BaseExpression) -> str | None:
    name = dotted_name(expr)
    if name is None:
        return None
    words = set(api.words(name.rsplit(".", 1)[-1]))
    return name if words & _BEST_WORDS and not words & _COUNTER_WORDS else None


def _selection_comparison(expr: cst.BaseExpression) -> tuple[cst.Comparison, str, str] | None:
    """(comparison, metric, best) for `acc > best_acc`, `best_loss > loss`."""
    if not isinstance(expr, cst.Comparison) or len(expr.comparisons) != 1:
        return None
    target = expr.comparisons[0]
    if not isinstance(target.operator, (cst.GreaterThan, cst.GreaterThanEqual, cst.LessThan, cst.LessThanEqual)):
        return None
    left, right = expr.left, target.comparator
    for metric_expr, best_expr in ((left, right), (right, left)):
        metric, best = _metric_name(metric_expr), _best_name(best_expr)
        if metric is not None and best is not None:
            return expr, metric, best
    return None


def _saves(node: cst.CSTNode, names: tuple[str, ...] = ()) -> bool:
    """Whether a statement saves a model or its weights (`torch.save`, `save_checkpoint(..., is_best)`,
    `best_state = copy.deepcopy(model.state_dict())`), given one of `names` when names are given."""
    for call in calls_in(node):
        words = set(api.words((dotted_name(call.func) or "").rsplit(".", 1)[-1]))
        if not words & _SAVE_WORDS:
            continue
        if not names or any(dotted_name(arg.value) in names for arg in call.args):
            return True
    return False


def _saves_on_flag(step: cst.CSTNode, flag: str) -> bool:
    """`save_checkpoint(state, is_best)`, or `if is_best: torch.save(...)`."""
    if isinstance(step, cst.If):
        return dotted_name(step.test) == flag and _saves(step.body)
    return isinstance(step, cst.Call) and _saves(step, (flag,))


def _assigns(node: cst.CSTNode, name: str) -> bool:
    class Targets(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found = False

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            self.found = self.found or dotted_name(target.target) == name

    visitor = Targets()
    node.visit(visitor)
    return visitor.found
