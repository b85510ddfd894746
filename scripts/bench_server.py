#!/usr/bin/env python3
"""What an edit costs in an editor: the time from `textDocument/didChange` to the
`publishDiagnostics` of that version, with `nnlint server` warm (started, the file open and
linted once), on a training script of about 500 lines.

The script is scripts/latency/train.py (113 lines) with its definitions repeated under new
names until it has 500 lines. Each edit changes a number on one line near the middle,
so that every change is analysed anew (none is served from memory). The server waits
DEBOUNCE_SECONDS after a change before it lints (typing goes on); that pause is reported apart,
and the time after it is the analysis and the protocol. A save is linted at once: its latency is
the same work without the pause.

    python scripts/bench_server.py            # 20 edits, 20 saves
    python scripts/bench_server.py --edits 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nnlint.server.server import DEBOUNCE_SECONDS  # noqa: E402

SOURCE = REPO / "scripts" / "latency" / "train.py"
TARGET_LINES = 500
DEFINITION = re.compile(r"^(?:def|class) (\w+)", re.MULTILINE)


def cpu_seconds(pid: int) -> float | None:
    """User and system time of a process so far (Linux: /proc), None where it cannot be read.
    On a shared, busy machine the wall time also counts the waits for a core, the CPU time not."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def training_script(lines: int = TARGET_LINES) -> str:
    """train.py, then its definitions again under new names (`ConvNet2`, `evaluate2`...), one
    definition after another until the script has `lines` lines."""
    text = SOURCE.read_text()
    body_start = text.index("\nclass ")
    header, body = text[:body_start], text[body_start:].replace('\n\nif __name__ == "__main__":\n    main()\n', "")
    names = DEFINITION.findall(body)
    script, copy = header + body, 1
    while True:
        copy += 1
        for definition in re.sub(rf"\b({'|'.join(names)})\b", rf"\g<1>{copy}", body).split("\n\n\n"):
            if script.count("\n") >= lines:
                return script.rstrip() + "\n"
            script += definition + "\n\n\n"


def edited(text: str, version: int) -> str:
    """The script with one number changed on a line near its middle (a number no other version has)."""
    lines = text.splitlines(keepends=True)
    middle = next(index for index in range(len(lines) // 2, len(lines)) if "batch_size * 2" in lines[index])
    lines[middle] = lines[middle].replace("batch_size * 2", f"batch_size * {version + 2}")
    return "".join(lines)


class Bench:
    def __init__(self) -> None:
        self.client = LanguageClient("nnlint-bench", "1")
        self.waiting: dict[tuple[str, int | None], asyncio.Future] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            future = self.waiting.pop((params.uri, params.version), None)
            if future is not None and not future.done():
                future.set_result(time.perf_counter())

    def expect(self, uri: str, version: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting[(uri, version)] = future
        return future

    async def run(self, edits: int, saves: int) -> None:
        with tempfile.TemporaryDirectory(prefix="nnlint-bench-") as folder:
            root = Path(folder)
            (root / "requirements.txt").write_text("torch>=2.1\nnumpy\n")
            path = root / "train.py"
            text = training_script()
            path.write_text(text)
            env = {**os.environ, "PYTHONPATH": str(REPO)}
            await self.client.start_io(sys.executable, "-m", "nnlint", "server", env=env)
            await self.client.initialize_async(types.InitializeParams(
                capabilities=types.ClientCapabilities(), root_uri=root.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="bench")]))
            self.client.initialized(types.InitializedParams())
            uri = path.as_uri()
            started = time.perf_counter()
            first = self.expect(uri, 1)
            self.client.text_document_did_open(types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
            cold = await first - started
            changes, saved, cpu = [], [], []
            pid = self.client._server.pid
            for version in range(2, 2 + edits + saves):
                new_text = edited(text, version)
                done = self.expect(uri, version)
                sent, cpu_before = time.perf_counter(), cpu_seconds(pid)
                self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=new_text)]))
                if version >= 2 + edits:  # a save right after the change: linted at once
                    self.client.text_document_did_save(types.DidSaveTextDocumentParams(
                        text_document=types.TextDocumentIdentifier(uri=uri)))
                    saved.append(await done - sent)
                else:
                    changes.append(await done - sent)
                cpu_after = cpu_seconds(pid)
                if cpu_before is not None and cpu_after is not None:
                    cpu.append(cpu_after - cpu_before)
            await self.client.shutdown_async(None)
            self.client.exit(None)
            await self.client.stop()
        report(text.count("\n"), cold, changes, saved, cpu)


def report(lines: int, cold: float, changes: list[float], saves: list[float], cpu: list[float]) -> None:
    print(f"training script: {lines} lines; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{os.cpu_count()} cores")
    print(f"open, server just started (cold): {cold:.3f} s")
    for label, times, pause in (("didChange -> publishDiagnostics", changes, DEBOUNCE_SECONDS),
                                ("didChange + didSave -> publishDiagnostics", saves, 0.0)):
        if not times:
            continue
        after = sorted(t - pause for t in times)
        p90 = after[min(len(after) - 1, int(len(after) * 0.9))]
        print(f"{label} ({len(times)} edits): median {statistics.median(times):.3f} s; "
              f"after the {pause:.2f} s debounce: median {statistics.median(after):.3f} s, "
              f"p90 {p90:.3f} s, min {after[0]:.3f} s, max {after[-1]:.3f} s")
    if cpu:
        print(f"CPU time of the server per edit (user + system, {len(cpu)} edits): median "
              f"{statistics.median(cpu):.3f} s, max {max(cpu):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=20, help="changes timed through the debounce")
    parser.add_argument("--saves", type=int, default=20, help="changes saved at once, timed without it")
    args = parser.parse_args()
    asyncio.run(Bench().run(args.edits, args.saves))


if __name__ == "__main__":
    main()
