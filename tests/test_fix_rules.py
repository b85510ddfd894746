"""Every rule that proposes fixes repairs its buggy fixtures and its page's bad example: the fixed
text parses, holds no finding of that code (but on lines marked `no fix`), gains no finding of
any code, is left alone by a second --fix, and, where the page says so, is its good example."""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from helpers import FIXTURES, RULE_PAGES, fixture_options, run_nnlint
from nnlint.rules import all_rules

FIXABLE = [rule.code for rule in all_rules() if rule.fixes]
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
# A finding the rule cannot repair on its own: `# expect: NN107 (no fix: why)`.
NO_FIX = re.compile(r"#\s*expect:.*\bno fix\b")
EXPECT_COMMENT = re.compile(r"  # expect:[^\n]*")
# Placed under "## Good" before the block that `nnlint --fix --unsafe-fixes` makes of the bad example.
FIXED_BAD_EXAMPLE = "<!-- nnlint --fix turns the bad example into this -->"

FIXTURE_FILES = [fixture for code in FIXABLE for fixture in sorted((FIXTURES / "buggy" / code.lower()).glob("*.py"))]


def _findings(path: Path, options: list[str], *extra: str) -> list[dict]:
    result = run_nnlint("--no-cache", "--output-format", "json", *options, *extra, str(path))
    assert result.returncode in (0, 1), result.stderr.decode()
    return json.loads(result.stdout)


def _fixed(path: Path, code: str, options: list[str]) -> str:
    """Fix `path` in place with every fix, safe and unsafe, and check what the rule demands."""
    before = Counter(f["code"] for f in _findings(path, options))
    after = _findings(path, options, "--fix", "--unsafe-fixes")
    fixed = path.read_text(encoding="utf-8")
    ast.parse(fixed)
    lines = fixed.splitlines()
    unrepaired = [f for f in after if f["code"] == code and not NO_FIX.search(lines[f["line"] - 1])]
    assert not unrepaired, f"{code} left after --fix:\n{fixed}"
    grown = {c: n for c, n in Counter(f["code"] for f in after).items() if n > before[c]}
    assert not grown, f"--fix added findings {grown}:\n{fixed}"
    again = run_nnlint("--no-cache", "--fix", "--unsafe-fixes", *options, str(path))
    assert again.returncode in (0, 1), again.stderr.decode()
    assert path.read_text(encoding="utf-8") == fixed, "a second --fix changed the file"
    return fixed


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_buggy_fixture_is_fixed(fixture: Path, tmp_path: Path) -> None:
    text = fixture.read_text(encoding="utf-8")
    copy = tmp_path / fixture.name
    copy.write_text(text, encoding="utf-8")
    fixed = _fixed(copy, fixture.parent.name.upper(), fixture_options(text))
    assert fixed != text or NO_FIX.search(text)


def _section(page: str, heading: str) -> str:
    start = page.index(heading) + len(heading)
    following = page.find("\n## ", start)
    return page[start: following if following != -1 else len(page)]


@pytest.mark.parametrize("code", FIXABLE)
def test_bad_example_is_fixed(code: str, tmp_path: Path) -> None:
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    good = _section(page, "## Good")
    for number, block in enumerate(CODE_BLOCK.findall(_section(page, "## Bad"))):
        example = tmp_path / f"bad_{number}.py"
        example.write_text(block, encoding="utf-8")
        fixed = _fixed(example, code, ["--extend-select", code])
        assert fixed != block
        if number == 0 and FIXED_BAD_EXAMPLE in good:
            expected = CODE_BLOCK.search(good[good.index(FIXED_BAD_EXAMPLE):]).group(1)
            assert EXPECT_COMMENT.sub("", fixed) == expected


@pytest.mark.parametrize("code", [rule.code for rule in all_rules()])
def test_page_says_what_the_fix_is(code: str) -> None:
    page = (RULE_PAGES / f"{code}.md").read_text(encoding="utf-8")
    rule = next(r for r in all_rules() if r.code == code)
    kinds = "/".join(kind.value for kind in rule.fixes) or "none"
    assert f"**Fix:** {kinds}" in page, f"{code}: the page needs a '**Fix:** {kinds}' line"


# A script that runs its training function from `if __name__ == "__main__":`: the fix moves the
# line within that function (the module sees both actions through the call of main()).
CALLED_FROM_MAIN = {
    "NN305": ("""\
import torch


def main(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sub(y).pow(2).mean().backward()
        scheduler.step()  # expect: NN305
        optimizer.step()


if __name__ == "__main__":
    main(torch.nn.Linear(2, 1), [])
""", """\
        model(x).sub(y).pow(2).mean().backward()
        optimizer.step()
        scheduler.step()  # expect: NN305
"""),
    "NN306": ("""\
import torch


def main(model, loader):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        optimizer.zero_grad()
        model(x).sub(y).pow(2).mean().backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # expect: NN306


if __name__ == "__main__":
    main(torch.nn.Linear(2, 1), [])
""", """\
        model(x).sub(y).pow(2).mean().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # expect: NN306
        optimizer.step()
"""),
}


@pytest.mark.parametrize("code", sorted(CALLED_FROM_MAIN))
def test_fix_moves_the_line_within_the_function_the_script_runs(code: str, tmp_path: Path) -> None:
    script, moved = CALLED_FROM_MAIN[code]
    path = tmp_path / "train.py"
    path.write_text(script, encoding="utf-8")
    fixed = _fixed(path, code, [])
    assert moved in fixed and fixed.endswith('if __name__ == "__main__":\n    main(torch.nn.Linear(2, 1), [])\n')


def test_zero_grad_between_backward_and_step_moves_to_the_top_of_the_iteration(tmp_path: Path) -> None:
    """The trace fixture: the loop draws its batch, then backward(), zero_grad(), step(); main()
    runs from `if __name__ == "__main__":`."""
    fixture = FIXTURES / "trace" / "nn302_zero_grad_between_backward_and_step.py"
    copy = tmp_path / fixture.name
    copy.write_text(fixture.read_text(encoding="utf-8"), encoding="utf-8")
    fixed = _fixed(copy, "NN302", [])
    assert """\
    for _ in range(5):
        optimizer.zero_grad()  # expect: NN302
        inputs = torch.randn(16, 6, device=DEVICE)
        labels = torch.randint(0, 2, (16,), device=DEVICE)
        loss = nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()
""" in fixed
