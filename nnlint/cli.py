"""The `nnlint` command: arguments, configuration, exit codes."""

from __future__ import annotations

import argparse
import secrets
import sys
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Callable, Mapping, Sequence

from nnlint import __version__
from nnlint.baseline import Baseline, BaselineError, fingerprinted, read_file, write_baseline
from nnlint.cache import ResultCache
from nnlint.catalog import page_text
from nnlint.config import OUTPUT_FORMAT_HELP, OUTPUT_FORMATS, TEXT_FORMATS, Config, ConfigError, discover_config
from nnlint.diagnostics import FileResult, Finding
from nnlint.engine import default_workers, lint_project, unlintable
from nnlint.files import STDIN, Skipped, discover, read_regular_file
from nnlint.fixes.run import FixOutcome, FixSettings, fix_project, write_fixed
from nnlint.progress import Progress
from nnlint.report import FORMATTERS
from nnlint.report.text import statistics
from nnlint.rules.metadata import RULES, rule_info
from nnlint.selection import RuleSelection

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, like every usage error
        self.exit(EXIT_USAGE, f"nnlint: error: {message}\n")


def _codes(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnlint",
        description="Find the bugs that make neural networks train quietly wrong.",
        epilog="Exit status: 0 clean, 1 findings, 2 usage or configuration error. "
               "`nnlint trace SCRIPT` runs a script under the runtime tracer; "
               "`nnlint server` is a language server for editors.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to lint (default: .); - reads stdin")
    parser.add_argument("--select", type=_codes, metavar="CODES", help="only these codes or prefixes (NN2 = NN2xx)")
    parser.add_argument("--extend-select", type=_codes, metavar="CODES", help="add codes or prefixes to the selection")
    parser.add_argument("--ignore", type=_codes, metavar="CODES", help="skip these codes or prefixes")
    parser.add_argument("--config", metavar="FILE", help="read options from FILE instead of the nearest pyproject.toml")
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, metavar="FORMAT", help=OUTPUT_FORMAT_HELP)
    parser.add_argument("--stdin-filename", metavar="PATH", help="the name to report for source read from stdin")
    parser.add_argument("--force-exclude", action="store_true",
                        help="skip files named on the command line that the excludes match (for pre-commit)")
    parser.add_argument("--statistics", action="store_true", help="print a count of each code after the findings")
    parser.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="processes to use (default: all cores)")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the cache (.nnlint_cache, or $NNLINT_CACHE_DIR)")
    gate = parser.add_mutually_exclusive_group()
    gate.add_argument("--baseline", metavar="FILE",
                      help="fail only on findings not recorded in FILE (written by --write-baseline)")
    gate.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE and exit 0")
    fixes = parser.add_argument_group("fixes")
    fixes.add_argument("--fix", action=argparse.BooleanOptionalAction, default=None,
                       help="apply the safe fixes in place, then report what is left")
    fixes.add_argument("--unsafe-fixes", action=argparse.BooleanOptionalAction, default=None,
                       help="also apply (and mark [*]) the fixes that need a human's judgement")
    fixes.add_argument("--diff", action="store_true",
                       help="print a unified diff of what --fix would change; write nothing")
    fixes.add_argument("--fix-only", action="store_true", help="apply fixes and print only how many")
    fixes.add_argument("--fixable", type=_codes, metavar="CODES",
                       help="fix only these codes or prefixes (default: all; replaces the configuration's)")
    fixes.add_argument("--extend-fixable", type=_codes, metavar="CODES",
                       help="add codes or prefixes to those --fixable or the configuration names")
    fixes.add_argument("--unfixable", type=_codes, metavar="CODES",
                       help="never fix these codes or prefixes, nor mark them [*]")
    parser.add_argument("--explain", metavar="CODE", help="print the documentation of a rule")
    parser.add_argument("--list-rules", action="store_true",
                        help="list every rule: code, name, default on/off, fix (safe, unsafe, none)")
    parser.add_argument("--version", action="version", version=f"nnlint {__version__}")
    return parser


def _explain(code: str) -> int:
    rule = rule_info(code)
    text = page_text(code)
    if rule is None or text is None:
        print(f"nnlint: error: unknown rule code '{code}' (see nnlint --list-rules)", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_CLEAN


def _list_rules() -> int:
    for rule in RULES:
        state = "on" if rule.default_enabled else "off"
        fix = "/".join(kind.value for kind in rule.fixes) or "none"
        print(f"{rule.code}  {rule.name:<40} {rule.severity.value:<8} {state:<4} fix: {fix:<12} {rule.summary}")
    return EXIT_CLEAN


def run(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.explain:
        return _explain(args.explain)
    if args.list_rules:
        return _list_rules()
    paths = args.paths or ["."]
    named = [path for path in paths if path != STDIN]
    try:
        config = discover_config([args.stdin_filename or "." if p == STDIN else p for p in paths], args.config)
        selection = RuleSelection.configured(config, args.select, args.extend_select, args.ignore)
        baseline = Baseline.load(args.baseline) if args.baseline else None
        fix_settings = FixSettings.configured(config, args.unsafe_fixes, args.fixable, args.extend_fixable,
                                              args.unfixable)
    except (ConfigError, BaselineError) as err:
        print(f"nnlint: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print("nnlint: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    output_format = args.output_format or config.output_format or "text"

    found = list(discover(named, config.exclude_patterns(), args.force_exclude or config.force_exclude, config.root))
    skipped = [entry for entry in found if isinstance(entry, Skipped)]
    missing = {entry.path for entry in skipped if entry.missing}
    if STDIN not in paths and missing == set(named):
        print(f"nnlint: error: no such file or directory: {', '.join(sorted(missing))}", file=sys.stderr)
        return EXIT_USAGE
    stdin = {args.stdin_filename or STDIN: sys.stdin.buffer.read()} if STDIN in paths else {}
    files = [*stdin, *(entry for entry in found if isinstance(entry, str) and entry not in stdin)]
    unlintables = [unlintable(entry.path, entry.message, selection.codes, selection.ignored_in(entry.path))
                   for entry in skipped]
    fixing = _fix_mode(args, config)
    sources = {**_read_files([path for path in files if path not in stdin]), **stdin} if fixing else stdin

    cache = _caches(args, config, bool(stdin), bool(fixing))

    def lint(sources: Mapping[str, bytes]) -> list[FileResult]:
        return _lint_files(files, sources, selection, args.jobs, cache()) + unlintables

    results = lint(sources)
    if fixing:
        outcome = fix_project(sources, results, lint, fix_settings)
        if fixing == "diff":
            return _print_diff(sources, outcome, fix_settings, args.quiet)
        results = _write_fixes(outcome, sources, results, stdin)
        if fixing == "fix-only":
            if not args.quiet:
                _fix_summary(outcome, None, fix_settings)
            return EXIT_CLEAN

    findings: list[Finding] = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    findings = [f if f.fix is None or fix_settings.fixable(f.code) else replace(f, fix=None) for f in findings]
    findings = fingerprinted(findings, lambda path: stdin[path] if path in stdin else read_file(path))
    if args.write_baseline:
        return _write_baseline(args.write_baseline, findings)
    accepted = 0
    if baseline is not None:
        findings, accepted = baseline.new_findings(findings)
    report = sys.stderr if fixing and stdin else sys.stdout  # stdout holds the fixed source
    report.write(_render(output_format, findings, [result.path for result in results], fix_settings))
    if args.statistics and output_format in TEXT_FORMATS:
        report.write(statistics(findings))
    if not args.quiet and output_format in TEXT_FORMATS:
        if fixing:
            _fix_summary(outcome, findings, fix_settings)
        else:
            _summary(findings, len(results), accepted, fix_settings)
    if findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _summary(findings: list[Finding], checked: int, accepted: int, fix_settings: FixSettings) -> None:
    files = len({f.path for f in findings})
    in_baseline = f" ({accepted} accepted by the baseline)" if accepted else ""
    if findings:
        print(f"nnlint: {len(findings)} finding{'s' * (len(findings) != 1)} in {files} of {checked} "
              f"file{'s' * (checked != 1)}{in_baseline}{_fixable(findings, fix_settings)}", file=sys.stderr)
    else:
        print(f"nnlint: {checked} file{'s' * (checked != 1)} checked, no {'new ' * bool(accepted)}findings"
              f"{in_baseline}", file=sys.stderr)


def _caches(args: argparse.Namespace, config: Config, from_stdin: bool,
            fixing: bool) -> Callable[[], ResultCache | None]:
    """What each lint of this run reads and writes its results through. A fixing run lints again
    after each pass, through a fresh look at the same cache (a private one under --no-cache), so
    that only the files a pass changed are analysed again."""
    if from_stdin:  # an editor's buffer, linted at every change, would crowd the tree's runs out
        return lambda: None
    if not args.no_cache:
        return lambda: ResultCache.at_default(config.root)
    if not fixing:
        return lambda: None
    private = TemporaryDirectory(prefix="nnlint-fix-")  # removed when the run lets go of it
    key = secrets.token_bytes(32)
    return lambda: ResultCache(Path(private.name), key)


def _lint_files(files: list[str], sources: Mapping[str, bytes], selection: RuleSelection, jobs: int | None,
                cache: ResultCache | None) -> list[FileResult]:
    """One lint of the project, `sources` in place of the files' content on disk."""
    with Progress(sys.stderr) as progress:
        return lint_project(files, selection.codes, selection.ignored_in, jobs or default_workers(), cache, progress,
                            sources)


# --fix, --diff, --fix-only

def _fix_mode(args: argparse.Namespace, config: Config) -> str | None:
    """"diff", "fix-only", "fix" or None (only lint)."""
    if args.diff:
        return "diff"
    if args.fix_only:
        return "fix-only"
    return "fix" if (args.fix if args.fix is not None else config.fix) else None


def _read_files(files: list[str]) -> dict[str, bytes]:
    """The content of the files to fix, read once: fixes apply to the very bytes that were linted
    (a file that cannot be read is left to the linter to report)."""
    contents = {}
    for path in files:
        try:
            contents[path] = read_regular_file(path)
        except OSError:
            pass
    return contents


def _print_diff(originals: Mapping[str, bytes], outcome: FixOutcome, settings: FixSettings, quiet: bool) -> int:
    from nnlint.fixes.diff import unified_diff

    for path in sorted(outcome.contents):
        sys.stdout.write(unified_diff(path, originals[path], outcome.contents[path]))
    if not quiet:
        _fix_summary(outcome, None, settings, verb="would fix")
    return EXIT_FINDINGS if outcome.contents else EXIT_CLEAN


def _write_fixes(outcome: FixOutcome, originals: Mapping[str, bytes], first: list[FileResult],
                 stdin: Mapping[str, bytes]) -> list[FileResult]:
    """Write the fixed files (standard input's fixed source goes to stdout) and return the results
    that hold now: a file that cannot be written keeps its findings from before the fixes."""
    unwritten = set()
    for path, fixed in outcome.contents.items():
        reason = write_fixed(path, originals[path], fixed) if path not in stdin else None
        if reason is not None:
            print(f"nnlint: not writing {path}: {reason}", file=sys.stderr)
            unwritten.add(path)
            outcome.fixed.pop(path, None)
    for path, data in stdin.items():
        sys.stdout.buffer.write(outcome.contents.get(path, data))
        sys.stdout.flush()
    before = {result.path: result for result in first}
    return [before[result.path] if result.path in unwritten else result for result in outcome.results]


def _fixable(findings: list[Finding], settings: FixSettings) -> str:
    """"; 3 fixable with --fix (1 more with --unsafe-fixes)" for a summary line."""
    fixable = sum(settings.applies(f) for f in findings)
    hidden = sum(settings.would_apply_if_unsafe(f) for f in findings)
    if not fixable and not hidden:
        return ""
    more = f" ({hidden} more with --unsafe-fixes)" if hidden else ""
    return f"; {fixable} fixable with --fix{more}"


def _fix_summary(outcome: FixOutcome, remaining: list[Finding] | None, settings: FixSettings,
                 verb: str = "fixed") -> None:
    """`nnlint: fixed 7 findings (3 more with --unsafe-fixes); 2 remaining`."""
    fixed = sum(outcome.fixed.values())
    hidden = sum(settings.would_apply_if_unsafe(f) for result in outcome.results for f in result.findings)
    more = f" ({hidden} more with --unsafe-fixes)" if hidden else ""
    left = f"; {len(remaining)} remaining" if remaining is not None else ""
    print(f"nnlint: {verb} {fixed} finding{'s' * (fixed != 1)}{more}{left}", file=sys.stderr)


def _render(output_format: str, findings: list[Finding], paths: list[str], settings: FixSettings) -> str:
    if output_format in TEXT_FORMATS:  # [*] marks what --fix repairs
        return FORMATTERS[output_format](findings, RULES, paths, unsafe_fixes=settings.unsafe)  # type: ignore[call-arg]
    return FORMATTERS[output_format](findings, RULES, paths)


def _write_baseline(file: str, findings: list[Finding]) -> int:
    try:
        write_baseline(file, findings)
    except BaselineError as err:
        print(f"nnlint: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    print(f"nnlint: wrote {len(findings)} finding{'s' * (len(findings) != 1)} to {file}", file=sys.stderr)
    return EXIT_CLEAN


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["trace"]:
        from nnlint.trace.cli import main as trace_main

        return trace_main(argv[1:])
    if argv[:1] == ["server"]:
        from nnlint.server.cli import main as server_main

        return server_main(argv[1:])
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("nnlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
