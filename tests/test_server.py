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

from nnlint.noqa import with_noqa
from nnlint.server.actions import comment_can_end
from tests.helpers import REPO

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


@pytest.mark.parametrize(("line", "expected"), [
    ("loss = f(x)", "loss = f(x)  # noqa: NN201"),
    ("loss = f(x)   ", "loss = f(x)  # noqa: NN201"),
    ("loss = f(x)  # a comment", "loss = f(x)  # a comment  # noqa: NN201"),
    ("loss = f(x)  # noqa: NN301", "loss = f(x)  # noqa: NN301,NN201"),
    ("loss = f(x)  # noqa:NN301, NN302 because", "loss = f(x)  # noqa:NN301, NN302,NN201 because"),
    ("loss = f(x)  # noqa: NN2", "loss = f(x)  # noqa: NN2"),  # the family covers it already
    ("loss = f(x)  # noqa", "loss = f(x)  # noqa"),
])
def test_a_noqa_comment_gets_the_code(line, expected):
    assert with_noqa(line, "NN201") == expected


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("x = f(\n    y)\n", 1, True),  # inside brackets a comment may end the line
    ("x = 1 + \\\n    2\n", 1, False),  # after a backslash nothing may follow
    ('x = """a\nb"""\n', 1, False),  # the line ends inside a string
    ('x = """a\nb"""\n', 2, True),
    ("x = (\n", 1, True),  # text being typed: only the backslash is checked
])
def test_a_comment_is_only_added_where_one_can_end_the_line(text, line, expected):
    assert comment_can_end(text, line) is expected


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


def start(options: dict | None = None, server: list[str] = SERVER,
          capabilities: types.ClientCapabilities = CAPABILITIES):
    """A fixture: the server started, initialized on the workspace folder, shut down after."""

    @pytest_lsp.fixture(config=ClientServerConfig(server_command=server, server_env=SERVER_ENV))
    async def client(lsp_client: LanguageClient, workspace: Path):
        await lsp_client.initialize_session(types.InitializeParams(
            capabilities=capabilities, root_uri=workspace.as_uri(), initialization_options=options,
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


async def quick_fix_titles(client: LanguageClient, uri: str, line: int, character: int) -> dict[str, types.CodeAction]:
    where = types.Range(start=types.Position(line=line, character=character),
                        end=types.Position(line=line, character=character))
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix])))
    return {action.title: action for action in actions or []}


async def fix_all_actions(client: LanguageClient, uri: str) -> list[types.CodeAction]:
    return await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.SourceFixAll])))


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


@pytest.mark.asyncio
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
    [softmax] = nn201.related_information  # the other half of the bug: where the probabilities are made
    assert softmax.message == "the probabilities come from softmax() here"
    assert softmax.location.uri == uri
    assert (softmax.location.range.start.line, softmax.location.range.start.character,
            softmax.location.range.end.line, softmax.location.range.end.character) == (6, 12, 6, 38)


@pytest.mark.asyncio
async def test_a_related_place_in_another_file_of_the_project_points_into_that_file(client: LanguageClient,
                                                                                    workspace: Path):
    """A scoring helper on disk evaluates the model it is given; the open script hands it a model still
    training: the diagnostic is in the script, its related information in the helper's file."""
    helper = workspace / "scoring.py"
    helper.write_text("import torch\n\n\ndef score(model, x):\n    with torch.no_grad():\n        return model(x)\n")
    script = ("import torchvision\n\nfrom scoring import score\n\n"
              "model = torchvision.models.resnet18(weights=\"DEFAULT\")\nprint(score(model, None))\n")
    uri = open_file(client, workspace / "train.py", script)
    [nn401] = await published(client, uri)
    assert (nn401.code, nn401.range.start.line) == ("NN401", 5)
    [inside] = nn401.related_information
    assert inside.location.uri == helper.as_uri()
    assert (inside.location.range.start.line, inside.location.range.start.character,
            inside.location.range.end.line, inside.location.range.end.character) == (5, 15, 5, 23)


@pytest.mark.asyncio
async def test_an_edit_updates_the_diagnostics(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, uri)) == 2
    change(client, uri, TRAIN.replace("F.cross_entropy(probs, y)", "F.cross_entropy(model(x), y)"), 2)
    assert [d.code for d in await published(client, uri)] == ["NN204"]
    change(client, uri, "\n\n" + TRAIN, 3)  # every finding two lines further down
    assert codes_at(await published(client, uri)) == [("NN201", 9, 11, 9, 36), ("NN204", 12, 11, 12, 48)]
    document = types.TextDocumentIdentifier(uri=uri)
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=document))
    assert len(await published(client, uri)) == 2
    client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=document))
    assert await published(client, uri) == []


@pytest.mark.asyncio
async def test_columns_are_utf16_code_units_on_lines_with_wider_characters(client: LanguageClient, workspace: Path):
    text = TRAIN.replace("    loss = F.cross_entropy(probs, y)",
                         "    é = '😀'; loss = F.cross_entropy(probs, y)")
    uri = open_file(client, workspace / "train.py", text)
    nn201 = next(d for d in await published(client, uri) if d.code == "NN201")
    # "    é = '😀'; loss = " is 19 characters but 20 UTF-16 code units (the emoji takes two).
    start = len("    é = '😀'; loss = ".encode("utf-16-le")) // 2
    assert (nn201.range.start.line, nn201.range.start.character) == (7, start)
    assert nn201.range.end.character == start + len("F.cross_entropy(probs, y)")


@pytest.mark.asyncio
async def test_a_notebook_gets_its_diagnostics_in_its_cells(client: LanguageClient, workspace: Path):
    notebook_uri = (workspace / "explore.ipynb").as_uri()
    # The probabilities are made in cell 2 and reach the loss in cell 3.
    sources = ["# Training", "import torch.nn.functional as F\nfrom data import model, x, y\n%matplotlib inline\n"
               "probs = F.softmax(model(x), dim=1)", "loss = F.cross_entropy(probs, y)"]
    kinds = [types.NotebookCellKind.Markup, types.NotebookCellKind.Code, types.NotebookCellKind.Code]
    cells = [types.NotebookCell(kind=kind, document=f"{notebook_uri}#cell{number}")
             for number, kind in enumerate(kinds, start=1)]
    documents = [types.TextDocumentItem(uri=cell.document, language_id="markdown" if number == 0 else "python",
                                        version=1, text=source)
                 for number, (cell, source) in enumerate(zip(cells, sources))]
    client.notebook_document_did_open(types.DidOpenNotebookDocumentParams(
        notebook_document=types.NotebookDocument(uri=notebook_uri, notebook_type="jupyter-notebook", version=1,
                                                 cells=cells),
        cell_text_documents=documents))
    third = await published(client, cells[2].document)
    assert codes_at(third) == [("NN201", 0, 7, 0, 32)]
    [softmax] = third[0].related_information
    assert softmax.location.uri == cells[1].document
    assert (softmax.location.range.start.line, softmax.location.range.start.character) == (3, 8)
    assert await published(client, cells[1].document) == []
    actions = await quick_fix_titles(client, cells[2].document, 0, 20)
    fix = actions["Fix NN201 (unsafe): drop the softmax where it is computed"]
    assert list(fix.edit.changes) == [cells[1].document]  # the fix is where the softmax is
    assert apply_edits(sources[1], fix.edit.changes[cells[1].document]).splitlines()[3] == "probs = model(x)"

    fixed = "loss = F.cross_entropy(model(x), y)"
    client.notebook_document_did_change(types.DidChangeNotebookDocumentParams(
        notebook_document=types.VersionedNotebookDocumentIdentifier(uri=notebook_uri, version=2),
        change=types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[
            types.NotebookDocumentCellContentChanges(
                document=types.VersionedTextDocumentIdentifier(uri=cells[2].document, version=2),
                changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)])]))))
    assert await published(client, cells[2].document) == []


@pytest.mark.asyncio
async def test_an_edit_of_models_py_republishes_the_open_files_that_import_it(
        client: LanguageClient, workspace: Path):
    (workspace / "models.py").write_text(MODELS)
    (workspace / "train.py").write_text(USES_MODELS)
    train = open_file(client, workspace / "train.py")
    assert codes_at(await published(client, train)) == [("NN201", 12, 15, 12, 37)]
    models = open_file(client, workspace / "models.py")
    assert await published(client, models) == []
    change(client, models, MODELS.replace(", nn.Softmax(dim=1)", ""), 2)  # the buffer only, not the file
    assert await published(client, train) == []
    change(client, models, MODELS, 3)
    assert [d.code for d in await published(client, train)] == ["NN201"]


@pytest.mark.asyncio
async def test_a_module_created_on_disk_is_found_when_the_client_reports_it(
        client: LanguageClient, workspace: Path):
    train = open_file(client, workspace / "train.py", USES_MODELS)
    assert await published(client, train) == []  # models.py is not there: nothing is known of Classifier
    (workspace / "models.py").write_text(MODELS)
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(changes=[
        types.FileEvent(uri=(workspace / "models.py").as_uri(), type=types.FileChangeType.Created)]))
    assert [d.code for d in await published(client, train)] == ["NN201"]


@pytest.mark.asyncio
async def test_a_syntax_error_mid_edit_is_one_diagnostic_and_then_recovers(
        client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, uri)) == 2
    change(client, uri, TRAIN.replace("loss = F.cross_entropy(probs, y)", "loss = F.cross_entropy(probs, "), 2)
    broken = await published(client, uri)
    assert [(d.code, d.range.start.line) for d in broken] == [("NN001", 7)]
    assert broken[0].message.startswith("cannot parse:")
    change(client, uri, TRAIN, 3)
    assert [d.code for d in await published(client, uri)] == ["NN201", "NN204"]


@pytest.mark.asyncio
async def test_a_fix_action_applied_removes_its_diagnostic(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    await published(client, uri)
    actions = await quick_fix_titles(client, uri, 7, 20)
    assert sorted(actions) == ["Disable NN201 for this line", "Fix NN201: drop the softmax: pass the raw scores"]
    fix = actions["Fix NN201: drop the softmax: pass the raw scores"]
    assert fix.is_preferred and fix.diagnostics[0].code == "NN201"
    fixed = apply_edits(TRAIN, fix.edit.changes[uri])
    assert "    probs = model(x)\n" in fixed
    change(client, uri, fixed, 2)
    assert [d.code for d in await published(client, uri)] == ["NN204"]


BIAS_BEFORE_BATCHNORM = textwrap.dedent("""\
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x):
            return self.bn(self.conv(x))
""")


@pytest.mark.asyncio
async def test_an_unsafe_fix_is_offered_apart_and_marked(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "net.py", BIAS_BEFORE_BATCHNORM)
    assert [d.code for d in await published(client, uri)] == ["NN103"]
    actions = await quick_fix_titles(client, uri, 6, 20)
    unsafe = [action for title, action in actions.items() if title.startswith("Fix NN103 (unsafe): ")]
    assert len(unsafe) == 1 and not unsafe[0].is_preferred


@pytest.mark.asyncio
async def test_the_noqa_action_silences_the_finding_on_its_line(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    await published(client, uri)
    noqa = (await quick_fix_titles(client, uri, 10, 15))["Disable NN204 for this line"]
    fixed = apply_edits(TRAIN, noqa.edit.changes[uri])
    assert "    return torch.log(F.softmax(model(x), dim=1))  # noqa: NN204\n" in fixed
    change(client, uri, fixed, 2)
    assert [d.code for d in await published(client, uri)] == ["NN201"]
    extended = fixed.replace("F.cross_entropy(probs, y)\n", "F.cross_entropy(probs, y)  # noqa: NN301\n")
    change(client, uri, extended, 3)
    await published(client, uri)
    noqa = (await quick_fix_titles(client, uri, 7, 15))["Disable NN201 for this line"]
    assert apply_edits(extended, noqa.edit.changes[uri]).splitlines()[7] == \
        "    loss = F.cross_entropy(probs, y)  # noqa: NN301,NN201"


@pytest.mark.asyncio
async def test_fix_all_is_a_source_action_resolved_with_the_fix_engine(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    await published(client, uri)
    actions = await fix_all_actions(client, uri)
    assert [(action.title, action.kind, action.edit) for action in actions] == \
        [("Fix all nnlint findings", "source.fixAll.nnlint", None)]
    resolved = await client.code_action_resolve_async(actions[0])
    fixed = apply_edits(TRAIN, resolved.edit.changes[uri])
    assert "    probs = model(x)\n" in fixed and "    return F.log_softmax(model(x), dim=1)\n" in fixed
    change(client, uri, fixed, 2)
    assert await published(client, uri) == []


client_without_resolve = start(capabilities=types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(code_action=types.CodeActionClientCapabilities(
        code_action_literal_support=types.ClientCodeActionLiteralOptions(
            code_action_kind=types.ClientCodeActionKindOptions(value_set=[types.CodeActionKind.SourceFixAll]))))))


@pytest.mark.asyncio
async def test_fix_all_comes_with_its_edit_to_a_client_that_cannot_resolve(client_without_resolve: LanguageClient,
                                                                           workspace: Path):
    uri = open_file(client_without_resolve, workspace / "train.py", TRAIN)
    await published(client_without_resolve, uri)
    actions = await client_without_resolve.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)),
        context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.Source])))
    assert [action.kind for action in actions] == ["source.fixAll.nnlint"]
    fixed = apply_edits(TRAIN, actions[0].edit.changes[uri])
    assert "    probs = model(x)\n" in fixed and "    return F.log_softmax(model(x), dim=1)\n" in fixed


@pytest.mark.asyncio
async def test_fix_all_leaves_unsafe_fixes_out_unless_told(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "net.py", BIAS_BEFORE_BATCHNORM)
    await published(client, uri)
    assert not await fix_all_actions(client, uri)


client_with_unsafe_fixes = start({"unsafe-fixes": True})


@pytest.mark.asyncio
async def test_fix_all_applies_unsafe_fixes_with_the_setting(client_with_unsafe_fixes: LanguageClient,
                                                             workspace: Path):
    uri = open_file(client_with_unsafe_fixes, workspace / "net.py", BIAS_BEFORE_BATCHNORM)
    await published(client_with_unsafe_fixes, uri)
    resolved = await client_with_unsafe_fixes.code_action_resolve_async(
        (await fix_all_actions(client_with_unsafe_fixes, uri))[0])
    fixed = apply_edits(BIAS_BEFORE_BATCHNORM, resolved.edit.changes[uri])
    assert "nn.Conv2d(3, 8, 3, bias=False)" in fixed


@pytest.mark.asyncio
async def test_hover_on_a_diagnostic_shows_the_rule_page(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    await published(client, uri)
    found = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=7, character=20)))
    assert found.contents.kind == types.MarkupKind.Markdown
    assert found.contents.value == (REPO / "rules" / "NN201.md").read_text().strip()
    assert (found.range.start.line, found.range.start.character) == (7, 11)
    nothing = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=3)))
    assert nothing is None


@pytest.mark.asyncio
async def test_requests_for_a_document_that_is_not_open_get_nothing(client: LanguageClient, workspace: Path):
    uri = (workspace / "never_opened.py").as_uri()
    hovered = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0)))
    assert hovered is None
    assert await quick_fix_titles(client, uri, 0, 0) == {}
    opened = open_file(client, workspace / "train.py", TRAIN)  # and the server still serves
    assert len(await published(client, opened)) == 2


@pytest.mark.asyncio
async def test_bad_documents_get_one_diagnostic_and_the_server_goes_on(client: LanguageClient, workspace: Path):
    change(client, (workspace / "never_opened.py").as_uri(), TRAIN, 2)
    binary = open_file(client, workspace / "binary.py", "x = 1\0\0\n")
    assert [(d.code, d.message) for d in await published(client, binary)] == \
        [("NN002", "file contains NUL bytes (binary file?)")]
    opened = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, opened)) == 2


@pytest.mark.asyncio
async def test_a_configuration_change_reselects_the_rules(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, uri)) == 2
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"nnlint": {"ignore": ["NN204"]}}))
    assert [d.code for d in await published(client, uri)] == ["NN201"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"select": "NN204"}))
    assert [d.code for d in await published(client, uri)] == ["NN204"]
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"select": ["NN999"]}))
    message = await asyncio.wait_for(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE), TIMEOUT)
    assert message.message == "nnlint: settings not applied: settings: unknown rule code or prefix 'NN999'"


@pytest.mark.asyncio
async def test_the_configuration_is_pulled_when_the_change_carries_none(client: LanguageClient, workspace: Path):
    uri = open_file(client, workspace / "train.py", TRAIN)
    assert len(await published(client, uri)) == 2
    client.set_configuration({"extend-select": [], "ignore": ["NN201"]}, section="nnlint")
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    assert [d.code for d in await published(client, uri)] == ["NN204"]


client_with_options = start({"nnlint": {"select": ["NN2"], "ignore": ["NN201"]}})


@pytest.mark.asyncio
async def test_initialization_options_select_the_rules(client_with_options: LanguageClient, workspace: Path):
    uri = open_file(client_with_options, workspace / "train.py", TRAIN)
    assert [d.code for d in await published(client_with_options, uri)] == ["NN204"]


@pytest.mark.asyncio
async def test_the_workspace_configuration_is_honoured(client: LanguageClient, workspace: Path):
    (workspace / "pyproject.toml").write_text(textwrap.dedent("""\
        [tool.nnlint]
        extend-exclude = ["generated"]

        [tool.nnlint.per-file-ignores]
        "scratch_*.py" = ["NN204"]
    """))
    (workspace / "generated").mkdir()
    scratch = open_file(client, workspace / "scratch_train.py", TRAIN)
    assert [d.code for d in await published(client, scratch)] == ["NN201"]
    excluded = open_file(client, workspace / "generated" / "train.py", TRAIN)
    assert await published(client, excluded) == []


@pytest.mark.asyncio
async def test_a_broken_configuration_is_shown_and_the_default_rules_run(client: LanguageClient, workspace: Path):
    (workspace / "pyproject.toml").write_text("[tool.nnlint]\nselect = 3\n")
    uri = open_file(client, workspace / "train.py", TRAIN)
    message = await asyncio.wait_for(client.wait_for_notification(types.WINDOW_SHOW_MESSAGE), TIMEOUT)
    assert message.type == types.MessageType.Error
    assert "[tool.nnlint] select must be a list of strings" in message.message
    assert len(await published(client, uri)) == 2


# The analysis fails on any file that says so: the server under test, with its lint broken on purpose.
CRASHING_SERVER = [sys.executable, "-c", textwrap.dedent("""\
    import sys
    from nnlint.engine import LintSession
    from nnlint.server.cli import main

    lint = LintSession.lint

    def crashing(self, targets, codes, ignored_in, sources):
        if any(b"crash here" in data for data in sources.values()):
            raise RuntimeError("the analysis broke")
        return lint(self, targets, codes, ignored_in, sources)

    LintSession.lint = crashing
    sys.exit(main([]))
""")]
crashing_client = start(server=CRASHING_SERVER)


@pytest.mark.asyncio
async def test_a_crash_in_an_analysis_goes_to_the_log_and_the_server_goes_on(
        crashing_client: LanguageClient, workspace: Path):
    uri = open_file(crashing_client, workspace / "train.py", TRAIN + "# crash here\n")
    logged = await asyncio.wait_for(crashing_client.wait_for_notification(types.WINDOW_LOG_MESSAGE), TIMEOUT)
    assert logged.type == types.MessageType.Error
    assert "the analysis failed" in logged.message and "RuntimeError: the analysis broke" in logged.message
    change(crashing_client, uri, TRAIN, 2)
    assert len(await published(crashing_client, uri)) == 2


def test_the_server_exits_quietly_when_the_client_goes_away(tmp_path: Path):
    def message(body: str) -> bytes:
        return f"Content-Length: {len(body.encode())}\r\n\r\n{body}".encode()

    initialize = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                             "params": {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}})
    # A message that is no JSON, then one request, and the client is gone: the server's input
    # ends before any answer is read.
    sent = message("{not json") + message(initialize)
    finished = subprocess.run(SERVER, input=sent, capture_output=True, env=SERVER_ENV, timeout=60)
    assert finished.returncode == 0
    assert b'"id":1' in finished.stdout.replace(b" ", b"")
    assert finished.stderr.decode().splitlines() == [
        "nnlint server: Unable to handle message: JSONDecodeError: Expecting property name enclosed in double quotes:"
        " line 1 column 2 (char 1)"]
