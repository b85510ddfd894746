"""What names say about code: evaluation functions and data, model-like objects."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

EVALUATION_WORDS = frozenset({
    "eval", "evaluate", "evaluation", "evaluating", "validate", "validation", "validating", "val", "valid",
    "test", "testing", "predict", "prediction", "predictions", "infer", "inference",
})
TRAINING_WORDS = frozenset({"train", "training", "fit"})
# `test_epoch`, `test_one_epoch`: a script's evaluation, where other `test_*` names are pytest's unit tests.
_EPOCH_WORDS = frozenset({"one", "epoch", "loop", "step", "batch"})
# Data that is only ever evaluated on: `val_loader`, `testloader`, `eval_dataloader`, `dev_iter`.
_EVALUATION_DATA = re.compile(r"^(val|valid|validation|test|eval|evaluation|dev)_?(loader|dataloader|data|set|dataset|"
                              r"dl|iter|batches|ds|samples|queue)s?$")
_EVALUATION_PREFIX = re.compile(r"^(val|valid|validation|test|eval|evaluation|dev)_")
# Networks a training loop calls but does not train.
_FROZEN_WORDS = frozenset({"teacher", "ema", "target", "frozen", "ref", "reference", "momentum", "averaged",
                           "swa", "pretrained", "old"})
# Sampling with dropout switched on on purpose: Monte-Carlo dropout, uncertainty estimates.
_STOCHASTIC_INFERENCE = re.compile(r"(^|_)mc($|_)|monte|carlo|uncertain|bayes|stochastic", re.IGNORECASE)
_MODEL_WORDS = frozenset({
    "model", "net", "network", "classifier", "encoder", "decoder", "backbone", "generator",
    "discriminator", "teacher", "student", "policy", "critic", "actor", "detector", "regressor", "segmenter",
    "autoencoder", "cnn", "rnn", "lstm", "gru", "mlp", "vae", "gan", "ema",
})


@lru_cache(maxsize=8192)
def words(name: str) -> tuple[str, ...]:
    """`_evalEpoch` -> ('eval', 'epoch')."""
    return tuple(word.lower() for word in _WORD.findall(name))


def is_evaluation_function(name: str) -> bool:
    """`evaluate`, `validate_one_epoch`, `_eval_epoch`, `run_test`, `predict`; not pytest's `test_*`
    (a unit test, not evaluation) and not `train_and_evaluate`."""
    parts = words(name)
    if name.startswith("test_") and not set(parts[1:]) <= _EPOCH_WORDS:
        parts = parts[1:]
    if TRAINING_WORDS & set(parts):
        return False
    return any(part in EVALUATION_WORDS for part in parts)


def is_evaluation_data(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return bool(_EVALUATION_DATA.match(last) or (_EVALUATION_PREFIX.match(last) and "train" not in last))


def is_stochastic_inference(name: str) -> bool:
    return bool(_STOCHASTIC_INFERENCE.search(name))


def is_frozen_model_name(name: str) -> bool:
    """Networks that are never trained by the loop that calls them: teachers, EMA and target copies."""
    return bool(_FROZEN_WORDS & set(words(name.rsplit(".", 1)[-1])))


@lru_cache(maxsize=8192)
def is_model_name(name: str) -> bool:
    """`model`, `self.net`, `ema_model`, `netG`, `text_encoder`, `resnet`: names people give networks,
    judged by their last word (`attach_model_callbacks` is not one)."""
    parts = [word for word in words(name.rsplit(".", 1)[-1]) if len(word) > 1 and not word.isdigit()]
    return bool(parts) and (parts[-1] in _MODEL_WORDS or parts[-1].endswith(("net", "model")))
