"""The on-disk cache of per-file results, keyed by content, configuration and version.

Two JSON files per cache directory: the results and scans of single files, and the whole
recent runs (small, read first: an unchanged tree is answered from it alone). JSON, not
pickle: a cache file planted by someone else must never be able to run code.

The cache lives in the checkout, where a pull request can commit one that says its buggy files
are clean. So every file is sealed with an HMAC under a key that only this user can read, kept
outside any project (`$XDG_CACHE_HOME/nnlint/key`); a file that does not carry this user's
seal is ignored, as is anything that is no regular file or too large, and rebuilt."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from nnlint import __version__
from nnlint.diagnostics import Applicability, FileResult, Finding, RelatedLocation, Severity, TextEdit, TextFix
from nnlint.diagnostics import Scan
from nnlint.facts.summary import ModuleSummary
from nnlint.files import open_regular_file, read_regular_file

CACHE_FORMAT = 4
CACHE_FILE = "results-v4.json"
RUNS_FILE = "runs-v4.json"
RUNS_KEPT = 8  # whole-run entries: an unchanged tree (or one of a few recent ones) skips analysis
ENV_VAR = "NNLINT_CACHE_DIR"
DEFAULT_DIR = ".nnlint_cache"
MAX_FILE_BYTES = 256 * 2**20
KEY_BYTES = 32
# Created or written without following a symbolic link planted in their place.
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The version plus a digest of nnlint's own source: a development checkout changes code
    without changing its version, and its results must not be served from a stale cache."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=12)
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def content_digest(data: bytes) -> str:
    """A file's identity in the cache: its bytes, hashed once per run."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def cache_key(content: str, codes: Iterable[str], ignored: Iterable[str], view_key: str,
              torch_requirement: str) -> str:
    """The key of one file's result: its content digest, the options that shape it, the
    summaries of the files it imports (`view_key`) and the torch requirement of its project."""
    text = (f"{code_fingerprint()}\0{','.join(sorted(codes))}\0{','.join(ignored)}\0{view_key}\0"
            f"{torch_requirement}\0{content}")
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def run_key(files: Iterable[tuple[str, str]], codes: Iterable[str]) -> str:
    """The key of a whole run: every (path, file key) pair, in order, and the rules."""
    digest = hashlib.blake2b(f"{code_fingerprint()}\0{','.join(sorted(codes))}\0".encode(), digest_size=20)
    for path, key in files:
        digest.update(f"{path}\0{key}\0".encode())
    return digest.hexdigest()


def key_file() -> Path:
    """Where this user's cache key lives: the user's cache folder, as the XDG spec places it."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return Path(base if os.path.isabs(base) else Path.home() / ".cache") / "nnlint" / "key"


def signing_key() -> bytes | None:
    """This user's secret cache key, created on first use; None when it can be neither read nor
    created (a read-only home): the run then goes without a cache."""
    try:
        path = key_file()
        return _read_key(path) or _new_key(path)
    except (OSError, RuntimeError):  # RuntimeError: no home folder to be found
        return None


def _read_key(path: Path) -> bytes | None:
    """The key, if it is one: a regular file of this user's, that nobody else can read."""
    try:
        with open_regular_file(path, follow_symlinks=False) as handle:
            status = os.fstat(handle.fileno())
            key = handle.read(KEY_BYTES + 1)
    except OSError:
        return None
    private = not hasattr(os, "geteuid") or (  # POSIX; elsewhere the user's profile is private already
        status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077 == 0)
    return key if len(key) == KEY_BYTES and private else None


def _new_key(path: Path) -> bytes:
    """A new key, written whole under a temporary name and then linked into place, so that no
    run ever reads half a key; when another run got there first, its key wins."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(f".key-{secrets.token_hex(8)}")
    descriptor = os.open(temporary, NEW_FILE_FLAGS, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        try:
            os.link(temporary, path)
        except FileExistsError:
            existing = _read_key(path)
            if existing is not None:
                return existing
            os.replace(temporary, path)  # what was there is no key: a new one takes its place
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return key


def _mac(key: bytes, name: str, payload: bytes) -> bytes:
    mac = hmac.new(key, name.encode() + b"\0", hashlib.sha256)
    mac.update(payload)
    return mac.hexdigest().encode()


def seal(key: bytes, name: str, payload: bytes) -> bytes:
    """A cache file's bytes: the HMAC of its name and payload, a newline, the payload."""
    return _mac(key, name, payload) + b"\n" + payload


def unseal(key: bytes, name: str, data: bytes) -> bytes | None:
    """The payload of a cache file sealed with `key` under `name`; None for any other bytes."""
    mac, _, payload = data.partition(b"\n")
    return payload if hmac.compare_digest(mac, _mac(key, name, payload)) else None


def _finding_to_json(finding: Finding) -> list:
    return [finding.line, finding.column, finding.code, finding.message, finding.rule_name,
            finding.severity.value, finding.end_line, finding.end_column, finding.cell,
            _fix_to_json(finding.fix) if finding.fix is not None else None,
            [[r.line, r.column, r.end_line, r.end_column, r.message, r.cell, r.path] for r in finding.related]]


def _finding_from_json(path: str, row: list) -> Finding:
    line, column, code, message, rule_name, severity, end_line, end_column, cell, fix, related = row
    if not all(isinstance(v, int) for v in (line, column, end_line, end_column)):
        raise ValueError("bad position")
    return Finding(path, line, column, str(code), str(message), str(rule_name), Severity(severity),
                   end_line, end_column, cell if isinstance(cell, int) else None,
                   fix=_fix_from_json(fix) if fix is not None else None,
                   related=tuple(_related_from_json(place) for place in related))


def _related_from_json(row: list) -> RelatedLocation:
    line, column, end_line, end_column, message, cell, path = row
    if not all(type(v) is int for v in (line, column, end_line, end_column)) or not isinstance(message, str) \
            or not (cell is None or type(cell) is int) or not (path is None or isinstance(path, str)):
        raise ValueError("bad related location")
    return RelatedLocation(line, column, end_line, end_column, message, cell, path)


def _fix_to_json(fix: TextFix) -> list:
    return [fix.applicability.value, fix.message,
            [[e.line, e.column, e.end_line, e.end_column, e.content, e.cell] for e in fix.edits]]


def _fix_from_json(row: list) -> TextFix:
    applicability, message, edits = row
    parsed = []
    for line, column, end_line, end_column, content, cell in edits:
        if not all(type(v) is int for v in (line, column, end_line, end_column)) or not isinstance(content, str) \
                or not (cell is None or type(cell) is int):
            raise ValueError("bad edit")
        parsed.append(TextEdit(line, column, end_line, end_column, content, cell))
    return TextFix(Applicability(applicability), str(message), tuple(parsed))


def _count(value: object) -> int:
    """A line count from the cache, which must be one (a string or float means a forged entry)."""
    if type(value) is not int:
        raise ValueError("not a count")
    return value


def _merged(old: dict[str, list], used: dict[str, list]) -> dict[str, list]:
    """This run's entries, and older ones for files this run did not lint."""
    linted = {entry[0] for entry in used.values()}
    kept = {k: v for k, v in old.items() if isinstance(v, list) and v and isinstance(v[0], str) and v[0] not in linted}
    kept.update(used)
    return kept


class ResultCache:
    """Entries: key -> [path, lines, findings, summary]; scans: key -> [path, lines,
    findings, import aliases]; runs: run key -> each file's [lines, findings], in order."""

    def __init__(self, directory: Path, key: bytes) -> None:
        self.directory = directory
        self.key = key
        self._loaded = False
        self._old: dict[str, list] = {}
        self._used: dict[str, list] = {}
        self._old_scans: dict[str, list] = {}
        self._scans: dict[str, list] = {}
        self._old_runs = self._read(RUNS_FILE).get("runs")
        if not isinstance(self._old_runs, dict):
            self._old_runs = {}
        self._runs: dict[str, list] = {}
        self._changed = False  # per-file results or scans added

    @classmethod
    def at_default(cls, root: Path) -> "ResultCache | None":
        """`$NNLINT_CACHE_DIR`, else `.nnlint_cache` beside the configuration; None without a key."""
        key = signing_key()
        return cls(Path(os.environ.get(ENV_VAR) or root / DEFAULT_DIR), key) if key is not None else None

    def _read(self, name: str) -> dict:
        """A cache file's content, or nothing when it is missing, unsealed, malformed or foreign."""
        try:
            payload = unseal(self.key, name,
                             read_regular_file(self.directory / name, limit=MAX_FILE_BYTES, follow_symlinks=False))
        except OSError:
            return {}
        if payload is None:  # not sealed by this user: nobody else's JSON is ever parsed
            return {}
        try:
            content = json.loads(payload)
        except (ValueError, RecursionError):
            return {}
        ours = isinstance(content, dict) and content.get("format") == CACHE_FORMAT
        return content if ours and content.get("version") == code_fingerprint() else {}

    def _load(self) -> None:
        """The per-file results, read only when a run is not answered whole."""
        if self._loaded:
            return
        self._loaded = True
        data = self._read(CACHE_FILE)
        entries, scans = data.get("entries"), data.get("scans")
        self._old = entries if isinstance(entries, dict) else {}
        self._old_scans = scans if isinstance(scans, dict) else {}

    def get_run(self, key: str, paths: list[str]) -> list[FileResult] | None:
        """Every file's result of an earlier run over exactly these files and contents."""
        rows = self._old_runs.get(key)
        if not isinstance(rows, list) or len(rows) != len(paths):
            return None
        try:
            return [FileResult(path, [_finding_from_json(path, row) for row in findings], _count(lines))
                    for path, (lines, findings) in zip(paths, rows)]
        except (TypeError, ValueError, KeyError, AttributeError):
            return None

    def put_run(self, key: str, results: list[FileResult]) -> None:
        self._runs[key] = [[result.lines, [_finding_to_json(f) for f in result.findings]] for result in results]

    def get_scan(self, key: str, path: str) -> Scan | None:
        self._load()
        entry = self._old_scans.get(key)
        if entry is None:
            return None
        try:
            stored_path, lines, rows, aliases = entry
            if not isinstance(stored_path, str):
                return None
            if aliases is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
                return None
            scan = Scan(path, aliases, [_finding_from_json(path, row) for row in rows], _count(lines))
        except (TypeError, ValueError, KeyError, AttributeError):
            return None
        self._scans[key] = entry
        return scan

    def put_scan(self, key: str, scan: Scan) -> None:
        self._scans[key] = [scan.path, scan.lines, [_finding_to_json(f) for f in scan.findings], scan.aliases]
        self._changed = True

    def get(self, key: str, path: str) -> FileResult | None:
        """The cached result for this key, or None (also for any malformed entry)."""
        self._load()
        entry = self._old.get(key)
        if entry is None:
            return None
        try:
            stored_path, lines, rows, summary = entry
            if not isinstance(stored_path, str):
                return None
            result = FileResult(
                path,
                [_finding_from_json(path, row) for row in rows],
                _count(lines),
                ModuleSummary.from_json(summary) if summary is not None else None,
            )
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError):
            return None
        self._used[key] = entry
        return result

    def put(self, key: str, result: FileResult) -> None:
        summary = result.summary.to_json() if result.summary is not None else None
        self._used[key] = [result.path, result.lines, [_finding_to_json(f) for f in result.findings],
                           summary]
        self._changed = True

    def save(self) -> None:
        """Write what this run added; a run served whole from the cache writes nothing."""
        if self._changed:
            self._load()
            self._write(CACHE_FILE, {"entries": _merged(self._old, self._used),
                                     "scans": _merged(self._old_scans, self._scans)})
        if self._runs:
            older = [(key, rows) for key, rows in self._old_runs.items() if key not in self._runs]
            runs = dict(older[-(RUNS_KEPT - 1):])  # the most recent ones, then this run's
            runs.update(self._runs)
            self._write(RUNS_FILE, {"runs": runs})

    def _write(self, name: str, content: dict) -> None:
        payload = json.dumps({"format": CACHE_FORMAT, "version": code_fingerprint(), **content})
        data = seal(self.key, name, payload.encode())
        if len(data) > MAX_FILE_BYTES or os.path.islink(self.directory):
            return  # too large to be read back; a folder planted as a link leads anywhere
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):  # kept as it is, or a link in its place left alone
                self._create(".gitignore", b"*\n", 0o644)
            temporary = f".{name}-{secrets.token_hex(8)}"
            self._create(temporary, data, 0o600)
            os.replace(self.directory / temporary, self.directory / name)
        except OSError:
            pass  # a read-only tree still lints; it just stays cold

    def _create(self, name: str, data: bytes, mode: int) -> None:
        """A new file in the cache folder, never written through a link planted under its name."""
        with os.fdopen(os.open(self.directory / name, NEW_FILE_FLAGS, mode), "wb") as handle:
            handle.write(data)
