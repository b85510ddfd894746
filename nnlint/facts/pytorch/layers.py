"""Layers: which calls build a layer (Conv2d, Linear, BatchNorm2d, a user class or factory),
whether a Conv/Linear keeps its bias, and which layer feeds straight into which.

Order comes from where real code states it: `nn.Sequential(...)` arguments (an OrderedDict
too), list and tuple displays, successive `layers.append(...)` / `self.add_module(...)`,
a `super().__init__(...)` of an nn.Sequential subclass, `forward` calls (`self.bn(self.conv(x))`,
or over two statements), and builders driven by a mode string (`conv(64, 64, mode='CBR')`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property
from typing import Iterator

import libcst as cst

from nnlint.facts.pytorch import torch_api
from nnlint.facts.core.defuse import DefUse, exclusive
from nnlint.facts.pytorch.modules import AttributeStore, CallSite, ClassFacts, ModuleFacts
from nnlint.facts.core.names import ImportTable
from nnlint.facts.core.syntax import block_statements, dotted_name, keyword_arg, positional_args, string_value, sub_nodes

CONV = "conv"
LINEAR = "linear"
BATCH_NORM = "batch norm"
INSTANCE_NORM = "instance norm"

_DIMS = ("1d", "2d", "3d")
FAMILIES: dict[str, str] = {
    **{f"{prefix}{kind}{dim}": CONV for prefix in ("", "Lazy") for kind in ("Conv", "ConvTranspose") for dim in _DIMS},
    "Linear": LINEAR, "LazyLinear": LINEAR,
    **{f"{prefix}BatchNorm{dim}": BATCH_NORM for prefix in ("", "Lazy") for dim in _DIMS},
    "SyncBatchNorm": BATCH_NORM,
    **{f"{prefix}InstanceNorm{dim}": INSTANCE_NORM for prefix in ("", "Lazy") for dim in _DIMS},
}
# Where `bias` sits among the positional parameters of each torch layer.
BIAS_POSITIONS = {LINEAR: 2, CONV: 7}
LAZY_BIAS_POSITIONS = {LINEAR: 1, CONV: 6}
# Layers without parameters, buffers or a train/eval behaviour.
STATELESS_LAYERS = frozenset({
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus", "Softsign", "Tanhshrink", "Softmax", "LogSoftmax",
    "Identity", "Flatten", "Unflatten", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample", "PixelShuffle", "PixelUnshuffle",
})
PARAMETER_FREE_LAYERS = STATELESS_LAYERS | {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                            "FeatureAlphaDropout"}
NON_MODULE_CLASSES = frozenset({"Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer",
                                "PackedSequence"})
SEQUENTIAL_NAMES = frozenset({"Sequential", "sequential"})
ADDING_METHODS = frozenset({"append", "extend", "add_module", "register_module"})
FACTORY_SUFFIXES = ("_layer", "_cls", "_module", "Layer")


class Bias(Enum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


@dataclass(frozen=True, eq=False)
class Layer:
    """A call that builds a layer. `bias_via` names the parameter whose default turns bias on."""

    node: cst.Call
    family: str
    name: str
    bias: Bias = Bias.UNKNOWN
    bias_via: str = ""


@dataclass(frozen=True, eq=False)
class Adjacency:
    """`first`'s output goes straight into `second`; `reported_at` is where `first` is built."""

    first: Layer
    second: Layer
    reported_at: cst.CSTNode
    where: str


class LayerFacts:
    def __init__(self, names: ImportTable, modules: ModuleFacts, defuse: DefUse) -> None:
        self.names = names
        self.modules = modules
        self.defuse = defuse
        self._calls_by_function: dict[cst.FunctionDef | None, list[CallSite]] = {}
        for site in modules.calls:
            self._calls_by_function.setdefault(site.function, []).append(site)

    # ------------------------------------------------------------------ recognizing layers
    def layer(self, call: cst.Call, arguments: dict[str, cst.BaseExpression] | None = None) -> Layer | None:
        """The layer `call` builds, if it is a Conv/Linear/norm layer nnlint knows."""
        func = call.func
        qualname = self.names.qualname(func)
        name = (qualname or dotted_name(func) or "").rsplit(".", 1)[-1]
        local = self.modules.class_of(name) if qualname is None or not qualname.startswith("torch.") else None
        family = FAMILIES.get(name)
        signature: cst.Parameters | None = None
        if local is not None:
            family = family or self._family_of_class(local)
            init = local.methods.get("__init__")
            signature = init.params if init is not None else None
        elif family is None and isinstance(func, cst.Name):
            family, name = self._factory_default(func)
        if family is None:
            return None
        if family not in (CONV, LINEAR):
            return Layer(call, family, name)
        bias, via = self._bias(call, family, name, signature, arguments or {})
        return Layer(call, family, name, bias, via)

    def _family_of_class(self, info: ClassFacts) -> str | None:
        """The torch layer family a class of this file derives from (`class WSConv2d(nn.Conv2d)`)."""
        for ancestor in [info, *self._ancestors(info)]:
            for base in ancestor.bases:
                family = FAMILIES.get(base.rsplit(".", 1)[-1])
                if family is not None:
                    return family
        return None

    def _ancestors(self, info: ClassFacts) -> list[ClassFacts]:
        found: list[ClassFacts] = []
        stack = self.modules.local_bases(info)
        while stack:
            current = stack.pop()
            if current not in found and current is not info:
                found.append(current)
                stack.extend(self.modules.local_bases(current))
        return found

    def _factory_default(self, func: cst.Name) -> tuple[str | None, str]:
        """`norm_layer(c)` where `norm_layer=nn.BatchNorm2d` is the parameter's default."""
        read = self.defuse.read_of(func)
        if read is None or len(read.definitions) != 1:
            return None, func.value
        (definition,) = read.definitions
        param = definition.node
        if not isinstance(param, cst.Param) or param.default is None:
            return None, func.value
        qualname = self.names.qualname(param.default) or dotted_name(param.default) or ""
        name = qualname.rsplit(".", 1)[-1]
        return FAMILIES.get(name), name

    def _bias(self, call: cst.Call, family: str, name: str, signature: cst.Parameters | None,
              arguments: dict[str, cst.BaseExpression]) -> tuple[Bias, str]:
        expr = self._bias_argument(call, family, name, signature)
        if expr is None:
            if any(arg.star for arg in call.args):
                return Bias.UNKNOWN, ""
            default = _param_default(signature, "bias") if signature is not None else None
            if signature is not None and default is None and not _has_param(signature, "bias"):
                return (Bias.ON, "") if _forwards_everything(signature) else (Bias.UNKNOWN, "")
            return (_truth(default) if default is not None else Bias.ON), ""
        return self._truth_of(expr, arguments)

    def _bias_argument(self, call: cst.Call, family: str, name: str,
                       signature: cst.Parameters | None) -> cst.BaseExpression | None:
        keyword = keyword_arg(call, "bias")
        if keyword is not None:
            return keyword.value
        positional = positional_args(call)
        if signature is not None:
            names = [p.name.value for p in (*signature.posonly_params, *signature.params)][1:]
            index = names.index("bias") if "bias" in names else None
        else:
            index = (LAZY_BIAS_POSITIONS if name.startswith("Lazy") else BIAS_POSITIONS)[family]
        if index is not None and index < len(positional):
            return positional[index].value
        return None

    def _truth_of(self, expr: cst.BaseExpression, arguments: dict[str, cst.BaseExpression]) -> tuple[Bias, str]:
        """True/False, or a parameter of the enclosing function whose default (or bound value) decides."""
        if isinstance(expr, cst.Name) and expr.value in arguments:
            return _truth(arguments[expr.value]), ""
        constant = _truth(expr)
        if constant is not Bias.UNKNOWN or not isinstance(expr, cst.Name):
            return constant, ""
        read = self.defuse.read_of(expr)
        if read is None or len(read.definitions) != 1:
            return Bias.UNKNOWN, ""
        (definition,) = read.definitions
        if isinstance(definition.node, cst.Param) and definition.node.default is not None:
            if _truth(definition.node.default) is Bias.ON and self._default_is_used(definition.scope, expr.value):
                return Bias.ON, expr.value
            return Bias.UNKNOWN, ""
        if definition.value is not None:
            return _truth(definition.value), ""
        return Bias.UNKNOWN, ""

    def _default_is_used(self, function: cst.CSTNode, param: str) -> bool:
        """No call in this file passes `param` explicitly to `function` (or some call omits it)."""
        if not isinstance(function, cst.FunctionDef):
            return True
        sites = list(self._call_sites_of(function))
        return not sites or any(
            _bound_argument(site.node, function, param) is None and not any(arg.star == "**" for arg in site.node.args)
            for site in sites
        )

    def _call_sites_of(self, function: cst.FunctionDef) -> Iterator[CallSite]:
        """Calls of a function (`conv(...)`, `blocks.conv(...)`), method (`self.m(...)`) or class."""
        owner = self.modules.class_around(function)
        target = function.name.value
        if owner is not None and target == "__init__":
            owner, target = None, owner.name
        for site in self.modules.calls:
            func = site.node.func
            if type(func) is cst.Name:
                if owner is None and func.value == target:
                    yield site
            elif type(func) is cst.Attribute and func.attr.value == target:
                if owner is not None:
                    matches = dotted_name(func.value) in ("self", "cls", owner.name)
                else:
                    matches = site.qualname is not None  # `blocks.conv(...)` through an import
                if matches:
                    yield site

    def parameterized_attributes(self, class_name: str) -> set[str] | None:
        """The attributes of a module class of this file that hold parameters: layers built in
        `__init__` (parameter-free ones left out) and `nn.Parameter`s, its local bases' included;
        None when a base outside the file may add more."""
        info = self.modules.class_of(class_name)
        if info is None or not self.modules.fully_visible(info):
            return None
        found: set[str] = set()
        for owner in [info, *self.modules.local_bases(info)]:
            init_methods = owner.methods_reached_from("__init__")
            for store in owner.stores:
                if store.method not in init_methods:
                    continue
                name = self.layer_name(store.value)
                if name == "Parameter" or (self.builds_module(store.value) and name not in PARAMETER_FREE_LAYERS):
                    found.add(store.attr)
        return found

    def builds_module(self, expr: cst.BaseExpression) -> bool:
        """Whether `expr` makes a new nn.Module: a torch layer, a module class of this file, a factory."""
        if isinstance(expr, cst.IfExp):
            return all(self.builds_module(branch) or _is_none(branch) for branch in (expr.body, expr.orelse)) and not (
                _is_none(expr.body) and _is_none(expr.orelse))
        if not isinstance(expr, cst.Call):
            return False
        qualname = self.names.qualname(expr.func)
        if qualname is not None and qualname.startswith("torch."):
            return torch_api.is_torch_module_class(qualname) and qualname.rsplit(".", 1)[-1] not in NON_MODULE_CLASSES
        if isinstance(expr.func, cst.Name):
            local = self.modules.class_of(expr.func.value)
            if local is not None:
                return local.is_module
            read = self.defuse.read_of(expr.func)
            return read is not None and any(
                isinstance(d.node, cst.Param) and d.node.name.value.endswith(FACTORY_SUFFIXES) for d in read.definitions
            )
        return False

    def layer_name(self, expr: cst.BaseExpression) -> str:
        """`Linear` for `nn.Linear(...)` or `Linear(...)`; empty for anything else."""
        if not isinstance(expr, cst.Call):
            return ""
        return (self.names.qualname(expr.func) or dotted_name(expr.func) or "").rsplit(".", 1)[-1]

    # ------------------------------------------------------------------ which layer feeds which
    @cached_property
    def adjacencies(self) -> list[Adjacency]:
        found: list[Adjacency] = []
        found.extend(self._in_sequences())
        found.extend(self._in_forward())
        found.extend(self._in_mode_builders())
        return found

    def _in_sequences(self) -> Iterator[Adjacency]:
        for elements, where, owner in self._sequences():
            layers = [self._element_layer(element, owner) for element in elements]
            for first, second in zip(layers, layers[1:]):
                if first is not None and second is not None:
                    yield Adjacency(first, second, first.node, where)

    def _sequences(self) -> Iterator[tuple[list[cst.BaseExpression], str, ClassFacts | None]]:
        """Every ordered run of layers: (elements, description, class whose `self.x` they may name)."""
        for literal in self.modules.displays:
            yield [element.value for element in literal.elements if not isinstance(element, cst.StarredElement)], \
                "a list of layers", None
        for site in self.modules.calls:
            owner = self._is_sequential(site)
            if owner is not False:
                yield _ordered_arguments(site.node), "nn.Sequential", owner
        for run in self._addition_runs():
            yield run, "successive additions", None

    def _is_sequential(self, site: CallSite) -> ClassFacts | None | bool:
        """False, or the class around a Sequential call (`nn.Sequential(...)`, `super().__init__(...)`
        of a Sequential subclass), None when there is none."""
        func = site.node.func
        kind = type(func)
        last = func.attr.value if kind is cst.Attribute else func.value if kind is cst.Name else ""
        owner = self.modules.class_of(site.class_name) if site.class_name else None
        if last in SEQUENTIAL_NAMES:
            return owner
        if last != "__init__" or owner is None or type(func.value) is not cst.Call:
            return False
        if dotted_name(func.value.func) == "super" and any(b.rsplit(".", 1)[-1] == "Sequential" for b in owner.bases):
            return owner
        return False

    def _addition_runs(self) -> Iterator[list[cst.BaseExpression]]:
        """`layers.append(conv); layers.append(bn)` and `self.add_module('bn', bn)`, per function and list."""
        for sites in self._calls_by_function.values():
            runs: dict[str, list[cst.BaseExpression]] = {}
            last_branches: dict[str, tuple] = {}
            for site in sites:
                func = site.node.func
                if not isinstance(func, cst.Attribute) or func.attr.value not in ADDING_METHODS:
                    continue
                receiver = dotted_name(func.value)
                args = positional_args(site.node)
                if receiver is None or not args:
                    continue
                branches = self._branches_of(func.value)
                if receiver in runs and exclusive(last_branches[receiver], branches):
                    yield runs.pop(receiver)  # `if t == 'C': L.append(conv) elif t == 'B': ...` is no run
                last_branches[receiver] = branches
                added = args[-1].value
                items = [e.value for e in added.elements] if func.attr.value == "extend" and isinstance(
                    added, (cst.List, cst.Tuple)) else [added]
                runs.setdefault(receiver, []).extend(items)
            yield from runs.values()

    def _branches_of(self, expr: cst.BaseExpression) -> tuple:
        while isinstance(expr, cst.Attribute):
            expr = expr.value
        read = self.defuse.read_of(expr) if isinstance(expr, cst.Name) else None
        return read.branches if read is not None else ()

    def _element_layer(self, element: cst.BaseExpression, owner: ClassFacts | None) -> Layer | None:
        if isinstance(element, cst.Tuple) and len(element.elements) == 2:  # OrderedDict([("conv", Conv2d())])
            element = element.elements[1].value
        if isinstance(element, cst.Call):
            return self.layer(element)
        if isinstance(element, cst.Name):
            call = self._single_call_bound_to(element)
            return self.layer(call) if call is not None else None
        if owner is not None and isinstance(element, cst.Attribute) and dotted_name(element.value) == "self":
            return self._attribute_layer(owner, element.attr.value)
        return None

    def _single_call_bound_to(self, name: cst.Name) -> cst.Call | None:
        read = self.defuse.read_of(name)
        if read is None or len(read.definitions) != 1:
            return None
        (definition,) = read.definitions
        return definition.value if isinstance(definition.value, cst.Call) else None

    def _attribute_layer(self, owner: ClassFacts, attr: str) -> Layer | None:
        """The layer `self.attr` always holds: one unconditional store in `__init__` or what it calls."""
        init_methods = owner.methods_reached_from("__init__")
        stores: list[AttributeStore] = [s for s in owner.stores if s.attr == attr]
        if len(stores) != 1 or stores[0].conditional or stores[0].method not in init_methods:
            return None
        value = stores[0].value
        if isinstance(value, cst.Name):
            value = self._single_call_bound_to(value)
        return self.layer(value) if isinstance(value, cst.Call) else None

    def _in_forward(self) -> Iterator[Adjacency]:
        """`self.bn(self.conv(x))`, or `x = self.conv(x)` then `x = self.bn(x)`."""
        for site in self.modules.calls:
            func = site.node.func
            if site.class_name is None or not _is_self_attribute(func) or not site.node.args:
                continue
            owner = self.modules.class_of(site.class_name)
            if owner is None:
                continue
            args = positional_args(site.node)
            if not args:
                continue
            norm = self._attribute_layer(owner, func.attr.value)
            if norm is None or norm.family not in (BATCH_NORM, INSTANCE_NORM):
                continue
            source = args[0].value
            if isinstance(source, cst.Name):
                source = self._single_call_bound_to(source)
            if isinstance(source, cst.Call) and _is_self_attribute(source.func):
                first = self._attribute_layer(owner, source.func.attr.value)
                if first is not None:
                    yield Adjacency(first, norm, first.node, "forward")

    def _in_mode_builders(self) -> Iterator[Adjacency]:
        """`conv(64, 64, mode='CBR')`: a builder whose mode letters pick Conv, BatchNorm, ReLU."""
        for function in {site.function for site in self.modules.calls if site.function is not None}:
            letters = self._mode_letters(function)
            if letters is None:
                continue
            mode_param, by_letter = letters
            for site in self._call_sites_of(function):
                mode = _bound_argument(site.node, function, mode_param)
                text = string_value(mode) if mode is not None else _default_string(function, mode_param)
                if text is None:
                    continue
                arguments = _bound_arguments(site.node, function)
                for before, after in zip(text, text[1:]):
                    first, second = by_letter.get(before), by_letter.get(after)
                    if first is None or second is None:
                        continue
                    first = self.layer(first.node, arguments)
                    if first is not None:
                        yield Adjacency(first, second, site.node, f"mode '{text}'")

    def _mode_letters(self, function: cst.FunctionDef) -> tuple[str, dict[str, Layer]] | None:
        params = {p.name.value for p in (*function.params.params, *function.params.kwonly_params)}
        for statement in block_statements(function.body):
            if not (isinstance(statement, cst.For) and isinstance(statement.iter, cst.Name)
                    and statement.iter.value in params and isinstance(statement.target, cst.Name)):
                continue
            by_letter: dict[str, Layer] = {}
            for letter, branch in _letter_branches(statement.body, statement.target.value):
                inside = _calls_within(branch)
                built = (self.layer(c.node) for c in self._calls_by_function.get(function, []) if id(c.node) in inside)
                layer = next((layer for layer in built if layer is not None), None)
                if layer is not None:
                    by_letter[letter] = layer
            if by_letter:
                return statement.iter.value, by_letter
        return None


# ---------------------------------------------------------------------- helpers
def _truth(expr: cst.BaseExpression | None) -> Bias:
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return Bias.ON if expr.value == "True" else Bias.OFF
    return Bias.UNKNOWN


def _is_none(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


def _is_self_attribute(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self"


def _all_params(signature: cst.Parameters) -> list[cst.Param]:
    return [*signature.posonly_params, *signature.params, *signature.kwonly_params]


def _has_param(signature: cst.Parameters, name: str) -> bool:
    return any(p.name.value == name for p in _all_params(signature))


def _param_default(signature: cst.Parameters, name: str) -> cst.BaseExpression | None:
    return next((p.default for p in _all_params(signature) if p.name.value == name), None)


def _forwards_everything(signature: cst.Parameters) -> bool:
    """`def __init__(self, *args, **kwargs)`: the torch defaults apply."""
    return isinstance(signature.star_kwarg, cst.Param)


def _bound_argument(call: cst.Call, function: cst.FunctionDef, param: str) -> cst.BaseExpression | None:
    return _bound_arguments(call, function).get(param)


def _bound_arguments(call: cst.Call, function: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    """What a call passes to each parameter of `function` (self and cls skipped for methods)."""
    names = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    bound = {name: arg.value for name, arg in zip(names, positional_args(call))}
    for arg in call.args:
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
    return bound


def _default_string(function: cst.FunctionDef, param: str) -> str | None:
    default = _param_default(function.params, param)
    return string_value(default) if default is not None else None


def _ordered_arguments(call: cst.Call) -> list[cst.BaseExpression]:
    """The layers a Sequential call receives, an OrderedDict's values included."""
    positional = positional_args(call)
    if len(positional) == 1 and isinstance(positional[0].value, cst.Call):
        inner = positional[0].value
        if (dotted_name(inner.func) or "").rsplit(".", 1)[-1] == "OrderedDict":
            inner_args = positional_args(inner)
            if inner_args and isinstance(inner_args[0].value, (cst.List, cst.Tuple)):
                return [element.value for element in inner_args[0].value.elements]
            return [arg.value for arg in inner.args if arg.keyword is not None]
    return [arg.value for arg in positional]


def _letter_branches(body: cst.BaseSuite, variable: str) -> Iterator[tuple[str, cst.BaseSuite]]:
    """(letter, block) for every `if t == 'C':` / `elif t == 'B':` branch in a loop body."""
    for statement in block_statements(body):
        branch: cst.If | cst.Else | None = statement if isinstance(statement, cst.If) else None
        while isinstance(branch, cst.If):
            letter = _compared_letter(branch.test, variable)
            if letter is not None:
                yield letter, branch.body
            branch = branch.orelse if isinstance(branch.orelse, cst.If) else None


def _compared_letter(test: cst.BaseExpression, variable: str) -> str | None:
    if not (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and test.left.value == variable):
        return None
    if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
        return None
    text = string_value(test.comparisons[0].comparator)
    return text if text is not None and len(text) == 1 else None


def _calls_within(block: cst.CSTNode) -> set[int]:
    """id() of every call below `block`."""
    found: set[int] = set()
    stack: list[cst.CSTNode] = [block]
    while stack:
        current = stack.pop()
        if type(current) is cst.Call:
            found.add(id(current))
        stack.extend(sub_nodes(current))
    return found
