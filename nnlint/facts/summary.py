"""A file's summary for the project index: what its classes and functions give callers in
other files. Plain data (JSON-ready), so it crosses processes and lives in the cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from nnlint.facts.core.values import UNKNOWN, Kind, Value

if TYPE_CHECKING:
    import libcst as cst

    from nnlint.facts.core.dataflow import Dataflow, FunctionInfo
    from nnlint.facts.pytorch.training import TrainingFacts


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

    @classmethod
    def from_json(cls, data: dict) -> "SymbolSummary":
        value = ValueSummary.from_json(data["value"]) if data["value"] is not None else None
        losses = tuple((str(p), int(i), str(f), str(n)) for p, i, f, n in data.get("loss_parameters", ()))
        selections = tuple((str(p), int(i), str(m), str(h)) for p, i, m, h in data.get("selections", ()))
        return cls(value, tuple(data["actions"]), losses, selections)

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


def summarize(module: cst.Module, dataflow: Dataflow, training: TrainingFacts) -> ModuleSummary:
    # Imported here: the cache reads summaries without loading libcst or the dataflow.
    import libcst as cst

    from nnlint.facts.data.selections import parameter_selections
    from nnlint.facts.pytorch.training import summarized_actions

    summary = ModuleSummary()
    for statement in module.body:
        if isinstance(statement, cst.ClassDef):
            info = dataflow.class_defined_by(statement)
            if info is None:
                continue
            value = dataflow.instantiate(info.name)
            summary.symbols[statement.name.value] = SymbolSummary(ValueSummary.of(value, dataflow))
        elif isinstance(statement, cst.FunctionDef):
            function = dataflow.functions.get(statement)
            if function is None:
                continue
            result = dataflow.summary_of(function)
            symbol = SymbolSummary(ValueSummary.of(result, dataflow), summarized_actions(training.actions_of(statement)),
                                   losses_of_parameters(dataflow, function), parameter_selections(statement))
            if symbol.value is not None or symbol.actions or symbol.loss_parameters or symbol.selections:
                summary.symbols[function.name] = symbol
    return summary
