"""Describing and comparing pytrees: leaf paths with shapes and dtypes."""

from __future__ import annotations

import jax
import numpy as np


def flatten(tree) -> dict:
    """``{path: leaf}`` with paths as `jax.tree_util.keystr` gives them."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): leaf for path, leaf in flat}


def describe(tree, dtypes: bool = True) -> dict[str, list]:
    """``{path: [shape, dtype]}`` (or ``[shape]``) of every leaf, as JSON-friendly lists."""
    return {
        p: [list(np.shape(x)), str(x.dtype)] if dtypes else [list(np.shape(x))]
        for p, x in flatten(tree).items()
    }


def difference(found: dict, expected: dict, found_name: str, expected_name: str) -> str:
    """A sentence naming the leaves that two `describe` results disagree on."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    changed = [f"{p}: {found_name} {found[p]}, {expected_name} {expected[p]}"
               for p in sorted(set(found) & set(expected)) if found[p] != expected[p]]
    parts = []
    if missing:
        parts.append(f"the {expected_name} has leaves the {found_name} lacks: {missing[:10]}")
    if extra:
        parts.append(f"the {found_name} has leaves the {expected_name} lacks: {extra[:10]}")
    if changed:
        parts.append("shapes differ: " + "; ".join(changed[:10]))
    return ". ".join(parts)
