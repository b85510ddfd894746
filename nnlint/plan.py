"""The order files are analysed in: each after the project files it imports.

Import cycles are cut before the run, by path order: inside a cycle a file waits only for the
members that sort before it, so it sees their summaries and they do not see its. Cut up front,
the graph is acyclic, a file starts the moment its last dependency finishes, and what each
file sees depends neither on timing nor on the number of workers.

Of the files free to start, the one heading the longest chain of dependents (by size) goes
first: the files everything else imports must not be left for last."""

from __future__ import annotations

import heapq
from typing import Iterable, Mapping


class Plan:
    def __init__(self, dependencies: Mapping[str, Iterable[str]], sizes: Mapping[str, int]) -> None:
        graph = {path: {dep for dep in deps if dep != path and dep in dependencies}
                 for path, deps in dependencies.items()}
        component = _strongly_connected(graph)
        self.waiting = {path: {dep for dep in deps if component[dep] != component[path] or dep < path}
                        for path, deps in graph.items()}
        self.dependents: dict[str, list[str]] = {path: [] for path in graph}
        for path, deps in self.waiting.items():
            for dep in deps:
                self.dependents[dep].append(path)
        self.priority = _chain_sizes(self.waiting, self.dependents, sizes)
        self._ready = [(-self.priority[path], path) for path, deps in self.waiting.items() if not deps]
        heapq.heapify(self._ready)

    def has_ready(self) -> bool:
        return bool(self._ready)

    def take(self) -> str:
        """The ready file with the longest chain of dependents (ties by path)."""
        return heapq.heappop(self._ready)[1]

    def finished(self, path: str) -> None:
        for dependent in self.dependents[path]:
            deps = self.waiting[dependent]
            deps.discard(path)
            if not deps:
                heapq.heappush(self._ready, (-self.priority[dependent], dependent))


def _strongly_connected(graph: Mapping[str, set[str]]) -> dict[str, int]:
    """Tarjan's algorithm without recursion: path -> number of its strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    component: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                components += 1
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = components
                    if member == node:
                        break
    return component


def _chain_sizes(waiting: Mapping[str, set[str]], dependents: Mapping[str, list[str]],
                 sizes: Mapping[str, int]) -> dict[str, int]:
    """For each file: its size plus the largest such total among the files that wait for it."""
    remaining = {path: len(deps) for path, deps in waiting.items()}
    order = [path for path, count in remaining.items() if count == 0]
    for path in order:
        for dependent in dependents[path]:
            remaining[dependent] -= 1
            if remaining[dependent] == 0:
                order.append(dependent)
    chain: dict[str, int] = {}
    for path in reversed(order):
        chain[path] = sizes[path] + max((chain[d] for d in dependents[path]), default=0)
    return chain
