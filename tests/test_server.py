"""`nnlint server` end to end: a real LSP client (pytest-lsp) talking to the server process over
stdio, in a workspace of its own (a temporary folder)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.helpers import REPO

pytestmark = pytest.mark.asyncio

SERVER = [sys.executable, "-m", "nnlint", "server"]
SERVER_ENV = {**os.environ, "PYTHONPATH": str(REPO)}
TIMEOUT = 30  # seconds for one publication: the machine may be loaded

TRAIN = textwrap.dedent("""\
    import torch
    import torch.nn.functional as F


    def step(model, x, y, optimizer):
        optimizer.zero_grad()
        probs = F.softmax(model(x), dim=1)
        loss = F.cross_entropy(probs, y)
        loss.backward()
        optimizer.step()
        return torch.log(F.softmax(model(x), dim=1))
""")
MODELS = textwrap.dedent("""\
    from torch import nn


    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(10, 3), nn.Softmax(dim=1))

        def forward(self, x):
            return self.body(x)
""")
USES_MODELS = textwrap.dedent("""\
    import torch
    from torch import nn

    from models import Classifier


    def main(loader):
        model = Classifier()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
""")

CAPABILITIES = types.ClientCapabilities(
    general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll])),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])),
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(
            related_information=True, code_description_support=True, version_support=True),
    ),
    notebook_document=types.NotebookDocumentClientCapabilities(
        synchronization=types.NotebookDocumentSyncClientCapabilities()),
    workspace=types.WorkspaceClientCapabilities(configuration=True),
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    return tmp_path


def start(options: dict | None = None, server: list[str] = SERVER):
    """A fixture: the server started, initialized on the workspace folder, shut down after."""

    @pytest_lsp.fixture(config=ClientServerConfig(server_command=server, server_env=SERVER_ENV))
    async def client(lsp_client: LanguageClient, workspace: Path):
        await lsp_client.initialize_session(types.InitializeParams(
            capabilities=CAPABILITIES, root_uri=workspace.as_uri(), initialization_options=options,
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="demo")]))
        yield
        await lsp_client.shutdown_session()

    return client


client = start()


async def published(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The next diagnostics published for `uri` (or those already received and not yet read)."""
    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), TIMEOUT)
    return list(client.diagnostics.pop(uri))


def open_file(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    """Open a file (with `text` in its buffer, else its content on disk); its uri."""
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="python", version=version, text=path.read_text() if text is None else text)))
    return uri


def change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


def codes_at(diagnostics: list[types.Diagnostic]) -> list[tuple[str, int, int, int, int]]:
    """(code, start line, start character, end line, end character) of each diagnostic, 0-based."""
    return sorted((str(d.code), d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character)
                  for d in diagnostics)


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """The text with LSP edits applied (UTF-16 columns, as the client declared)."""
    lines = text.splitlines(keepends=True)

    def offset(position: types.Position) -> int:
        before = sum(len(line) for line in lines[:position.line])
        line = lines[position.line] if position.line < len(lines) else ""
        units = line.encode("utf-16-le")[:position.character * 2].decode("utf-16-le")
        return before + len(units)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


async def test_diagnostics_of_an_open_file_at_their_exact_ranges(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    diagnostics = await published(client, uri)
    assert codes_at(diagnostics) == [("NN201", 7, 11, 7, 36), ("NN204", 10, 11, 10, 48)]
    nn201 = next(d for d in diagnostics if d.code == "NN201")
    assert nn201.source == "nnlint"
    assert nn201.severity == types.DiagnosticSeverity.Error
    assert nn201.message.startswith("probabilities from softmax() reach cross_entropy()")
    page = Path(nn201.code_description.href.removeprefix("file://"))
    assert page.name == "NN201.md" and page.read_text().startswith("# NN201")
    assert next(d for d in diagnostics if d.code == "NN204").severity == types.DiagnosticSeverity.Warning


async def test_an_edit_updates_the_diagnostics(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, uri)) == 2
    change(client, uri, TRAIN.replace("F.cross_entropy(probs, y)", "F.cross_entropy(model(x), y)"), 2)
    assert [d.code for d in await published(client, uri)] == ["NN204"]
    change(client, uri, "\n\n" + TRAIN, 3)  # every finding two lines further down
    assert codes_at(await published(client, uri)) == [("NN201", 9, 11, 9, 36), ("NN204", 12, 11, 12, 48)]


async def test_columns_are_utf16_code_units_on_lines_with_wider_characters(client: LanguageClient, workspace: Path):
    text = TRAIN.replace("    loss = F.cross_entropy(probs, y)",
                         "    é = '😀'; loss = F.cross_entropy(probs, y)")
    uri = open_file(client, workspace / "train.py", text)
    nn201 = next(d for d in await published(client, uri) if d.code == "NN201")
    # "    é = '😀'; loss = " is 19 characters but 20 UTF-16 code units (the emoji takes two).
    start = len("    é = '😀'; loss = ".encode("utf-16-le")) // 2
    assert (nn201.range.start.line, nn201.range.start.character) == (7, start)
    assert nn201.range.end.character == start + len("F.cross_entropy(probs, y)")
