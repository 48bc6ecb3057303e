"""Graph algorithms on region names: topological order and cycle finding."""

from __future__ import annotations

from typing import Iterable, Sequence


def topological_order(nodes: Sequence[str], edges: Iterable[tuple[str, str]]):
    """Order ``nodes`` so that every edge ``(a, b)`` has ``a`` before ``b``.

    Ties keep the order of ``nodes`` (so the result is deterministic).
    Returns ``(order, None)``, or ``(None, cycle)`` where ``cycle`` is a list
    of nodes ``[n0, n1, ..., n0]`` that the edges join in a loop.
    """
    edges_list = list(edges)
    successors = {n: [] for n in nodes}
    indegree = {n: 0 for n in nodes}
    for a, b in edges_list:
        successors[a].append(b)
        indegree[b] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
        ready.sort(key=list(nodes).index)
    if len(order) == len(nodes):
        return order, None
    left = {n for n in nodes if indegree[n] > 0}
    return None, _find_cycle(left, edges_list)


def _find_cycle(left: set[str], edges: list[tuple[str, str]]) -> list[str]:
    """A cycle among the nodes that Kahn's algorithm could not order.

    Each of them keeps a predecessor among them, so walking backwards from
    any one must revisit a node; the walk between the two visits is a cycle.
    """
    predecessor = {b: a for a, b in edges if a in left and b in left}
    node, path, seen = min(left), [], {}
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = predecessor[node]
    cycle = path[seen[node]:][::-1]  # forward order
    return cycle + [cycle[0]]
