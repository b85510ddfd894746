"""`nnlint trace SCRIPT [--steps N] [-- SCRIPT_ARGS...]`: run a training script under the tracer,
lint it, and report each finding with what the run showed.

It executes the user's code: that is why it is a command of its own. Exit status: 0 nothing
found, 1 findings, 2 the script failed or a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import Sequence

from nnlint.baseline import fingerprinted
from nnlint.config import OUTPUT_FORMAT_HELP, OUTPUT_FORMATS, TEXT_FORMATS, ConfigError, discover_config
from nnlint.diagnostics import Finding
from nnlint.engine import lint_project
from nnlint.report import FORMATTERS
from nnlint.rules.metadata import RULES, rule_info
from nnlint.selection import RuleSelection
from nnlint.trace.html_report import require_matplotlib, write_report
from nnlint.trace.merge import display_path, is_disproved, merge, rule_for
from nnlint.trace.runner import FAILED, INTERRUPTED, STOPPED, ScriptRun, script_traceback, trace_script
from nnlint.trace.tensorboard_events import require_tensorboard, write_events

EXIT_CLEAN, EXIT_FINDINGS, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_STEPS = 5
OVERFIT_STEPS = 100


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.exit(EXIT_FAILED, f"nnlint trace: error: {message}\n")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="nnlint trace",
        usage="nnlint trace SCRIPT [--steps N] [--overfit-batch] [--report FILE] [--tensorboard DIR] "
              "[--output-format FORMAT] [-- SCRIPT_ARGS...]",
        description="Run a training script for a few optimizer steps under torch hooks, and report what "
                    "its tensors actually did, with the linter's findings confirmed or not. This runs "
                    "the script's code. Needs PyTorch (pip install 'nnlint[trace]').",
        epilog="Exit status: 0 nothing found, 1 findings, 2 the script failed (or a usage error), "
               "130 interrupted.",
    )
    parser.add_argument("script", metavar="SCRIPT", help="the training script, run as __main__")
    parser.add_argument("--steps", type=_positive, metavar="N",
                        help=f"stop after N optimizer steps (default {DEFAULT_STEPS}, {OVERFIT_STEPS} with "
                             "--overfit-batch); an evaluation pass before the next training step is still watched")
    parser.add_argument("--overfit-batch", action="store_true",
                        help="feed the first training batch again at every step (the script's own loop, loader "
                             "and optimizer) and report whether the loss falls to a small fraction of its first "
                             "value (NN804 when it does not)")
    parser.add_argument("--report", metavar="FILE",
                        help="also write a self-contained HTML report: loss curve, update/weight ratios, gradient "
                             "norms, weight and activation histograms, dead units, and each finding with its code")
    parser.add_argument("--tensorboard", metavar="DIR",
                        help="also write the report's scalars and histograms as TensorBoard event files in DIR "
                             "(needs the tensorboard package)")
    parser.add_argument("--output-format", choices=OUTPUT_FORMATS, metavar="FORMAT", help=OUTPUT_FORMAT_HELP)
    parser.add_argument("--config", metavar="FILE", help="read options from FILE instead of the nearest pyproject.toml")
    parser.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    return parser


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        return argv[:cut], argv[cut + 1:]
    return argv, []


def main(argv: Sequence[str]) -> int:
    own, script_args = _split(argv)
    args = build_parser().parse_args(own)
    script = Path(args.script)
    if not script.is_file():
        print(f"nnlint trace: error: no such file: {args.script}", file=sys.stderr)
        return EXIT_FAILED
    try:
        config = discover_config([args.script], args.config)
        selection = RuleSelection(
            list(RULES), select=config.select, extend_select=config.extend_select, ignore=config.ignore,
            per_file_ignores=config.per_file_ignores, root=config.root,
            origin=str(config.path) if config.path else "options",
        )
    except ConfigError as err:
        print(f"nnlint trace: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    try:
        import torch  # noqa: F401  (the tracer's only dependency beyond the linter's)
    except ImportError:
        print("nnlint trace: error: the tracer needs PyTorch: pip install 'nnlint[trace]'", file=sys.stderr)
        return EXIT_FAILED
    problem = (require_matplotlib() if args.report else None) or \
        (_require_event_directory(args.tensorboard) if args.tensorboard else None)
    if problem is not None:
        print(f"nnlint trace: error: {problem}", file=sys.stderr)
        return EXIT_FAILED
    output_format = args.output_format or config.output_format or "text"
    return _trace(args, script_args, selection, output_format)


def _trace(args: argparse.Namespace, script_args: list[str], selection: RuleSelection, output_format: str) -> int:
    # Machine-readable reports own stdout: the script's prints go to stderr.
    for_machines = output_format not in TEXT_FORMATS
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if for_machines else contextlib.nullcontext()
    steps = args.steps or (OVERFIT_STEPS if args.overfit_batch else DEFAULT_STEPS)
    with quiet_stdout:
        run = trace_script(args.script, script_args, steps=steps, overfit_batch=args.overfit_batch,
                           record=bool(args.report or args.tensorboard))

    # One process: the script's torch state is no business of a worker pool.
    results = lint_project([display_path(path) for path in run.files], selection.codes, selection.ignored_in, workers=1)
    static = [finding for result in results for finding in result.findings]

    def keep(code: str, path: str) -> bool:
        known = rule_info(code) is not None
        return (not known or code in selection.codes) and not code.startswith(selection.ignored_in(path))

    findings = fingerprinted(_with_overfit_causes(merge(static, run.findings, run.lines.ran, keep, run.clearances)))
    rules = list(RULES)
    rules += [rule_for(code) for code in sorted({f.code for f in findings} - {r.code for r in rules})]
    sys.stdout.write(FORMATTERS[output_format](findings, rules, [result.path for result in results]))
    sys.stdout.flush()
    if args.report:
        write_report(args.report, display_path(run.script), run.outcome, run.steps, findings, run.measurements)
        print(f"nnlint trace: report written to {args.report}", file=sys.stderr)
    events_unwritten = bool(args.tensorboard) and not _write_events(args.tensorboard, run)
    for problem in run.internal_errors:
        print(f"nnlint trace: internal error in the tracer (please report it): {problem}", file=sys.stderr)
    if run.outcome == FAILED:
        _show_failure(run.error, run.script)
    elif not args.quiet and output_format in TEXT_FORMATS:
        _summary(run, findings)
        verdict = run.measurements.get("overfit")
        if verdict is not None:
            print(f"nnlint trace: overfit one batch: {verdict.status}: {verdict.summary}", file=sys.stderr)
    if run.outcome == FAILED or events_unwritten:
        return EXIT_FAILED
    if run.outcome == INTERRUPTED:
        print("nnlint trace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    # A static finding the run disproved is shown, but does not fail the run.
    return EXIT_FINDINGS if any(not is_disproved(f) for f in findings) else EXIT_CLEAN


def _require_event_directory(directory: str) -> str | None:
    """None when TensorBoard event files can go to `directory` (made if need be), else why not."""
    if os.path.exists(directory) and not os.path.isdir(directory):
        return f"--tensorboard {directory}: not a directory"
    return require_tensorboard()


def _write_events(directory: str, run: ScriptRun) -> bool:
    try:
        write_events(directory, run.steps, run.measurements)
    except OSError as err:
        print(f"nnlint trace: error: cannot write TensorBoard events to {directory}: {err.strerror or err}",
              file=sys.stderr)
        return False
    print(f"nnlint trace: TensorBoard events written to {directory}", file=sys.stderr)
    return True


def _with_overfit_causes(findings: list[Finding]) -> list[Finding]:
    """NN804 names the other findings of the run, the likely reasons why the model cannot learn."""
    causes = [f for f in findings if f.code != "NN804" and not is_disproved(f)]
    if not causes:
        return findings
    named = ", ".join(f"{f.code} at {f.path}:{f.line}" for f in causes[:5])

    def explained(finding: Finding) -> Finding:
        message, _, status = finding.message.rpartition(" (")
        return dataclasses.replace(finding, message=f"{message}; other findings of this run that may explain it: "
                                                    f"{named} ({status}")

    return [explained(f) if f.code == "NN804" else f for f in findings]


def _show_failure(error: BaseException | None, script: str) -> None:
    if isinstance(error, SystemExit):
        print(f"nnlint trace: the script exited with status {error.code}", file=sys.stderr)
    elif error is not None:
        sys.stderr.write(script_traceback(error, script))
        print("nnlint trace: the script failed (its traceback is above)", file=sys.stderr)


def _summary(run: ScriptRun, findings: list[Finding]) -> None:
    name = Path(run.script).name
    steps = f"{run.steps} optimizer step{'s' * (run.steps != 1)}"
    how = {STOPPED: f"stopped after {steps}", INTERRUPTED: f"was interrupted after {steps}"}.get(
        run.outcome, f"ran to its end ({steps})")
    if not findings:
        print(f"nnlint trace: {name} {how}; no findings", file=sys.stderr)
        return
    statuses: dict[str, int] = {}
    for finding in findings:
        status = finding.message.rsplit("(", 1)[-1].rstrip(")").split(":")[0]
        statuses[status] = statuses.get(status, 0) + 1
    detail = ", ".join(f"{count} {status}" for status, count in statuses.items())
    print(f"nnlint trace: {name} {how}; {len(findings)} finding{'s' * (len(findings) != 1)} ({detail})",
          file=sys.stderr)
