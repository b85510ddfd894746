"""The `nnlint` command: arguments, configuration, exit codes."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from nnlint import __version__
from nnlint.baseline import Baseline, BaselineError, fingerprinted, read_file, write_baseline
from nnlint.cache import ResultCache
from nnlint.catalog import page_text
from nnlint.config import OUTPUT_FORMAT_HELP, OUTPUT_FORMATS, TEXT_FORMATS, Config, ConfigError, discover_config
from nnlint.diagnostics import Finding
from nnlint.engine import default_workers, lint_project, unlintable
from nnlint.files import STDIN, Skipped, discover
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
               "`nnlint trace SCRIPT` runs a script under the runtime tracer.",
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
    parser.add_argument("--explain", metavar="CODE", help="print the documentation of a rule")
    parser.add_argument("--list-rules", action="store_true", help="list every rule: code, name, default on/off")
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
        print(f"{rule.code}  {rule.name:<40} {rule.severity.value:<8} {state:<4} {rule.summary}")
    return EXIT_CLEAN


def _selection(args: argparse.Namespace, config: Config) -> RuleSelection:
    origin = str(config.path) if config.path else "options"
    return RuleSelection(
        list(RULES),
        select=args.select if args.select is not None else config.select,
        extend_select=(config.extend_select or []) + (args.extend_select or []),
        ignore=(config.ignore or []) + (args.ignore or []),
        per_file_ignores=config.per_file_ignores,
        root=config.root,
        origin=origin,
    )


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
        selection = _selection(args, config)
        baseline = Baseline.load(args.baseline) if args.baseline else None
    except (ConfigError, BaselineError) as err:
        print(f"nnlint: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs is not None and args.jobs < 1:
        print("nnlint: error: --jobs must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    output_format = args.output_format or config.output_format or "text"

    excludes = [str(config.root / p) if "/" in p else p for p in config.exclude + config.extend_exclude]
    found = list(discover(named, excludes, args.force_exclude or config.force_exclude, config.root))
    skipped = [entry for entry in found if isinstance(entry, Skipped)]
    missing = {entry.path for entry in skipped if entry.missing}
    if STDIN not in paths and missing == set(named):
        print(f"nnlint: error: no such file or directory: {', '.join(sorted(missing))}", file=sys.stderr)
        return EXIT_USAGE
    stdin = {args.stdin_filename or STDIN: sys.stdin.buffer.read()} if STDIN in paths else {}
    files = [*stdin, *(entry for entry in found if isinstance(entry, str) and entry not in stdin)]
    # Standard input (an editor's buffer, linted at every change) would crowd the runs of the
    # whole tree out of the cache.
    cache = None if args.no_cache or stdin else ResultCache.at_default(config.root)
    with Progress(sys.stderr) as progress:
        results = lint_project(files, selection.codes, selection.ignored_in, args.jobs or default_workers(),
                               cache, progress, stdin)
    results += [unlintable(entry.path, entry.message, selection.codes, selection.ignored_in(entry.path))
                for entry in skipped]

    findings: list[Finding] = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    findings = fingerprinted(findings, lambda path: stdin[path] if path in stdin else read_file(path))
    if args.write_baseline:
        return _write_baseline(args.write_baseline, findings)
    accepted = 0
    if baseline is not None:
        findings, accepted = baseline.new_findings(findings)
    sys.stdout.write(FORMATTERS[output_format](findings, RULES, [result.path for result in results]))
    if args.statistics and output_format in TEXT_FORMATS:
        sys.stdout.write(statistics(findings))
    if not args.quiet and output_format in TEXT_FORMATS:
        _summary(findings, len(results), accepted)
    if findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _summary(findings: list[Finding], checked: int, accepted: int = 0) -> None:
    files = len({f.path for f in findings})
    in_baseline = f" ({accepted} accepted by the baseline)" if accepted else ""
    if findings:
        print(f"nnlint: {len(findings)} finding{'s' * (len(findings) != 1)} in {files} of {checked} "
              f"file{'s' * (checked != 1)}{in_baseline}", file=sys.stderr)
    else:
        print(f"nnlint: {checked} file{'s' * (checked != 1)} checked, no {'new ' * bool(accepted)}findings"
              f"{in_baseline}", file=sys.stderr)


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
    try:
        return run(argv)
    except KeyboardInterrupt:
        print("nnlint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
