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
import numpy as np

from brainsim._src.external import describe, dtype_of, is_real, overflows
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
    It must be real numbers (complex only for a complex leaf); a concrete
    ``dt`` must be finite and > 0 (a traced one is not checked).
    """
    keys = _resolve(params, path)
    return _replace(params, keys, fitted(params, path, value))


def fitted(params, path: str, value) -> jax.Array:
    """``value`` cast and broadcast to the leaf at ``path``, or a ParamPathError naming it."""
    old = get(params, path)
    if not hasattr(old, "shape"):
        raise ParamPathError(f"{path!r} names a group of parameters, not one array: {_children(old)}")
    given = value
    value = _cast(path, value, old.dtype)
    try:
        value = jnp.broadcast_to(value, old.shape)
    except ValueError:
        raise ParamPathError(
            f"cannot set {path!r}: value of shape {value.shape} does not fit the "
            f"parameter's shape {old.shape}"
        ) from None
    if path.split(".")[-1] == "dt":
        _check_dt(path, given, value)
    return value


def _cast(path: str, value, dtype) -> jax.Array:
    """``value`` as an array of ``dtype``, refusing text, None, objects and lost imaginary parts."""
    given = dtype_of(value)
    complex_ok = jnp.issubdtype(dtype, jnp.complexfloating)
    ok = is_real(given) or (complex_ok and given is not None and jnp.issubdtype(given, jnp.number))
    if ok:
        try:
            cast = jnp.asarray(value, dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            cast = None
        if cast is not None and overflows(value, cast):
            raise ParamPathError(f"cannot set {path!r} to {describe(value)}: it overflows {dtype} "
                                 "(the parameter's dtype) to inf")
        if cast is not None:
            return cast
    raise ParamPathError(
        f"cannot set {path!r} to {describe(value)}: a parameter takes real numbers "
        f"(a number or an array of {dtype})"
    )


def _check_dt(path: str, given, value) -> None:
    """Refuse a concrete ``dt`` that is not a finite number > 0 (``given`` is what the user passed)."""
    if isinstance(value, jax.core.Tracer):
        return
    array = np.asarray(value)
    if dtype_of(given) == np.bool_ or not (np.isfinite(array) & (array > 0)).all():
        raise ParamPathError(
            f"cannot set {path!r} to {describe(given)}: dt must be a finite number of ms > 0"
        )


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
    if "" in path.split("."):  # "a.", ".a", "a..tau": not a shorter path in disguise
        raise ParamPathError(_unknown(params, path, "an empty name between dots"))
    if "->" in path:
        try:
            top, rest = _resolve_projection(params, path)
        except ParamPathError:
            head, _, inner = path.partition(".")
            if not _is_network(params.get(head)):
                raise
            return [head] + _resolve_nested(params[head], head, inner)
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


def _is_network(node) -> bool:
    """Whether ``node`` is a network's params (it has projections), nested in a larger tree."""
    return isinstance(node, dict) and any(isinstance(k, str) and "->" in k for k in node)


def _resolve_nested(params, head: str, inner: str) -> list[str]:
    """`_resolve` of ``inner`` in the network params under ``head``, naming the whole path on error."""
    try:
        return _resolve(params, inner)
    except ParamPathError as err:
        raise ParamPathError(f"in {head!r}: {err}") from None


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
        raise ParamPathError(_no_projection(params, path))
    names = ", ".join(sorted(m[0] for m in matches))
    raise ParamPathError(f"{path!r} is ambiguous; name the ports: one of {names}")


def _exists(node, rest: str) -> bool:
    for key in rest.split(".") if rest else []:
        if key not in _children(node):
            return False
        node = _child(node, key)
    return True


def _no_projection(params, path: str) -> str:
    """The message for a path with ``->`` that no projection of ``params`` matches."""
    listed = [p for p in paths(params) if "->" in p]
    shown = ", ".join(listed[:40]) + (", ..." if len(listed) > 40 else "") or "none"
    return f"unknown parameter path {path!r}: no projection matches it; projection paths: {shown}"


def _unknown(params, path: str, why: str) -> str:
    listed = paths(params)
    shown = ", ".join(listed[:40]) + (", ..." if len(listed) > 40 else "")
    return f"unknown parameter path {path!r} ({why}); valid paths: {shown}"
