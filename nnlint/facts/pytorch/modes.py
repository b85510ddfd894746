"""The train/eval mode each model is in where it is called.

An abstract interpreter over statements tracks, for every model object, the set of settings it
may be in on the current path: TRAIN (just built: `Net()`, `resnet50()`; `.train()`), EVAL
(`.eval()`, `.train(False)`, `from_pretrained`) or UNKNOWN (a parameter, a library call).
Branches join, loops run to a fixpoint, and same-file helpers are inlined with the caller's
models, so a helper's `model.eval()` is seen by the loop that calls it. Each function is
also analysed on its own, with every model it receives in an unknown mode.

It records model calls made in evaluation code (under no_grad, in an evaluate()-style
function or a loop over evaluation data, or after loading weights, but never in a training
step) with the settings that reach them, and `eval()` calls whose setting comes back round a
loop's back edge into a training step.
"""

from __future__ import annotations

import itertools
from functools import cached_property
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Sequence

import libcst as cst

from nnlint.facts.pytorch import torch_api
from nnlint.facts.core.dataflow import CallEvent, Dataflow
from nnlint.facts.core.places import Place
from nnlint.facts.pytorch.evaluation import (is_evaluation_data, is_evaluation_function, is_frozen_model_name, is_model_name,
                                     words)
from nnlint.facts.pytorch.mode_free import ModeFreeModels
from nnlint.facts.core.syntax import (block_statements, bound_names, dotted_name, enclosing_functions, expressions_in,
                                 keyword_arg, passed_arg, positional_args, source_code, target_names,
                                 walk_statements)
from nnlint.facts.pytorch.training_steps import TrainingSteps
from nnlint.facts.core.values import Kind
from nnlint.facts.pytorch.semantics import NO_GRAD_CONTEXTS, SET_GRAD_ENABLED

MAX_INLINE_DEPTH = 3
LOOP_PASSES = 3
# Statements one analysis may run (inlining and loop passes included) before it gives up silently.
BUDGET = 20_000

# Calls that return the object they are given, or a wrapper that runs it in its mode.
SAME_MODEL_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16", "type", "share_memory",
                                "requires_grad_", "to_empty"})
WRAPPERS = frozenset({"torch.nn.parallel.DistributedDataParallel", "torch.nn.DataParallel",
                      "torch.nn.parallel.DataParallel", "torch.compile", "torch.jit.script", "torch.jit.trace",
                      "torch.nn.SyncBatchNorm.convert_sync_batchnorm"})
WRAPPER_METHODS = frozenset({"prepare", "prepare_model", "setup", "setup_module", "unwrap_model", "compile"})
UNWRAP_ATTRIBUTES = frozenset({"module", "_orig_mod"})
SUBMODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})
MODEL_FACTORY_PREFIXES = ("torchvision.models.", "timm.create_model", "timm.models.create_model")
# Calls that build a copy of a model: in the mode it is in (a deep copy, torch's SWA average),
# or put in eval mode (timm's EMA wrappers).
MODEL_COPIES = frozenset({"copy.deepcopy", "torch.optim.swa_utils.AveragedModel"})
EVAL_COPY_PREFIXES = ("timm.utils.ModelEma", "timm.utils.model_ema.ModelEma")
PRETRAINED_ARGUMENTS = frozenset({"pretrained", "weights", "pretrained_cfg", "checkpoint_path", "pretrained_weights",
                                  "weights_path"})
PRETRAINED_LOADERS = frozenset({"from_pretrained"})
# Class methods that build a module of their class from a checkpoint (Lightning), in training mode.
CHECKPOINT_CONSTRUCTORS = frozenset({"load_from_checkpoint"})  # transformers returns models in eval mode
# A method or helper with one of these words in its name may switch a model's mode.
MODE_WORDS = frozenset({"eval", "train", "training", "mode", "freeze", "unfreeze", "bn", "norm", "fit", "evaluate", "validate",
                        "test", "predict", "inference", "evaluator", "trainer"})
MODULE_API = frozenset({
    "state_dict", "parameters", "buffers", "zero_grad", "extra_repr", "half", "float", "cpu", "cuda", "to",
    "requires_grad_", "share_memory", "type", "apply", "modules", "children", "training", "config", "device",
    "dtype", "update", "item", "numel", "print_trainable_parameters", "tie_weights", "resize_token_embeddings",
    "gradient_checkpointing_enable", "gradient_checkpointing_disable", "save_pretrained", "push_to_hub",
    # what containers and tensors do
    "append", "extend", "insert", "pop", "items", "keys", "values", "get", "copy", "clear", "add", "tolist",
    "numpy", "detach", "clone", "size", "dim", "format", "split", "join", "strip",
    # tensors a module holds
    "weight", "bias", "data", "grad", "running_mean", "running_var", "num_batches_tracked", "shape", "T",
})
NON_FORWARD_PREFIXES = ("get_", "set_", "register_", "named_", "load_", "save_", "num_", "add_", "remove_", "is_",
                        "has_", "_")
# Calls that make a function worth analysing: they switch modes or mark evaluation.
RANDOM_DRAWS = frozenset({"torch.randn", "torch.rand", "torch.randn_like", "torch.rand_like", "torch.normal"})
SAME_TENSOR_METHODS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "detach", "clone", "requires_grad_"})
# Calls that only look at a model (print it, count it): they neither train nor load it.
INSPECTING_CALLS = frozenset({"print", "repr", "str", "len", "id", "type", "isinstance", "hasattr", "getattr", "vars",
                              "dir", "format", "hash", "summary", "torchsummary.summary", "torchinfo.summary"})
MODE_EVENTS = frozenset({"eval", "train", "load_state_dict"})
TRAINING_FLAGS = frozenset({"training", "is_training", "train", "is_train", "train_mode"})


class Mode(Enum):
    TRAIN = "training"
    EVAL = "eval"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Setting:
    """One mode a model may be in, where it was set, and inside which loops."""

    mode: Mode
    origin: cst.CSTNode | None = None
    loops: tuple[cst.CSTNode, ...] = ()
    carried: bool = False  # came back round the back edge of a loop it was set in
    # The model was trained, or handed to code that may train it, since this setting was made.
    trained_since: bool = False

    @property
    def deliberate_training(self) -> bool:
        """`model.train()` and then, with no training in between, code that runs the model:
        Monte-Carlo dropout, a probe of the training-mode output. Not a forgotten eval()."""
        return self.mode is Mode.TRAIN and not self.trained_since and isinstance(self.origin, cst.Call) \
            and isinstance(self.origin.func, cst.Attribute) and self.origin.func.attr.value == "train"


UNKNOWN_SETTING = Setting(Mode.UNKNOWN)


def entry_setting(function: cst.FunctionDef) -> Setting:
    """The mode a function's parameter arrives in: whatever its caller left it in."""
    return Setting(Mode.UNKNOWN, function)


@dataclass(eq=False)
class Model:
    number: int
    name: str
    is_model: bool
    mode_free: bool = False  # proven to hold no Dropout/BatchNorm-like layer
    frozen: bool = False
    loaded: bool = False
    whole: int | None = None  # for `m` in `for m in model.modules()`: the model it is part of
    derived: bool = False  # an attribute taken for a sub-module only because its owner is a model
    # Built here with random weights and never loaded, trained or handed to code nnlint cannot see:
    # running it (a shape probe, a dry run) is not evaluating anything.
    fresh: bool = False
    owner: "Model | None" = None  # the model this one is an attribute of
    class_name: str | None = None  # a module class of this file it was built from

    @property
    def untrained(self) -> bool:
        return self.fresh and (self.owner is None or self.owner.untrained)

    def used(self) -> None:
        """Loaded, trained or handed on: no longer a freshly built network."""
        model: Model | None = self
        while model is not None:
            model.fresh = False
            model = model.owner


@dataclass(frozen=True)
class EvaluationCall:
    """A model called in evaluation code, with every setting that reaches the call."""

    call: cst.Call
    model: str
    context: str
    settings: frozenset[Setting]
    subject: Model
    owned: bool  # a module calling itself or its sub-modules: whoever runs the module decides its mode
    sampled: bool = False  # called again and again in a range() loop: Monte-Carlo sampling
    # Run on a random draw inside the loop that trains it (a GAN's samples from fixed noise after
    # each epoch): a progress snapshot, training goes on; no data is scored.
    training_snapshot: bool = False
    # The call hands the model to another file's function that evaluates it (`validate(model)`), there.
    elsewhere: Place | None = None


@dataclass(frozen=True)
class EvaluatedParameter:
    """A function that runs its parameter for evaluation in the mode its caller left it in: right
    for a caller that called eval(), wrong for one whose model is still training."""

    param: str
    context: str
    call: cst.Call


@dataclass(frozen=True)
class ForcedTrainingFlag:
    """A model or helper called in evaluation code with `is_training=True`-style flag."""

    call: cst.Call
    flag: str
    context: str


@dataclass(frozen=True)
class EvalLeftOn:
    """An eval() whose setting reaches a training step on a later iteration of its loop."""

    eval_call: cst.CSTNode
    model: str
    training_call: cst.Call


class _Path:
    """The state along one path: each model's possible settings, and what the names hold."""

    def __init__(self, settings: dict[int, frozenset[Setting]], env: dict[str, int], dead: bool = False) -> None:
        self.settings = settings
        self.env = env
        self.dead = dead

    def copy(self) -> "_Path":
        return _Path(dict(self.settings), dict(self.env), self.dead)

    def same_as(self, other: "_Path") -> bool:
        return self.dead == other.dead and self.settings == other.settings and self.env == other.env


@dataclass
class _Frame:
    """One function being run: the analysed one or a helper inlined into it."""

    function: cst.FunctionDef | None
    root: cst.FunctionDef | None
    outer: dict[str, int]
    local_names: frozenset[str]
    loops: tuple[cst.CSTNode, ...] = ()
    no_grad: str | None = None
    sampling: bool = False  # inside `for _ in range(n)` or a comprehension over range(): repeated draws
    evaluation: str | None = None
    owner_module: bool = False
    depth: int = 0
    active: tuple[cst.FunctionDef | None, ...] = ()
    record: bool = True
    # Inside a method of a model inlined from `model.predict(x)`: the call to report, the name the
    # caller uses for the model, and the method's own name for it.
    anchor: tuple[cst.Call, str, str] | None = None
    returns: list[tuple[_Path, int | None]] = field(default_factory=list)
    loop_jumps: list[tuple[list[_Path], list[_Path]]] = field(default_factory=list)
    # `was_training = model.training`: the flag's name -> the model and the settings it had then.
    saved_modes: dict[str, tuple[int, frozenset[Setting]]] = field(default_factory=dict)


class _OutOfBudget(Exception):
    pass


class ModeFacts:
    def __init__(self, module: cst.Module, dataflow: Dataflow, steps: TrainingSteps) -> None:
        self.module = module
        self.dataflow = dataflow
        self.names = dataflow.names
        self.steps = steps
        self.mode_free = ModeFreeModels(dataflow)
        self.evaluation_calls: dict[cst.Call, list[EvaluationCall]] = {}
        self.eval_left_on: dict[cst.CSTNode, EvalLeftOn] = {}
        self.forced_training_flags: dict[cst.Call, ForcedTrainingFlag] = {}
        # Functions analysed on their own -> the parameters they evaluate as their callers left them.
        self.evaluated_parameters: dict[cst.FunctionDef, dict[str, EvaluatedParameter]] = {}
        self._parameter_models: dict[int, tuple[cst.FunctionDef, str]] = {}
        self._events = {event.node: event for event in dataflow.calls() if not event.specialized}
        self._models: dict[int, Model] = {}
        self._numbers: dict[tuple, int] = {}
        self._counter = itertools.count()
        self._locals: dict[cst.FunctionDef | None, frozenset[str]] = {}
        self._relevance: dict[cst.FunctionDef | None, bool] = {}
        self._parents = enclosing_functions(module)
        self._budget = 0
        self._analyse_root(None, module.body)
        for node in dataflow.functions:
            self._analyse_root(node, block_statements(node.body))

    # ----------------------------------------------------------------- roots
    def _analyse_root(self, node: cst.FunctionDef | None, body: Sequence[cst.BaseStatement]) -> None:
        if not self._relevant(node):
            return
        info = self.dataflow.functions.get(node) if node is not None else None
        env: dict[str, int] = {}
        path = _Path({}, env)
        outer: dict[str, int] = {} if node is not None else env
        frame = _Frame(node, node, outer, self._local_names(node), active=(node,))
        if info is not None:
            frame.no_grad = self._no_grad_decorator(node)
            frame.evaluation = self._evaluation_name(info.name)
            owner = self.dataflow.class_of(info.class_name) if info.class_name else None
            frame.owner_module = owner is not None and owner.is_module
            for name in info.params:
                number = self._new_model(("param", node, name), name, is_model_name(name), entry_setting(node), path)
                self._parameter_models[number] = (node, name)
                self._bind(path, name, number)
        self._budget = BUDGET
        try:
            self._run_block(body, path, frame)
        except _OutOfBudget:
            pass

    def _relevant(self, function: cst.FunctionDef | None) -> bool:
        """The function, or a helper it calls, evaluates or switches modes: worth running."""
        if function in self._relevance:
            return self._relevance[function]
        self._relevance[function] = False  # recursion guard
        info = self.dataflow.functions.get(function) if function is not None else None
        relevant = info is not None and (is_evaluation_function(info.name) or any(
            d in NO_GRAD_CONTEXTS for d in info.decorators))
        callees = []
        for event in self.dataflow.function_events.get(function, []):
            if relevant:
                break
            if isinstance(event, CallEvent):
                relevant = event.method in MODE_EVENTS or event.qualname in NO_GRAD_CONTEXTS | SET_GRAD_ENABLED or (
                    self._evaluates_imported(event.qualname))
                callees.extend(v.origin for v in (event.callee, *event.args)
                               if v.kind is Kind.FUNCTION and isinstance(v.origin, cst.FunctionDef))
            relevant = relevant or any(isinstance(loop, cst.For) and self._iterates_evaluation_data(loop.iter)
                                       for loop in event.loops)
        relevant = relevant or any(self._relevant(callee) for callee in callees)
        self._relevance[function] = relevant
        return relevant

    def _evaluates_imported(self, qualname: str | None) -> bool:
        """A function of another file that evaluates a parameter in the mode its caller left it in."""
        symbol = self.dataflow.project.get(qualname) if qualname is not None else None
        return symbol is not None and bool(symbol.evaluated_parameters)

    def _local_names(self, node: cst.FunctionDef | None) -> frozenset[str]:
        if node not in self._locals:
            self._locals[node] = frozenset(_assigned_names(node)) if node is not None else frozenset()
        return self._locals[node]

    def _evaluation_name(self, name: str) -> str | None:
        return f"in {name}()" if is_evaluation_function(name) else None

    def _no_grad_decorator(self, node: cst.FunctionDef) -> str | None:
        for decorator in node.decorators:
            expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
            qualname = self.names.qualname(expr)
            if qualname in NO_GRAD_CONTEXTS:
                return f"under @{_torch_name(qualname)}()"
        return None

    # ----------------------------------------------------------------- models
    def _number(self, key: tuple) -> int:
        if key not in self._numbers:
            self._numbers[key] = next(self._counter)
        return self._numbers[key]

    def _new_model(self, key: tuple, name: str, is_model: bool, setting: Setting, path: _Path,
                   mode_free: bool = False) -> int:
        number = self._number(key)
        if number not in self._models:
            self._models[number] = Model(number, name, is_model, mode_free)
        path.settings[number] = frozenset({setting})
        return number

    def _lazy_model(self, key: tuple, name: str, path: _Path) -> int:
        return self._new_model(key, name, is_model_name(name), UNKNOWN_SETTING, path)

    def _bind(self, path: _Path, name: str, number: int | None) -> None:
        for key in [k for k in path.env if k.startswith(name + ".")]:
            del path.env[key]
        if number is None:
            path.env.pop(name, None)
        else:
            path.env[name] = number

    def _lookup(self, name: str, path: _Path, frame: _Frame, create: bool) -> int | None:
        """The model a (dotted) name holds; sub-modules start in their parent's settings."""
        if name in path.env:
            return path.env[name]
        root = name.split(".", 1)[0]
        scope = path.env if root in path.env or root in frame.local_names else frame.outer
        if name in scope:
            return scope[name]
        if "." in name:
            parent_name, attribute = name.rsplit(".", 1)
            parent = self._lookup(parent_name, path, frame, create=False)
            owner = self._models[parent] if parent is not None else None
            derived = owner is not None and owner.is_model and not owner.derived and _may_run_forward(attribute) \
                and not is_model_name(name)
            is_model = derived or (owner is not None and is_model_name(name) and _may_run_forward(attribute))
            if owner is not None and (is_model or create):
                mode_free = owner.mode_free or (owner.class_name is not None
                                                and self.mode_free.attribute(owner.class_name, attribute))
                number = self._new_model(("part", parent, name), name, is_model, UNKNOWN_SETTING, path,
                                         mode_free=mode_free)
                part = self._models[number]
                part.derived, part.owner, part.fresh = derived, owner, owner.fresh
                path.settings[number] = path.settings.get(parent, frozenset({UNKNOWN_SETTING}))
                scope[name] = number
                return number
        if not create and not is_model_name(name):
            return None
        number = self._lazy_model(("lazy", frame.root, name), name, path)
        scope[name] = number
        return number

    def _set(self, number: int, setting: Setting, path: _Path) -> None:
        """Put a model (and its sub-modules) in a mode; a part of a model leaves the whole unknown."""
        model = self._models[number]
        path.settings[number] = frozenset({setting})
        model.is_model = True
        if model.whole is not None:
            path.settings[model.whole] = frozenset({UNKNOWN_SETTING})
        names = [name for name, other in path.env.items() if other == number]
        for key, other in path.env.items():
            if other != number and any(key.startswith(name + ".") for name in names):
                path.settings[other] = frozenset({setting})
        for other in list(path.settings):
            if other != number and self._part_of(other, model):
                path.settings[other] = frozenset({setting})
        for name in names:
            if "." in name:
                parent_name, attribute = name.rsplit(".", 1)
                parent = path.env.get(parent_name)
                if parent is not None and parent != number:
                    path.settings[parent] = frozenset({setting if attribute in UNWRAP_ATTRIBUTES else UNKNOWN_SETTING})

    def _restore(self, number: int, saved: frozenset[Setting], path: _Path) -> None:
        """Put a model, and its sub-modules, back in the settings it had when they were saved."""
        model = self._models[number]
        names = [name for name, other in path.env.items() if other == number]
        path.settings[number] = saved
        for other in list(path.settings):
            if self._part_of(other, model):
                path.settings[other] = saved
        for key, other in path.env.items():
            if any(key.startswith(name + ".") for name in names):
                path.settings[other] = saved

    def _part_of(self, number: int, whole: Model) -> bool:
        """A sub-module or method taken from `whole`, however far down, that no code set on its own."""
        owner = self._models[number].owner
        while owner is not None:
            if owner is whole:
                return True
            owner = owner.owner
        return False

    def _trained(self, number: int, path: _Path) -> None:
        """The model trains here: none of its current settings is a deliberate probe any more."""
        whole = self._models[number]
        for other in [number, *(n for n in path.settings if self._part_of(n, whole))]:
            values = path.settings.get(other)
            if values and any(not s.trained_since for s in values):
                path.settings[other] = frozenset(replace(s, trained_since=True) for s in values)

    # ----------------------------------------------------------------- joins
    def _join(self, paths: Sequence[_Path]) -> _Path:
        live = [p for p in paths if not p.dead]
        if not live:
            return _Path({}, dict(paths[0].env) if paths else {}, dead=True)
        if len(live) == 1:
            return live[0].copy()
        settings = dict(live[0].settings)
        for path in live[1:]:
            if path.settings == settings:
                continue
            for number, values in path.settings.items():
                current = settings.get(number)
                settings[number] = values if current is None else current | values
        if all(p.env == live[0].env for p in live[1:]):
            return _Path(settings, dict(live[0].env))
        env: dict[str, int] = {}
        for name in set().union(*(p.env for p in live)):
            numbers = {p.env[name] for p in live if name in p.env}
            if len(numbers) == 1:
                env[name] = numbers.pop()
                continue
            env[name] = self._merge(name, numbers, settings)
        return _Path(settings, env)

    def _merge(self, name: str, numbers: set[int], settings: dict[int, frozenset[Setting]]) -> int:
        """One model standing for whichever of several models a name holds after paths meet."""
        merged = self._number(("join", name, frozenset(numbers)))
        if merged not in self._models:
            parts = [self._models[n] for n in numbers]
            classes = {m.class_name for m in parts}
            self._models[merged] = Model(merged, name, any(m.is_model for m in parts),
                                         all(m.mode_free for m in parts), any(m.frozen for m in parts),
                                         any(m.loaded for m in parts),
                                         class_name=classes.pop() if len(classes) == 1 else None)
        settings[merged] = frozenset().union(*(settings.get(n, frozenset()) for n in numbers))
        return merged

    @staticmethod
    def _carry(path: _Path, loop: cst.CSTNode) -> _Path:
        """The state that goes round the back edge: settings made in the loop are now carried."""
        carried = path.copy()
        for number, values in path.settings.items():
            carried.settings[number] = frozenset(
                replace(s, carried=True) if loop in s.loops and not s.carried else s for s in values)
        return carried

    # ----------------------------------------------------------------- statements
    def _run_block(self, body: Sequence[cst.BaseStatement], path: _Path, frame: _Frame) -> _Path:
        for statement in body:
            if path.dead:
                break
            path = self._run_statement(statement, path, frame)
        return path

    def _run_statement(self, statement: cst.BaseStatement, path: _Path, frame: _Frame) -> _Path:
        self._budget -= 1
        if self._budget < 0:
            raise _OutOfBudget
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if path.dead:
                    break
                path = self._run_small(small, path, frame)
            return path
        if isinstance(statement, cst.If):
            self._eval(statement.test, path, frame)
            taken = self._run_block(block_statements(statement.body), path.copy(), frame)
            orelse = statement.orelse
            other = path.copy()
            if isinstance(orelse, cst.If):
                other = self._run_statement(orelse, other, frame)
            elif orelse is not None:
                other = self._run_block(block_statements(orelse.body), other, frame)
            self._restore_on_saved_flag(statement.test, taken, other, frame)
            return self._join([taken, other])
        if isinstance(statement, (cst.For, cst.While)):
            return self._run_loop(statement, path, frame)
        if isinstance(statement, cst.With):
            return self._run_with(statement, path, frame)
        if isinstance(statement, (cst.Try, cst.TryStar)):
            entry = path.copy()
            body = self._run_block(block_statements(statement.body), path, frame)
            handlers = [self._run_block(block_statements(h.body), self._join([entry, body]), frame)
                        for h in statement.handlers]
            if statement.orelse is not None:
                body = self._run_block(block_statements(statement.orelse.body), body, frame)
            result = self._join([body, *handlers])
            if statement.finalbody is not None and not result.dead:
                result = self._run_block(block_statements(statement.finalbody.body), result, frame)
            return result
        if isinstance(statement, cst.Match):
            self._eval(statement.subject, path, frame)
            cases = [self._run_block(block_statements(case.body), path.copy(), frame) for case in statement.cases]
            return self._join([path, *cases])
        return path

    def _run_small(self, small: cst.BaseSmallStatement, path: _Path, frame: _Frame) -> _Path:
        if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            if isinstance(small, cst.Assign):
                self._save_mode(small, path, frame)
            value = self._eval(small.value, path, frame) if small.value is not None else None
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            for target in targets:
                self._assign(target, small.value, value, path, frame)
        elif isinstance(small, cst.Expr):
            self._eval(small.value, path, frame)
        elif isinstance(small, cst.Return):
            value = self._eval(small.value, path, frame) if small.value is not None else None
            frame.returns.append((path.copy(), value))
            path.dead = True
        elif isinstance(small, cst.Raise):
            path.dead = True
        elif isinstance(small, (cst.Break, cst.Continue)) and frame.loop_jumps:
            continues, breaks = frame.loop_jumps[-1]
            (breaks if isinstance(small, cst.Break) else continues).append(path.copy())
            path.dead = True
        else:
            for child in expressions_in(small):
                self._eval(child, path, frame)
        return path

    def _restore_on_saved_flag(self, test: cst.BaseExpression, taken: _Path, other: _Path, frame: _Frame) -> None:
        """`if was_training: model.train()` with `was_training = model.training` saved before an
        eval(): where the flag is false the model was not training when it was saved, and is left
        in that mode; so the path that skips train() is the model back in its saved mode."""
        negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
        flag = dotted_name(test.expression if negated else test)
        if flag not in frame.saved_modes:
            return
        number, saved = frame.saved_modes[flag]
        training, skipped = (other, taken) if negated else (taken, other)
        if not training.dead and all(s.mode is Mode.TRAIN for s in training.settings.get(number, ())):
            self._restore(number, saved, skipped)

    def _save_mode(self, small: cst.Assign, path: _Path, frame: _Frame) -> None:
        """`was_training = model.training`: remember the model's settings under the flag's name."""
        value = small.value
        target = small.targets[0].target if len(small.targets) == 1 else None
        name = dotted_name(target) if target is not None else None
        if name is None or not isinstance(value, cst.Attribute) or value.attr.value != "training":
            return
        number = self._peek(value.value, path, frame)
        if number is None:
            frame.saved_modes.pop(name, None)
        else:
            frame.saved_modes[name] = (number, path.settings.get(number, frozenset({UNKNOWN_SETTING})))

    def _assign(self, target: cst.BaseExpression, value_expr: cst.BaseExpression | None, value: int | None,
                path: _Path, frame: _Frame) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            items = self._unpacked(value_expr, len(target.elements), path, frame)
            for element, item in zip(target.elements, items):
                self._assign(element.value, None, item, path, frame)
            return
        name = dotted_name(target)
        if name is not None:
            self._bind(path, name, value)

    def _unpacked(self, value_expr: cst.BaseExpression | None, count: int, path: _Path,
                  frame: _Frame) -> list[int | None]:
        """`model, optimizer = accelerator.prepare(model, optimizer)` hands back what it was given."""
        if isinstance(value_expr, cst.Call) and isinstance(value_expr.func, cst.Attribute) and \
                value_expr.func.attr.value in WRAPPER_METHODS:
            items = [self._peek(arg.value, path, frame) for arg in positional_args(value_expr)]
            if len(items) == count:
                return items
        return [None] * count

    def _peek(self, expr: cst.BaseExpression, path: _Path, frame: _Frame) -> int | None:
        name = dotted_name(expr)
        return self._lookup(name, path, frame, create=False) if name is not None else None

    # ----------------------------------------------------------------- loops and with
    def _run_loop(self, loop: cst.For | cst.While, path: _Path, frame: _Frame) -> _Path:
        iterated = None
        if isinstance(loop, cst.For):
            iterated = self._eval(loop.iter, path, frame)
        else:
            self._eval(loop.test, path, frame)
        over_evaluation_data = isinstance(loop, cst.For) and self._iterates_evaluation_data(loop.iter) \
            and not self.steps.steps_each_iteration(loop)
        entry = path.copy()
        head = entry
        recording = frame.record
        frame.record = False
        for _ in range(LOOP_PASSES):
            end, continues, _ = self._loop_pass(loop, head.copy(), frame, iterated, over_evaluation_data)
            new_head = self._join([entry, self._carry(self._join([end, *continues]), loop)])
            if new_head.same_as(head):
                break
            head = new_head
        frame.record = recording
        end, continues, breaks = self._loop_pass(loop, head.copy(), frame, iterated, over_evaluation_data)
        exit_path = head.copy()
        if loop.orelse is not None:
            exit_path = self._run_block(block_statements(loop.orelse.body), exit_path, frame)
        return self._join([exit_path, *breaks])

    def _loop_pass(self, loop: cst.For | cst.While, path: _Path, frame: _Frame, iterated: int | None,
                   over_evaluation_data: bool) -> tuple[_Path, list[_Path], list[_Path]]:
        saved = (frame.loops, frame.evaluation)
        frame.loops = frame.loops + (loop,)
        if over_evaluation_data and frame.evaluation is None and isinstance(loop, cst.For):
            frame.evaluation = f"in the loop over {_code_name(loop.iter)}"
        if isinstance(loop, cst.For):
            whole = iterated if iterated is not None and self._models[iterated].whole is not None else None
            for name in target_names(loop.target):
                self._bind(path, name, whole)
        frame.loop_jumps.append(([], []))
        sampling = frame.sampling
        frame.sampling = sampling or (isinstance(loop, cst.For) and _is_range(loop.iter))
        end = self._run_block(block_statements(loop.body), path, frame)
        frame.sampling = sampling
        continues, breaks = frame.loop_jumps.pop()
        frame.loops, frame.evaluation = saved
        return end, continues, breaks

    def _iterates_evaluation_data(self, expr: cst.BaseExpression) -> bool:
        while isinstance(expr, cst.Call) and expr.args:
            expr = expr.args[0].value  # tqdm(val_loader), enumerate(test_loader)
        name = dotted_name(expr)
        return name is not None and is_evaluation_data(name)

    def _run_with(self, statement: cst.With, path: _Path, frame: _Frame) -> _Path:
        saved_no_grad = frame.no_grad
        restore: dict[int, frozenset[Setting]] = {}
        for item in statement.items:
            evaluated = self._eval_mode_context(item.item, path, frame)
            for number in evaluated:
                restore.setdefault(number, path.settings.get(number, frozenset({UNKNOWN_SETTING})))
            self._eval(item.item, path, frame)
            no_grad = self._grad_disabled(item.item)
            if no_grad is not None and frame.no_grad is None:
                frame.no_grad = no_grad
            for number in evaluated:
                path.settings[number] = frozenset({Setting(Mode.EVAL, item.item, frame.loops)})
            if item.asname is not None:
                for name in target_names(item.asname.name):
                    self._bind(path, name, None)
        path = self._run_block(block_statements(statement.body), path, frame)
        frame.no_grad = saved_no_grad
        path.settings.update(restore)
        return path

    def _grad_disabled(self, expr: cst.BaseExpression) -> str | None:
        call = expr if isinstance(expr, cst.Call) else None
        qualname = self.names.qualname(call.func if call is not None else expr)
        if qualname in NO_GRAD_CONTEXTS:
            mode = call.args[0].value if call is not None and call.args else None
            if isinstance(mode, cst.Name) and mode.value == "False":
                return None
            return f"under {_torch_name(qualname)}()"
        if qualname in SET_GRAD_ENABLED and call is not None and call.args:
            mode = call.args[0].value
            if isinstance(mode, cst.Name) and mode.value == "False":
                return "under torch.set_grad_enabled(False)"
        return None

    def _eval_mode_context(self, expr: cst.BaseExpression, path: _Path, frame: _Frame) -> list[int]:
        """Models a context manager puts in eval mode for its body: `with eval_mode(model):`."""
        if not isinstance(expr, cst.Call):
            return []
        name = dotted_name(expr.func) or ""
        event = self._events.get(expr)
        helper = event.callee.origin if event is not None and event.callee.kind is Kind.FUNCTION else None
        evals = "eval" in words(name.rsplit(".", 1)[-1]) or (
            isinstance(helper, cst.FunctionDef) and any(
                isinstance(e, CallEvent) and e.method == "eval" for e in self.dataflow.function_events.get(helper, [])))
        if not evals:
            return []
        models = [self._peek(arg.value, path, frame) for arg in expr.args]
        return [number for number in models if number is not None]

    # ----------------------------------------------------------------- expressions
    def _eval(self, expr: cst.BaseExpression | None, path: _Path, frame: _Frame) -> int | None:
        """Run an expression's calls in order; the model it evaluates to, if any."""
        if expr is None or path.dead:
            return None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            name = dotted_name(expr)
            if name is not None:
                return self._lookup(name, path, frame, create=False) if self.names.qualname(expr) is None else None
            self._eval(expr.value, path, frame) if isinstance(expr, cst.Attribute) else None
            return None
        if isinstance(expr, cst.Call):
            return self._call(expr, path, frame)
        if isinstance(expr, cst.IfExp):
            self._eval(expr.test, path, frame)
            body, orelse = path.copy(), path.copy()
            first, second = self._eval(expr.body, body, frame), self._eval(expr.orelse, orelse, frame)
            joined = self._join([body, orelse])
            path.settings, path.env = joined.settings, joined.env
            return first if first == second else None
        if isinstance(expr, cst.Lambda):
            return None
        sampling = frame.sampling
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)) and _is_range(expr.for_in.iter):
            frame.sampling = True
        for child in expressions_in(expr):
            self._eval(child, path, frame)
        frame.sampling = sampling
        return None

    def _call(self, call: cst.Call, path: _Path, frame: _Frame) -> int | None:
        func = call.func
        event = self._events.get(call)
        qualname = self.names.qualname(func)
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        callee_name = dotted_name(func)
        receiver = None
        if isinstance(func, cst.Attribute) and qualname is None:
            receiver = self._eval(func.value, path, frame)
        elif not isinstance(func, (cst.Name, cst.Attribute)):
            self._eval(func, path, frame)
        args = [self._eval(arg.value, path, frame) for arg in call.args]
        if path.dead:
            return None
        if qualname is not None:
            return self._library_call(call, qualname, args, path, frame)
        helper = event.callee.origin if event is not None and event.callee.kind is Kind.FUNCTION else None
        if receiver is not None and method is not None and not isinstance(helper, cst.FunctionDef):
            handled, result = self._model_method(call, receiver, method, path, frame)
            if handled:
                return result
        if isinstance(helper, cst.FunctionDef):
            self._check_training_flag(call, frame, self.dataflow.functions[helper].params
                                      if helper in self.dataflow.functions else ())
            return self._inline(call, helper, receiver, path, frame)
        if (method or callee_name or "").rsplit(".", 1)[-1] in WRAPPER_METHODS and args:
            return args[0]
        if event is not None and event.callee.kind is Kind.CLASS:
            return self._construct(call, event.callee.class_name, path)
        if method in CHECKPOINT_CONSTRUCTORS and isinstance(func, cst.Attribute):
            restored = self._construct(call, dotted_name(func.value) or "", path)
            if restored is not None:
                self._models[restored].used()
                return restored
        called = self._lookup(callee_name, path, frame, create=False) if callee_name is not None else None
        if called is not None and self._models[called].is_model:
            self._model_call(call, called, callee_name or "", path, frame)
            return None
        self._unknown_call(callee_name, args, path)
        return None

    def _library_call(self, call: cst.Call, qualname: str, args: list[int | None], path: _Path,
                      frame: _Frame) -> int | None:
        last = qualname.rsplit(".", 1)[-1]
        first = args[0] if args else None
        if qualname in WRAPPERS or last in WRAPPER_METHODS:
            return first
        if (qualname in MODEL_COPIES or qualname.startswith(EVAL_COPY_PREFIXES)) and first is not None:
            number = self._new_model(("copy", call), self._models[first].name, self._models[first].is_model,
                                     UNKNOWN_SETTING, path, self._models[first].mode_free)
            path.settings[number] = path.settings.get(first, frozenset({UNKNOWN_SETTING}))
            if qualname.startswith(EVAL_COPY_PREFIXES):
                path.settings[number] = frozenset({Setting(Mode.EVAL, call, frame.loops)})
            return number
        if last in PRETRAINED_LOADERS:
            return self._new_model(("new", call), last, True, Setting(Mode.EVAL, call, frame.loops), path)
        if qualname.startswith(MODEL_FACTORY_PREFIXES) and qualname.rsplit(".", 1)[-1][:1].islower():
            return self._built(call, last, self._new_model(
                ("new", call), last, True, Setting(Mode.TRAIN, call, frame.loops), path))
        if torch_api.is_torch_module_class(qualname):
            return self._built(call, last, self._new_model(
                ("new", call), last, True, Setting(Mode.TRAIN, call, frame.loops), path,
                mode_free=self.mode_free.layer(call, qualname)))
        self._imported_evaluation(call, qualname, args, path, frame)
        self._unknown_call(qualname, args, path)
        return None

    def _imported_evaluation(self, call: cst.Call, qualname: str, args: list[int | None], path: _Path,
                             frame: _Frame) -> None:
        """A function of another file that evaluates a parameter in the mode it arrives in (from its
        summary): the call that passes a model still training is where the evaluation goes wrong."""
        if not self._evaluates_imported(qualname) or not frame.record or self._in_training_step(frame):
            return
        symbol = self.dataflow.project[qualname]
        numbers = dict(zip((id(arg) for arg in call.args), args))
        for param, position, context, span in symbol.evaluated_parameters:
            passed = passed_arg(call, param, position)
            number = numbers.get(id(passed)) if passed is not None else None
            if number is None or not self._models[number].is_model:
                continue
            model = self._models[number]
            settings = path.settings.get(number, frozenset({UNKNOWN_SETTING}))
            inside = f"in {qualname}()" if context.startswith("in ") else f"{context} in {qualname}()"
            place = symbol.place(span)
            self.evaluation_calls.setdefault(call, []).append(
                EvaluationCall(call, source_code(passed.value), f"{inside} ({place.line_text})", settings, model,
                               owned=False, elsewhere=place))

    def _construct(self, call: cst.Call, class_name: str, path: _Path) -> int | None:
        info = self.dataflow.class_of(class_name)
        event = self._events.get(call)
        if info is None or not info.is_module or (event is not None and event.result.kind is Kind.LOSS_FN):
            return None
        number = self._built(call, class_name, self._new_model(
            ("new", call), class_name, True, Setting(Mode.TRAIN, call), path,
            mode_free=self.mode_free.module_class(class_name)))
        self._models[number].class_name = class_name
        return number

    def _built(self, call: cst.Call, name: str, number: int) -> int:
        """A model just constructed: fresh unless it comes with pretrained weights."""
        self._models[number].fresh = not any(
            arg.keyword is not None and arg.keyword.value in PRETRAINED_ARGUMENTS for arg in call.args)
        return number

    def _unknown_call(self, name: str | None, args: list[int | None], path: _Path) -> None:
        """A call nnlint cannot see into may train the models it gets, and if its name speaks of
        modes, leaves them in a mode nnlint cannot know."""
        if name in INSPECTING_CALLS:
            return
        switches = name is not None and bool(MODE_WORDS & set(words(name.rsplit(".", 1)[-1])))
        for number in args:
            if number is not None:
                self._models[number].used()
                self._trained(number, path)
                if switches:
                    path.settings[number] = frozenset({UNKNOWN_SETTING})

    def _model_method(self, call: cst.Call, receiver: int, method: str, path: _Path,
                      frame: _Frame) -> tuple[bool, int | None]:
        model = self._models[receiver]
        if method == "eval":
            self._set(receiver, Setting(Mode.EVAL, call, frame.loops), path)
            return True, receiver
        if method == "train":
            saved = frame.saved_modes.get(_flag_argument(call) or "")
            if saved is not None and saved[0] == receiver:  # `model.train(was_training)`: the saved mode back
                self._restore(receiver, saved[1], path)
            else:
                self._set(receiver, Setting(_train_argument(call), call, frame.loops), path)
            model.used()
            return True, receiver
        if method == "requires_grad_":
            flag = call.args[0].value if call.args else None
            model.frozen |= isinstance(flag, cst.Name) and flag.value == "False"
            return True, receiver
        if method in SAME_MODEL_METHODS:
            return True, receiver
        if method == "load_state_dict":
            model.loaded = True
            model.used()
            return True, None
        if method in SUBMODULE_ITERATORS:
            part = self._new_model(("part-of", receiver), f"{model.name}.{method}()", True, UNKNOWN_SETTING, path)
            self._models[part].whole = receiver
            return True, part
        if method == "apply":
            path.settings[receiver] = frozenset({UNKNOWN_SETTING})
            return True, receiver
        if method == "forward" and model.is_model:
            self._model_call(call, receiver, source_code(call.func.value), path, frame)
            return True, None
        if model.is_model and MODE_WORDS & set(words(method)):
            path.settings[receiver] = frozenset({UNKNOWN_SETTING})
            return True, None
        return False, None

    # ----------------------------------------------------------------- helpers
    def _inline(self, call: cst.Call, helper: cst.FunctionDef, receiver: int | None, path: _Path,
                frame: _Frame) -> int | None:
        info = self.dataflow.functions.get(helper)
        if info is None or frame.depth >= MAX_INLINE_DEPTH or helper in frame.active:
            self._unknown_call(dotted_name(call.func), [self._peek(a.value, path, frame) for a in call.args], path)
            return None
        env: dict[str, int] = {}
        params = list(info.params)
        receiver_name = dotted_name(call.func.value) if isinstance(call.func, cst.Attribute) else None
        anchor = frame.anchor
        self_name = None
        if info.class_name is not None and isinstance(call.func, cst.Attribute) and params:
            self_name = params.pop(0)
            if receiver is not None:
                env[self_name] = receiver
                if anchor is None and self._models[receiver].is_model:
                    anchor = (call, source_code(call.func.value), self_name)
            if receiver_name is not None:
                _map_attributes(path.env, receiver_name, env, self_name)
        for param, arg in zip(params, positional_args(call)):
            self._pass(arg.value, param, path, frame, env)
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in params:
                self._pass(arg.value, arg.keyword.value, path, frame, env)
        nested = self._parents.get(helper) is frame.function and frame.function is not None
        callee = _Frame(
            helper, frame.root, path.env if nested else frame.outer, self._local_names(helper),
            loops=frame.loops, no_grad=frame.no_grad or self._no_grad_decorator(helper),
            evaluation=frame.evaluation or self._evaluation_name(info.name), depth=frame.depth + 1,
            active=frame.active + (helper,), record=frame.record, anchor=anchor,
        )
        end = self._run_block(block_statements(helper.body), _Path(path.settings, env), callee)
        exits = [end, *(p for p, _ in callee.returns)]
        joined = self._join(exits)
        if joined.dead:
            path.dead = not any(not p.dead for p in exits)
            return None
        path.settings = joined.settings
        if self_name is not None and receiver_name is not None:
            _map_attributes(joined.env, self_name, path.env, receiver_name)
        returned = {value for p, value in callee.returns if not p.dead}
        if None in returned or not returned:
            return None
        return returned.pop() if len(returned) == 1 else self._merge(helper.name.value, returned, path.settings)

    def _pass(self, expr: cst.BaseExpression, param: str, path: _Path, frame: _Frame, env: dict[str, int]) -> None:
        number = self._peek(expr, path, frame)
        if number is not None:
            env[param] = number
        name = dotted_name(expr)
        if name is not None:
            _map_attributes(path.env, name, env, param)

    # ----------------------------------------------------------------- model calls
    def _model_call(self, call: cst.Call, number: int, name: str, path: _Path, frame: _Frame) -> None:
        model = self._models[number]
        training_step = self._in_training_step(frame)
        if training_step:
            self._trained(number, path)
        if not frame.record:
            return
        owned = frame.owner_module and frame.depth == 0 and (name == "self" or name.startswith("self."))
        if frame.anchor is not None and (name == frame.anchor[2] or name.startswith(frame.anchor[2] + ".")):
            call, name = frame.anchor[0], frame.anchor[1]  # report where the caller runs its model
        settings = path.settings.get(number, frozenset({UNKNOWN_SETTING}))
        context = None if training_step else self._evaluation_context(model, frame)
        if context is not None:
            snapshot = bool(frame.loops) and self._runs_on_random_draw(call) and self.steps.trains(frame.root)
            entry = EvaluationCall(call, name, context, settings, model, owned, frame.sampling, snapshot)
            self.evaluation_calls.setdefault(call, []).append(entry)
            if frame.anchor is None and not owned and not snapshot and not frame.sampling:
                self._record_evaluated_parameter(model, settings, context, call, frame)
            self._check_training_flag(call, frame, TRAINING_FLAGS)
        elif training_step:
            model.used()
        if training_step and frame.no_grad is None and not model.frozen and not model.mode_free \
                and not is_frozen_model_name(name):
            for setting in settings:
                if setting.mode is Mode.EVAL and setting.carried and isinstance(setting.origin, cst.Call):
                    switched = source_code(setting.origin.func.value) if isinstance(setting.origin.func, cst.Attribute) \
                        else name
                    self.eval_left_on.setdefault(setting.origin, EvalLeftOn(setting.origin, switched, call))

    def _record_evaluated_parameter(self, model: Model, settings: frozenset[Setting], context: str, call: cst.Call,
                                    frame: _Frame) -> None:
        """A parameter of the analysed function (or a part of one) evaluated in the mode it arrived in."""
        whole: Model | None = model
        while whole is not None and whole.number not in self._parameter_models:
            whole = whole.owner
        if whole is None or model.mode_free:
            return
        function, param = self._parameter_models[whole.number]
        if function is frame.root and all(s.mode is Mode.UNKNOWN and s.origin is function for s in settings):
            found = self.evaluated_parameters.setdefault(function, {})
            found.setdefault(param, EvaluatedParameter(param, context, call))

    def _runs_on_random_draw(self, call: cst.Call) -> bool:
        """`netG(fixed_noise)`, `net(torch.randn(2, 3, 32, 32))`: the input is drawn at random."""
        args = positional_args(call)
        return bool(args) and self._drawn_at_random(args[0].value)

    def _drawn_at_random(self, expr: cst.BaseExpression) -> bool:
        expr = self._unmoved(expr)
        return self._is_random_draw(expr) or (isinstance(expr, cst.Name) and expr.value in self._random_draw_names)

    def _unmoved(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """`fixed_noise.to(device)` is `fixed_noise`."""
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) \
                and self.names.qualname(expr.func) is None and expr.func.attr.value in SAME_TENSOR_METHODS:
            expr = expr.func.value
        return expr

    def _is_random_draw(self, expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Call) and self.names.qualname(expr.func) in RANDOM_DRAWS

    @cached_property
    def _random_draw_names(self) -> frozenset[str]:
        """Names bound only to random draws anywhere in the file (`fixed_noise = torch.randn(...)`)."""
        bound: dict[str, bool] = {}
        for statement in walk_statements(self.module.body):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name):
                    name = small.targets[0].target.value
                    drawn = self._is_random_draw(self._unmoved(small.value))
                    bound[name] = bound.get(name, True) and drawn
        return frozenset(name for name, drawn in bound.items() if drawn)

    def _check_training_flag(self, call: cst.Call, frame: _Frame, accepted: Sequence[str]) -> None:
        if not frame.record or self._in_training_step(frame):
            return
        context = frame.no_grad or frame.evaluation
        if context is None:
            return
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in TRAINING_FLAGS and arg.keyword.value in accepted \
                    and isinstance(arg.value, cst.Name) and arg.value.value == "True":
                self.forced_training_flags.setdefault(call, ForcedTrainingFlag(call, arg.keyword.value, context))

    def _evaluation_context(self, model: Model, frame: _Frame) -> str | None:
        if frame.no_grad is not None:
            return frame.no_grad
        if frame.evaluation is not None:
            return frame.evaluation
        if model.loaded and not self.steps.trains(frame.root):
            return "after load_state_dict() in code that never trains"
        return None

    def _in_training_step(self, frame: _Frame) -> bool:
        return bool(frame.loops) and self.steps.steps_each_iteration(frame.loops[-1])


def _may_run_forward(attribute: str) -> bool:
    """`model.encoder`, `model.generate`: a sub-module or a method that runs the network;
    not `model.state_dict`, `model.get_input_embeddings` and the rest of the Module API."""
    return attribute not in MODULE_API and not attribute.startswith(NON_FORWARD_PREFIXES) \
        and not attribute.endswith("_")  # in-place tensor methods: copy_, zero_


def _is_range(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "range"


def _train_argument(call: cst.Call) -> Mode:
    arg = keyword_arg(call, "mode") or (positional_args(call)[0] if positional_args(call) else None)
    if arg is None:
        return Mode.TRAIN
    if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
        return Mode.TRAIN if arg.value.value == "True" else Mode.EVAL
    return Mode.UNKNOWN


def _flag_argument(call: cst.Call) -> str | None:
    """`was_training` in `model.train(was_training)` or `model.train(mode=was_training)`."""
    arg = keyword_arg(call, "mode") or (positional_args(call)[0] if positional_args(call) else None)
    return dotted_name(arg.value) if arg is not None else None


def _map_attributes(source: dict[str, int], prefix: str, target: dict[str, int], new_prefix: str) -> None:
    """Copy `prefix.x` entries of one scope into another as `new_prefix.x`."""
    for key, number in list(source.items()):
        if key.startswith(prefix + "."):
            target[new_prefix + key[len(prefix):]] = number


def _assigned_names(node: cst.FunctionDef) -> set[str]:
    """Names the function binds itself (its locals, in Python's scoping)."""
    params = node.params
    found = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    return found | set(bound_names(block_statements(node.body)))


def _torch_name(qualname: str) -> str:
    return "torch." + qualname.rsplit(".", 1)[-1]


def _code_name(expr: cst.BaseExpression) -> str:
    while isinstance(expr, cst.Call) and expr.args:
        expr = expr.args[0].value
    return dotted_name(expr) or "the evaluation data"
