"""What reaches a loss: probabilities into cross-entropy (NN201), confined activations into
cross-entropy (NN205), scores of one class into cross-entropy (NN206), non-log-probabilities
into NLL (NN202), sigmoid output into BCE-with-logits (NN203), and the first loss's value (NN802).

Outputs of softmax, log_softmax, sigmoid, relu, tanh and softplus are tagged where they are
made; the tag follows the tensor through ops that keep what it holds (view, reshape, .to(),
.float()...). A loss input without a tag is judged by its values.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

import torch
from torch.utils.weak import WeakIdKeyDictionary

from nnlint.trace.checks.tensors import untraced
from nnlint.trace.frames import Site, resolve

if TYPE_CHECKING:
    from nnlint.trace.session import Session

PROBS, LOG_PROBS, SIGMOID = "softmax", "log_softmax", "sigmoid"
RELU, TANH, SOFTPLUS = "relu", "tanh", "softplus"
# Where the output of each activation tagged lies: as logits, such values keep the softmax from
# becoming confident (NN205). A tensor tagged so but outside the range was changed in place since.
CONFINED_RANGES: dict[str, tuple[float, float]] = {
    RELU: (0.0, math.inf), SOFTPLUS: (0.0, math.inf), TANH: (-1.0, 1.0), SIGMOID: (0.0, 1.0),
}
CHECKS_PER_CALL_SITE = 3
# A row of probabilities sums to 1; a row of log-probabilities has a logsumexp of 0.
ROW_TOLERANCE = 1e-2
MIN_VALUES_FOR_A_RANGE = 32  # fewer values say little about the range they come from


@dataclass(frozen=True)
class _Tag:
    kind: str
    producer: str
    site: Site | None


def _functions(*candidates: Any) -> list[Callable]:
    return [c for c in candidates if c is not None]


def _class_dim(tensor: torch.Tensor) -> int:
    return 1 if tensor.dim() >= 2 else 0


def _argument(args: tuple, kwargs: dict, index: int, name: str) -> Any:
    return args[index] if len(args) > index else kwargs.get(name)


class LossChecks:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._tags: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self._checks_at: dict[tuple[object, int], int] = {}
        self._first_loss_seen = False

    def handlers(self) -> dict[Callable, Callable[[tuple, dict, Any], None]]:
        F, T, special = torch.nn.functional, torch.Tensor, torch.special
        producers = {
            PROBS: _functions(F.softmax, torch.softmax, T.softmax, getattr(special, "softmax", None)),
            LOG_PROBS: _functions(F.log_softmax, torch.log_softmax, T.log_softmax,
                                  getattr(special, "log_softmax", None)),
            SIGMOID: _functions(torch.sigmoid, T.sigmoid, F.sigmoid, getattr(special, "expit", None)),
            RELU: _functions(F.relu, F.relu_, torch.relu, torch.relu_, T.relu, T.relu_),
            TANH: _functions(torch.tanh, T.tanh, F.tanh),
            SOFTPLUS: _functions(F.softplus),
        }
        table: dict[Callable, Callable[[tuple, dict, Any], None]] = {}
        for kind, functions in producers.items():
            for function in functions:
                table[function] = partial(self._produced, kind, getattr(function, "__name__", kind))
        preserving = (
            T.to, T.float, T.double, T.half, T.bfloat16, T.contiguous, T.clone, T.cpu, T.cuda, T.view, T.reshape,
            T.squeeze, T.unsqueeze, T.flatten, T.view_as, T.reshape_as, torch.reshape, torch.squeeze,
            torch.unsqueeze, torch.flatten,
        )
        for function in preserving:
            table[function] = self._preserved
        table[F.cross_entropy] = self._cross_entropy
        table[F.nll_loss] = self._nll
        table[F.binary_cross_entropy_with_logits] = self._bce_with_logits
        return table

    # -- tagging ----------------------------------------------------------------------------

    def _produced(self, kind: str, producer: str, args: tuple, kwargs: dict, result: Any) -> None:
        if isinstance(result, torch.Tensor):
            self._tags[result] = _Tag(kind, producer, self.session.user.site(sys._getframe(1)))

    def _preserved(self, args: tuple, kwargs: dict, result: Any) -> None:
        if not self._tags or not args or not isinstance(args[0], torch.Tensor):
            return
        tag = self._tags.get(args[0])
        if tag is not None and isinstance(result, torch.Tensor) and result is not args[0]:
            self._tags[result] = tag

    def _tag(self, tensor: torch.Tensor) -> _Tag | None:
        return self._tags.get(tensor) if self._tags else None

    # -- the losses -------------------------------------------------------------------------

    def _loss_call(self, args: tuple, kwargs: dict) -> tuple[torch.Tensor, Site] | None:
        """The loss input and the user's call site, when this call site is still worth checking."""
        scores = _argument(args, kwargs, 0, "input")
        if not isinstance(scores, torch.Tensor) or not scores.is_floating_point() or scores.numel() == 0:
            return None
        site = self.session.user.site(sys._getframe(2))
        if site is None:
            return None
        key = (site.code, site.lasti)
        checks = self._checks_at.get(key, 0)
        if checks >= CHECKS_PER_CALL_SITE:
            return None
        self._checks_at[key] = checks + 1
        return scores, site

    def _found(self, site: Site) -> None:
        self._checks_at[(site.code, site.lasti)] = CHECKS_PER_CALL_SITE

    def _cross_entropy(self, args: tuple, kwargs: dict, result: Any) -> None:
        call = self._loss_call(args, kwargs)
        if call is None:
            return
        scores, site = call
        self._first_loss(scores, args, kwargs, result, site, "cross_entropy")
        if scores.dim() == 0:
            return
        if scores.shape[_class_dim(scores)] == 1:
            self._report("NN206", site, f"cross_entropy receives the scores of a single class (shape "
                         f"{tuple(scores.shape)}): softmax over one class is 1, so the loss is 0 and no gradient "
                         "flows; use binary_cross_entropy_with_logits on the single logit, or two classes",
                         None, {"shape": list(scores.shape)})
            return
        tag = self._tag(scores)
        if tag is not None and tag.kind == PROBS:
            self._report("NN201", site, f"softmax output reaches cross_entropy, which applies log_softmax "
                         f"itself: {self._made_by(tag, site)}; pass the logits", tag, {"producer": tag.producer})
            return
        if tag is not None and tag.kind not in CONFINED_RANGES:
            return
        low, high, worst = self._row_sums(scores)
        if tag is not None:
            floor, ceiling = CONFINED_RANGES[tag.kind]
            if floor <= low and high <= ceiling:
                self._report("NN205", site, f"{tag.producer} output is the logits of cross_entropy: "
                             f"{self._made_by(tag, site)}, and all its values lie in [{low:.3g}, {high:.3g}], "
                             "which keeps the softmax from becoming confident; pass the last layer's raw output",
                             tag, {"producer": tag.producer, "min": low, "max": high})
        elif low >= 0 and high <= 1 and worst <= ROW_TOLERANCE:
            self._report("NN201", site, "probabilities reach cross_entropy, which applies log_softmax itself: "
                         f"every value is in [0, 1] and every row sums to 1 (off by at most {worst:.1g}); "
                         "pass the logits", None, {"min": low, "max": high, "row_sum_error": worst})
        elif low >= 0 and scores.numel() >= MIN_VALUES_FOR_A_RANGE:
            self._report("NN205", site, f"the logits of cross_entropy are never negative (min {low:.3g}, max "
                         f"{high:.3g}), as a ReLU's or a sigmoid's output is: the classes to reject cannot be "
                         "scored below 0; pass the last layer's raw output", None, {"min": low, "max": high})

    def _nll(self, args: tuple, kwargs: dict, result: Any) -> None:
        call = self._loss_call(args, kwargs)
        if call is None:
            return
        scores, site = call
        tag = self._tag(scores)
        if tag is not None and tag.kind == LOG_PROBS:
            self._first_loss(scores, args, kwargs, result, site, "nll_loss")
            return
        if tag is not None and tag.kind in (PROBS, SIGMOID):
            self._report("NN202", site, f"nll_loss receives {tag.kind} output, not log-probabilities: "
                         f"{self._made_by(tag, site)}; use log_softmax (or cross_entropy on the logits)",
                         tag, {"producer": tag.producer})
            return
        if scores.dim() == 0 or scores.shape[_class_dim(scores)] < 2:
            return
        high, worst = self._log_rows(scores)
        if high > ROW_TOLERANCE or worst > ROW_TOLERANCE:
            self._report("NN202", site, "nll_loss receives values that are not log-probabilities: rows' logsumexp "
                         f"is off from 0 by up to {worst:.3g} (max value {high:.3g}); apply log_softmax first, "
                         "or use cross_entropy on the logits", None, {"max": high, "logsumexp_error": worst})
        else:
            self._first_loss(scores, args, kwargs, result, site, "nll_loss")

    def _bce_with_logits(self, args: tuple, kwargs: dict, result: Any) -> None:
        call = self._loss_call(args, kwargs)
        if call is None:
            return
        scores, site = call
        tag = self._tag(scores)
        if tag is not None and tag.kind in (SIGMOID, PROBS):
            self._report("NN203", site, f"{tag.kind} output reaches binary_cross_entropy_with_logits, which applies "
                         f"the sigmoid itself: {self._made_by(tag, site)}; pass the logits", tag,
                         {"producer": tag.producer})
            return
        if tag is None and scores.numel() >= MIN_VALUES_FOR_A_RANGE:
            with untraced():
                low, high = (float(v) for v in torch.aminmax(scores.detach().float()))
            if 0 < low and high < 1:
                self._report("NN203", site, "binary_cross_entropy_with_logits receives values that all lie in (0, 1), "
                             f"as a sigmoid's do (min {low:.3g}, max {high:.3g}); it applies the sigmoid itself: "
                             "pass the logits", None, {"min": low, "max": high})

    def _first_loss(self, scores: torch.Tensor, args: tuple, kwargs: dict, result: Any, site: Site, name: str) -> None:
        """NN802: the first training loss of C-class cross-entropy should be near ln(C)."""
        if self._first_loss_seen or not torch.is_grad_enabled() or not isinstance(result, torch.Tensor):
            return
        self._first_loss_seen = True
        summed = _argument(args, kwargs, 6, "reduction") == "sum" or _argument(args, kwargs, 3, "size_average") is False
        classes = scores.shape[_class_dim(scores)] if scores.dim() else 0
        if summed or classes < 2:
            return
        with untraced():
            value = float(result.detach().float().mean())
        expected = math.log(classes)
        if math.isfinite(value) and value > max(2 * expected, expected + 1):
            self.session.report(
                "NN802", site,
                f"the first loss is {value:.3g}, far above ln({classes}) = {expected:.3g}, the loss of uniform "
                f"predictions over {classes} classes: the initial logits are too large (initialisation or "
                "input scaling); a freshly initialised classifier should start near ln(C)",
                evidence={"loss": value, "expected": expected, "classes": classes}, step=self.session.steps + 1,
            )

    # -- measurements ----------------------------------------------------------------------

    @staticmethod
    def _row_sums(scores: torch.Tensor) -> tuple[float, float, float]:
        with untraced():
            values = scores.detach().float()
            low, high = torch.aminmax(values)
            worst = (values.sum(dim=_class_dim(values)) - 1).abs().max()
            low, high, worst = torch.stack([low, high, worst]).tolist()
        return low, high, worst

    @staticmethod
    def _log_rows(scores: torch.Tensor) -> tuple[float, float]:
        with untraced():
            values = scores.detach().float()
            high = values.max()
            worst = values.logsumexp(dim=_class_dim(values)).abs().max()
            high, worst = torch.stack([high, worst]).tolist()
        return high, worst

    @staticmethod
    def _made_by(tag: _Tag, site: Site) -> str:
        if tag.site is None:
            return f"it comes from {tag.producer}"
        made = resolve(tag.site)
        place = f"line {made.line}" if made.path == resolve(site).path else f"{os.path.basename(made.path)}:{made.line}"
        return f"it comes from {tag.producer} at {place}"

    def _report(self, code: str, site: Site, message: str, tag: _Tag | None, evidence: dict) -> None:
        self._found(site)
        self.session.report(code, site, message, evidence=evidence, related=[tag.site] if tag else (),
                            step=self.session.steps + 1)
