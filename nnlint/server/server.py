"""The language server: LSP messages in, lints of the open documents on a thread of their own,
diagnostics and answers out.

Every lint covers all open documents, each project's in one LintSession run (an edited
`models.py` changes what `train.py` sees, and unchanged files cost nothing: their results are
kept in memory). A change is linted once the typing pauses (DEBOUNCE_SECONDS), an open or a
save at once. One thread analyses, so that lints never overlap and the protocol keeps being
answered meanwhile; the projects (their sessions, their listed trees) are touched on that thread
only. Nothing that goes wrong in a lint stops the server: it goes to the client's
log, and the next lint runs as usual."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Mapping
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from nnlint import __version__
from nnlint.diagnostics import FileResult, Finding
from nnlint.server.actions import FIX_ALL, KINDS, fix_all_action, fix_all_edit, quick_fixes, wanted
from nnlint.server.diagnostics import diagnostics_by_uri
from nnlint.server.documents import (Linted, Snapshot, document_path, is_python, notebook_snapshot,
                                     python_snapshot)
from nnlint.server.hover import hover
from nnlint.server.projects import Project, Projects
from nnlint.server.settings import SECTION, SettingsError, own_section, read_settings

DEBOUNCE_SECONDS = 0.25
WATCHED_FILES = ("**/*.py", "**/*.pyi", "**/*.ipynb", "**/pyproject.toml", "**/requirements*.txt")
NOTEBOOK_SYNC = types.NotebookDocumentSyncOptions(
    notebook_selector=[types.NotebookDocumentFilterWithNotebook(
        notebook="jupyter-notebook", cells=[types.NotebookCellLanguage(language="python")])],
    save=True,
)


class NnlintServer(LanguageServer):
    def __init__(self) -> None:
        # Full synchronisation: pygls applies incremental changes to lines split by str.splitlines,
        # which also splits at form feeds and other characters that end no line in Python or LSP.
        super().__init__("nnlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full,
                         notebook_document_sync=NOTEBOOK_SYNC)
        self.projects = Projects()
        self.linted: dict[str, Linted] = {}  # the last lint of each open document or notebook, by uri
        self.published: dict[str, list[types.Diagnostic]] = {}  # by document or cell uri
        self._analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlint-analysis")
        self._debounce: asyncio.TimerHandle | None = None
        self._changed: set[str] = set()  # documents whose next diagnostics are published even if unchanged
        self._tasks: set[asyncio.Task] = set()
        self._shown: set[str] = set()  # problems with the settings or configuration already shown
        self._register()

    def _register(self) -> None:
        features = {
            types.INITIALIZE: self.initialize,
            types.INITIALIZED: self.initialized,
            types.TEXT_DOCUMENT_DID_OPEN: self.did_open,
            types.TEXT_DOCUMENT_DID_CHANGE: self.did_change,
            types.TEXT_DOCUMENT_DID_SAVE: self.did_save,
            types.TEXT_DOCUMENT_DID_CLOSE: self.did_close,
            types.NOTEBOOK_DOCUMENT_DID_OPEN: self.did_open,
            types.NOTEBOOK_DOCUMENT_DID_CHANGE: self.did_change,
            types.NOTEBOOK_DOCUMENT_DID_SAVE: self.did_save,
            types.NOTEBOOK_DOCUMENT_DID_CLOSE: self.did_close,
            types.WORKSPACE_DID_CHANGE_CONFIGURATION: self.did_change_configuration,
            types.WORKSPACE_DID_CHANGE_WATCHED_FILES: self.did_change_watched_files,
            types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS: self.did_change_workspace_folders,
            types.TEXT_DOCUMENT_HOVER: self.hover,
            types.CODE_ACTION_RESOLVE: self.resolve_code_action,
        }
        # pygls marks each handler with attributes, which a bound method cannot carry: a partial can.
        for method, handler in features.items():
            self.feature(method)(partial(handler))
        self.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
            code_action_kinds=list(KINDS), resolve_provider=True))(partial(self.code_action))

    # Life cycle and settings

    def initialize(self, params: types.InitializeParams) -> None:
        self._set_folders(params.workspace_folders or [], params.root_uri)
        self._apply_settings(params.initialization_options)

    async def initialized(self, params: types.InitializedParams) -> None:
        if self._client_can("workspace.did_change_watched_files.dynamic_registration"):
            watchers = [types.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHED_FILES]
            registration = types.Registration(
                id="nnlint-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers))
            try:
                await self.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
            except Exception as err:  # the client said no: files created meanwhile are found at the next open
                self._log(f"nnlint: cannot watch the workspace's files: {err}", types.MessageType.Warning)

    async def did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        settings = own_section(params.settings)
        if not settings and self._client_can("workspace.configuration"):  # the client wants them pulled
            try:
                pulled = await self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)]))
            except Exception as err:
                self._log(f"nnlint: cannot read the settings: {err}", types.MessageType.Warning)
                return
            settings = pulled[0] if pulled else None
        if self._apply_settings(settings):
            self._lint_soon(set(self.linted), now=True)

    def _apply_settings(self, value: Any) -> bool:
        try:
            self.projects.settings = read_settings(value)
        except SettingsError as err:
            self._show(f"nnlint: settings not applied: {err}")
            return False
        return True

    def did_change_workspace_folders(self, params: types.DidChangeWorkspaceFoldersParams) -> None:
        self._set_folders(list(self.workspace.folders.values()), None)  # as pygls has just updated them

    def _set_folders(self, folders: list[types.WorkspaceFolder], root_uri: str | None) -> None:
        uris = [folder.uri for folder in folders] or ([root_uri] if root_uri else [])
        self.projects.folders = [Path(path) for path in map(to_fs_path, uris) if path]

    def did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        if any(change.type != types.FileChangeType.Changed for change in params.changes):
            self._analysis.submit(self.projects.files_changed)  # the projects belong to the analysis thread
        self._lint_soon(set())

    # Documents

    def did_open(self, params: types.DidOpenTextDocumentParams | types.DidOpenNotebookDocumentParams) -> None:
        self._lint_soon({self._uri_of(params)}, now=True)

    def did_change(self, params: types.DidChangeTextDocumentParams | types.DidChangeNotebookDocumentParams
                   ) -> None:
        self._lint_soon({self._uri_of(params)})

    def did_save(self, params: types.DidSaveTextDocumentParams | types.DidSaveNotebookDocumentParams) -> None:
        self._lint_soon({self._uri_of(params)}, now=True)

    def did_close(self, params: types.DidCloseTextDocumentParams | types.DidCloseNotebookDocumentParams) -> None:
        linted = self.linted.pop(unquote(self._uri_of(params)), None)
        if linted is not None:
            for part in linted.snapshot.parts.values():
                self._publish(part.uri, [], None)
                self.published.pop(part.uri, None)
        self._lint_soon(set())  # the other files now see this one as it is on disk

    @staticmethod
    def _uri_of(params: Any) -> str:
        document = getattr(params, "text_document", None) or params.notebook_document
        return document.uri

    # Lints

    def _lint_soon(self, changed: set[str], now: bool = False) -> None:
        self._changed.update(unquote(uri) for uri in changed)
        if self._debounce is not None:
            self._debounce.cancel()
            self._debounce = None
        if now:
            self._spawn(self.lint_open())
        else:
            self._debounce = asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self._after_pause)

    def _after_pause(self) -> None:
        self._debounce = None
        self._spawn(self.lint_open())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def lint_open(self) -> None:
        """Lint every open document and publish what changed (and all of what the user changed)."""
        changed, self._changed = self._changed, set()
        try:
            snapshots = self._snapshots()
            linted, problems, failures = await asyncio.get_running_loop().run_in_executor(
                self._analysis, self._lint, snapshots)
            if not problems:
                self._shown.clear()  # all is well again: a problem that comes back is shown again
            for problem in problems:
                self._show(f"nnlint: {problem}; linting with the rules on by default")
            for failure in failures:
                self._log(failure, types.MessageType.Error)
            open_now = {unquote(uri) for uri in self.workspace.text_documents} | {
                unquote(uri) for uri in self.workspace.notebook_documents}
            for uri, result in linted.items():
                if uri in open_now:
                    self._publish_linted(uri, result, forced=uri in changed)
        except Exception:  # whatever it is, the server goes on, and the next lint may well succeed
            self._log(f"nnlint: linting the open files failed:\n{traceback.format_exc()}", types.MessageType.Error)

    def _snapshots(self) -> list[Snapshot]:
        workspace = self.workspace
        notebooks = list(workspace.notebook_documents.values())
        cells = {unquote(cell.document) for notebook in notebooks for cell in notebook.cells}
        snapshots = [python_snapshot(document.uri, document.source, document.version)
                     for uri, document in list(workspace.text_documents.items())
                     if uri not in cells and is_python(document_path(document.uri), document.language_id)]

        def cell_document(uri: str) -> tuple[str, str | None] | None:
            document = workspace.text_documents.get(unquote(uri))
            return (document.source, document.language_id) if document is not None else None

        return snapshots + [notebook_snapshot(notebook, cell_document) for notebook in notebooks]

    def _lint(self, snapshots: list[Snapshot]) -> tuple[dict[str, Linted], list[str], list[str]]:
        """(On the analysis thread.) Each snapshot's lint; the configuration problems met, and the
        analyses that failed."""
        sources = {snapshot.path: snapshot.data for snapshot in snapshots}
        linted: dict[str, Linted] = {}
        problems: list[str] = []
        groups: dict[int, tuple[Project, list[Snapshot]]] = {}
        for snapshot in snapshots:
            project, problem = self.projects.for_path(snapshot.path)
            if problem is not None:
                problems.append(problem)
            if project.excludes(snapshot.path):
                linted[unquote(snapshot.uri)] = Linted(snapshot, [], project.fix_settings)
                continue
            if os.path.isfile(snapshot.path) and snapshot.path not in project.files():
                project.listed = None  # a file created since the tree was listed
            groups.setdefault(id(project), (project, []))[1].append(snapshot)
        failures = []
        for project, group in groups.values():
            try:
                project.files()
                results = self._lint_in(project, [snapshot.path for snapshot in group], sources)
            except Exception:
                failures.append(f"nnlint: the analysis failed in {project.root}:\n{traceback.format_exc()}")
                continue
            by_path = {result.path: result for result in results}
            for snapshot in group:
                findings = sorted(by_path[snapshot.path].findings, key=Finding.sort_key)
                linted[unquote(snapshot.uri)] = Linted(snapshot, findings, project.fix_settings)
        return linted, problems, failures

    @staticmethod
    def _lint_in(project: Project, paths: list[str], sources: Mapping[str, bytes]) -> list[FileResult]:
        return project.session.lint(list(dict.fromkeys(paths)), project.selection.codes,
                                    project.selection.ignored_in, sources)

    def _publish_linted(self, uri: str, result: Linted, forced: bool) -> None:
        before = self.linted.get(uri)
        self.linted[uri] = result
        published = diagnostics_by_uri(result.snapshot, result.findings, self.workspace.position_codec)
        if before is not None:  # cells that are gone lose their diagnostics
            for part in before.snapshot.parts.values():
                if part.uri not in published and self.published.pop(part.uri, None):
                    self._publish(part.uri, [], None)
        version = result.snapshot.version if None in result.snapshot.parts else None
        for part_uri, diagnostics in published.items():
            if forced or self.published.get(part_uri) != diagnostics:
                self.published[part_uri] = diagnostics
                self._publish(part_uri, diagnostics, version)

    def _publish(self, uri: str, diagnostics: list[types.Diagnostic], version: int | None) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))

    async def current(self, uri: str) -> Linted | None:
        """The lint of the document (or of the notebook of the cell) as it is now: linted again
        first if it changed since; None for a document that is not open."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        key = unquote(notebook.uri if notebook is not None else uri)
        if notebook is not None:
            version = notebook.version
        else:
            document = self.workspace.text_documents.get(key)
            if document is None:
                return None
            version = document.version
        linted = self.linted.get(key)
        if linted is None or linted.snapshot.version != version:
            await self.lint_open()
            linted = self.linted.get(key)
        return linted

    # Requests

    async def code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        linted = await self.current(uri)
        if linted is None:
            return None
        only = params.context.only
        codec = self.workspace.position_codec
        actions = quick_fixes(linted, uri, params.range, codec) if wanted(types.CodeActionKind.QuickFix, only) else []
        fix_all = fix_all_action(linted, uri) if wanted(FIX_ALL, only) else None
        if fix_all is not None:
            if not self._client_can("text_document.code_action.resolve_support"):
                fix_all.edit = await self._fix_all(linted)
            actions.append(fix_all)
        return actions

    async def resolve_code_action(self, action: types.CodeAction) -> types.CodeAction:
        uri = action.data.get("uri") if isinstance(action.data, dict) else None
        linted = await self.current(uri) if isinstance(uri, str) else None
        if linted is not None and action.kind == FIX_ALL:
            action.edit = await self._fix_all(linted)
        return action

    async def _fix_all(self, linted: Linted) -> types.WorkspaceEdit:
        sources = {result.snapshot.path: result.snapshot.data for result in self.linted.values()}
        codec = self.workspace.position_codec

        def fix_all() -> types.WorkspaceEdit:  # on the analysis thread, which the projects belong to
            project, _ = self.projects.for_path(linted.snapshot.path)

            def lint(current: Mapping[str, bytes]) -> list[FileResult]:
                return self._lint_in(project, [linted.snapshot.path], {**sources, **current})

            return fix_all_edit(linted, lint, codec)

        return await asyncio.get_running_loop().run_in_executor(self._analysis, fix_all)

    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        linted = await self.current(params.text_document.uri)
        if linted is None:
            return None
        return hover(linted, params.text_document.uri, params.position, self.workspace.position_codec)

    # The client

    def _client_can(self, capability: str) -> bool:
        """Whether the client declared a capability (`workspace.configuration`); for the resolve
        support of code actions, whether it resolves their edit."""
        value: Any = self.client_capabilities
        for name in capability.split("."):
            value = getattr(value, name, None)
        if isinstance(value, types.ClientCodeActionResolveOptions):
            return "edit" in value.properties
        return bool(value)

    def _log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except OSError:  # the client is gone: nobody reads the log, and the server is about to exit
            pass

    def _show(self, message: str) -> None:
        """A problem the user must fix: shown and logged once, not at every lint while it lasts."""
        if message not in self._shown:
            self._shown.add(message)
            self._log(message, types.MessageType.Error)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))


class _OneLine(logging.Formatter):
    """What pygls logs (a message it cannot read, a client gone), one line each, on stderr: the
    editor's log of the server."""

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        return f"nnlint server: {record.getMessage()}" + (f": {type(error).__name__}: {error}" if error else "")


def serve() -> int:
    """Serve one client over stdin and stdout until it exits or goes away."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    server = NnlintServer()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed by mistake goes to the log, not into the protocol
    server.start_io(stdin, stdout)
    return 0
