"""Checkpoints: versioned, atomic, pickle-free snapshots of a pytree.

A checkpoint is a folder holding

- ``tree-<step>.msgpack``: the leaves, flattened to ``{path: array}`` and
  written with `flax.serialization` (msgpack; typed PRNG keys are stored as
  their raw key data and rewrapped on load);
- ``checkpoint.json``: the format and version, the file above, its SHA-256,
  each leaf's shape and dtype, and the caller's metadata.

Writing is atomic: the msgpack file is written under a temporary name and
renamed, then ``checkpoint.json`` is replaced the same way, so an interrupted
write leaves the previous checkpoint intact. Loading checks the version, the
checksum and every leaf against a template, and raises `CheckpointError`
naming what differs; nothing is ever half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from brainsim.errors import BrainsimError
from brainsim.trees import describe, difference, flatten

FORMAT = "brainsim-checkpoint"
VERSION = 1


class CheckpointError(BrainsimError, ValueError):
    """A checkpoint is missing, corrupt, truncated or does not fit the model."""


def save(path: str | os.PathLike, tree, meta: dict | None = None, step: int = 0) -> Path:
    """Write ``tree`` (any pytree of arrays) and ``meta`` to the folder ``path``."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    leaves = describe(tree)
    payload = serialization.msgpack_serialize({p: _to_numpy(x) for p, x in flatten(tree).items()})
    name = f"tree-{step:012d}.msgpack"
    _atomic_write(folder / name, payload)
    index = {
        "format": FORMAT,
        "version": VERSION,
        "file": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "leaves": leaves,
        "meta": meta or {},
    }
    previous = _read_index(folder) if (folder / "checkpoint.json").exists() else None
    _atomic_write(folder / "checkpoint.json", json.dumps(index, indent=1).encode())
    if previous and previous.get("file") not in (None, name):
        (folder / previous["file"]).unlink(missing_ok=True)
    return folder


def read_meta(path: str | os.PathLike) -> dict:
    """The metadata saved with the checkpoint at ``path``."""
    return _read_index(Path(path))["meta"]


def load(path: str | os.PathLike, like):
    """Load the tree saved at ``path``; ``like`` is a template of the same structure.

    Returns ``(tree, meta)``. Raises `CheckpointError` if the files are missing,
    corrupt or truncated, or if any leaf's path, shape or dtype differs from
    ``like``'s.
    """
    folder = Path(path)
    index = _read_index(folder)
    expected = describe(like)
    if index["leaves"] != expected:
        raise CheckpointError(f"checkpoint {folder} does not fit this model: "
                              + difference(index["leaves"], expected, "checkpoint", "model"))
    data_file = folder / index["file"]
    try:
        payload = data_file.read_bytes()
    except OSError as err:
        raise CheckpointError(f"checkpoint {folder}: cannot read {data_file.name}: {err}") from None
    if hashlib.sha256(payload).hexdigest() != index["sha256"]:
        raise CheckpointError(
            f"checkpoint {folder} is corrupt or truncated: {data_file.name} does not match "
            "its recorded checksum"
        )
    try:
        flat = serialization.msgpack_restore(payload)
    except Exception as err:
        raise CheckpointError(f"checkpoint {folder} is corrupt: {err}") from None
    template = flatten(like)
    restored = {p: _from_numpy(flat[p], template[p]) for p in template}
    treedef = jax.tree_util.tree_structure(like)
    return jax.tree_util.tree_unflatten(treedef, [restored[p] for p in template]), index["meta"]


def _to_numpy(x):
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(x))
    return np.asarray(x)


def _from_numpy(value, like):
    if jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(like))
    return jnp.asarray(value, dtype=like.dtype)


def _read_index(folder: Path) -> dict:
    try:
        index = json.loads((folder / "checkpoint.json").read_text())
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {folder} (checkpoint.json is missing)") from None
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {folder}: unreadable checkpoint.json: {err}") from None
    if index.get("format") != FORMAT:
        raise CheckpointError(f"{folder} is not a brainsim checkpoint")
    if index.get("version") != VERSION:
        raise CheckpointError(
            f"checkpoint {folder} has format version {index.get('version')}; this brainsim "
            f"reads version {VERSION}"
        )
    return index


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(f.name, path)
