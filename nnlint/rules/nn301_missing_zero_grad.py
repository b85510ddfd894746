"""NN301: a training loop that steps an optimizer but never zeroes the gradients it applies."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.pytorch.optimizers import feeding_backward, zeroes_for
from nnlint.facts.core.syntax import descendants
from nnlint.facts.pytorch.training import Action, Effect, Loop
from nnlint.fixes import Fix, InsertBefore, unsafe_fix
from nnlint.fixes.build import statement_line
from nnlint.rules import Report, Rule


def _is_none_guard(branch: tuple[cst.CSTNode, int]) -> bool:
    """The true branch of `if x is not None:`, which guards rather than chooses."""
    node, index = branch
    test = node.test if isinstance(node, cst.If) else None
    return index == 0 and isinstance(test, cst.Comparison) and len(test.comparisons) == 1 and isinstance(
        test.comparisons[0].operator, cst.IsNot) and isinstance(test.comparisons[0].comparator, cst.Name) and \
        test.comparisons[0].comparator.value == "None"


def _reset_runs_with(reset: Action, step: Action, loop: Loop) -> bool:
    """Whether `reset` runs in every iteration where `step` runs, or plausibly so.

    A reset on the same branches as the step (or on fewer) always runs with it. When the step
    itself is conditional (gradient accumulation) a reset under another, compatible condition is
    trusted too: `if i % k == 0: zero_grad()` ... `if (i + 1) % k == 0: step()`.
    """
    reset_conditions = {b for b in reset.conditions_within(loop.node) if not _is_none_guard(b)}
    step_conditions = step.conditions_within(loop.node)
    if reset_conditions <= step_conditions:
        return True
    return bool(step_conditions) and not reset.excludes(step)


def _fix(backward: Action, step: Action, facts: FileFacts) -> Fix | None:
    """`optimizer.zero_grad()` inserted before the line that backpropagates (unsafe: gradients
    accumulated over several steps on purpose need the reset once per window, which only the
    author can place)."""
    line = facts.statements.line_of(backward.via[0] if backward.via else backward.node)
    root = step.target.split(".")[0]
    if line is None or not step.target.replace(".", "").replace("_", "").isalnum():
        return None
    scope = facts.statements.function_of(line) or facts.module
    if not any(isinstance(node, cst.Name) and node.value == root for node in descendants(scope)):
        return None  # the optimizer has another name where the backward is
    return unsafe_fix(f"call {step.target}.zero_grad() before backward()",
                      InsertBefore(line, (statement_line(f"{step.target}.zero_grad()"),)))


def check(facts: FileFacts) -> Iterator[Report]:
    training = facts.training
    for loop in training.loops:
        steps = [a for a in loop.of(Effect.STEP) if training.training_loop(a) is loop]
        resets = loop.of(Effect.ZERO_GRAD)
        for step in steps:
            own = [reset for reset in resets if zeroes_for(reset, step, steps)]
            if any(_reset_runs_with(reset, step, loop) for reset in own):
                continue
            backward = feeding_backward(step, loop.actions)
            if backward is None:
                continue
            where = "on every path that steps" if own else "anywhere in the loop"
            optimizer = f"`{step.target}`" if step.target else "the optimizer"
            yield Report(
                backward.node,
                f"gradients accumulate across iterations: this loop calls backward() and steps {optimizer} "
                f"but never zeroes its gradients {where}; call zero_grad() once per step",
                partial(_fix, backward, step, facts),
            )


RULE = Rule(
    code="NN301",
    name="missing-zero-grad",
    severity=Severity.ERROR,
    summary="A training loop calls backward() and optimizer.step() but never zeroes the gradients.",
    check=check,
    triggers=("backward",),
    fixes=(Applicability.UNSAFE,),
)
