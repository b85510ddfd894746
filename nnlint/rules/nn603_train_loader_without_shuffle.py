"""NN603: a training DataLoader that never shuffles (no shuffle=True, no sampler)."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.data.loaders import Loader
from nnlint.facts.core.syntax import keyword_arg, positional_args
from nnlint.fixes import Fix, Replace, safe_fix
from nnlint.fixes.build import expression, with_argument_value, with_keyword
from nnlint.rules import Report, Rule

SHUFFLE_POSITION = 2  # DataLoader(dataset, batch_size, shuffle, ...)


def _fix(loader: Loader) -> Fix:
    """`shuffle=True`, in place of a `shuffle=False` (keyword or positional) or added."""
    call: cst.Call = loader.node
    positional = positional_args(call)
    given = keyword_arg(call, "shuffle") or (positional[SHUFFLE_POSITION] if len(positional) > SHUFFLE_POSITION
                                             else None)
    shuffled = with_argument_value(call, given, expression("True")) if given is not None \
        else with_keyword(call, "shuffle", expression("True"))
    return safe_fix("pass shuffle=True", Replace(call, shuffled))


def check(facts: FileFacts) -> Iterator[Report]:
    for loader in facts.loaders.loaders:
        if loader.training_reason is None or not loader.never_shuffles:
            continue
        setting = "shuffle=False" if loader.shuffle == "false" else "no shuffle=True and no sampler"
        yield Report(
            loader.node,
            f"this DataLoader feeds training ({loader.training_reason}) but has {setting}: every epoch "
            "sees the batches in the same order; pass shuffle=True or a sampler",
            partial(_fix, loader),
        )


RULE = Rule(
    code="NN603",
    name="train-loader-without-shuffle",
    severity=Severity.WARNING,
    summary="A training DataLoader has neither shuffle=True nor a sampler.",
    check=check,
    triggers=("DataLoader",),
    fixes=(Applicability.SAFE,),
)
