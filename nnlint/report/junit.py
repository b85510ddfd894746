"""JUnit XML, as Jenkins, GitLab and most CI systems read test reports: each linted file is a
test case, and each finding in it a failure."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Sequence

from nnlint.diagnostics import Finding
from nnlint.report.text import location
from nnlint.rules.metadata import RuleInfo

# Characters XML 1.0 cannot carry at all, not even escaped (control characters in a file name).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def render(findings: Sequence[Finding], rules: Sequence[RuleInfo], paths: Sequence[str]) -> str:
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    files = sorted({*paths, *by_path})
    counts = {"tests": str(len(files)), "failures": str(len(findings)), "errors": "0"}
    suites = ET.Element("testsuites", name="nnlint", **counts)
    suite = ET.SubElement(suites, "testsuite", name="nnlint", skipped="0", **counts)
    for path in files:
        case = ET.SubElement(suite, "testcase", classname="nnlint", name=_xml_text(path))
        for f in by_path[path]:
            failure = ET.SubElement(case, "failure", message=_xml_text(f"{f.code} {f.message}"), type=f.code)
            failure.text = _xml_text(f"{location(f)}: {f.code} {f.message}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
