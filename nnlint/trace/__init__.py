"""The runtime tracer: runs training code under torch hooks and reports what the tensors did.

`nnlint trace SCRIPT` (nnlint/trace/cli.py) runs a script; `watch()` watches a block of code.
torch is imported only when a trace starts, never by importing this package.
"""

from nnlint.trace.api import watch
from nnlint.trace.findings import TraceFinding

__all__ = ["TraceFinding", "watch"]
