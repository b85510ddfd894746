"""Which gradient resets serve which optimizer step, and which backward feeds a step.

A loop with one optimizer needs no names to pair them. With several (a GAN's generator and
discriminator), a zero_grad is paired with a step by the optimizer it names, or by the model
whose parameters the optimizer was built from (`netD.zero_grad()` for `Adam(netD.parameters())`).
Anything nnlint cannot name is paired with every step: an unknown reset is trusted.
"""

from __future__ import annotations

from typing import Sequence

from nnlint.facts.pytorch.training import Action, Effect


def _within(inner: str, outer: str) -> bool:
    return inner == outer or inner.startswith(outer + ".")


def zeroes_for(reset: Action, step: Action, steps: Sequence[Action], trust_unknown: bool = True) -> bool:
    """Whether `reset` (a ZERO_GRAD) clears the gradients that `step` applies.

    `trust_unknown` decides the cases names cannot settle (an unnamed reset, a model whose
    optimizer is unknown) when there are several optimizers among `steps`.
    """
    targets = {action.target for action in steps if action.target}
    if len(targets) <= 1:
        return True
    if not reset.target or not step.target:
        return trust_unknown
    if reset.on_optimizer:
        return reset.target == step.target or (trust_unknown and reset.target not in targets)
    if step.params_of is None:
        return trust_unknown
    return _within(step.params_of, reset.target) or _within(reset.target, step.params_of)


def feeding_backward(step: Action, actions: Sequence[Action]) -> Action | None:
    """The backward() whose gradients `step` applies: the last one before it on a path that can run with it."""
    position = next(i for i, action in enumerate(actions) if action is step)
    candidates = [a for a in actions if a.effect is Effect.BACKWARD and not a.excludes(step)]
    before = [a for a in candidates if actions.index(a) < position]
    if before:
        return before[-1]
    return candidates[0] if candidates else None


def same_iteration(first: Action, second: Action) -> bool:
    """Both run in one pass of the same loop body (or of the same function, outside loops)."""
    return first.loops == second.loops and not first.excludes(second)


def within_iteration(action: Action, anchor: Action) -> bool:
    """`action` runs in the same pass of `anchor`'s loop body, loops nested in it included."""
    return action.loops[:len(anchor.loops)] == anchor.loops and not action.excludes(anchor)
