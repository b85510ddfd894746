"""The analysis order: dependencies first, cycles cut by path order, long chains first."""

from __future__ import annotations

from nnlint.plan import Plan


def _order(plan: Plan) -> list[str]:
    order = []
    while plan.has_ready():
        path = plan.take()
        order.append(path)
        plan.finished(path)
    return order


def test_every_file_comes_after_the_files_it_imports() -> None:
    order = _order(Plan({"train.py": ["model.py", "data.py"], "model.py": ["layers.py"], "data.py": [],
                         "layers.py": []}, {"train.py": 1, "model.py": 1, "data.py": 1, "layers.py": 1}))
    assert sorted(order) == ["data.py", "layers.py", "model.py", "train.py"]
    assert order.index("layers.py") < order.index("model.py") < order.index("train.py")
    assert order.index("data.py") < order.index("train.py")


def test_a_cycle_is_cut_by_path_order_whatever_the_order_of_the_input() -> None:
    cycle = {"b.py": ["c.py"], "c.py": ["a.py"], "a.py": ["b.py"], "main.py": ["a.py"]}
    sizes = dict.fromkeys(cycle, 1)
    plan = Plan(cycle, sizes)
    assert plan.waiting == {"a.py": set(), "b.py": set(), "c.py": {"a.py"}, "main.py": {"a.py"}}
    assert _order(Plan(dict(reversed(list(cycle.items()))), sizes))[0] == "a.py"
    assert set(_order(plan)) == set(cycle)


def test_the_file_heading_the_longest_chain_starts_first() -> None:
    graph = {"big_leaf.py": [], "base.py": [], "mid.py": ["base.py"], "top.py": ["mid.py"]}
    order = _order(Plan(graph, {"big_leaf.py": 50, "base.py": 10, "mid.py": 30, "top.py": 30}))
    assert order[0] == "base.py"  # 10 + 30 + 30 beats 50
