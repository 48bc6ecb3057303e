"""Navigation: grid worlds with walls, and a linear track.

The agent occupies one free cell of a grid given as strings (``#`` wall,
``.`` free, ``S`` start, ``G`` goal). Each step its ``action`` (one-hot over
the moves) takes it to a neighbouring cell unless a wall is in the way.
Reaching the goal gives reward 1 and ends the episode (``done``); the agent
restarts at ``S`` (or at a random free cell with ``random_start``) at once,
and that step's observation already shows the new start. Observations are one-hot over the free cells, a place
code for successor-representation learning (Stachenfeld, Botvinick &
Gershman 2017). ``target`` is the move along a shortest path to the goal,
computed once from the layout. As with `brainsim.tasks.TrialTask`, the
agent's action reaches the task one step later (wire it with ``delay=1``).

Because the done step already shows the new start, it is the *first* step
of the next episode for whatever learns from the observation: wire
``task.done -> vta.reset`` for `regions.Dopamine` and ``task.done ->
hpc.reset`` for `regions.Hippocampus` (trial tasks, `Bandit` and `TwoStep`,
whose done step still shows the finished trial, go to ``vta.done``).

`LinearTrack` is a one-row world with two moves (back, forward).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np

from brainsim.checks import check_int
from brainsim.dtypes import param
from brainsim.ports import Port
from brainsim.region import Region
from brainsim.tasks.rollout import rollout_trials

GRID_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # north, east, south, west


@dataclasses.dataclass(frozen=True)
class GridWorld(Region):
    """A grid world (see the module docstring)."""

    layout: tuple[str, ...] = ("#######", "#S....#", "#.##..#", "#..#..#", "#....G#", "#######")
    moves: tuple[tuple[int, int], ...] = GRID_MOVES
    random_start: bool = False

    def __post_init__(self):
        rows = {len(row) for row in self.layout}
        text = "".join(self.layout)
        if len(rows) != 1 or text.count("G") != 1 or (text.count("S") != 1 and not self.random_start):
            raise ValueError("layout needs equal-length rows, one 'G' and one 'S' (unless random_start)")
        if set(text) - set("#.SG"):
            raise ValueError(f"layout may only use '#', '.', 'S', 'G'; got {sorted(set(text))}")

    @functools.cached_property
    def _tables(self):
        """Free cells, next cell per move, shortest-path move per cell (numpy)."""
        cells = [(r, c) for r, row in enumerate(self.layout) for c, ch in enumerate(row) if ch != "#"]
        index = {cell: i for i, cell in enumerate(cells)}
        nxt = np.array([[index.get((r + dr, c + dc), i) for dr, dc in self.moves]
                        for i, (r, c) in enumerate(cells)], np.int32)
        goal = next(i for i, (r, c) in enumerate(cells) if self.layout[r][c] == "G")
        distance = np.full(len(cells), -1)
        distance[goal] = 0
        queue = deque([goal])
        while queue:  # breadth-first search from the goal
            i = queue.popleft()
            for j in range(len(cells)):
                if distance[j] < 0 and i in nxt[j]:
                    distance[j] = distance[i] + 1
                    queue.append(j)
        best = np.array([int(np.argmin([distance[k] if distance[k] >= 0 else 10**9 for k in nxt[i]]))
                         for i in range(len(cells))], np.int32)
        start = next((i for i, (r, c) in enumerate(cells) if self.layout[r][c] == "S"), 0)
        return {"n": len(cells), "next": nxt, "goal": goal, "distance": distance, "best": best,
                "start": start}

    @property
    def n_cells(self) -> int:
        """Number of free cells (the size of the observation)."""
        return self._tables["n"]

    @property
    def cells(self) -> list[tuple[int, int]]:
        """The free cells as (row, column) of the layout, in the order of the place code."""
        return [(r, c) for r, row in enumerate(self.layout) for c, ch in enumerate(row) if ch != "#"]

    @property
    def successors(self) -> np.ndarray:
        """``(n_cells, n_moves)``: the free cell each move leads to (itself where a wall is in the way)."""
        return self._tables["next"].copy()

    def shortest_path(self, cell: int) -> int:
        """Moves from free cell ``cell`` to the goal."""
        return int(self._tables["distance"][cell])

    @property
    def inputs(self):
        return {"action": Port(len(self.moves), "event")}

    @property
    def outputs(self):
        return {"obs": Port(self.n_cells), "reward": Port((), "scalar"), "done": Port((), "event"),
                "target": Port(len(self.moves)), "position": Port((), "event")}

    def trials(self, params, key, batch: int, steps: int = 100) -> dict:
        """Supervised batches: random-agent rollouts labelled by the oracle
        (see `brainsim.tasks.rollout`)."""
        return rollout_trials(self, params, key, batch, steps)

    def _start(self, key):
        if self.random_start:
            free = np.setdiff1d(np.arange(self.n_cells), [self._tables["goal"]])
            return jax.random.choice(key, jnp.asarray(free, jnp.int32))
        return jnp.asarray(self._tables["start"], jnp.int32)

    def init(self, key):
        return {"reward": param(1.0)}, {"cell": self._start(key)}

    def step(self, params, state, inputs, ctx):
        t = self._tables
        dtype = params["reward"].dtype
        moved = jnp.sum(inputs["action"]) > 0
        cell = jnp.where(moved, jnp.asarray(t["next"])[state["cell"], jnp.argmax(inputs["action"])],
                         state["cell"])
        arrived = cell == t["goal"]
        new_cell = jnp.where(arrived, self._start(ctx.key), cell).astype(jnp.int32)
        reward = arrived.astype(dtype) * params["reward"]
        # what the agent sees is where it now stands: after arrival, the new start
        obs = jax.nn.one_hot(new_cell, self.n_cells, dtype=dtype)
        target = jax.nn.one_hot(jnp.asarray(t["best"])[new_cell], len(self.moves), dtype=dtype)
        return {"cell": new_cell}, {"obs": obs, "reward": reward, "done": arrived.astype(dtype),
                                    "target": target, "position": new_cell.astype(dtype)}


def LinearTrack(n: int = 10, random_start: bool = False) -> GridWorld:
    """A track of ``n`` cells from ``S`` (left) to ``G`` (right); moves: back, forward."""
    check_int("LinearTrack", "n (cells)", n, minimum=2)
    return GridWorld(layout=("S" + "." * (n - 2) + "G",), moves=((0, -1), (0, 1)),
                     random_start=random_start)
