"""NN108: a tensor on the way from trained weights to the loss is cut from autograd."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.dataflow import CallEvent
from nnlint.facts.pytorch.evaluation import is_model_name
from nnlint.facts.pytorch.gradient_flow import Cut, Provenance, Source
from nnlint.facts.pytorch.optimizer_params import related
from nnlint.facts.pytorch.training import Action, Effect
from nnlint.facts.core.values import Kind
from nnlint.rules import Report, Rule

FIX = "compute the loss with torch operations on the model's output, without .item(), .detach(), .numpy() or " \
      "torch.tensor(...) on the way"


def check(facts: FileFacts) -> Iterator[Report]:
    reported: set[cst.CSTNode] = set()
    for function_node, trace in facts.training.traces():
        steps = [action for action in trace if action.effect is Effect.STEP]
        backwards = [action for action in trace if action.effect is Effect.BACKWARD and not action.via
                     and isinstance(action.event, CallEvent)]
        if not steps or not backwards:
            continue
        optimized = _optimized_sources(facts, function_node, steps)
        provenances: dict[Action, Provenance] = {}
        rebuilt = False
        for backward in backwards:
            tensor = facts.gradient_flow.backpropagated(backward.event)
            if tensor is None:
                continue
            provenances[backward] = facts.gradient_flow.provenance(tensor)
            for report in _rebuilt_loss(facts, backward, tensor, optimized):
                rebuilt = True
                if report.node not in reported:
                    reported.add(report.node)
                    yield report
        if rebuilt or any(action.effect is Effect.BACKWARD and action.via for action in trace) or \
                not all(p.complete for p in provenances.values()):
            continue  # no graph at all (reported), or a helper's backward() may carry what the walk does not see
        for report in _cut_models(optimized, list(provenances.values())):
            if report.node not in reported:
                reported.add(report.node)
                yield report


def _optimized_sources(facts: FileFacts, function_node: cst.FunctionDef | None,
                       steps: list[Action]) -> dict[str, str]:
    """Object whose parameters a stepped optimizer holds -> the optimizer's name, as spelled in
    this function."""
    found: dict[str, str] = {}
    for step in steps:
        if isinstance(step.event, CallEvent):
            for source in facts.optimizer_params.stepped_in(function_node, step.event) or ():
                found.setdefault(source, step.target or "the optimizer")
    return found


def _rebuilt_loss(facts: FileFacts, backward: Action, tensor: cst.BaseExpression,
                  optimized: dict[str, str]) -> Iterator[Report]:
    """The backpropagated tensor has no graph at all: it is rebuilt from fresh leaves
    (`torch.tensor(v, requires_grad=True)`), or `requires_grad = True` was set on it."""
    flow = facts.gradient_flow
    flag = flow.flag_store_before(tensor)
    leaves = [leaf for leaf in flow.rebuilt_leaves(tensor) if _rebuilt_each_iteration(facts, leaf, backward)]
    if flag is None and not leaves:
        return
    how = f"`{flag.read.name}.requires_grad = True` makes it a leaf" if flag is not None else \
        "it is rebuilt as a new leaf tensor (requires_grad=True)"
    cuts = _model_cuts(facts, flow.provenance(tensor), optimized)
    for cut, model in cuts:
        yield Report(
            cut.node,
            f"`{cut.spelling}` cuts the loss from `{model}`'s graph: the tensor backpropagated later has no graph "
            f"({how}), so backward() reaches none of `{model}`'s weights and optimizer.step() changes nothing; {FIX}",
        )
    if cuts:
        return
    if flag is not None:
        yield Report(
            flag.node,
            f"`{flag.read.name}.requires_grad = True` only succeeds on a tensor without a graph: the loss was already "
            "cut from the model's weights (computed under no_grad, detached or converted), so backward() reaches none "
            "of them and optimizer.step() changes nothing; remove this line and keep the loss connected to the model",
        )
    for leaf in leaves:
        yield Report(
            leaf,
            "the loss is rebuilt here as a new leaf tensor (requires_grad=True): it has no graph behind it, so "
            f"backward() reaches none of the model's weights and optimizer.step() changes nothing; {FIX}",
        )


def _rebuilt_each_iteration(facts: FileFacts, leaf: cst.Call, backward: Action) -> bool:
    """A leaf built anew on every pass of the loop that backpropagates: no optimizer can hold it
    (a tensor built once before the loop may be the very thing optimized, as in latent search)."""
    event = facts.dataflow.call_event(leaf)
    if event is None:
        return False
    if event.function is not backward.event.function:
        return True
    return event.loops[:len(backward.loops)] == backward.loops


def _model_cuts(facts: FileFacts, provenance: Provenance, optimized: dict[str, str]) -> list[tuple[Cut, str]]:
    """For the model the loss was computed from, the innermost cut on its most direct path to
    the rebuilt loss (paths through the inputs it was given go through more cuts)."""
    calls = [source for source in provenance.sources if source.called and source.cuts]
    for judged_a_model in (lambda s: any(related(s.name, name) for name in optimized),
                           lambda s: is_model_name(s.name),
                           lambda s: _builds_no_loss(facts, s)):
        models = [source for source in calls if judged_a_model(source)]
        if models:
            return _most_direct_cuts(models)
    return []


def _most_direct_cuts(sources: list[Source]) -> list[tuple[Cut, str]]:
    """The innermost cut of each path that goes through the fewest cuts, with its source's name:
    the path of the model's output, not those through the inputs it was given."""
    fewest = min(len(source.cuts) for source in sources)
    direct = {source.cuts[-1].node: (source.cuts[-1], source.name) for source in sources
              if len(source.cuts) == fewest}
    return list(direct.values())


def _builds_no_loss(facts: FileFacts, source: Source) -> bool:
    """A module that is not a loss function (`criterion`, `loss_fn`, a ...Loss class)."""
    event = facts.dataflow.call_event(source.node)
    if event is None or event.callee.kind is not Kind.MODULE:
        return False
    words = f"{source.name} {event.callee.class_name}".lower()
    return not any(word in words for word in ("loss", "criterion"))


def _cut_models(optimized: dict[str, str], provenances: list[Provenance]) -> Iterator[Report]:
    """An optimized object whose every path to the backpropagated tensors is cut."""
    for name, optimizer in optimized.items():
        reaching = [s for p in provenances for s in p.sources if related(s.name, name)]
        if not reaching or any(not source.cuts for source in reaching):
            continue
        for cut, _ in _most_direct_cuts(reaching):
            yield Report(
                cut.node,
                f"`{cut.spelling}` cuts `{name}` from the loss: every path from `{name}` to the tensor backward() runs "
                f"on goes through a cut, so its weights, which `{optimizer}` holds, never get a gradient and never "
                f"train; {FIX}",
            )


RULE = Rule(
    code="NN108",
    name="broken-gradient-path",
    severity=Severity.ERROR,
    summary="A tensor on the way from trained weights to the loss is cut from autograd: backward() never reaches them.",
    check=check,
    triggers=("backward",),
)
