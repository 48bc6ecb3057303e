"""Readable paths into the params pytree.

Params of a network are a dict with one entry per region (by name), one
per projection (by its name ``"src.port->dst.port"``) and ``"dt"``. A path
names a leaf in it with dots:

    "a.tau"                     region a, parameter tau
    "a.rate->b.input.weight"    weight of the projection a.rate -> b.input
    "a->b.weight"               the same, when one projection joins a to b
    "dt"                        the integration step (ms)

`get` reads a leaf; `set` returns new params with one leaf replaced (the
params are never modified in place); `paths` lists every leaf's path.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from brainsim.errors import ParamPathError


def paths(params) -> list[str]:
    """The path of every leaf of ``params``."""
    out = []
    for key_path, _ in jax.tree_util.tree_flatten_with_path(params)[0]:
        out.append(".".join(_key_name(k) for k in key_path))
    return out


def _key_name(key) -> str:
    """The readable name of one step of a pytree path (dict key, attribute, index)."""
    for attribute in ("key", "name", "idx"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)


def get(params, path: str) -> Any:
    """The leaf (or subtree) of ``params`` at ``path``."""
    node = params
    for key in _resolve(params, path):
        node = _child(node, key)
    return node


def set(params, path: str, value) -> dict:  # noqa: A001 - mirrors get
    """Return a copy of ``params`` with the leaf at ``path`` replaced by ``value``.

    ``value`` is cast to the leaf's dtype and broadcast to its shape, so a
    new value never changes the structure (and never triggers recompilation).
    """
    keys = _resolve(params, path)
    old = get(params, path)
    if not hasattr(old, "shape"):
        raise ParamPathError(f"{path!r} names a group of parameters, not one array: {_children(old)}")
    value = jnp.asarray(value, dtype=old.dtype)
    try:
        value = jnp.broadcast_to(value, old.shape)
    except ValueError:
        raise ParamPathError(
            f"cannot set {path!r}: value of shape {value.shape} does not fit the "
            f"parameter's shape {old.shape}"
        ) from None
    return _replace(params, keys, value)


def _children(node) -> list[str]:
    """Names of the children of a params node (dict keys, dataclass fields, indices)."""
    if isinstance(node, dict):
        return sorted(node)
    if dataclasses.is_dataclass(node):
        return [f.name for f in dataclasses.fields(node)]
    if isinstance(node, (list, tuple)):
        return [str(i) for i in range(len(node))]
    return []


def _child(node, key: str):
    if isinstance(node, dict):
        return node[key]
    if isinstance(node, (list, tuple)):
        return node[int(key)]
    return getattr(node, key)


def _replace(node, keys: list[str], value):
    key = keys[0]
    new = value if len(keys) == 1 else _replace(_child(node, key), keys[1:], value)
    if isinstance(node, dict):
        return {**node, key: new}
    if isinstance(node, (list, tuple)):
        items = list(node)
        items[int(key)] = new
        return type(node)(items)
    return dataclasses.replace(node, **{key: new})


def _resolve(params, path: str) -> list[str]:
    """Turn a path into the list of dict keys leading to its node."""
    if not isinstance(path, str) or not path:
        raise ParamPathError(f"a parameter path is a non-empty string, got {path!r}")
    if "->" in path:
        try:
            top, rest = _resolve_projection(params, path)
        except ParamPathError:
            # a network's params nested in a larger tree: {"net": params, ...}
            head, _, inner = path.partition(".")
            if "->" in head or not isinstance(params.get(head), dict):
                raise
            return [head] + _resolve(params[head], inner)
    else:
        top, _, rest = path.partition(".")
    if top not in params:
        raise ParamPathError(_unknown(params, path, f"no region {top!r}"))
    keys, node = [top], params[top]
    for key in rest.split(".") if rest else []:
        if key not in _children(node):
            raise ParamPathError(_unknown(params, path, f"no {key!r} (found {_children(node)})"))
        keys.append(key)
        node = _child(node, key)
    return keys


def _resolve_projection(params, path: str) -> tuple[str, str]:
    left, right = path.split("->", 1)
    matches = []
    for name in params:
        if "->" not in name:
            continue
        src, dst = name.split("->")
        if left not in (src, src.split(".")[0]):
            continue
        for head in (dst, dst.split(".")[0]):
            if right == head or right.startswith(head + "."):
                matches.append((name, right[len(head) + 1:]))
                break
    exact = [m for m in matches if path.startswith(m[0])]
    if len(exact) == 1:
        return exact[0]
    existing = [m for m in matches if _exists(params[m[0]], m[1])]
    if len(existing) == 1:
        return existing[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ParamPathError(_unknown(params, path, "no projection matches"))
    names = ", ".join(sorted(m[0] for m in matches))
    raise ParamPathError(f"{path!r} is ambiguous; name the ports: one of {names}")


def _exists(node, rest: str) -> bool:
    for key in rest.split(".") if rest else []:
        if key not in _children(node):
            return False
        node = _child(node, key)
    return True


def _unknown(params, path: str, why: str) -> str:
    listed = paths(params)
    shown = ", ".join(listed[:40]) + (", ..." if len(listed) > 40 else "")
    return f"unknown parameter path {path!r} ({why}); valid paths: {shown}"
