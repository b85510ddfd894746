"""Which project each open file belongs to: its `[tool.nnlint]` configuration (found as the
command line finds it, or named by the editor's `config` setting), the rules that configuration
and the editor's settings select, and a LintSession over the project's tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from nnlint.config import Config, ConfigError, discover_config
from nnlint.engine import LintSession
from nnlint.files import discover, is_excluded
from nnlint.fixes.run import FixSettings
from nnlint.selection import RuleSelection
from nnlint.server.settings import Settings
from nnlint.torch_requirement import ROOT_MARKERS

# The files an import may name are listed from the project's root once (and again when files are
# created or deleted); far larger trees than any project are cut there.
MAX_FILES = 50_000


@dataclass
class Project:
    """The files under one root, linted together with one configuration."""

    root: Path
    config: Config
    selection: RuleSelection
    fix_settings: FixSettings
    session: LintSession = field(default_factory=LintSession)
    listed: set[str] | None = None  # the tree's files, None until (again) listed

    def excludes(self, path: str) -> bool:
        return is_excluded(path, self.config.exclude_patterns(), self.config.root)

    def files(self) -> set[str]:
        """The tree's Python files and notebooks (absolute), listed once and after each change;
        at most MAX_FILES of them (a home folder opened as a workspace is no project)."""
        if self.listed is None:
            found = discover([str(self.root)], self.config.exclude_patterns(), project_root=self.root)
            self.listed = {entry for entry in islice(found, MAX_FILES) if isinstance(entry, str)}
            self.session.set_files(self.listed)
        return self.listed


class Projects:
    """The projects of the open files, kept while the server runs: their sessions stay warm."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.folders: list[Path] = []  # the workspace folders, to root files without a configuration
        self._projects: dict[tuple[Path | None, Path], Project] = {}

    def for_path(self, path: str) -> tuple[Project, str | None]:
        """The project of a file, and what is wrong with its configuration or the settings (the
        project then lints with the rules on by default)."""
        problem = None
        try:
            config = discover_config([path], self._config_file())
        except ConfigError as err:
            config, problem = Config(), str(err)
        if config.path is None:
            config = Config(root=self._folder_of(Path(path).absolute()))
        try:
            selection = RuleSelection.configured(config, self.settings.select, self.settings.extend_select,
                                                 self.settings.ignore)
            fix_settings = FixSettings.configured(config, self.settings.unsafe_fixes)
        except ConfigError as err:
            problem = str(err)
            config = Config(root=config.root)
            selection, fix_settings = RuleSelection.configured(config), FixSettings.configured(config)
        key = (config.path, config.root.absolute())
        project = self._projects.get(key)
        if project is None:
            project = self._projects[key] = Project(config.root.absolute(), config, selection, fix_settings)
        if project.config != config:
            project.config, project.listed = config, None  # its excludes may have changed
        project.selection, project.fix_settings = selection, fix_settings
        return project, problem

    def files_changed(self) -> None:
        """Files were created or deleted on disk: every tree is listed again when next linted."""
        for project in self._projects.values():
            project.listed = None

    def _config_file(self) -> str | None:
        name = self.settings.config
        if name is None or Path(name).is_absolute() or not self.folders:
            return name
        return str(self.folders[0] / name)

    def _folder_of(self, path: Path) -> Path:
        """The innermost workspace folder holding the file; outside them, the nearest folder above
        it that marks a project (pyproject.toml, setup.py, setup.cfg, .git), else its own folder."""
        holding = [folder for folder in self.folders if folder == path or folder in path.parents]
        if holding:
            return max(holding, key=lambda folder: len(folder.parts))
        marked = (folder for folder in path.parents if any((folder / marker).exists() for marker in ROOT_MARKERS))
        return next(marked, path.parent)
