"""Facts about one file, computed once and shared by every rule; each is built on first use."""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from nnlint.facts.dataflow import Dataflow
from nnlint.facts.guards import Guards
from nnlint.facts.layout import LayoutFacts
from nnlint.facts.modes import ModeFacts
from nnlint.facts.names import ImportTable
from nnlint.facts.training import TrainingFacts
from nnlint.facts.training_steps import TrainingSteps


class FileFacts:
    def __init__(self, path: str, text: str, module: cst.Module) -> None:
        self.path = path
        self.text = text
        self.module = module

    @cached_property
    def names(self) -> ImportTable:
        return ImportTable(self.module)

    @cached_property
    def dataflow(self) -> Dataflow:
        return Dataflow(self.module, self.names)

    @cached_property
    def training(self) -> TrainingFacts:
        return TrainingFacts(self.dataflow)

    @cached_property
    def guards(self) -> Guards:
        return Guards(self.module)

    @cached_property
    def layout(self) -> LayoutFacts:
        return LayoutFacts(self.module, self.names)

    @cached_property
    def modes(self) -> ModeFacts:
        return ModeFacts(self.module, self.dataflow, TrainingSteps(self.dataflow, self.training))
