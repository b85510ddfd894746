"""The linter never needs torch: neither `nnlint trace --help`, nor a static run, nor importing
nnlint.trace imports it (these tests run without torch installed)."""

from __future__ import annotations

import subprocess
import sys

from helpers import FIXTURES, REPO, run_nnlint

TRACE = FIXTURES / "trace"


def _imports_torch(code: str) -> bool:
    script = f"import sys\n{code}\nprint('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1] == "True"


def test_trace_help_does_not_import_torch() -> None:
    code = "from nnlint.cli import main\ntry:\n    main(['trace', '--help'])\nexcept SystemExit:\n    pass"
    assert not _imports_torch(code)


def test_static_linting_and_the_trace_package_do_not_import_torch() -> None:
    code = f"import nnlint.trace\nfrom nnlint.cli import main\nmain(['-q', {str(TRACE / 'healthy.py')!r}])"
    assert not _imports_torch(code)


def test_usage_errors_exit_2() -> None:
    result = run_nnlint("trace", "no/such/script.py")
    assert result.returncode == 2
    assert b"no such file" in result.stderr
    assert run_nnlint("trace", str(TRACE / "healthy.py"), "--steps", "0").returncode == 2


def test_without_torch_the_tracer_says_how_to_get_it() -> None:
    script = ("import sys\nsys.modules['torch'] = None  # as if torch were not installed\n"
              f"from nnlint.cli import main\nsys.exit(main(['trace', {str(TRACE / 'healthy.py')!r}]))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert result.returncode == 2
    assert "pip install 'nnlint[trace]'" in result.stderr
