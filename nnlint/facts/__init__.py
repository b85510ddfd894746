"""Facts about one file, computed once and shared by every rule; each is built on first use.

Each fact's module is imported when the fact is first built, so a file imports only the
facts its applicable rules read (and importing this package imports none of them)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import libcst as cst

    from nnlint.facts.core.bindings import Bindings
    from nnlint.facts.core.cell_order import CellOrder
    from nnlint.facts.data.data_splits import DataSplitFacts
    from nnlint.facts.core.dataflow import Dataflow
    from nnlint.facts.core.defuse import DefUse
    from nnlint.facts.pytorch.gradient_flow import GradientFlow
    from nnlint.facts.core.guards import Guards
    from nnlint.facts.pytorch.layers import LayerFacts
    from nnlint.facts.pytorch.layout import LayoutFacts
    from nnlint.facts.data.loaders import LoaderFacts
    from nnlint.facts.pytorch.loss_inputs import LossInputs
    from nnlint.facts.pytorch.modes import ModeFacts
    from nnlint.facts.pytorch.modules import ModuleFacts
    from nnlint.facts.core.names import ImportTable
    from nnlint.facts.core.places import Span
    from nnlint.facts.pytorch.optimizer_params import OptimizerParamFacts
    from nnlint.facts.data.shuffling import ShuffleFacts
    from nnlint.facts.core.statements import StatementIndex
    from nnlint.facts.summary import ModuleSummary, SymbolSummary
    from nnlint.facts.pytorch.training import TrainingFacts
    from nnlint.facts.pytorch.view_helpers import ViewHelper
    from nnlint.notebook import NotebookCells
    from nnlint.torch_requirement import TorchRequirement


class FileFacts:
    def __init__(self, path: str, text: str, module: cst.Module, names: ImportTable,
                 project: Mapping[str, SymbolSummary] | None = None,
                 statement_cells: Mapping[cst.CSTNode, int] | None = None,
                 torch_requirement: TorchRequirement | None = None,
                 notebook: NotebookCells | None = None) -> None:
        self.path = path
        self.text = text
        self.module = module
        self.names = names
        self.project = project or {}
        self.torch_requirement = torch_requirement
        # Notebooks: the cell each top-level statement is in. Cells run one at a time, often
        # again and out of order, so a value one cell leaves unread may be read by the next run.
        self.statement_cells = statement_cells
        self.notebook = notebook  # notebooks: their cells, None for Python files

    def same_cell(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Both nodes are in one cell of a notebook (always true in a Python file)."""
        if not self.statement_cells:
            return True
        top = self._top_level_statements
        return self.statement_cells.get(top.get(first)) == self.statement_cells.get(top.get(second))

    def where(self, node: cst.CSTNode) -> str:
        """Where a node of this file is, for a message that points at a second place: `line 10`,
        in a notebook `cell 3, line 2`; empty when it is not part of the module."""
        from nnlint.positions import node_positions

        found = node_positions(self.module, self.text, [node]).get(node)
        if found is None:
            return ""
        line = found.start.line
        if self.notebook is None or not 0 < line <= len(self.notebook.line_cells):
            return f"line {line}"
        cells = self.notebook.line_cells
        cell = cells[line - 1]
        return f"cell {cell}, line {line - cells.index(cell)}"

    def spans(self, nodes: list[cst.CSTNode]) -> dict[cst.CSTNode, Span]:
        """Where nodes of this file are, for the summaries other files read (1-based, end exclusive)."""
        from nnlint.positions import node_positions

        found = node_positions(self.module, self.text, nodes) if nodes else {}
        return {node: (found[node].start.line, found[node].start.column + 1, found[node].end.line,
                       found[node].end.column + 1) if node in found else (1, 1, 1, 1) for node in nodes}

    @cached_property
    def _top_level_statements(self) -> dict[cst.CSTNode, cst.CSTNode]:
        from nnlint.facts.core.syntax import descendants

        return {node: statement for statement in self.module.body for node in descendants(statement)}

    @cached_property
    def dataflow(self) -> Dataflow:
        from nnlint.facts.core.dataflow import Dataflow
        from nnlint.facts.data.data_values import DataSemantics
        from nnlint.facts.pytorch.semantics import TorchSemantics

        return Dataflow(self.module, self.names, (TorchSemantics, DataSemantics), self.project)

    @cached_property
    def loss_inputs(self) -> LossInputs:
        from nnlint.facts.pytorch.loss_inputs import LossInputs

        return LossInputs(self.dataflow)

    @cached_property
    def training(self) -> TrainingFacts:
        from nnlint.facts.pytorch.training import TrainingFacts

        return TrainingFacts(self.dataflow)

    @cached_property
    def optimizer_params(self) -> OptimizerParamFacts:
        from nnlint.facts.pytorch.optimizer_params import OptimizerParamFacts

        return OptimizerParamFacts(self.dataflow, self.defuse, self.names)

    @cached_property
    def gradient_flow(self) -> GradientFlow:
        from nnlint.facts.pytorch.gradient_flow import GradientFlow

        return GradientFlow(self.module, self.dataflow, self.defuse, self.modules, self.names)

    @cached_property
    def summary(self) -> ModuleSummary:
        from nnlint.facts.summary import summarize

        return summarize(self)

    @cached_property
    def defuse(self) -> DefUse:
        from nnlint.facts.core.defuse import DefUse
        from nnlint.facts.pytorch.torch_api import QUERY_METHODS

        return DefUse(self.module, QUERY_METHODS)

    @cached_property
    def modules(self) -> ModuleFacts:
        from nnlint.facts.pytorch.modules import ModuleFacts

        return ModuleFacts(self.module, self.names)

    @cached_property
    def layers(self) -> LayerFacts:
        from nnlint.facts.pytorch.layers import LayerFacts

        return LayerFacts(self.names, self.modules, self.defuse)

    @cached_property
    def guards(self) -> Guards:
        from nnlint.facts.core.guards import Guards

        return Guards(self.module)

    @cached_property
    def layout(self) -> LayoutFacts:
        from nnlint.facts.pytorch.layout import LayoutFacts, functions_holding_views
        from nnlint.facts.core.syntax import enclosing_functions

        from nnlint.facts.pytorch.view_helpers import ViewHelper

        imported = {name: ViewHelper.from_summary(name.rsplit(".", 1)[-1], symbol.viewed_parameters, symbol.file)
                    for name, symbol in self.project.items() if symbol.viewed_parameters}
        helpers = {**self.view_helpers, **imported}
        return LayoutFacts(self.module, self.names, functions_holding_views(
            self.modules.calls, enclosing_functions(self.module, across_classes=True), helpers), helpers)

    @cached_property
    def view_helpers(self) -> dict[str, ViewHelper]:
        from nnlint.facts.pytorch.view_helpers import view_helpers

        return view_helpers(self.module, self.modules.calls) if "view" in self.text or "reshape" in self.text else {}

    @cached_property
    def modes(self) -> ModeFacts:
        from nnlint.facts.pytorch.modes import ModeFacts
        from nnlint.facts.pytorch.training_steps import TrainingSteps

        return ModeFacts(self.module, self.dataflow, TrainingSteps(self.dataflow, self.training))

    @cached_property
    def cell_order(self) -> CellOrder:
        from nnlint.facts.core.cell_order import CellOrder

        return CellOrder(self.module, self.text, self.notebook)

    @cached_property
    def bindings(self) -> Bindings:
        from nnlint.facts.core.bindings import Bindings

        return Bindings(self.module)

    @cached_property
    def data_splits(self) -> DataSplitFacts:
        from nnlint.facts.data.data_splits import DataSplitFacts

        return DataSplitFacts(self.dataflow, self.bindings, self.loaders)

    @cached_property
    def loaders(self) -> LoaderFacts:
        from nnlint.facts.data.loaders import LoaderFacts

        return LoaderFacts(self.dataflow, self.training, self.bindings)

    @cached_property
    def shuffling(self) -> ShuffleFacts:
        from nnlint.facts.data.shuffling import ShuffleFacts

        return ShuffleFacts(self.dataflow, self.bindings)

    @cached_property
    def statements(self) -> StatementIndex:
        from nnlint.facts.core.statements import StatementIndex

        return StatementIndex(self.module)
