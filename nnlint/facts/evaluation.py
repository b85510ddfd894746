"""What names say about code: evaluation functions and data, model-like objects."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

EVALUATION_WORDS = frozenset({
    "eval", "evaluate", "evaluation", "evaluating", "validate", "validation", "validating", "val", "valid",
    "test", "testing", "predict", "prediction", "predictions", "infer", "inference",
})
TRAINING_WORDS = frozenset({"train", "training", "fit"})
# Data that is only ever evaluated on: `val_loader`, `testloader`, `eval_dataloader`, `dev_iter`.
_EVALUATION_DATA = re.compile(r"^(val|valid|validation|test|eval|evaluation|dev)_?(loader|dataloader|data|set|dataset|"
                              r"dl|iter|batches|ds|samples|queue)s?$")
_EVALUATION_PREFIX = re.compile(r"^(val|valid|validation|test|eval|evaluation|dev)_")
# Sampling with dropout switched on on purpose: Monte-Carlo dropout, uncertainty estimates.
_FROZEN_WORDS = frozenset({"teacher", "ema", "target", "frozen", "ref", "reference", "momentum", "averaged",
                           "swa", "pretrained", "old"})
_STOCHASTIC_INFERENCE = re.compile(r"(^|_)mc($|_)|monte|carlo|uncertain|bayes|stochastic", re.IGNORECASE)
_MODEL_WORDS = frozenset({
    "model", "models", "net", "network", "classifier", "encoder", "decoder", "backbone", "generator",
    "discriminator", "teacher", "student", "policy", "critic", "actor", "detector", "regressor", "segmenter",
    "autoencoder", "cnn", "rnn", "lstm", "gru", "mlp", "vae", "gan", "ema",
})


def words(name: str) -> list[str]:
    """`_evalEpoch` -> ['eval', 'epoch']."""
    return [word.lower() for word in _WORD.findall(name)]


def is_evaluation_function(name: str, in_test_file: bool = False) -> bool:
    """`evaluate`, `validate_one_epoch`, `_eval_epoch`, `run_test`, `predict`; not pytest's `test_*`."""
    parts = words(name)
    if parts and parts[0] == "test" and (in_test_file or name.startswith("test_")):
        parts = parts[1:]
    if TRAINING_WORDS & set(parts):
        return False  # train_and_evaluate, fit_eval: training code too
    return any(part in EVALUATION_WORDS for part in parts)


def is_evaluation_data(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return bool(_EVALUATION_DATA.match(last) or (_EVALUATION_PREFIX.match(last) and "train" not in last))


def is_stochastic_inference(name: str) -> bool:
    return bool(_STOCHASTIC_INFERENCE.search(name))


def is_frozen_model_name(name: str) -> bool:
    """Networks that are never trained by the loop that calls them: teachers, EMA and target copies."""
    return bool(_FROZEN_WORDS & set(words(name.rsplit(".", 1)[-1])))


def is_model_name(name: str) -> bool:
    """`model`, `self.net`, `ema_model`, `netG`, `text_encoder`, `resnet`: names people give networks."""
    return any(word in _MODEL_WORDS or word.endswith(("net", "model")) for word in words(name.rsplit(".", 1)[-1]))
