"""`nnlint trace SCRIPT --report report.html`: one self-contained HTML file.

The charts are PNG images drawn with matplotlib (through its object API, so that pyplot's
global state and the user's backend stay untouched) and embedded as base64 data URIs; the
styles are inline. The file references nothing outside itself: no network, no other file.
"""

from __future__ import annotations

import base64
import html
import io
import linecache
import math
import os
from typing import Any, Sequence

from nnlint.diagnostics import Finding

# The update/weight ratio of healthy training: around 1e-3 per step.
HEALTHY_RATIO = 1e-3
MAX_LAYERS_DRAWN = 12
EXCERPT_LINES = 2
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
.finding { margin: 1em 0; padding: .5em 1em; border-left: 4px solid #c60; background: #fafafa; }
.finding .where { font-family: monospace; color: #555; }
pre { background: #f0f0f0; padding: .5em; overflow-x: auto; }
pre .hit { background: #ffe9a8; display: inline-block; width: 100%; }
img { max-width: 100%; }
"""


def require_matplotlib() -> str | None:
    """None when matplotlib can be imported, else what to do about it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return "the HTML report needs matplotlib: pip install 'nnlint[trace]'"
    return None


def write_report(path: str | os.PathLike[str], script: str, outcome: str, steps: int, findings: Sequence[Finding],
                 measurements: dict[str, Any]) -> None:
    """Write the report of one traced run to `path`."""
    recording = measurements.get("recording")
    sections = [
        ("findings", "Findings", _findings(findings)),
        ("loss", "Loss per step", _image(_loss_chart(measurements.get("loss", [])))),
        ("update-ratio", "Update/weight ratio per layer",
         _image(_series_chart(getattr(recording, "update_ratios", {}), "‖Δw‖ / ‖w‖ per step", band=True))),
        ("gradient-norm", "Gradient norm per layer",
         _image(_series_chart(getattr(recording, "gradient_norms", {}), "‖∇w‖", band=False))),
        ("weights", "Weights at the first and the last step",
         _image(_histograms(getattr(recording, "weights", {}), "weights"))),
        ("activations", "Activations at the first and the last step",
         _image(_histograms(getattr(recording, "activations", {}), "outputs"))),
        ("dead-units", "Dead units per ReLU layer",
         _image(_dead_units(measurements.get("dead_fraction", {})))),
    ]
    title = f"nnlint trace: {os.path.basename(script)}"
    summary = f"{html.escape(script)}: {html.escape(outcome)} after {steps} optimizer step{'s' * (steps != 1)}; " \
              f"{len(findings)} finding{'s' * (len(findings) != 1)}"
    verdict = measurements.get("overfit")
    if verdict is not None:
        summary += f"; overfit one batch: {html.escape(verdict.status)} ({html.escape(verdict.summary)})"
    body = "".join(f'<section id="{key}"><h2>{heading}</h2>{content}</section>\n' for key, heading, content in sections)
    document = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{summary}</p>\n{body}"
                "</body></html>\n")
    with open(path, "w", encoding="utf-8") as out:
        out.write(document)


# -- findings -----------------------------------------------------------------------------------

def _findings(findings: Sequence[Finding]) -> str:
    if not findings:
        return "<p>No findings.</p>"
    return "".join(
        f'<div class="finding"><div><b>{f.code}</b> {html.escape(f.rule_name)} '
        f'<span class="where">{html.escape(f.path)}:{f.line}:{f.column}</span></div>'
        f"<p>{html.escape(f.message)}</p>{_excerpt(f.path, f.line)}</div>"
        for f in findings
    )


def _excerpt(path: str, line: int) -> str:
    numbered = []
    for number in range(max(1, line - EXCERPT_LINES), line + EXCERPT_LINES + 1):
        text = linecache.getline(path, number)
        if not text and number > line:
            break
        row = f"{number:>5}  {html.escape(text.rstrip())}"
        numbered.append(f'<span class="hit">{row}</span>' if number == line else row)
    return f"<pre>{chr(10).join(numbered)}</pre>" if numbered else ""


# -- charts -------------------------------------------------------------------------------------

def _image(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{encoded}">'


def _figure(width: float = 8, height: float = 3.5) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _steps_axis(axes: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("optimizer step")


def _nothing(figure: Any, axes: Any, text: str) -> Any:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes, color="#666")
    axes.set_axis_off()
    return figure


def _loss_chart(losses: Sequence[float]) -> Any:
    figure = _figure()
    axes = figure.add_subplot()
    if not losses:
        return _nothing(figure, axes, "no optimizer step with a scalar loss ran")
    axes.plot(range(1, len(losses) + 1), losses, marker="o" if len(losses) < 30 else None)
    _steps_axis(axes)
    axes.set_ylabel("loss")
    if min(losses) > 0 and max(losses) / min(losses) > 100:
        axes.set_yscale("log")
    axes.grid(alpha=0.3)
    return figure


def _drawn(series: dict[str, Any]) -> tuple[list[str], int]:
    names = list(series)
    return names[:MAX_LAYERS_DRAWN], max(0, len(names) - MAX_LAYERS_DRAWN)


def _series_chart(series: dict[str, list[tuple[int, float]]], label: str, band: bool) -> Any:
    figure = _figure()
    axes = figure.add_subplot()
    values = {name: [(s, v) for s, v in points if v > 0 and math.isfinite(v)] for name, points in series.items()}
    values = {name: points for name, points in values.items() if points}
    if not values:
        return _nothing(figure, axes, "no optimizer step was measured")
    names, hidden = _drawn(values)
    for name in names:
        steps, points = zip(*values[name])
        axes.plot(steps, points, marker="." if len(steps) < 30 else None, label=name)
    if band:
        axes.axhspan(HEALTHY_RATIO / 10, HEALTHY_RATIO * 10, color="tab:green", alpha=0.12,
                     label="about 1e-3 (healthy)")
        axes.axhline(HEALTHY_RATIO, color="tab:green", linestyle="--", linewidth=1)
    axes.set_yscale("log")
    _steps_axis(axes)
    axes.set_ylabel(label)
    axes.grid(alpha=0.3)
    title = f"first {len(names)} of {len(names) + hidden} layers" if hidden else None
    axes.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.01, 0.5), title=title)
    return figure


def _histograms(samples: dict[str, tuple[list[float], list[float]]], what: str) -> Any:
    names, hidden = _drawn({name: pair for name, pair in samples.items() if pair[0] and pair[1]})
    if not names:
        figure = _figure()
        return _nothing(figure, figure.add_subplot(), f"no {what} were recorded")
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(4 * columns, 2.6 * rows)
    for position, name in enumerate(names, start=1):
        axes = figure.add_subplot(rows, columns, position)
        first, last = samples[name]
        finite = [v for v in first + last if math.isfinite(v)]
        if not finite:
            _nothing(figure, axes, f"{name}: no finite value")
            continue
        low, high = min(finite), max(finite)
        bins = 40 if high > low else 1
        span = (low, high) if high > low else (low - 0.5, high + 0.5)
        axes.hist([v for v in first if math.isfinite(v)], bins=bins, range=span, alpha=0.5, label="first step")
        axes.hist([v for v in last if math.isfinite(v)], bins=bins, range=span, alpha=0.5, label="last step")
        axes.set_title(name, fontsize="small")
        axes.tick_params(labelsize="x-small")
    figure.axes[0].legend(fontsize="x-small")
    if hidden:
        figure.suptitle(f"first {len(names)} of {len(names) + hidden} layers", fontsize="small")
    figure.tight_layout()
    return figure


def _dead_units(fractions: dict[str, float]) -> Any:
    figure = _figure()
    axes = figure.add_subplot()
    if not fractions:
        return _nothing(figure, axes, "no ReLU module ran in training")
    names = list(fractions)
    axes.barh(range(len(names)), [100 * fractions[n] for n in names], color="tab:red")
    axes.set_yticks(range(len(names)), names, fontsize="x-small")
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.axvline(50, color="#888", linestyle="--", linewidth=1)
    axes.set_xlabel("% of units that output 0 for every traced sample")
    return figure
