"""A file's summary for the project index: what its classes and functions give callers in
other files. Plain data (JSON-ready), so it crosses processes and lives in the cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from nnlint.facts.core.places import Place, Span, as_span
from nnlint.facts.core.values import UNKNOWN, Kind, Value

if TYPE_CHECKING:
    import libcst as cst

    from nnlint.facts import FileFacts
    from nnlint.facts.core.dataflow import Dataflow, FunctionInfo


# Words without which a file holds no parameter effect of a kind: its facts are not computed.
EVALUATION_WORDS = ("no_grad", "inference_mode", "set_grad_enabled", "eval", "val", "test", "predict", "infer")
FIT_WORDS = ("fit", "mean", "std", "min", "max", "scale", "median", "quantile", "var")
VIEW_WORDS = ("view", "reshape")


@dataclass(frozen=True)
class ValueSummary:
    kind: str
    producer: str = ""
    detail: str = ""
    output: "ValueSummary | None" = None
    items: tuple["ValueSummary", ...] = ()
    keys: tuple[str, ...] = ()
    axis: int | None = None
    width: int | None = None
    parts: tuple["ValueSummary", ...] = ()

    @classmethod
    def of(cls, value: Value, dataflow: Dataflow, depth: int = 0) -> "ValueSummary | None":
        """Summarize a value; None when nothing worth knowing is left."""
        if (value.kind is Kind.UNKNOWN and not value.parts) or depth > 3 or value.kind in (Kind.CLASS, Kind.FUNCTION):
            return None
        output = value.output
        if value.kind is Kind.MODULE and output is None and value.class_name:
            output = dataflow.forward_output(value.class_name, [], depth=1)
        items = tuple(cls.of(item, dataflow, depth + 1) or _UNKNOWN_SUMMARY for item in value.items)
        parts = tuple(cls.of(part, dataflow, depth + 1) or cls(Kind.UNKNOWN.value, axis=part.axis, width=part.width)
                      for part in value.parts)
        return cls(
            value.kind.value, value.producer, value.detail,
            cls.of(output, dataflow, depth + 1) if output is not None else None, items, value.keys,
            value.axis, value.width, parts,
        )

    def to_value(self) -> Value:
        return Value(
            Kind(self.kind), self.producer, None, self.detail,
            self.output.to_value() if self.output is not None else (UNKNOWN if self.kind == Kind.MODULE.value else None),
            items=tuple(item.to_value() for item in self.items), keys=self.keys,
            uniform=self.kind == Kind.DATA.value,
            axis=self.axis, width=self.width, parts=tuple(part.to_value() for part in self.parts),
        )

    @classmethod
    def from_json(cls, data: dict) -> "ValueSummary":
        return cls(
            data["kind"], data["producer"], data["detail"],
            cls.from_json(data["output"]) if data["output"] is not None else None,
            tuple(cls.from_json(item) for item in data["items"]), tuple(data["keys"]),
            data["axis"], data["width"], tuple(cls.from_json(part) for part in data["parts"]),
        )


_UNKNOWN_SUMMARY = ValueSummary(Kind.UNKNOWN.value)


@dataclass(frozen=True)
class SymbolSummary:
    """A top-level class or function: the value calling it gives, and gradient actions it takes."""

    value: ValueSummary | None
    actions: tuple[str, ...] = ()
    # Parameters the function hands unchanged to a loss's input: (parameter, its position among
    # the parameters, the loss family, the loss's name in messages).
    loss_parameters: tuple[tuple[str, int, str, str], ...] = ()
    # Checkpoints or epochs selected by a metric computed on a parameter: (parameter, its position
    # among the arguments, the metric, what the selection decides).
    selections: tuple[tuple[str, int, str, str], ...] = ()
    # Parameters run for evaluation in the mode the caller left them in: (parameter, its position
    # among the arguments, the evaluation context, where in the function).
    evaluated_parameters: tuple[tuple[str, int, str, Span], ...] = ()
    # A class's losses its user installs (facts/pytorch/installed_losses.py): (setter method, its
    # parameter, position, attribute, kind of the predictions it is called with, their producer, the
    # method that calls it, where).
    installed_losses: tuple[tuple[str, str, int, str, str, str, str, Span], ...] = ()
    # Parameters whose data the function fits a scaler or statistics on: (parameter, its position,
    # what fits them, where).
    fitted_parameters: tuple[tuple[str, int, str, Span], ...] = ()
    # A function whose view reads only its parameters (facts/pytorch/view_helpers.py): (view or
    # reshape, the viewed parameter's position, each size as `#position` or a literal, where).
    viewed_parameters: tuple[str, int, tuple[str, ...], Span] | tuple[()] = ()
    # The file that defines the symbol, as the project index knows it: set by the index for the
    # files that import it, never stored in the cache's summary of the file itself.
    file: str = ""

    def place(self, span: Span) -> Place:
        return Place(self.file, span)

    @classmethod
    def from_json(cls, data: dict) -> "SymbolSummary":
        value = ValueSummary.from_json(data["value"]) if data["value"] is not None else None
        losses = tuple((str(p), int(i), str(f), str(n)) for p, i, f, n in data.get("loss_parameters", ()))
        selections = tuple((str(p), int(i), str(m), str(h)) for p, i, m, h in data.get("selections", ()))
        evaluated = tuple((str(p), int(i), str(c), as_span(w)) for p, i, c, w in data.get("evaluated_parameters", ()))
        installed = tuple((str(m), str(p), int(i), str(a), str(k), str(b), str(u), as_span(w))
                          for m, p, i, a, k, b, u, w in data.get("installed_losses", ()))
        fitted = tuple((str(p), int(i), str(b), as_span(w)) for p, i, b, w in data.get("fitted_parameters", ()))
        viewed = data.get("viewed_parameters") or ()
        if viewed:
            viewed = (str(viewed[0]), int(viewed[1]), tuple(str(size) for size in viewed[2]), as_span(viewed[3]))
        return cls(value, tuple(data["actions"]), losses, selections, evaluated, installed, fitted, viewed,
                   str(data.get("file", "")))

    def called_value(self) -> Value:
        return self.value.to_value() if self.value is not None else UNKNOWN


@dataclass
class ModuleSummary:
    symbols: dict[str, SymbolSummary] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ModuleSummary":
        return cls({name: SymbolSummary.from_json(s) for name, s in data["symbols"].items()})


def losses_of_parameters(dataflow: Dataflow, function: FunctionInfo) -> tuple[tuple[str, int, str, str], ...]:
    """The parameters a function hands to a loss's input, for callers in other files."""
    from nnlint.facts.pytorch.semantics import loss_family

    if function.node is None or not _may_compute_a_loss(dataflow, function.node):
        return ()
    found = {(use.param, function.params.index(use.param), loss_family(use.event), use.event.result.producer)
             for use in dataflow.parameter_uses(function.node)
             if loss_family(use.event) and (use.position == 0 or use.keyword == "input")}
    return tuple(sorted(found))


def _may_compute_a_loss(dataflow: Dataflow, node: cst.FunctionDef) -> bool:
    """The function, or a function of the file it calls, computes a loss (a cheap test before probing)."""
    from nnlint.facts.core.dataflow import CallEvent
    from nnlint.facts.pytorch.semantics import loss_family

    for event in dataflow.function_events.get(node, []):
        if isinstance(event, CallEvent) and (loss_family(event) or (
                event.callee.kind is Kind.FUNCTION and any(
                    isinstance(e, CallEvent) and loss_family(e) for e in dataflow.function_events.get(event.callee.origin, [])))):
            return True
    return False


def summarize(facts: FileFacts) -> ModuleSummary:
    # Imported here: the cache reads summaries without loading libcst or the dataflow.
    import libcst as cst

    from nnlint.facts.data.selections import function_steps, parameter_selections
    from nnlint.facts.pytorch.installed_losses import installed_losses
    from nnlint.facts.pytorch.training import summarized_actions

    module, dataflow, training = facts.module, facts.dataflow, facts.training
    top_level = {statement for statement in module.body if isinstance(statement, cst.FunctionDef)}
    evaluated = {function: found for function, found in facts.modes.evaluated_parameters.items()
                 if function in top_level} if _mentions(facts, EVALUATION_WORDS) else {}
    helpers = {name: helper for name, helper in facts.view_helpers.items()
               if helper.view is not None and "." not in name} if _mentions(facts, VIEW_WORDS) else {}
    fits = {function: found for function, found in facts.data_splits.fitted_parameters.items()
            if function in top_level} if _mentions(facts, FIT_WORDS) else {}
    installed = installed_losses(dataflow)
    # Where each place is, in one pass over the module: positions cost a walk of the statements.
    spans = facts.spans([entry.call for found in evaluated.values() for entry in found.values()]
                        + [helper.view for helper in helpers.values()]
                        + [fit.node for found in fits.values() for _, _, fit in found]
                        + [loss[-1] for losses in installed.values() for loss in losses])
    viewed = {name: helper.to_summary(spans[helper.view]) for name, helper in helpers.items()}
    fitted = {function: tuple((param, position, fit.scaler.producer, spans[fit.node]) for param, position, fit in found)
              for function, found in fits.items()}
    evaluated_spans = {function: tuple(sorted((param, dataflow.functions[function].params.index(param), entry.context,
                                               spans[entry.call]) for param, entry in found.items()))
                       for function, found in evaluated.items()}
    installed_spans = {name: tuple((*loss[:-1], spans[loss[-1]]) for loss in losses) for name, losses in installed.items()}
    summary = ModuleSummary()
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            info = dataflow.class_defined_by(statement)
            if info is None:
                continue
            value = dataflow.instantiate(info.name)
            summary.symbols[statement.name.value] = SymbolSummary(ValueSummary.of(value, dataflow),
                                                                  installed_losses=installed_spans.get(info.name, ()))
        elif isinstance(statement, cst.FunctionDef):
            function = dataflow.functions.get(statement)
            if function is None:
                continue
            result = dataflow.summary_of(function)
            symbol = SymbolSummary(ValueSummary.of(result, dataflow), summarized_actions(training.actions_of(statement)),
                                   losses_of_parameters(dataflow, function),
                                   parameter_selections(statement, function_steps(statement)),
                                   evaluated_spans.get(statement, ()), fitted_parameters=fitted.get(statement, ()),
                                   viewed_parameters=viewed.get(function.name, ()))
            if symbol.value is not None or symbol.actions or symbol.loss_parameters or symbol.selections \
                    or symbol.evaluated_parameters or symbol.fitted_parameters or symbol.viewed_parameters:
                summary.symbols[function.name] = symbol
    return summary


def _mentions(facts: FileFacts, words: tuple[str, ...]) -> bool:
    return any(word in facts.text for word in words)
