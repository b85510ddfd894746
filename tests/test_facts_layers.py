"""`nnlint/facts/` is layered: the Python analysis core, then torch knowledge, then data-pipeline
knowledge, then the facts a file assembles from them. No module imports one of a later layer,
facts modules import each other without cycles, and the core knows nothing of torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FACTS = Path(__file__).resolve().parent.parent / "nnlint" / "facts"
LAYERS = ("core", "pytorch", "data")
# The kinds of value Python itself gives; the others are tags the torch and data layers give values.
PYTHON_KINDS = frozenset({"UNKNOWN", "NONE", "BOOL", "STRING", "SEQUENCE", "MAPPING", "CLASS", "FUNCTION", "MODULE"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(FACTS.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(FACTS.rglob("*.py"))}


def _layer(module: str) -> int:
    """0 core, 1 pytorch, 2 data, 3 the assembly (the package itself, summaries, the project index)."""
    parts = module.split(".")
    return LAYERS.index(parts[2]) if len(parts) > 2 and parts[2] in LAYERS else len(LAYERS)


def _imports(path: Path) -> set[str]:
    """Every nnlint.facts module the file imports, at any level (type-checking and local imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("nnlint.facts"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("nnlint.facts"))
    return found


def test_every_facts_module_is_in_a_layer() -> None:
    loose = [name for name in MODULES if _layer(name) == len(LAYERS)]
    assert sorted(loose) == ["nnlint.facts", "nnlint.facts.project", "nnlint.facts.summary"]
    assert all(any(_layer(name) == layer for name in MODULES) for layer in range(len(LAYERS)))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_later_layer(module: str) -> None:
    later = {name for name in _imports(MODULES[module]) if _layer(name) > _layer(module)}
    assert not later, f"{module} (layer {LAYERS[_layer(module)] if _layer(module) < 3 else 'assembly'}) imports {later}"


def test_facts_modules_import_each_other_without_cycles() -> None:
    graph = {name: {imported for imported in _imports(path) if imported in MODULES and imported != name
                    and not MODULES[imported].name == "__init__.py"}
             for name, path in MODULES.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, " -> ".join([*visiting[visiting.index(name):], name])
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


@pytest.mark.parametrize("module", sorted(name for name in MODULES if _layer(name) == 0))
def test_the_core_knows_nothing_of_torch(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    domain_kinds = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name) and node.value.id == "Kind"} - PYTHON_KINDS
    torch_names = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
                   and isinstance(node.value, str) and node.value.startswith(("torch", "sklearn"))}
    assert not domain_kinds and not torch_names, (domain_kinds, torch_names)


def test_the_layering_test_sees_a_violation(tmp_path: Path) -> None:
    """The import reader finds imports hidden under TYPE_CHECKING and inside functions."""
    source = tmp_path / "sample.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nnlint.facts.data.loaders import X\n"
                      "def f():\n    from nnlint.facts.pytorch import torch_api\n")
    assert _imports(source) == {"nnlint.facts.data.loaders", "nnlint.facts.pytorch.torch_api"}
    assert _layer("nnlint.facts.data.loaders") > _layer("nnlint.facts.core.dataflow")
