"""Hypothesis strategies for generated programs: hypothesmith's grammar-driven Python, and
training code assembled from the pieces real training code is made of (models, losses,
optimizers, loops, helpers, classes), nested at random, so the facts layer sees shapes no
fixture has."""

from __future__ import annotations

import warnings

import hypothesmith
from hypothesis import strategies as st

from nnlint.rules import all_rules

# Every rule's trigger, so that no rule is skipped by the pre-filter.
TRIGGERS = sorted({trigger for rule in all_rules() for trigger in rule.triggers})
HEADER = (
    "import torch\n"
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "from torch import optim\n"
    f"# {' '.join(TRIGGERS)}\n"
)

NAMES = ("model", "net", "x", "y", "logits", "probs", "out", "loss", "opt", "optimizer", "criterion",
         "scheduler", "batch", "labels", "loader", "self", "self.model", "self.criterion", "self.opt",
         "scaler", "layer", "outputs", "data", "target", "helper", "Model", "Loss")
CALLABLES = ("model", "net", "criterion", "self.model", "self.criterion", "F.softmax", "F.log_softmax",
             "torch.softmax", "torch.sigmoid", "F.cross_entropy", "F.nll_loss", "nn.CrossEntropyLoss",
             "nn.NLLLoss", "nn.BCELoss", "nn.BCEWithLogitsLoss", "nn.Linear", "nn.Sequential", "nn.Softmax",
             "optim.SGD", "torch.optim.Adam", "torch.optim.lr_scheduler.StepLR", "torch.no_grad", "helper",
             "Model", "Loss", "torch.cat", "torch.stack", "len", "range", "enumerate", "zip", "super().__init__")
METHODS = ("backward", "step", "zero_grad", "softmax", "log", "sigmoid", "view", "permute", "detach", "item",
           "to", "cuda", "train", "eval", "parameters", "mean", "sum", "argmax", "unsqueeze", "log_softmax",
           "update", "scale", "unscale_", "clip_grad_norm_", "forward", "__call__")
KEYWORDS = ("dim", "lr", "reduction", "weight", "input", "target", "inplace", "set_to_none")


def _atom(expression: str) -> str:
    """The expression, parenthesized where a call, attribute or subscript needs it to be."""
    if expression[0].isdigit() or expression[0] in "-'.*" or expression.startswith(("lambda", "not ")):
        return f"({expression})"
    return expression


def _argument_rank(argument: str) -> int:
    """Positional and *args first, then keywords, then **kwargs: the order Python accepts."""
    if argument.startswith("**"):
        return 2
    return 1 if argument.split("=", 1)[0] in KEYWORDS else 0


def _expression() -> st.SearchStrategy[str]:
    leaf = st.one_of(st.sampled_from(NAMES), st.sampled_from(("0", "1", "-1", "0.1", "None", "True", "'mean'", "...")))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        args = st.lists(st.one_of(inner, st.builds("{}={}".format, st.sampled_from(KEYWORDS), inner),
                                  inner.map("*{}".format), inner.map("**{}".format)), max_size=3
                        ).map(lambda parts: ", ".join(sorted(parts, key=_argument_rank)))
        primary = inner.map(_atom)
        return st.one_of(
            st.builds("{}({})".format, st.one_of(st.sampled_from(CALLABLES), primary), args),
            st.builds("{}.{}({})".format, primary, st.sampled_from(METHODS), args),
            st.builds("{}.{}".format, primary, st.sampled_from(METHODS + ("grad", "weight", "fc"))),
            st.builds("{}[{}]".format, primary, st.one_of(inner, st.sampled_from(("0", "-1", "'loss'", ":", "..., 0")))),
            st.builds("({} {} {})".format, inner, st.sampled_from(("+", "*", "/", "and", "or", "if x else", "@")), inner),
            st.lists(inner, max_size=3).map(lambda items: f"({', '.join(items)}{',' if len(items) == 1 else ''})"),
            st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
            st.builds("{{{}: {}}}".format, st.sampled_from(("'loss'", "'logits'", "0")), inner),
            st.builds("[{} for {} in {}]".format, inner, st.sampled_from(NAMES[:6]), inner),
            st.builds("lambda {}: {}".format, st.sampled_from(("", "x", "a, b")), inner),
            inner.map("(yield {})".format),
            primary.map("(await {})".format),
            primary.map("not {}".format),
        )

    return st.recursive(leaf, extend, max_leaves=12)


def _target() -> st.SearchStrategy[str]:
    single = st.sampled_from(NAMES + ("self.x", "d['loss']", "p.grad", "a[0]"))
    return st.one_of(single, st.lists(single, min_size=2, max_size=3).map(", ".join),
                     st.lists(single, min_size=1, max_size=2).map(lambda t: f"*{t[0]}, {', '.join(t[1:]) or 'z'}"))


def _simple_statement() -> st.SearchStrategy[str]:
    expression = _expression()
    return st.one_of(
        st.builds("{} = {}".format, _target(), expression),
        st.builds("{} += {}".format, st.sampled_from(NAMES[:12]), expression),
        st.builds("{}: nn.Module = {}".format, st.sampled_from(NAMES[:6]), expression),
        expression,
        st.builds("{}.{}()".format, st.sampled_from(("loss", "opt", "optimizer", "self.opt", "scheduler", "scaler")),
                  st.sampled_from(("backward", "step", "zero_grad", "update"))),
        expression.map("return {}".format),
        st.sampled_from(("pass", "break", "continue", "return", "del x", "raise ValueError()", "global loss",
                         "nonlocal x", "import torch.nn.functional as G", "from torch.nn import functional",
                         "from torch.optim import *", "from . import models", "p.grad = None",
                         "assert loss, 'msg'")),
    )


def _render(block: list, indent: int) -> list[str]:
    lines = []
    for item in block:
        if isinstance(item, str):
            lines.append("    " * indent + item)
        else:
            header, body, *rest = item
            lines.extend("    " * indent + part for part in header.split("\n"))
            lines.extend(_render(body, indent + 1) if body else ["    " * (indent + 1) + "pass"])
            for clause, clause_body in rest:
                lines.append("    " * indent + clause)
                lines.extend(_render(clause_body, indent + 1) if clause_body else ["    " * (indent + 1) + "pass"])
    return lines


HEADERS = (
    "for batch in loader:", "for i, (x, y) in enumerate(loader):", "while True:", "if model.training:",
    "with torch.no_grad():", "with torch.set_grad_enabled(False), autocast():", "def train(model, loader, opt):",
    "def forward(self, x):", "def __init__(self):", "def helper(a, *args, b=1, **kw):", "async def run():",
    "class Model(nn.Module):", "class Loss(nn.Module):", "class Trainer:", "try:", "match batch:",
    "@torch.no_grad()\ndef evaluate(model):", "for epoch in range(10):",
)
CLAUSES = {"if model.training:": ["else:", "elif x:"], "try:": ["except Exception as e:", "finally:"],
           "for batch in loader:": ["else:"], "while True:": ["else:"]}


def training_programs() -> st.SearchStrategy[str]:
    """Training-shaped programs: nested blocks of training statements, with the header."""
    statement = _simple_statement()

    def nest(inner: st.SearchStrategy[list]) -> st.SearchStrategy[list]:
        def compound(header: str) -> st.SearchStrategy[list]:
            if header == "match batch:":
                case = st.tuples(st.sampled_from(("case [x, y]:", "case {'x': x}:", "case _:")), inner)
                return st.lists(case, min_size=1, max_size=2).map(lambda cases: [(header, cases)])
            clauses = st.lists(st.tuples(st.sampled_from(CLAUSES.get(header, ["else:"])), inner),
                               min_size=header == "try:", max_size=1)
            return st.builds(lambda body, rest: [(header, body, *rest)], inner,
                             clauses if header in CLAUSES else st.just([]))
        return st.lists(st.one_of(statement.map(lambda s: [s]), st.sampled_from(HEADERS).flatmap(compound)),
                        min_size=1, max_size=5).map(lambda parts: [item for part in parts for item in part])

    blocks = st.recursive(st.lists(statement, min_size=1, max_size=4), nest, max_leaves=8)
    return blocks.map(lambda block: HEADER + "\n".join(_render(block, 0)) + "\n")


def grammar_programs() -> st.SearchStrategy[str]:
    """hypothesmith's programs: any syntax the grammar allows, with the header first."""
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    return hypothesmith.from_grammar().map(lambda source: HEADER + source)
