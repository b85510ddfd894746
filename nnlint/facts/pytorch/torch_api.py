"""What nnlint knows of the torch API, keyed by qualified name."""

from __future__ import annotations

import re

import libcst as cst

from nnlint.facts.core.syntax import keyword_arg, positional_args
from nnlint.facts.core.values import Kind

F = "torch.nn.functional"

# Functions (and the matching Tensor methods) whose result is of a known kind.
FUNCTION_RESULTS: dict[str, Kind] = {
    f"{F}.softmax": Kind.PROBS,
    "torch.softmax": Kind.PROBS,
    "torch.special.softmax": Kind.PROBS,
    f"{F}.log_softmax": Kind.LOG_PROBS,
    "torch.log_softmax": Kind.LOG_PROBS,
    "torch.special.log_softmax": Kind.LOG_PROBS,
    f"{F}.sigmoid": Kind.SIGMOID_PROBS,
    "torch.sigmoid": Kind.SIGMOID_PROBS,
    "torch.special.expit": Kind.SIGMOID_PROBS,
    f"{F}.linear": Kind.LOGITS,
    **{f"{F}.{name}": Kind.ACTIVATED for name in (
        "relu", "relu_", "relu6", "softplus", "tanh", "hardtanh", "hardtanh_", "softsign", "hardsigmoid")},
    **{f"torch.{name}": Kind.ACTIVATED for name in ("relu", "relu_", "tanh", "tanh_")},
}
METHOD_RESULTS: dict[str, Kind] = {
    "softmax": Kind.PROBS,
    "log_softmax": Kind.LOG_PROBS,
    "sigmoid": Kind.SIGMOID_PROBS,
    **{name: Kind.ACTIVATED for name in ("relu", "relu_", "tanh", "tanh_")},
}
# The activations of ACTIVATED values (NN205), by name in lower case without a trailing `_`, that
# confine their output on both sides, and where to. Used as logits, such scores cap the confidence
# the softmax can express. The others (relu, softplus) cannot go negative: the scores of the
# classes to reject stay at 0, and (almost) no gradient flows back where their input is negative.
BOUNDED_ACTIVATIONS: dict[str, str] = {
    "tanh": "(-1, 1)", "hardtanh": "[-1, 1]", "softsign": "(-1, 1)", "sigmoid": "(0, 1)", "hardsigmoid": "[0, 1]",
    "relu6": "[0, 6]",
}

LOG_FUNCTIONS = frozenset({"torch.log"})
# Functions that make one-hot rows: labels encoded, or the identity matrix (whose rows `eye[labels]` selects).
ONE_HOT_FUNCTIONS = frozenset({f"{F}.one_hot", "torch.eye"})
# Matrix products, as functions and as Tensor methods: probabilities times one-hot label rows are a
# probability-weighted sum of those rows, a distribution over the labels' classes.
MATRIX_PRODUCTS = frozenset({"torch.bmm", "torch.matmul", "torch.mm"})
MATRIX_PRODUCT_METHODS = frozenset({"bmm", "matmul", "mm"})

# Tensor methods that keep what a tensor holds (probabilities stay probabilities).
KIND_PRESERVING_METHODS = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "detach", "clone", "contiguous",
    "view", "reshape", "view_as", "reshape_as", "squeeze", "unsqueeze", "permute", "transpose",
    "flatten", "type", "type_as", "expand", "expand_as", "repeat", "requires_grad_",
})
# Of those, the ones that keep its shape too (scores of one class stay one class).
SHAPE_KEEPING_METHODS = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "detach", "clone", "contiguous", "type", "type_as",
    "requires_grad_",
})
# Factories of (pretrained) classification networks, whose last layer is the attribute below:
# `model.fc = nn.Sequential(nn.Linear(512, 10), nn.Softmax(dim=1))` decides what the model gives.
CLASSIFIER_FACTORIES = ("torchvision.models.", "timm.create_model", "timm.models.create_model")
CLASSIFIER_HEADS = frozenset({"fc", "classifier", "head", "heads"})
CLASSIFIER = "classifier"  # the `detail` of a model such a factory built


def is_classifier_factory(qualname: str) -> bool:
    """`torchvision.models.resnet18`, `timm.create_model`; not detection or segmentation models."""
    if qualname.startswith("torchvision.models."):
        return qualname.count(".") == 2 and qualname.rsplit(".", 1)[-1][:1].islower()
    return qualname.startswith(CLASSIFIER_FACTORIES[1:])


# nn.Module methods that return the module itself (`model = Net().to(device)`).
MODULE_RETURNING_SELF = frozenset({
    "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "type", "train", "eval", "requires_grad_",
    "share_memory", "to_empty", "apply", "xpu", "ipu", "mtia",
})
# Functions that join tensors end to end along an axis (`dim`, or `axis` for numpy's spelling).
CONCATENATIONS = frozenset({"torch.cat", "torch.concat", "torch.concatenate"})
# Functions of FUNCTION_RESULTS whose output has another shape than their input.
RESHAPING_FUNCTIONS = frozenset({f"{F}.linear"})
KIND_PRESERVING_FUNCTIONS = frozenset({
    "torch.stack", "torch.squeeze", "torch.unsqueeze",
    "torch.flatten", "torch.reshape", "torch.permute", "torch.transpose",
})

# Layers whose output is of a known kind.
MODULE_OUTPUTS: dict[str, Kind] = {
    "torch.nn.Softmax": Kind.PROBS,
    "torch.nn.LogSoftmax": Kind.LOG_PROBS,
    "torch.nn.Sigmoid": Kind.SIGMOID_PROBS,
    **{f"torch.nn.{name}": Kind.ACTIVATED for name in (
        "ReLU", "ReLU6", "Softplus", "Tanh", "Hardtanh", "Softsign", "Hardsigmoid")},
    "torch.nn.Linear": Kind.LOGITS,
    "torch.nn.LazyLinear": Kind.LOGITS,
}
# Layers whose output size is an argument: where it is (position, keyword). A size of 1 on the
# layer that makes a classifier's scores means one class (NN206).
OUTPUT_SIZE_ARGUMENTS: dict[str, tuple[int, str]] = {
    "torch.nn.Linear": (1, "out_features"), "torch.nn.LazyLinear": (0, "out_features"),
    **{f"torch.nn.{lazy}{kind}{dim}": (0 if lazy else 1, "out_channels")
       for lazy in ("", "Lazy") for kind in ("Conv", "ConvTranspose") for dim in ("1d", "2d", "3d")},
}
# Of those, the layers whose output size is its extent along the last axis (a convolution's is along
# the channel axis, the first or the second as the input is batched or not).
LAST_AXIS_OUTPUTS = frozenset({"torch.nn.Linear", "torch.nn.LazyLinear"})
# Library model builders (a name, or a package ending in "."), and the keyword that sets how
# many classes their output scores.
MODEL_BUILDERS: dict[str, str] = {
    "timm.create_model": "num_classes",
    "torchvision.models.": "num_classes",
    "segmentation_models_pytorch.": "classes",
}
SEQUENTIAL_CLASSES = frozenset({"torch.nn.Sequential"})
MODULE_BASES = frozenset({
    "torch.nn.Module", "torch.nn.modules.module.Module",
    "pytorch_lightning.LightningModule", "lightning.LightningModule", "lightning.pytorch.LightningModule",
    "lightning.pytorch.core.LightningModule", "pytorch_lightning.core.LightningModule",
})

# Loss classes and functional losses, by the loss they compute.
CROSS_ENTROPY = "cross_entropy"
NLL = "nll"
BCE_WITH_LOGITS = "bce_with_logits"
BCE = "bce"
LOSS_CLASSES: dict[str, str] = {
    "torch.nn.CrossEntropyLoss": CROSS_ENTROPY,
    "torch.nn.NLLLoss": NLL,
    "torch.nn.BCEWithLogitsLoss": BCE_WITH_LOGITS,
    "torch.nn.BCELoss": BCE,
}
LOSS_FUNCTIONS: dict[str, str] = {
    f"{F}.cross_entropy": CROSS_ENTROPY,
    f"{F}.nll_loss": NLL,
    f"{F}.binary_cross_entropy_with_logits": BCE_WITH_LOGITS,
    f"{F}.binary_cross_entropy": BCE,
}
LOSS_NAMES = {
    CROSS_ENTROPY: "CrossEntropyLoss",
    NLL: "NLLLoss",
    BCE_WITH_LOGITS: "BCEWithLogitsLoss",
    BCE: "BCELoss",
}
_OTHER_LOSS = re.compile(r"^torch\.nn\.(functional\.\w+_loss|\w+Loss)$")

OPTIMIZER_PREFIX = "torch.optim."
SCHEDULER_PREFIXES = ("torch.optim.lr_scheduler.", "transformers.optimization.get_", "transformers.get_")


def output_size_argument(qualname: str, call: cst.Call) -> cst.BaseExpression | None:
    """The expression that sets how many outputs a layer call makes (`1` in `nn.Linear(h, 1)`)."""
    position, keyword = OUTPUT_SIZE_ARGUMENTS.get(qualname, (-1, ""))
    if position < 0:
        return None
    named = keyword_arg(call, keyword)
    if named is not None:
        return named.value
    positional = positional_args(call)
    return positional[position].value if position < len(positional) else None


def class_count_keyword(qualname: str) -> str | None:
    """The keyword that sets a library model builder's number of classes (`num_classes`), if it is one."""
    return next((keyword for builder, keyword in MODEL_BUILDERS.items()
                 if qualname == builder or (builder.endswith(".") and qualname.startswith(builder))), None)


def activation_name(function_or_layer: str) -> str:
    """`relu` for relu, relu_, ReLU or nn.ReLU: how BOUNDED_ACTIVATIONS and ACTIVATED values name it."""
    return function_or_layer.rsplit(".", 1)[-1].rstrip("_").lower()


def is_one(expr: cst.BaseExpression | None) -> bool:
    """The integer literal 1."""
    return isinstance(expr, cst.Integer) and expr.evaluated_value == 1


def loss_kind(qualname: str) -> str | None:
    """The loss family of a loss class or function, 'other' for any other torch loss."""
    if qualname in LOSS_CLASSES:
        return LOSS_CLASSES[qualname]
    if qualname in LOSS_FUNCTIONS:
        return LOSS_FUNCTIONS[qualname]
    return "other" if _OTHER_LOSS.match(qualname) else None


def is_optimizer_class(qualname: str) -> bool:
    return qualname.startswith(OPTIMIZER_PREFIX) and not qualname.startswith(SCHEDULER_PREFIXES) and qualname[
        len(OPTIMIZER_PREFIX):
    ][:1].isupper()


def is_scheduler_factory(qualname: str) -> bool:
    return qualname.startswith(SCHEDULER_PREFIXES)


def is_torch_module_class(qualname: str) -> bool:
    """A layer class from torch.nn (Conv2d, Dropout, ...), not a function of it."""
    if not qualname.startswith("torch.nn."):
        return False
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper() and not qualname.startswith("torch.nn.functional.")


# Calls that make a tensor from shapes or values instead of computing from an input (last name part).
TENSOR_FACTORIES = frozenset({
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "randperm", "arange", "linspace",
    "logspace", "eye", "tensor", "as_tensor", "from_numpy", "zeros_like", "ones_like", "empty_like",
    "full_like", "rand_like", "randn_like", "randint_like", "array", "asarray",
})
# Methods that describe a value rather than compute a new one from it.
QUERY_METHODS = frozenset({
    "size", "dim", "ndimension", "numel", "nelement", "item", "tolist", "stride", "get_device",
    "is_contiguous", "element_size", "data_ptr", "storage_offset", "is_floating_point", "keys", "values",
    "items", "get", "pop", "split", "join", "format", "startswith", "endswith", "count", "index", "copy",
})
