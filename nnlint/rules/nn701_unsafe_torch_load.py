"""NN701: torch.load without weights_only=True unpickles arbitrary objects from the file."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.dataflow import CallEvent
from nnlint.facts.syntax import keyword_arg
from nnlint.rules import Report, Rule

TORCH_LOAD = frozenset({"torch.load", "torch.serialization.load"})
SAVE_FUNCTIONS = frozenset({"torch.save", "torch.serialization.save"})
IN_MEMORY_BUFFERS = frozenset({"io.BytesIO"})


def _passes_weights_only(call: cst.Call) -> bool:
    """The call decides weights_only itself: any explicit value but None, or `**kwargs`."""
    if any(arg.star == "**" for arg in call.args):
        return True
    arg = keyword_arg(call, "weights_only")
    return arg is not None and not (isinstance(arg.value, cst.Name) and arg.value.value == "None")


def _caller_decides(event: CallEvent) -> bool:
    """A wrapper that takes `weights_only` itself leaves the choice to its callers."""
    return "weights_only" in event.function.params


def _round_trip(event: CallEvent, facts: FileFacts) -> bool:
    """Loading from an in-memory buffer in a function that also torch.save()s: the program's own bytes."""
    qualnames = {other.qualname for other in facts.dataflow.function_events.get(event.function.node, [])
                 if isinstance(other, CallEvent)}
    return bool(qualnames & SAVE_FUNCTIONS) and bool(qualnames & IN_MEMORY_BUFFERS)


def check(facts: FileFacts) -> Iterator[Report]:
    for call in facts.dataflow.calls():
        if call.qualname not in TORCH_LOAD or call.specialized or not isinstance(call.node, cst.Call):
            continue
        if _passes_weights_only(call.node) or _caller_decides(call) or _round_trip(call, facts):
            continue
        yield Report(
            call.node,
            "torch.load without weights_only=True unpickles arbitrary objects: a crafted checkpoint runs "
            "code when loaded (the default before torch 2.6); pass weights_only=True, or weights_only=False "
            "explicitly for a trusted file that holds more than tensors",
        )


RULE = Rule(
    code="NN701",
    name="unsafe-torch-load",
    severity=Severity.WARNING,
    summary="torch.load without weights_only=True can execute arbitrary code from an untrusted checkpoint.",
    check=check,
    triggers=("load",),
)
