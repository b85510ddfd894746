"""NN101: a layer's output that nothing reads: the next layer re-reads an older value instead."""

from __future__ import annotations

import builtins
from typing import Iterator

import libcst as cst

from nnlint.diagnostics import Severity
from nnlint.facts import FileFacts
from nnlint.facts.core.defuse import Definition, Read, Role, exclusive
from nnlint.facts.core.names import ImportTable
from nnlint.facts.pytorch.torch_api import QUERY_METHODS, TENSOR_FACTORIES, is_torch_module_class, loss_kind
from nnlint.facts.core.syntax import code_snippet, descendants
from nnlint.rules import Report, Rule

# Layers and ops live in code that imports one of these.
FRAMEWORKS = ("torch", "tensorflow", "keras", "tf_keras", "tf_slim", "jax", "flax", "haiku", "mxnet", "paddle",
              "mindspore", "oneflow", "lightning", "pytorch_lightning", "timm", "transformers")
# Decorators that record every submodule's output through hooks (transformers): outputs that
# look dropped are read there.
OUTPUT_CAPTURING_DECORATORS = frozenset({"capture_outputs", "check_model_inputs"})
BUILTIN_NAMES = frozenset(dir(builtins))
# Loaders, datasets and transforms are built, not computed by a layer: rebuilding one is no skipped layer.
DATA_PIPELINE_PACKAGES = ("torch.utils.data.", "torchvision.datasets.", "torchvision.transforms.",
                          "torchtext.datasets.", "datasets.")
RECEIVERS = frozenset({"self", "cls"})
MAX_ANCESTRY = 64


def check(facts: FileFacts) -> Iterator[Report]:
    if not facts.names.imports_any(FRAMEWORKS):
        return
    for definition in facts.defuse.definitions:
        call = _producing_call(definition, facts.names)
        if call is None or not _data_reads(definition) or _captures_outputs(definition.scope):
            continue
        if not definition.reads:
            report = _overwritten(definition, call, facts) or _bypassed(definition, call, facts)
        else:
            report = _overwritten_in_loop(definition, call, facts.names)
        if report is not None:
            yield report


def _overwritten(dead: Definition, call: cst.Call, facts: FileFacts) -> Report | None:
    """`net = conv(image); net = conv(image, 64)`: rebound unread by a layer that restarts, in one
    function or one notebook cell (a later cell often recomputes a value on purpose)."""
    consumed = _consumed(dead)
    for killer in sorted(dead.killers, key=lambda k: k.order):
        restarted = _restarted_input(killer, consumed, facts.names)
        if restarted is not None and _differs(killer, dead) and facts.same_cell(dead.node, killer.node) \
                and not _same_value_rewritten(dead, killer, facts.names):
            return Report(
                killer.node,
                f"the output of `{code_snippet(call)}` ({_names(dead)}) is overwritten here before anything reads it: "
                f"this line reads `{restarted}` again instead of the previous layer's output",
            )
    return None


def _bypassed(dead: Definition, call: cst.Call, facts: FileFacts) -> Report | None:
    """`drop = self.drop(flat)` and the next layer reads `flat`: the layer is skipped."""
    if not _is_layer_call(call, facts):
        return None
    for read in _later_reads_of_inputs(dead):
        if read.call is None or not _is_layer_call(read.call, facts):
            continue
        return Report(
            dead.node,
            f"{_names(dead)} (the output of `{code_snippet(call)}`) is never read: `{read.name}` is used after it "
            "instead, so this layer is skipped",
        )
    return None


def _overwritten_in_loop(definition: Definition, call: cst.Call, names: ImportTable) -> Report | None:
    """`for blk in self.blocks: h = blk(x)`: every block reads `x`, only the last one counts."""
    loop = _loop_without_reads(definition)
    if loop is None:
        return None
    consumed = _consumed(definition)
    for killer in definition.killers:
        if loop not in killer.loops or not _varies_only_in_callee(killer, loop):
            continue
        restarted = _restarted_input(killer, consumed, names)
        if restarted is not None:
            return Report(
                killer.node,
                f"each iteration overwrites {_names(definition)} before it is read: every layer called here reads "
                f"`{restarted}`, not the previous layer's output, so only the last iteration counts",
            )
    return None


# --------------------------------------------------------------------------- what is a layer output
def _producing_call(definition: Definition, names: ImportTable) -> cst.Call | None:
    """The call whose result the definition binds, if it is a layer or an op on data."""
    if not definition.is_assignment or not definition.pure or definition.escaped:
        return None
    if all(name.startswith("_") for name in definition.names):
        return None
    expr = definition.value
    while True:
        if isinstance(expr, (cst.Subscript, cst.Attribute)) and not isinstance(expr, cst.Call):
            expr = expr.value
        elif isinstance(expr, cst.Await):
            expr = expr.expression
        else:
            break
    if not isinstance(expr, cst.Call) or _is_excluded_call(expr, names) or _is_method_of_local_object(expr, names):
        return None
    return expr


def _is_method_of_local_object(call: cst.Call, names: ImportTable) -> bool:
    """`tokenizer.encode(text)`, `x.view(-1)`: a method of some local object, not a layer of the model.

    Layers are reached through `self`, an import (`slim.conv2d`, `F.relu`), a name (`fc1(x)`,
    `blk(x)`) or a layer built in place (`Dense(64)(x)`).
    """
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    root = func.value
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    return not (isinstance(root, cst.Name) and root.value in RECEIVERS) and names.qualname(func) is None


def _is_excluded_call(call: cst.Call, names: ImportTable) -> bool:
    """Builtins, tensor factories and queries (`x.size()`) make no layer output."""
    func = call.func
    if isinstance(func, cst.Name) and func.value in BUILTIN_NAMES:
        return True
    if isinstance(func, cst.Attribute) and func.attr.value in QUERY_METHODS:
        return True
    qualname = names.qualname(func)
    return qualname is not None and (qualname.rsplit(".", 1)[-1] in TENSOR_FACTORIES
                                     or qualname.startswith(DATA_PIPELINE_PACKAGES))


def _is_layer_call(call: cst.Call, facts: FileFacts) -> bool:
    """A call of a submodule (`self.drop(x)`), of a layer built in place, or of a local layer."""
    func = call.func
    if isinstance(func, cst.Call):
        return True  # Keras style: Dense(64)(x)
    root = func
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    if not isinstance(root, cst.Name):
        return False
    if root.value in RECEIVERS:
        return True
    read = facts.defuse.read_of(root) if root is func else None
    if read is None:
        return False
    return bool(read.definitions) and all(_builds_torch_layer(d, facts.names) for d in read.definitions)


def _builds_torch_layer(definition: Definition, names: ImportTable) -> bool:
    value = definition.value
    if not isinstance(value, cst.Call):
        return False
    qualname = names.qualname(value.func)
    return qualname is not None and is_torch_module_class(qualname) and loss_kind(qualname) is None


# --------------------------------------------------------------------------- data flow
def _data_reads(definition: Definition) -> list[Read]:
    """Reads of values the definition computes from: not callees, `self`, modules or functions."""
    return [
        read for read in definition.value_reads
        if read.role is Role.DATA and read.name not in RECEIVERS
        and not any(source.node_binds_code for source in read.definitions)
    ]


def _captures_outputs(scope: cst.CSTNode) -> bool:
    if not isinstance(scope, cst.FunctionDef):
        return False
    for decorator in scope.decorators:
        expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        name = expr.attr.value if isinstance(expr, cst.Attribute) else getattr(expr, "value", "")
        if name in OUTPUT_CAPTURING_DECORATORS:
            return True
    return False


def _key(read: Read) -> tuple[str, frozenset[Definition]]:
    return read.name, frozenset(read.definitions)


def _ancestry(definition: Definition) -> list[Definition]:
    """The definition and every earlier value its data was computed from, in this scope."""
    seen = [definition]
    index = 0
    while index < len(seen) and len(seen) < MAX_ANCESTRY:
        for read in _data_reads(seen[index]):
            for source in read.definitions:
                if source not in seen and source.order < seen[index].order:
                    seen.append(source)
        index += 1
    return seen


def _consumed(definition: Definition) -> set[tuple[str, frozenset[Definition]]]:
    """The values that the layers leading to `definition` read."""
    return {_key(read) for ancestor in _ancestry(definition) for read in _data_reads(ancestor) if read.definitions}


def _restarted_input(killer: Definition, consumed: set, names: ImportTable) -> str | None:
    """The name of a value the killer reads that an earlier layer of the chain already read."""
    if not killer.is_assignment or _producing_call(killer, names) is None:
        return None
    for read in _data_reads(killer):
        if read.definitions and _key(read) in consumed:
            return read.name
    return None


def _later_reads_of_inputs(dead: Definition) -> Iterator[Read]:
    """Data reads, after `dead`, of the very values `dead` was computed from."""
    own = {_key(read) for read in _data_reads(dead) if read.definitions}
    for read in _data_reads(dead):
        for source in read.definitions:
            for later in source.reads:
                if (later.order > dead.order and later.role is Role.DATA and later.owner is not dead
                        and _key(later) in own and not exclusive(dead.branches, later.branches)):
                    yield later


def _differs(killer: Definition, dead: Definition) -> bool:
    """A different layer: other code, or the same code calling a different layer each iteration."""
    if killer.value is None or dead.value is None:
        return True
    if not killer.value.deep_equals(dead.value):
        return True
    return any(_callee_varies(killer, loop) for loop in killer.loops)


def _same_value_rewritten(dead: Definition, killer: Definition, names: ImportTable) -> bool:
    """The same value written another way from the same inputs, as tutorials show alternatives:
    `y = act(torch.sum(x * w) + b)` then `y = act((x * w).sum() + b)`. The two differ only in
    torch functions and tensor methods, never in a layer, a constant or an input."""
    if dead.value is None or killer.value is None or killer.value.deep_equals(dead.value) or \
            {_key(r) for r in _data_reads(dead)} != {_key(r) for r in _data_reads(killer)}:
        return False  # the very same code run twice is a duplicated line, not an alternative
    dead_parts, killer_parts = _layer_calls_and_constants(dead.value, names), _layer_calls_and_constants(killer.value, names)
    return dead_parts is not None and dead_parts == killer_parts


def _layer_calls_and_constants(expr: cst.BaseExpression, names: ImportTable) -> list[str] | None:
    """What the value computes, blind to spelling: each op by name (`torch.sum(t)` and `t.sum()`
    alike), each other callee by its code, and the constants; None for a value no call computes."""
    parts = []
    for node in descendants(expr):
        if isinstance(node, cst.Call):
            qualname = names.qualname(node.func)
            if qualname is not None and qualname.startswith("torch."):
                parts.append(qualname.rsplit(".", 1)[-1])
            elif isinstance(node.func, cst.Attribute) and qualname is None and not _is_layer_receiver(node.func.value):
                parts.append(node.func.attr.value)  # a tensor method: x.sum(), w.view(5, 1)
            else:
                parts.append(code_snippet(node.func))
        elif isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
            parts.append(node.value)
    return sorted(parts) if isinstance(expr, cst.Call) or parts else None


def _is_layer_receiver(expr: cst.BaseExpression) -> bool:
    root = expr
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    return isinstance(root, cst.Name) and root.value in RECEIVERS


def _callee_varies(definition: Definition, loop: cst.CSTNode) -> bool:
    return any(
        read.role is Role.CALLEE and any(loop in source.loops for source in read.definitions)
        for read in definition.value_reads
    )


def _varies_only_in_callee(definition: Definition, loop: cst.CSTNode) -> bool:
    """Each iteration calls another layer on the same data."""
    data_invariant = all(
        not any(loop in source.loops for source in read.definitions) for read in _data_reads(definition)
    )
    return data_invariant and _callee_varies(definition, loop)


def _loop_without_reads(definition: Definition) -> cst.CSTNode | None:
    """The innermost loop around `definition` in which nothing reads its value, if any."""
    for loop in reversed(definition.loops):
        if any(loop in read.loops for read in definition.reads):
            return None
        return loop
    return None


# --------------------------------------------------------------------------- messages
def _names(definition: Definition) -> str:
    return ", ".join(f"`{name}`" for name in definition.names)


RULE = Rule(
    code="NN101",
    name="overwritten-layer-output",
    severity=Severity.ERROR,
    summary="A layer's output is never read: it is rebound, or the next layer reads an earlier value instead.",
    check=check,
    triggers=("torch", "tensorflow", "tf.", "keras", "jax", "flax", "slim", "forward", "layer", "Layer"),
    cross_file=False,
)
