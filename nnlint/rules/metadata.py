"""Every rule's metadata, apart from its check: what --list-rules, the selection, the cache
keys, the reports and the flake8 plugin read. Plain data, so that a run answered from the cache
imports no rule module and no libcst.

Each rule module (nnXXX_name.py) repeats its row in `RULE = Rule(...)`; the tests hold the two
equal, so a rule module without a row here, or a row without a module, fails loudly."""

from __future__ import annotations

from dataclasses import dataclass

from nnlint.diagnostics import Applicability, Severity


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    severity: Severity
    summary: str
    # The rule runs only on files whose text contains one of these strings (a cheap pre-filter),
    # or, when it reads facts from other files (`cross_file`), on files that import project files.
    triggers: tuple[str, ...] = ()
    cross_file: bool = True
    default_enabled: bool = True
    notebooks_only: bool = False  # the rule runs on Jupyter notebooks only
    # The kinds of fix the rule proposes (none, safe, unsafe or both), as --list-rules shows them.
    fixes: tuple[Applicability, ...] = ()


INTERNAL_ERROR = RuleInfo("NN000", "internal-error", Severity.ERROR,
                          "A rule failed on this file; the other rules and files still ran.")
PARSE_ERROR = RuleInfo("NN001", "syntax-error", Severity.ERROR, "The file cannot be parsed as Python.")
UNREADABLE = RuleInfo("NN002", "unreadable-file", Severity.ERROR,
                      "The file cannot be read or decoded (binary, bad encoding, invalid notebook).")
# The diagnostics of the linter itself: no module, no check.
BUILTIN_RULES = (INTERNAL_ERROR, PARSE_ERROR, UNREADABLE)

# Sorted by code: the order of --list-rules.
RULES: tuple[RuleInfo, ...] = (
    *BUILTIN_RULES,
    RuleInfo("NN101", "overwritten-layer-output", Severity.ERROR,
             "A layer's output is never read: it is rebound, or the next layer reads an earlier value instead.",
             triggers=("torch", "tensorflow", "tf.", "keras", "jax", "flax", "slim", "forward", "layer", "Layer"),
             cross_file=False),
    RuleInfo("NN102", "unused-submodule", Severity.WARNING,
             "A layer created in __init__ that forward and the model's other methods never use.",
             triggers=("torch", "Module"), cross_file=False),
    RuleInfo("NN103", "bias-before-batchnorm", Severity.WARNING,
             "A Conv/Linear layer keeps its bias although it feeds straight into BatchNorm, which cancels it.",
             triggers=("BatchNorm", "InstanceNorm"), cross_file=False, fixes=(Applicability.UNSAFE,)),
    RuleInfo("NN104", "unregistered-submodule", Severity.ERROR,
             "Layers stored in a plain list/dict/tuple attribute instead of nn.ModuleList/ModuleDict.",
             triggers=("torch", "Module"), cross_file=False, fixes=(Applicability.UNSAFE,)),
    RuleInfo("NN105", "softmax-without-dim", Severity.WARNING,
             "Softmax / log_softmax without dim: the implicit dimension is deprecated and wrong for 3-D inputs.",
             triggers=("softmax", "Softmax", "softmin", "Softmin"), cross_file=False,
             fixes=(Applicability.SAFE, Applicability.UNSAFE)),
    RuleInfo("NN106", "functional-dropout-always-on", Severity.ERROR,
             "F.dropout in a module without training=self.training keeps dropping units at evaluation.",
             triggers=("dropout",), cross_file=False, fixes=(Applicability.SAFE,)),
    RuleInfo("NN107", "missing-super-init", Severity.ERROR,
             "An nn.Module subclass whose __init__ never calls super().__init__().",
             triggers=("torch", "Module"), cross_file=False, fixes=(Applicability.SAFE,)),
    RuleInfo("NN108", "broken-gradient-path", Severity.ERROR,
             "A tensor on the way from trained weights to the loss is cut from autograd: backward() never reaches them.",
             triggers=("backward",)),
    RuleInfo("NN201", "softmax-into-cross-entropy", Severity.ERROR,
             "Probabilities from softmax reach CrossEntropyLoss / F.cross_entropy, which expects logits.",
             triggers=("cross_entropy", "CrossEntropyLoss", "Loss"),
             fixes=(Applicability.SAFE, Applicability.UNSAFE)),
    RuleInfo("NN202", "nll-loss-without-log-softmax", Severity.ERROR,
             "NLLLoss / F.nll_loss receives logits or probabilities instead of log-probabilities.",
             triggers=("nll_loss", "NLLLoss", "Loss"),
             fixes=(Applicability.SAFE, Applicability.UNSAFE)),
    RuleInfo("NN203", "sigmoid-into-bce-with-logits", Severity.ERROR,
             "Sigmoid output reaches BCEWithLogitsLoss (double sigmoid), or raw logits reach BCELoss.",
             triggers=("binary_cross_entropy", "BCEWithLogitsLoss", "BCELoss", "Loss"),
             fixes=(Applicability.SAFE, Applicability.UNSAFE)),
    RuleInfo("NN204", "log-of-softmax", Severity.WARNING,
             "torch.log(softmax(x)) or softmax(x).log(): unstable; use log_softmax.",
             triggers=("log",),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN205", "bounded-activation-into-cross-entropy", Severity.ERROR,
             "ReLU / Sigmoid / Tanh / Softplus output is used as the logits of CrossEntropyLoss / F.cross_entropy.",
             triggers=("cross_entropy", "CrossEntropyLoss", "Loss")),
    RuleInfo("NN206", "single-logit-cross-entropy", Severity.ERROR,
             "CrossEntropyLoss / F.cross_entropy on a model output with one class: the loss is identically 0.",
             triggers=("cross_entropy", "CrossEntropyLoss", "Loss")),
    RuleInfo("NN301", "missing-zero-grad", Severity.ERROR,
             "A training loop calls backward() and optimizer.step() but never zeroes the gradients.",
             triggers=("backward",),
             fixes=(Applicability.UNSAFE,)),
    RuleInfo("NN302", "zero-grad-between-backward-and-step", Severity.ERROR,
             "zero_grad() is called after backward() and before step(), so the step uses zero gradients.",
             triggers=("zero_grad", ".grad"),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN303", "missing-optimizer-step", Severity.ERROR,
             "A training loop calls backward() but never optimizer.step(): the weights never change.",
             triggers=("backward",)),
    RuleInfo("NN304", "loss-accumulated-with-graph", Severity.WARNING,
             "A loss tensor is summed or appended across iterations instead of loss.item() / loss.detach().",
             triggers=("backward",),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN305", "scheduler-step-before-optimizer-step", Severity.WARNING,
             "lr_scheduler.step() is called before optimizer.step() in the same iteration.",
             triggers=("sched",),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN306", "grad-clip-after-step", Severity.WARNING,
             "clip_grad_norm_ / clip_grad_value_ is called after optimizer.step(), where it has no effect.",
             triggers=("clip_grad",),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN307", "backward-under-no-grad", Severity.ERROR,
             "backward() is called inside torch.no_grad() or torch.inference_mode().",
             triggers=("no_grad", "inference_mode", "set_grad_enabled")),
    RuleInfo("NN308", "optimizer-misses-trained-model", Severity.ERROR,
             "The optimizer holds the parameters of another object than the model the loop trains.",
             triggers=("optim",)),
    RuleInfo("NN401", "missing-eval", Severity.ERROR,
             "Evaluation or inference code runs a model without model.eval(): Dropout and BatchNorm act as in "
             "training.",
             triggers=("no_grad", "inference_mode", "set_grad_enabled", "eval", "val", "test", "predict", "infer",
                       "load_state_dict"),
             fixes=(Applicability.UNSAFE,),
             ),
    RuleInfo("NN402", "missing-train-after-eval", Severity.ERROR,
             "model.eval() in the epoch loop is never undone by model.train() before the next training step.",
             triggers=(".eval(", "train(False", "train(mode=False"),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN403", "dropout-forced-in-eval", Severity.ERROR,
             "Dropout forced on at evaluation: training=True hard-coded, or an is_training flag fixed to True.",
             triggers=("dropout", "=True"),
             fixes=(Applicability.SAFE, Applicability.UNSAFE)),
    RuleInfo("NN501", "view-instead-of-permute", Severity.ERROR,
             "view/reshape used to reorder a tensor's axes: it reinterprets memory instead of moving data.",
             triggers=("view", "reshape")),
    RuleInfo("NN601", "test-statistics-scaling", Severity.ERROR,
             "A scaler or normalization statistics are fitted on test/validation data, or on all the data before "
             "the train/test split.",
             triggers=("fit", "mean", "std", "min", "max", "scale", "adapt", "median", "quantile", "percentile", "var",
                       "ptp"),
             ),
    RuleInfo("NN602", "shuffled-separately", Severity.ERROR,
             "Inputs and labels are shuffled independently, so samples no longer match their labels.",
             triggers=("shuffle", "permutation", "randperm", "sample", "choice")),
    RuleInfo("NN603", "train-loader-without-shuffle", Severity.WARNING,
             "A training DataLoader has neither shuffle=True nor a sampler.",
             triggers=("DataLoader",),
             fixes=(Applicability.SAFE,)),
    RuleInfo("NN604", "test-data-not-scaled", Severity.ERROR,
             "The training split is scaled but the test split reaches the model untransformed.",
             triggers=("transform", "Normalize", "mean", "std", "scale", "/")),
    RuleInfo("NN605", "evaluating-on-training-data", Severity.ERROR,
             "The evaluation step (predict, score, a validation loop) is fed the training split.",
             triggers=("train", "Train")),
    RuleInfo("NN606", "trained-on-unsplit-data", Severity.ERROR,
             "The model is trained on the data before the train/test split and evaluated on its held-out part.",
             triggers=("split",)),
    RuleInfo("NN607", "model-selected-on-test-data", Severity.WARNING,
             "The best checkpoint, epoch or early stop is chosen by a metric on the test split.",
             triggers=("test", "Test")),
    RuleInfo("NN701", "unsafe-torch-load", Severity.WARNING,
             "torch.load that unpickles arbitrary objects (no weights_only=True before torch 2.6, "
             "weights_only=False after) can execute code from an untrusted checkpoint.",
             triggers=("load",),
             fixes=(Applicability.UNSAFE,)),
    RuleInfo("NN702", "unseeded-training", Severity.NOTE,
             "A training script never seeds torch, so its runs cannot be reproduced.",
             triggers=("backward",), default_enabled=False),
    RuleInfo("NN703", "notebook-runs-only-out-of-order", Severity.WARNING,
             "In a notebook, a cell uses a name that only a later cell, or no cell, defines.",
             cross_file=False, notebooks_only=True),
    RuleInfo("NN801", "non-finite-value", Severity.ERROR,
             "A NaN or Inf appears in a module's output, the loss, a gradient or a weight (nnlint trace only)."),
    RuleInfo("NN802", "initial-loss-far-from-chance", Severity.WARNING,
             "The first C-class cross-entropy loss is far above ln(C), the loss of uniform predictions (nnlint "
             "trace only)."),
    RuleInfo("NN803", "update-to-weight-ratio", Severity.WARNING,
             "Optimizer steps move weight matrices by a fraction of their norm far outside 1e-5..1e-1 (nnlint "
             "trace only)."),
    RuleInfo("NN804", "overfit-one-batch-failed", Severity.WARNING,
             "Fed the same batch at every step, the loss does not fall to a small fraction of its first value "
             "(nnlint trace --overfit-batch only)."),
    RuleInfo("NN805", "same-batch-every-step", Severity.WARNING,
             "The model receives the very same batch at every training step while a DataLoader with more batches "
             "exists (nnlint trace only)."),
    RuleInfo("NN806", "constant-input", Severity.WARNING,
             "Every value of a model's training input is the same, such as all zero (nnlint trace only)."),
    RuleInfo("NN807", "single-label-batches", Severity.WARNING,
             "Each of the first training batches holds a single class: sorted data, not shuffled (nnlint trace "
             "only)."),
    RuleInfo("NN808", "unnormalised-input", Severity.WARNING,
             "The first layer receives values far from zero mean and unit variance, such as raw 0..255 pixels "
             "(nnlint trace only)."),
    RuleInfo("NN809", "dead-units", Severity.WARNING,
             "More than half the units of a ReLU layer output zero for every sample of the traced steps (nnlint "
             "trace only)."),
    RuleInfo("NN810", "vanishing-or-exploding-gradients", Severity.WARNING,
             "Per-value gradients of the first and last layers more than 1e4 apart, or a gradient norm growing "
             "without bound (nnlint trace only)."),
    RuleInfo("NN811", "batch-mixing", Severity.ERROR,
             "In eval mode, a sample's output depends on other samples of its batch: a view or reshape across "
             "the batch axis (nnlint trace only)."),
)

_BY_CODE = {rule.code: rule for rule in RULES}


def rule_info(code: str) -> RuleInfo | None:
    """The row of a code, in any case; None for an unknown code."""
    return _BY_CODE.get(code.upper())
