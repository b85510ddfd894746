"""How names of data variables and files are read as splits (the fallback where code says nothing)."""

from __future__ import annotations

import pytest

from nnlint.facts.data.data_api import TEST, TRAIN, VALIDATION, role_from_name, role_from_path

NAMED = {
    "X_train": TRAIN, "x_val": VALIDATION, "train_x": TRAIN, "test_df": TEST, "valid_set": VALIDATION,
    "trainset": TRAIN, "testloader": TEST, "trainLoader": TRAIN, "eval_dataset": VALIDATION, "X_tr": TRAIN,
    "y_te": TEST, "self.train_ds": TRAIN, "idx_test": TEST, "train_mask": TRAIN, "X_test_scaled": TEST,
    "dev_set": VALIDATION, "val_images": VALIDATION,
}
NOT_SPLITS = [
    "train", "test", "do_train", "is_training", "test_size", "train_transform", "val_loss", "test_acc",
    "valid_mask", "valid_indices", "dev_ids", "eval_mask", "train_test_data", "pretrain_data", "trainer",
    "num_train_epochs", "tr", "train_data_path", "X", "loader",
]


@pytest.mark.parametrize("name, role", sorted(NAMED.items()))
def test_split_names(name: str, role: str) -> None:
    assert role_from_name(name) == role


@pytest.mark.parametrize("name", NOT_SPLITS)
def test_names_that_are_not_splits(name: str) -> None:
    assert role_from_name(name) is None


@pytest.mark.parametrize("path, role", [
    ("data/train.csv", TRAIN), ("mnist_test.npy", TEST), ("data/valid/", VALIDATION),
    ("features.npy", None), ("train_test.csv", None),
])
def test_paths(path: str, role: str | None) -> None:
    assert role_from_path(path) == role
