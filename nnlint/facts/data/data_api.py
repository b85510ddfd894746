"""What nnlint knows of the data API (scikit-learn, numpy, pandas, torch.utils.data, torchvision,
Hugging Face datasets), keyed by qualified name, and how the names of data variables read."""

from __future__ import annotations

import re
from functools import lru_cache

# The role of a piece of data: which split it belongs to. "" is data not known to be a split.
TRAIN = "train"
TEST = "test"
VALIDATION = "validation"
MIXED = "train+test"
UNSPLIT = ""
HELD_OUT = frozenset({TEST, VALIDATION})
SPLIT_ROLES = frozenset({TRAIN, TEST, VALIDATION})

# What a SCALER's statistics come from, besides a data role.
UNFITTED = "unfitted"
FIXED = "fixed"           # constants (transforms.Normalize(mean, std), x / 255): no data seen
NO_SCALING = "none"       # a known transform pipeline that does not normalize

# ---------------------------------------------------------------- scalers and statistics
_SKLEARN_SCALERS = frozenset({
    "StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "SimpleImputer", "KNNImputer", "IterativeImputer",
    "PCA", "IncrementalPCA", "KernelPCA", "TruncatedSVD",
})
COLUMN_TRANSFORMERS = frozenset({"sklearn.compose.ColumnTransformer", "sklearn.compose.make_column_transformer"})
KERAS_NORMALIZATION = frozenset({
    "tensorflow.keras.layers.Normalization", "keras.layers.Normalization",
    "tensorflow.keras.layers.experimental.preprocessing.Normalization",
})
NORMALIZE_TRANSFORMS = frozenset({
    "torchvision.transforms.Normalize", "torchvision.transforms.v2.Normalize",
    "torchvision.transforms.transforms.Normalize", "albumentations.Normalize",
})
COMPOSE_TRANSFORMS = frozenset({
    "torchvision.transforms.Compose", "torchvision.transforms.v2.Compose", "torchvision.transforms.transforms.Compose",
})
TRANSFORM_PREFIXES = ("torchvision.transforms.",)
# Functions that scale their argument with its own statistics.
SCALING_FUNCTIONS = frozenset({
    f"sklearn.preprocessing.{name}"
    for name in ("scale", "minmax_scale", "robust_scale", "maxabs_scale", "quantile_transform", "power_transform")
})
FIT_METHODS = frozenset({"fit", "partial_fit", "adapt"})
FIT_TRANSFORM_METHODS = frozenset({"fit_transform"})
TRANSFORM_METHODS = frozenset({"transform"})

STATISTICS = frozenset({
    "mean", "std", "var", "min", "max", "amin", "amax", "median", "nanmean", "nanstd", "nanvar", "nanmin",
    "nanmax", "nanmedian", "ptp", "quantile", "percentile", "nanquantile", "nanpercentile", "std_mean",
    "var_mean", "aminmax",
})
_STATISTICS_MODULES = ("numpy.", "torch.")
# Statistics whose second positional parameter is not the axis (q comes first).
_QUANTILE_STATISTICS = frozenset({"quantile", "percentile", "nanquantile", "nanpercentile"})

# ---------------------------------------------------------------- splits
TRAIN_TEST_SPLIT = frozenset({"sklearn.model_selection.train_test_split", "sklearn.cross_validation.train_test_split"})
RANDOM_SPLIT = frozenset({"torch.utils.data.random_split", "torch.utils.data.dataset.random_split"})
SUBSET = frozenset({"torch.utils.data.Subset", "torch.utils.data.dataset.Subset"})
CROSS_VALIDATION = frozenset({
    f"sklearn.model_selection.{name}" for name in (
        "cross_val_score", "cross_validate", "cross_val_predict", "learning_curve", "validation_curve",
        "permutation_test_score",
    )
})
CV_SPLITTERS = frozenset({
    f"sklearn.model_selection.{name}" for name in (
        "KFold", "StratifiedKFold", "GroupKFold", "ShuffleSplit", "StratifiedShuffleSplit", "RepeatedKFold",
        "RepeatedStratifiedKFold", "TimeSeriesSplit", "LeaveOneOut", "LeavePOut", "GroupShuffleSplit",
        "StratifiedGroupKFold", "LeaveOneGroupOut",
    )
})
SEARCH_CV = frozenset({
    f"sklearn.model_selection.{name}" for name in (
        "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
    )
})
HF_TRAIN_TEST_SPLIT = "train_test_split"  # the method of a Hugging Face Dataset

# ---------------------------------------------------------------- datasets and loaders
DATA_LOADERS = frozenset({
    "torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader",
    "torch_geometric.loader.DataLoader", "torch_geometric.data.DataLoader",
})
# Samplers that draw only the given indices: a loader with one draws that subset of its dataset.
SUBSET_SAMPLERS = frozenset({"torch.utils.data.SubsetRandomSampler", "torch.utils.data.sampler.SubsetRandomSampler"})
TENSOR_DATASETS = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})
CONCAT_DATASETS = frozenset({"torch.utils.data.ConcatDataset", "torch.utils.data.dataset.ConcatDataset"})
ITERABLE_DATASET_BASES = frozenset({
    "torch.utils.data.IterableDataset", "torch.utils.data.dataset.IterableDataset",
    "torch.utils.data.IterDataPipe", "torchdata.datapipes.iter.IterDataPipe",
})
ITERABLE_DATASET_SOURCES = ("webdataset.", "torchdata.", "datasets.IterableDataset")
DATASET_BASES = frozenset({"torch.utils.data.Dataset", "torch.utils.data.dataset.Dataset"}) | ITERABLE_DATASET_BASES
# Datasets that hold one graph (node-level tasks, whose splits are masks over its nodes).
SINGLE_GRAPH_DATASETS = frozenset({
    f"torch_geometric.datasets.{name}" for name in (
        "Planetoid", "CitationFull", "CoraFull", "Amazon", "Coauthor", "KarateClub", "Flickr", "Reddit", "Reddit2",
        "Yelp", "WikiCS", "Actor", "WebKB", "WikipediaNetwork", "FacebookPagePage", "LastFMAsia", "AmazonProducts",
    )
})
HF_LOAD_DATASET = frozenset({"datasets.load_dataset", "tensorflow_datasets.load"})
HF_SPLIT_KEYS = {"train": TRAIN, "test": TEST, "validation": VALIDATION, "valid": VALIDATION, "dev": VALIDATION,
                 "eval": VALIDATION}
KERAS_DATASET_PREFIXES = ("tensorflow.keras.datasets.", "keras.datasets.")
FILE_READERS = frozenset({
    "pandas.read_csv", "pandas.read_parquet", "pandas.read_json", "pandas.read_pickle", "pandas.read_feather",
    "pandas.read_excel", "pandas.read_table", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "torch.load",
    "torchvision.datasets.ImageFolder", "torchvision.datasets.DatasetFolder", "joblib.load",
    "sklearn.datasets.load_svmlight_file",
})
SPLIT_KEYWORDS = frozenset({"split", "subset", "mode"})
TRAIN_FLAG_KEYWORDS = frozenset({"train", "is_train", "training"})

# Calls whose result is their (first) data argument in another container: same rows, same role.
DATA_CONVERSIONS = frozenset({
    "torch.tensor", "torch.as_tensor", "torch.from_numpy", "torch.Tensor", "torch.FloatTensor",
    "torch.LongTensor", "torch.DoubleTensor", "torch.IntTensor", "torch.BoolTensor",
    "numpy.array", "numpy.asarray", "numpy.asanyarray", "numpy.ascontiguousarray", "numpy.float32",
    "numpy.float64", "numpy.squeeze", "numpy.expand_dims", "numpy.reshape", "numpy.nan_to_num",
    "pandas.DataFrame", "pandas.Series", "copy.copy", "copy.deepcopy",
    "tensorflow.convert_to_tensor", "tensorflow.constant",
})
# Calls that combine data (concatenate, zip): the result mixes their roles.
DATA_COMBINATIONS = frozenset({
    "numpy.concatenate", "numpy.vstack", "numpy.hstack", "numpy.stack", "numpy.column_stack", "numpy.r_",
    "torch.cat", "torch.concat", "torch.concatenate", "torch.stack", "torch.vstack", "torch.hstack",
    "pandas.concat",
})
# Builtins that hand their data argument on (iteration wrappers, containers).
DATA_BUILTINS = frozenset({"list", "tuple", "iter", "enumerate", "sorted", "reversed"})
ITERATION_WRAPPERS = frozenset({"tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "tqdm.tqdm_notebook",
                                "rich.progress.track", "itertools.cycle", "itertools.islice"})
# Methods of arrays, tensors, frames and datasets that keep the rows (and so the split) of the data.
DATA_METHODS = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "long", "int", "bool", "numpy", "to_numpy", "astype",
    "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "copy", "clone", "detach",
    "contiguous", "type", "tolist", "to_list", "drop", "dropna", "fillna", "reset_index", "set_index",
    "select_dtypes", "assign", "rename", "filter", "map", "select", "with_format", "set_format", "remove_columns",
    "rename_column", "rename_columns", "cast", "cast_column", "shuffle", "sort", "pin_memory", "requires_grad_",
    "reindex", "get_dummies", "replace", "apply", "with_transform", "sample", "head", "tail",
})
DATA_ATTRIBUTES = frozenset({"values", "T", "iloc", "loc", "data", "features", "dataset"})

# ---------------------------------------------------------------- shuffling
IN_PLACE_SHUFFLES = frozenset({"numpy.random.shuffle", "random.shuffle", "tensorflow.random.shuffle"})
PERMUTATIONS = frozenset({"numpy.random.permutation", "torch.randperm", "random.sample", "numpy.random.choice"})
SKLEARN_SHUFFLE = frozenset({"sklearn.utils.shuffle"})
GENERATOR_FACTORIES = frozenset({
    "numpy.random.default_rng", "numpy.random.RandomState", "numpy.random.Generator", "random.Random",
    "torch.Generator",
})
GENERATOR_SHUFFLE_METHODS = frozenset({"shuffle"})
GENERATOR_PERMUTATION_METHODS = frozenset({"permutation", "sample", "choice"})
RESEEDS = frozenset({
    "numpy.random.seed", "random.seed", "torch.manual_seed", "numpy.random.set_state", "random.setstate",
    "torch.set_rng_state", "torch.random.manual_seed",
})
# The random stream each global shuffle draws from: reseeding it makes the next draw repeat.
STREAM_OF = {
    "numpy.random.shuffle": "numpy", "numpy.random.permutation": "numpy", "numpy.random.choice": "numpy",
    "numpy.random.seed": "numpy", "numpy.random.set_state": "numpy",
    "random.shuffle": "random", "random.sample": "random", "random.seed": "random", "random.setstate": "random",
    "torch.randperm": "torch", "torch.manual_seed": "torch", "torch.random.manual_seed": "torch",
    "torch.set_rng_state": "torch", "tensorflow.random.shuffle": "tensorflow",
}

# ---------------------------------------------------------------- evaluation and training calls
PREDICT_METHODS = frozenset({
    "predict", "predict_proba", "predict_log_proba", "decision_function", "score", "evaluate",
    "evaluate_generator", "predict_generator", "predict_on_batch", "test_on_batch",
})
SCORE_METHODS = frozenset({"score", "evaluate", "evaluate_generator", "test_on_batch"})
FIT_MODEL_METHODS = frozenset({"fit", "partial_fit", "fit_generator", "train_on_batch"})
# ignite: an Engine runs its process function on every batch of what it is run on; the supervised
# factories build one that trains and one that only evaluates.
ENGINES = frozenset({"ignite.engine.Engine", "ignite.engine.engine.Engine"})
TRAINING_ENGINES = frozenset({"ignite.engine.create_supervised_trainer"})
EVALUATION_ENGINES = frozenset({"ignite.engine.create_supervised_evaluator"})
ALL_ENGINES = ENGINES | TRAINING_ENGINES | EVALUATION_ENGINES
HELD_OUT_KEYWORDS = frozenset({
    "validation_data", "val_dataloaders", "eval_dataset", "eval_set", "valid_sets", "val_dataloader",
    "test_dataloaders", "eval_dataloader", "validation_dataset",
})
TRAINER_EVALUATIONS = frozenset({"validate", "test"})

# ---------------------------------------------------------------- names
_ROLE_WORDS = {
    "train": TRAIN, "training": TRAIN, "trn": TRAIN, "tr": TRAIN,
    "test": TEST, "testing": TEST, "tst": TEST, "te": TEST, "holdout": TEST,
    "val": VALIDATION, "valid": VALIDATION, "validation": VALIDATION, "dev": VALIDATION, "eval": VALIDATION,
    "va": VALIDATION,
}
_SHORT_ROLE_WORDS = frozenset({"tr", "te", "va", "trn", "tst"})
_DATA_WORDS = frozenset({
    "x", "y", "data", "dataset", "datasets", "ds", "dset", "set", "sets", "df", "frame", "loader", "loaders",
    "dl", "dataloader", "dataloaders", "iter", "iterator", "gen", "generator", "features", "feature",
    "feats", "feat", "labels", "label", "lbls", "targets", "target", "tgt", "inputs", "input", "inp",
    "images", "image", "imgs", "img", "samples", "examples", "split", "splits", "idx", "indices", "index",
    "ids", "mask", "texts", "text", "tokens", "seqs", "sequences", "sentences", "sents", "docs", "documents",
    "records", "points", "arr", "array", "tensor", "tensors", "batches", "subset", "pairs", "encodings",
    "audio", "signals", "vectors", "graphs", "fold", "rows", "tfds", "xs", "ys",
})
# Role words that also mean something else (valid = validity, dev = device, eval = evaluation mode):
# they name a split only next to a word for a whole data set, not next to a mask or an index.
_AMBIGUOUS_ROLE_WORDS = frozenset({"valid", "dev", "eval"})
_INDEX_WORDS = frozenset({"idx", "indices", "index", "ids", "mask", "tokens", "points", "rows", "input", "inp",
                          "target", "tgt", "label", "text", "image", "img", "tensor", "tensors", "arr", "array"})
_NOT_DATA_WORDS = frozenset({
    "size", "sizes", "len", "length", "num", "n", "count", "path", "paths", "dir", "file", "files", "root",
    "url", "transform", "transforms", "tfms", "ratio", "frac", "fraction", "pct", "percent", "mode",
    "steps", "step", "shape", "cols", "columns", "kwargs", "args", "config", "cfg", "fn", "func", "name",
    "names", "stats", "mean", "std", "sampler", "collate", "bs", "loss", "losses", "acc", "accuracy",
    "score", "scores", "metric", "metrics", "pred", "preds", "prediction", "predictions", "output",
    "outputs", "logits", "epoch", "epochs", "time", "writer", "log", "logger", "flag", "is", "do", "use",
    "should", "has", "only", "freq", "interval", "every", "keys", "key", "info", "meta", "hist", "history",
    "result", "results", "report", "summary", "folder", "csv", "json", "txt", "pkl", "npy", "h5",
    "iters", "iterations", "workers", "shuffle", "start", "end",
    "begin", "stop", "cut", "point", "portion", "prop", "proportion", "share",
})
_COUNT_NAME = re.compile(r"^(n|num|len|length|size|count|nb|total)(_|$)|(_|^)(n|num|len|length|size|count|samples)$",
                         re.IGNORECASE)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> list[str]:
    """`X_train_scaled` -> [x, train, scaled]; `trainLoader` -> [train, loader]."""
    return [word.lower() for word in _WORD.findall(name) if not word.isdigit()]


def _split_compound(word: str) -> list[str]:
    """`trainset` -> [train, set]; `xtest` -> [x, test]; other words stay whole."""
    for role in ("training", "train", "testing", "test", "validation", "valid", "val", "eval", "dev"):
        if word.startswith(role) and word[len(role):] in _DATA_WORDS:
            return [role, word[len(role):]]
        if word.endswith(role) and word[:-len(role)] in ("x", "y"):
            return [word[:-len(role)], role]
    return [word]


@lru_cache(maxsize=4096)
def role_from_name(name: str) -> str | None:
    """The split a variable's name says it holds (`X_test`, `val_loader`, `trainset`), or None.

    A name must name data (x, y, loader, dataset, images, ...) and exactly one split;
    `test_size`, `do_train`, `train_transform` and a bare `train` flag name no split.
    """
    parts = [part for word in words(name.rsplit(".", 1)[-1]) for part in _split_compound(word)]
    if not parts or any(part in _NOT_DATA_WORDS for part in parts):
        return None
    roles = {_ROLE_WORDS[part] for part in parts if part in _ROLE_WORDS}
    if len(roles) != 1:
        return None
    data_words = {part for part in parts if part in _DATA_WORDS}
    if not data_words:
        return None
    ambiguous = {part for part in parts if part in _AMBIGUOUS_ROLE_WORDS}
    if ambiguous and not data_words - _INDEX_WORDS:
        return None  # `valid_mask`, `dev_ids`, `eval_indices`: validity, devices, not a split
    short_only = all(part in _SHORT_ROLE_WORDS for part in parts if part in _ROLE_WORDS)
    if short_only and not (len(parts) == 2 and any(part in ("x", "y") for part in parts)):
        return None
    return roles.pop()


def role_from_path(text: str) -> str | None:
    """The split a file or folder path names (`data/test.csv`, `mnist_train.npy`), or None."""
    components = [c for c in re.split(r"[\\/]", text) if c][-2:]
    roles = {
        _ROLE_WORDS[word] for component in components for word in words(component)
        if word in _ROLE_WORDS and word not in _SHORT_ROLE_WORDS
    }
    return roles.pop() if len(roles) == 1 else None


def role_from_split_name(text: str) -> str | None:
    """The role of a dataset split string: "train", "test", "validation", "train[:90%]"."""
    base = text.split("[", 1)[0].strip().lower()
    if base in ("training",):
        return TRAIN
    return HF_SPLIT_KEYS.get(base) or ({"val": VALIDATION, "testing": TEST}.get(base))


def is_count_name(name: str) -> bool:
    """`n`, `n_samples`, `num_rows`, `len_x`: names of a number, not of data."""
    return bool(_COUNT_NAME.search(name)) or name in ("N", "n")


def is_scaler_class(qualname: str) -> bool:
    return qualname.startswith(("sklearn.", "cuml.")) and qualname.rsplit(".", 1)[-1] in _SKLEARN_SCALERS


def statistic_name(qualname: str | None, method: str | None) -> str | None:
    """`mean` for np.mean / torch.mean / x.mean, None for other calls."""
    if qualname is not None:
        if qualname.startswith(_STATISTICS_MODULES) and qualname.count(".") == 1:
            name = qualname.rsplit(".", 1)[-1]
            return name if name in STATISTICS else None
        return None
    return method if method in STATISTICS else None


def axis_position(statistic: str, is_method: bool) -> int:
    """Where the axis goes among positional arguments (after the data for functions)."""
    position = 1 if statistic in _QUANTILE_STATISTICS else 0
    return position if is_method else position + 1


def merge_roles(roles: list[str]) -> str:
    """The role of data combined from parts: one role, or MIXED when training and held-out meet."""
    known = {role for role in roles if role}
    if not known:
        return UNSPLIT
    if len(known) == 1:
        return known.pop()
    return MIXED if TRAIN in known or MIXED in known else TEST


def held_out_part(role: str) -> str:
    """The role of the held-out part when data of `role` is split again."""
    if role == TRAIN:
        return VALIDATION
    return role if role in HELD_OUT else TEST


def describe(role: str) -> str:
    return {TRAIN: "training", TEST: "test", VALIDATION: "validation", MIXED: "training and test"}.get(role, "")
