"""NN601: a scaler or statistics fitted on test/validation data, or on all the data before it is split."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.places import Place
from nnlint.facts.data import data_api as api
from nnlint.facts.data.data_splits import Leak, expression_text
from nnlint.rules import Report, Rule


def check(facts: FileFacts) -> Iterator[Report]:
    for leak in facts.data_splits.leaks:
        fit = leak.fit
        seen = expression_text(fit.seen_expr) if fit.seen_expr is not None else "the data"
        through = _through(facts, leak)
        if fit.is_statistic:
            what = f"{fit.scaler.producer}() is computed on"
        elif fit.is_function:
            what = f"{fit.scaler.producer}() computes its statistics on"
        else:
            what = f"{fit.scaler.producer} is fitted on"
        if leak.reason == "held-out":
            yield Report(
                fit.node,
                f"{what} the {api.describe(fit.scaler.detail)} data ({seen}){through}: scaling statistics must come "
                "from the training split only; fit on the training data and only transform the other splits",
                related=_helper_fit(leak),
                elsewhere=_helper_fit_elsewhere(leak),
            )
        else:
            yield Report(
                fit.node,
                f"{what} all of {seen}{through}, which {leak.split.name} divides into training and test data: the "
                "test rows leak into the statistics; split first, then fit on the training split only",
                related=_helper_fit(leak),
                elsewhere=_helper_fit_elsewhere(leak),
            )


def _helper_fit_elsewhere(leak: Leak) -> tuple[tuple[Place, str], ...]:
    """The fit inside another file's helper the data was passed to."""
    if leak.elsewhere is None:
        return ()
    return ((leak.elsewhere, f"{leak.helper}() fits what it is passed here"),)


def _helper_fit(leak: Leak) -> tuple[tuple[cst.CSTNode, str], ...]:
    """The fit inside the helper the data was passed to, as a related place of the finding."""
    if leak.helper is None or leak.inner is None:
        return ()
    return ((leak.inner, f"{leak.helper}() fits what it is passed here"),)


def _through(facts: FileFacts, leak: Leak) -> str:
    """` passed to standardize() (see line 8)`: the helper whose fit sees the data, and where that fit is."""
    if not leak.helper:
        return ""
    where = facts.where(leak.inner) if leak.inner is not None else (
        leak.elsewhere.line_text if leak.elsewhere is not None else "")
    return f" passed to {leak.helper}()" + (f" (see {where})" if where else "")


RULE = Rule(
    code="NN601",
    name="test-statistics-scaling",
    severity=Severity.ERROR,
    summary="A scaler or normalization statistics are fitted on test/validation data, or on all the data "
            "before the train/test split.",
    check=check,
    triggers=("fit", "mean", "std", "min", "max", "scale", "adapt", "median", "quantile", "percentile", "var", "ptp"),
)
