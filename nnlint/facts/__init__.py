"""Facts about one file, computed once and shared by every rule; each is built on first use."""

from __future__ import annotations

from functools import cached_property
from typing import Mapping

import libcst as cst

from nnlint.facts.bindings import Bindings
from nnlint.facts.data_splits import DataSplitFacts
from nnlint.facts.dataflow import Dataflow
from nnlint.facts.defuse import DefUse
from nnlint.facts.layers import LayerFacts
from nnlint.facts.loaders import LoaderFacts
from nnlint.facts.modules import ModuleFacts
from nnlint.facts.guards import Guards
from nnlint.facts.layout import LayoutFacts, functions_holding_views
from nnlint.facts.modes import ModeFacts
from nnlint.facts.names import ImportTable
from nnlint.facts.shuffling import ShuffleFacts
from nnlint.facts.statements import StatementIndex
from nnlint.facts.summary import ModuleSummary, SymbolSummary, summarize
from nnlint.facts.syntax import descendants, enclosing_functions
from nnlint.facts.training import TrainingFacts
from nnlint.facts.training_steps import TrainingSteps
from nnlint.torch_requirement import TorchRequirement


class FileFacts:
    def __init__(self, path: str, text: str, module: cst.Module, names: ImportTable,
                 project: Mapping[str, SymbolSummary] | None = None,
                 statement_cells: Mapping[cst.CSTNode, int] | None = None,
                 torch_requirement: TorchRequirement | None = None) -> None:
        self.path = path
        self.text = text
        self.module = module
        self.names = names
        self.project = project or {}
        self.torch_requirement = torch_requirement
        # Notebooks: the cell each top-level statement is in. Cells run one at a time, often
        # again and out of order, so a value one cell leaves unread may be read by the next run.
        self.statement_cells = statement_cells

    def same_cell(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """Both nodes are in one cell of a notebook (always true in a Python file)."""
        if not self.statement_cells:
            return True
        top = self._top_level_statements
        return self.statement_cells.get(top.get(first)) == self.statement_cells.get(top.get(second))

    @cached_property
    def _top_level_statements(self) -> dict[cst.CSTNode, cst.CSTNode]:
        return {node: statement for statement in self.module.body for node in descendants(statement)}

    @cached_property
    def dataflow(self) -> Dataflow:
        return Dataflow(self.module, self.names, self.project)

    @cached_property
    def training(self) -> TrainingFacts:
        return TrainingFacts(self.dataflow)

    @cached_property
    def summary(self) -> ModuleSummary:
        return summarize(self.module, self.dataflow, self.training)

    @cached_property
    def defuse(self) -> DefUse:
        return DefUse(self.module)

    @cached_property
    def modules(self) -> ModuleFacts:
        return ModuleFacts(self.module, self.names)

    @cached_property
    def layers(self) -> LayerFacts:
        return LayerFacts(self.names, self.modules, self.defuse)

    @cached_property
    def guards(self) -> Guards:
        return Guards(self.module)

    @cached_property
    def layout(self) -> LayoutFacts:
        return LayoutFacts(self.module, self.names, functions_holding_views(
            self.modules.calls, enclosing_functions(self.module, across_classes=True)))

    @cached_property
    def modes(self) -> ModeFacts:
        return ModeFacts(self.module, self.dataflow, TrainingSteps(self.dataflow, self.training))

    @cached_property
    def bindings(self) -> Bindings:
        return Bindings(self.module)

    @cached_property
    def data_splits(self) -> DataSplitFacts:
        return DataSplitFacts(self.dataflow, self.bindings)

    @cached_property
    def loaders(self) -> LoaderFacts:
        return LoaderFacts(self.dataflow, self.training, self.bindings)

    @cached_property
    def shuffling(self) -> ShuffleFacts:
        return ShuffleFacts(self.dataflow, self.bindings)

    @cached_property
    def statements(self) -> StatementIndex:
        return StatementIndex(self.module)
