"""NN701: a torch.load that unpickles arbitrary objects from the file: without weights_only=True
where the project admits torch < 2.6 (whose default is weights_only=False), and with an explicit
weights_only=False where it requires torch >= 2.6."""

from __future__ import annotations

from functools import partial
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Applicability, Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.core.syntax import calls_in, descendants, dotted_name, keyword_arg
from nnlint.fixes import Fix, Replace, unsafe_fix
from nnlint.fixes.build import expression, with_argument_value, with_keyword, without_argument
from nnlint.rules import Report, Rule
from nnlint.torch_requirement import TorchRequirement

TORCH_LOAD = frozenset({"torch.load", "torch.serialization.load"})
SAVE_FUNCTIONS = frozenset({"torch.save", "torch.serialization.save"})
IN_MEMORY_BUFFERS = frozenset({"io.BytesIO"})
SAFE_GLOBALS = frozenset({"torch.serialization.safe_globals"})
SAFE_DEFAULT_SINCE = "2.6"  # the release whose torch.load defaults to weights_only=True


def _passes_kwargs_on(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def _leaves_the_default(call: cst.Call) -> bool:
    arg = keyword_arg(call, "weights_only")
    return arg is None or dotted_name(arg.value) == "None"


def _unpickles_explicitly(call: cst.Call) -> bool:
    arg = keyword_arg(call, "weights_only")
    return arg is not None and dotted_name(arg.value) == "False"


def _caller_decides(event: CallEvent) -> bool:
    """A wrapper that takes `weights_only` itself leaves the choice to its callers."""
    return "weights_only" in event.function.params


def _round_trip(event: CallEvent, facts: FileFacts) -> bool:
    """Loading from an in-memory buffer in a function that also torch.save()s: the program's own bytes."""
    qualnames = {other.qualname for other in facts.dataflow.function_events.get(event.function.node, [])
                 if isinstance(other, CallEvent)}
    return bool(qualnames & SAVE_FUNCTIONS) and bool(qualnames & IN_MEMORY_BUFFERS)


def _under_safe_globals(facts: FileFacts) -> set[cst.Call]:
    """The calls inside `with torch.serialization.safe_globals([...]):` blocks."""
    if "safe_globals" not in facts.text:
        return set()
    guarded: set[cst.Call] = set()
    for node in descendants(facts.module):
        if isinstance(node, cst.With) and any(
                isinstance(item.item, cst.Call) and facts.names.qualname(item.item.func) in SAFE_GLOBALS
                for item in node.items):
            guarded.update(calls_in(node.body))
    return guarded


def _explicit_message(requirement: TorchRequirement) -> str:
    return (f"torch.load with weights_only=False unpickles arbitrary objects: a crafted checkpoint runs code when "
            f"loaded; this project requires torch>={SAFE_DEFAULT_SINCE} ({requirement.source}: {requirement.text}), "
            "whose default weights_only=True loads tensors and state dicts safely: drop weights_only=False (admit "
            "other types with torch.serialization.safe_globals)")


def _default_message(requirement: TorchRequirement | None) -> str:
    allowed = (f", which {requirement.source}'s {requirement.text} allows" if requirement is not None
               else f"; this project does not require torch>={SAFE_DEFAULT_SINCE}")
    return (f"torch.load without weights_only=True unpickles arbitrary objects: a crafted checkpoint runs code when "
            f"loaded (the default before torch {SAFE_DEFAULT_SINCE}{allowed}); pass weights_only=True, or "
            "weights_only=False explicitly for a trusted file that holds more than tensors")


def _safe_load(call: cst.Call) -> Fix:
    """`weights_only=True` (unsafe: a checkpoint holding more than tensors and plain containers
    then fails to load, and only its author knows whether it is trusted)."""
    given = keyword_arg(call, "weights_only")
    fixed = with_argument_value(call, given, expression("True")) if given is not None \
        else with_keyword(call, "weights_only", expression("True"))
    return unsafe_fix("pass weights_only=True", Replace(call, fixed))


def _default_load(call: cst.Call) -> Fix:
    """`weights_only=False` dropped where the default is already safe (unsafe, as above)."""
    given = keyword_arg(call, "weights_only")
    return unsafe_fix("drop weights_only=False", Replace(call, without_argument(call, given)))


def check(facts: FileFacts) -> Iterator[Report]:
    requirement = facts.torch_requirement
    safe_by_default = requirement is not None and requirement.requires_at_least(SAFE_DEFAULT_SINCE)
    guarded = _under_safe_globals(facts)
    for call in facts.dataflow.calls():
        if call.qualname not in TORCH_LOAD or call.specialized or not isinstance(call.node, cst.Call):
            continue
        if _passes_kwargs_on(call.node) or _caller_decides(call) or _round_trip(call, facts):
            continue
        if safe_by_default and _unpickles_explicitly(call.node):
            yield Report(call.node, _explicit_message(requirement), partial(_default_load, call.node))
        elif not safe_by_default and _leaves_the_default(call.node) and call.node not in guarded:
            yield Report(call.node, _default_message(requirement), partial(_safe_load, call.node))


RULE = Rule(
    code="NN701",
    name="unsafe-torch-load",
    severity=Severity.WARNING,
    summary="torch.load that unpickles arbitrary objects (no weights_only=True before torch 2.6, "
            "weights_only=False after) can execute code from an untrusted checkpoint.",
    check=check,
    triggers=("load",),
    fixes=(Applicability.UNSAFE,),
)
