"""`nnlint trace SCRIPT --report FILE`: one self-contained HTML file, every section with its
images, each finding with its code, and nothing referenced outside the file."""

from __future__ import annotations

import base64
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from helpers import FIXTURES  # noqa: E402
from nnlint.trace.cli import main  # noqa: E402

SECTIONS = ("findings", "loss", "update-ratio", "gradient-norm", "weights", "activations", "dead-units")
PNG = b"\x89PNG\r\n\x1a\n"


class _Report(HTMLParser):
    """Per section: its images (decoded) and its text; every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.images: dict[str, list[bytes]] = {}
        self.text: dict[str, str] = {}
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "section":
            self.section = values["id"]
            self.images[self.section], self.text[self.section] = [], ""
        self.references += [v or "" for k, v in attrs if k in ("src", "href", "srcset", "action", "data", "poster")]
        if tag in ("script", "link", "iframe", "object", "embed"):
            self.references.append(f"<{tag}>")
        if tag == "img" and self.section is not None:
            self.images[self.section].append(base64.b64decode(values["src"].split("base64,", 1)[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None

    def handle_data(self, data: str) -> None:
        if self.section is not None:
            self.text[self.section] += data


def test_the_report_holds_every_section_and_nothing_from_outside(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    script = FIXTURES / "trace" / "nn809_dead_units.py"
    assert main(["--report", str(report), "--output-format", "json", str(script)]) == 1
    text = report.read_text(encoding="utf-8")
    parsed = _Report()
    parsed.feed(text)
    assert list(parsed.images) == list(SECTIONS)
    for section in SECTIONS[1:]:
        assert parsed.images[section] and all(image.startswith(PNG) for image in parsed.images[section]), section
    assert "NN809" in parsed.text["findings"]
    assert "features = self.act(self.hidden(x))  # expect: NN809" in parsed.text["findings"]  # the code excerpt
    assert all(reference.startswith("data:image/png;base64,") for reference in parsed.references), \
        [r[:40] for r in parsed.references]
    assert "http://" not in text and "https://" not in text and "url(" not in text


def test_the_report_needs_no_findings(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    assert main(["--report", str(report), "--quiet", str(FIXTURES / "trace" / "healthy_linear_regression.py")]) == 0
    parsed = _Report()
    parsed.feed(report.read_text(encoding="utf-8"))
    assert "No findings." in parsed.text["findings"]
    assert all(parsed.images[section] for section in SECTIONS[1:])
