"""Checkpoints: versioned, atomic, pickle-free snapshots of a pytree.

A checkpoint is a folder holding

- ``tree-<step>.msgpack``: the leaves, flattened to ``{path: array}`` and
  written with `flax.serialization` (msgpack; typed PRNG keys are stored as
  their raw key data and rewrapped on load);
- ``checkpoint.json``: the format and version, the file above, its SHA-256,
  each leaf's shape and dtype, the caller's metadata, and ``checksums``: a
  SHA-256 of every other field (``file``, ``sha256``, ``leaves``) and of each
  metadata entry (``meta.<key>``).

Writing is atomic: the msgpack file is written under a temporary name and
renamed, then ``checkpoint.json`` is replaced the same way, so an interrupted
write leaves the previous checkpoint intact. Files get the usual mode of new
files (the umask applies). Reading checks the type of every field, the
version and every checksum, and loading checks each leaf against a template;
each failure raises `CheckpointError` naming the field or file at fault, and
nothing is ever half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import NoReturn

import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

from brainsim._src.trees import describe, difference, flatten
from brainsim.errors import BrainsimError
from brainsim.run_folders import atomic_write

FORMAT = "brainsim-checkpoint"
VERSION = 2  # 2: checksums of every field of checkpoint.json
INDEX = "checkpoint.json"
_TREE_FILE = re.compile(r"tree-\d{12}\.msgpack")
_HEX = re.compile(r"[0-9a-f]{64}")


class CheckpointError(BrainsimError, ValueError):
    """A checkpoint is missing, corrupt, truncated or does not fit the model."""


def save(path: str | os.PathLike, tree, meta: dict | None = None, step: int = 0) -> Path:
    """Write ``tree`` (any pytree of arrays) and ``meta`` (JSON data) to the folder ``path``."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    payload = serialization.msgpack_serialize({p: _to_numpy(x) for p, x in flatten(tree).items()})
    name = f"tree-{step:012d}.msgpack"
    atomic_write(folder / name, payload)
    index = {
        "format": FORMAT,
        "version": VERSION,
        "file": name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "leaves": describe(tree),
        "meta": json.loads(json.dumps(meta or {})),  # as it will read back
    }
    index["checksums"] = field_checksums(index)
    atomic_write(folder / INDEX, json.dumps(index, indent=1).encode())
    for old in folder.glob("tree-*.msgpack"):  # the previous one, or one left by a kill
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder


def exists(path: str | os.PathLike) -> bool:
    """Whether anything was saved at ``path`` (its ``checkpoint.json`` exists)."""
    return (Path(path) / INDEX).exists()


def read_meta(path: str | os.PathLike) -> dict:
    """The metadata saved with the checkpoint at ``path``, verified against its checksums."""
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
    flat = _read_tree(folder, index)
    template = flatten(like)
    restored = {p: _from_numpy(flat[p], template[p]) for p in template}
    treedef = jax.tree_util.tree_structure(like)
    return jax.tree_util.tree_unflatten(treedef, [restored[p] for p in template]), index["meta"]


def field_checksums(index: dict) -> dict[str, str]:
    """SHA-256 of each field of ``index`` that a reader relies on, by field name."""
    fields = {k: index[k] for k in ("file", "sha256", "leaves")}
    fields.update({f"meta.{k}": v for k, v in index["meta"].items()})
    return {k: _json_sha256(v) for k, v in fields.items()}


def fail(folder, field: str, problem: str) -> NoReturn:
    """Raise `CheckpointError`: ``field`` of ``folder``'s checkpoint.json ``problem``."""
    raise CheckpointError(f"checkpoint {folder}: {INDEX} field '{field}' {problem}")


def is_int(value) -> bool:
    """Whether ``value`` is a JSON integer (not a bool, a float or a string)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_hex_digest(value) -> bool:
    """Whether ``value`` is a SHA-256 hex digest."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def shown(value) -> str:
    """``value`` with its JSON type, for an error message."""
    return f"{value!r} ({type(value).__name__})"


def _read_tree(folder: Path, index: dict) -> dict:
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
        raise CheckpointError(f"checkpoint {folder} is corrupt: {data_file.name}: {err}") from None
    if not isinstance(flat, dict) or set(flat) != set(index["leaves"]):
        raise CheckpointError(f"checkpoint {folder} is corrupt: {data_file.name} does not hold "
                              "the leaves that checkpoint.json lists")
    return flat


def _to_numpy(x):
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(x))
    return np.asarray(x)


def _from_numpy(value, like):
    if jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(jnp.asarray(value), impl=jax.random.key_impl(like))
    return jnp.asarray(value, dtype=like.dtype)


def _read_index(folder: Path) -> dict:
    """``checkpoint.json``, with every field type-checked and its checksum verified."""
    try:
        index = json.loads((folder / INDEX).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {folder} ({INDEX} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {folder}: unreadable {INDEX}: {err}") from None
    if not isinstance(index, dict):
        raise CheckpointError(f"checkpoint {folder}: {INDEX} holds {shown(index)}, not an object")
    _check_header(folder, index)
    _check_fields(folder, index)
    _check_checksums(folder, index)
    return index


def _check_header(folder: Path, index: dict) -> None:
    if "format" not in index:
        raise CheckpointError(f"{folder} is not a brainsim checkpoint: {INDEX} has no 'format' field")
    if index["format"] != FORMAT:
        raise CheckpointError(f"{folder} is not a brainsim checkpoint: {INDEX} field 'format' "
                              f"is {shown(index['format'])}, not {FORMAT!r}")
    version = index.get("version")
    if not is_int(version):
        fail(folder, "version", f"is {shown(version)}; expected the integer {VERSION}")
    if version != VERSION:
        raise CheckpointError(
            f"checkpoint {folder} has format version {version}; this brainsim reads version "
            f"{VERSION}" + (" (it was written by an older brainsim)" if version < VERSION else "")
        )


def _check_fields(folder: Path, index: dict) -> None:
    if not (isinstance(index.get("file"), str) and _TREE_FILE.fullmatch(index["file"])):
        fail(folder, "file", f"is {shown(index.get('file'))}, not a name tree-<step>.msgpack")
    if not is_hex_digest(index.get("sha256")):
        fail(folder, "sha256", f"is {shown(index.get('sha256'))}, not a SHA-256 hex digest")
    leaves = index.get("leaves")
    if not (isinstance(leaves, dict) and all(_is_leaf(v) for v in leaves.values())):
        fail(folder, "leaves", "is not a {path: [shape, dtype]} object")
    if not isinstance(index.get("meta"), dict):
        fail(folder, "meta", f"is {shown(index.get('meta'))}, not an object")
    checksums = index.get("checksums")
    if not (isinstance(checksums, dict) and all(map(is_hex_digest, checksums.values()))):
        fail(folder, "checksums", "is not a {field: SHA-256 hex digest} object")


def _check_checksums(folder: Path, index: dict) -> None:
    saved, actual = index["checksums"], field_checksums(index)
    for name in actual:
        if name not in saved:
            fail(folder, name, "has no entry in 'checksums' (a field added, or checksums edited, "
                 "after the checkpoint was written)")
        if saved[name] != actual[name]:
            fail(folder, name, "does not match its checksum (the file was edited or damaged)")
    for name in saved:
        if name not in actual:
            fail(folder, name, "is missing (its checksum is there)")


def _is_leaf(value) -> bool:
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list)
            and all(is_int(n) and n >= 0 for n in value[0]) and isinstance(value[1], str))


def _json_sha256(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
