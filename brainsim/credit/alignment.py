"""How far a learning rule's update points along the exact gradient.

``cos(u, g) = <u, g> / (|u| |g|)`` per param (by path), and over all of them
together under ``"all"``: 1 for the gradient itself, 0 for an update
orthogonal to it, and above 0 for any update that descends the loss to first
order. Feedback alignment's updates start near 0 and rise as the forward
weights align with the feedback (Lillicrap et al. 2016, Fig. 2).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from brainsim.params import paths


def _by_path(tree) -> dict:
    leaves = jax.tree.leaves(tree)
    return dict(zip(paths(tree), leaves))


def alignment(update, gradient, exclude=("dt",), tiny: float = 1e-30) -> dict:
    """``{path: cosine}`` over the params both pytrees hold (a rule's network may hold extra ones,
    such as feedback scales), but for the paths in ``exclude`` (``dt``, which training leaves
    fixed); params whose gradient is zero are left out, and an update of zero where the gradient
    is not counts as orthogonal. ``"all"`` is the cosine of the rest concatenated. Arrays (not
    trees) give ``{"all": ...}``. Not for use under ``jit`` (it returns Python floats)."""
    u_paths, g_paths = _by_path(update), _by_path(gradient)
    common = [p for p in g_paths if p in u_paths and p not in exclude]
    if not common:
        raise ValueError(f"alignment: the update and the gradient share no param paths "
                         f"({sorted(u_paths)[:5]} against {sorted(g_paths)[:5]})")
    out, dot, uu, gg = {}, 0.0, 0.0, 0.0
    for name in common:
        u, g = jnp.ravel(u_paths[name]), jnp.ravel(g_paths[name])
        if u.shape != g.shape:
            raise ValueError(f"alignment: {name or 'the array'} has shape {u.shape} in the update, "
                             f"{g.shape} in the gradient")
        nu, ng = jnp.sum(u * u), jnp.sum(g * g)
        if float(ng) <= tiny:
            continue
        d = jnp.sum(u * g)
        if name:
            out[name] = float(d / jnp.sqrt(nu * ng)) if float(nu) > tiny else 0.0
        dot, uu, gg = dot + d, uu + nu, gg + ng
    if gg > 0:
        out["all"] = float(dot / jnp.sqrt(uu * gg)) if uu > 0 else 0.0
    return out
