"""Long runs: jitted chunks on device, records and checkpoints on the host.

A chunked run compiles one chunk of ``N`` steps and calls it repeatedly.
While chunk ``k + 1`` runs, the records of chunk ``k`` are fetched to the
host and, with ``checkpoint=path``, written to disk:

- ``path/records/<port>.npy``: one memory-mapped array per recorded port,
  filled chunk by chunk, so a 10^7-step run never holds its records in RAM;
- ``path/checkpoint.json`` + ``tree-*.msgpack``: the state after the chunk
  (see `brainsim.checkpoint`), how far the run got, and for each record
  file its shape, dtype, rows written and a checksum of those rows (a
  SHA-256 chained chunk by chunk: ``h_k = sha256(h_{k-1} + rows of chunk k)``,
  so writing costs one hash of each chunk and verifying one pass over the
  rows written).

``resume=path`` loads that state and continues after the last completed
chunk; if nothing was saved at ``path`` yet, the run starts there, so a
requeued job may always pass ``resume=``. The run's identity (network,
steps, chunk, record plan, params, initial state and input arrays, by
digest) is saved with the checkpoint, and resuming a different run is
refused with the differences named. Before continuing, a resume checks the
type, range and checksum of every field it relies on and every record file;
any fault raises `CheckpointError` naming the field or file. Because the
noise of step ``t`` depends only on ``t``, an interrupted and resumed run
equals the uninterrupted one bit for bit on the same backend.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import jax
import numpy as np

from brainsim import checkpoint as checkpoints
from brainsim import run_folders
from brainsim._src import external
from brainsim._src.progress import progress_bar
from brainsim._src.scan import compiled_scan, raise_if_bad
from brainsim.checks import check_int
from brainsim.errors import RunInputError


def run_chunked(net, params, state, arrays, plan, chunk, *,
                progress=None, check_finite=False, checkpoint=None, resume=None):
    """The host loop of `brainsim._src.simulate.run` with ``chunk=``, for a `brainsim._src.plan.RunPlan`;
    returns ``(state, trace)``."""
    steps, recording, functions = plan.steps, plan.recording, plan.functions
    check_int("run", "chunk", chunk, error=RunInputError)
    if chunk % recording.every:
        raise RunInputError(f"chunk={chunk} must be a multiple of every={recording.every}")
    # digests of params and inputs cost a pass over them: only checkpointed runs need them
    keeps = checkpoint is not None or resume is not None
    identity = (run_identity(net, params, state, arrays, steps, chunk, recording, functions)
                if keeps else None)
    done, saved_records = 0, {}
    if resume is not None:
        if checkpoint is not None and Path(checkpoint).resolve() != Path(resume).resolve():
            raise RunInputError(
                f"resume={resume!s} and checkpoint={checkpoint!s} differ; a resumed run keeps "
                "writing to the folder it resumes (its records live there)"
            )
        checkpoint = resume
        if checkpoints.exists(resume):  # else nothing was saved yet: start the run there
            state, done, saved_records = _resume(resume, state, identity)
    sink = (DiskRecords(Path(checkpoint) / "records", chunk // recording.every, saved_records)
            if checkpoint is not None else MemoryRecords())
    provenance = run_folders.provenance() if checkpoint is not None else None
    bar = progress_bar(steps, "run", show=progress, initial=done)

    def finish(pending):
        records, first_bad, chunk_state, start, n = pending
        sink.write(jax.device_get(records), start // recording.every, steps // recording.every)
        if check_finite:
            raise_if_bad(net, first_bad)
        if checkpoint is not None:
            meta = {"run": identity, "steps_done": start + n, "complete": start + n == steps,
                    "records": sink.manifest, "provenance": provenance}
            checkpoints.save(checkpoint, chunk_state, meta, step=start + n)
        bar.update(n)

    pending = None  # the previous chunk, finished on the host while the next one runs
    for start in range(done, steps, chunk):
        n = min(chunk, steps - start)
        # slice on the host, so that only one chunk of a long drive is on device
        part = external.cast({path: a[start:start + n] for path, a in arrays.items()})
        part_plan = dataclasses.replace(plan, steps=n)
        state, records, first_bad = compiled_scan(net, params, state, part, plan=part_plan,
                                                  check_finite=check_finite)
        if pending is not None:
            finish(pending)
        pending = (records, first_bad, state, start, n)
    if pending is not None:
        finish(pending)
    bar.close()
    return state, sink.result([path for path, _ in recording.entries])


def run_identity(net, params, state, arrays, steps, chunk, recording, functions) -> dict:
    """What makes two runs the same run: saved with, and checked against, a checkpoint."""
    return {
        "network": net.fingerprint,
        "steps": steps,
        "chunk": chunk,
        "every": recording.every,
        "record": [[p, r if isinstance(r, str) or r is None else _name(r)]
                   for p, r in recording.entries],
        "params": _digest(params),
        "initial_state": _digest(state),
        "inputs": {path: _digest(a) for path, a in sorted(arrays.items())},
        "input_functions": {path: _name(fn) for path, fn in functions},
    }


def _resume(path, state, identity):
    """The saved state, steps done and record manifest, each checked against ``identity``."""
    meta = checkpoints.read_meta(path)
    _check_same_run(path, meta, identity)
    done = _check_progress(path, meta, identity)
    records = _check_manifest(path, meta, identity, done)
    state, _ = checkpoints.load(path, like=state)
    return state, done, records


def _check_same_run(path, meta, identity):
    saved = meta.get("run")
    if not isinstance(saved, dict):
        checkpoints.fail(path, "meta.run", f"is {checkpoints.shown(saved)}, not an object "
                         "(was this checkpoint written by a chunked run?)")
    missing = [k for k in identity if k not in saved]
    if missing:
        checkpoints.fail(path, "meta.run", f"lacks {', '.join(missing)} (the file was edited or "
                         "damaged; start a new checkpoint)")
    differs = [k for k in identity if saved[k] != identity[k]]
    if differs:
        raise checkpoints.CheckpointError(
            f"checkpoint {path} belongs to another run: its {', '.join(differs)} differ "
            f"from this call's (as meta.run in {checkpoints.INDEX} records them); resume with the "
            "same network, params, initial state, inputs, "
            "steps, chunk and record plan, or start a new checkpoint"
        )


def _check_progress(path, meta, identity) -> int:
    """``steps_done``, which must be a chunk boundary of this run, and ``complete``."""
    done, steps, chunk = meta.get("steps_done"), identity["steps"], identity["chunk"]
    if not checkpoints.is_int(done):
        checkpoints.fail(path, "meta.steps_done", f"is {checkpoints.shown(done)}, not an integer")
    if not 0 < done <= steps or (done % chunk and done != steps):
        checkpoints.fail(path, "meta.steps_done",
                         f"is {done}; a run of {steps} steps in chunks of {chunk} is saved after "
                         f"a multiple of {chunk} steps or after all {steps}")
    complete = meta.get("complete")
    if complete is not (done == steps):
        checkpoints.fail(path, "meta.complete",
                         f"is {checkpoints.shown(complete)} but {done} of {steps} steps are done")
    return done


def _check_manifest(path, meta, identity, done) -> dict:
    """The ``records`` entry: one well-formed entry per recorded port, ``done`` steps long."""
    records = meta.get("records")
    ports = sorted(p for p, _ in identity["record"])
    if not isinstance(records, dict) or sorted(records) != ports:
        checkpoints.fail(path, "meta.records",
                         f"is {checkpoints.shown(records)}; expected an entry for each of {ports}")
    rows = done // identity["every"]
    for port, entry in records.items():
        field = f'meta.records["{port}"]'
        if not _is_manifest_entry(entry):
            checkpoints.fail(path, field, f"is {checkpoints.shown(entry)}, not "
                             "{shape: [int, ...], dtype: str, rows: int, sha256: hex digest}")
        if entry["shape"][0] != identity["steps"] // identity["every"]:
            checkpoints.fail(path, field, f"has shape {entry['shape']}, not "
                             f"{identity['steps'] // identity['every']} rows")
        if entry["rows"] != rows:
            checkpoints.fail(path, field, f"says {entry['rows']} rows are written, but "
                             f"{done} steps every {identity['every']} make {rows}")
    return records


def _is_manifest_entry(entry) -> bool:
    if not (isinstance(entry, dict) and set(entry) == {"shape", "dtype", "rows", "sha256"}):
        return False
    shape, dtype = entry["shape"], entry["dtype"]
    if not (isinstance(shape, list) and shape and all(checkpoints.is_int(n) and n >= 0
                                                         for n in shape)):
        return False
    try:
        np.dtype(dtype if isinstance(dtype, str) else None)
    except TypeError:
        return False
    return (isinstance(dtype, str) and checkpoints.is_int(entry["rows"])
            and checkpoints.is_hex_digest(entry["sha256"]))


class MemoryRecords:
    """Records kept in host memory and concatenated at the end."""

    def __init__(self):
        self.pieces: dict[str, list] = {}

    def write(self, records, row, rows):
        for path, value in records.items():
            self.pieces.setdefault(path, []).append(np.asarray(value))

    def result(self, paths):
        return {p: np.concatenate(self.pieces[p], axis=0) for p in paths if p in self.pieces}


class DiskRecords:
    """Records written into memory-mapped ``.npy`` files, one per port.

    ``manifest`` holds, per port, the file's shape and dtype, the rows
    written so far and their chained checksum (see `chain`); ``saved`` is
    the manifest of a resumed checkpoint, whose files are verified against
    it and reopened for writing.
    """

    def __init__(self, folder: Path, rows_per_chunk: int, saved: dict | None = None):
        self.folder, self.rows_per_chunk = folder, rows_per_chunk
        self.files: dict[str, np.memmap] = {}
        self.manifest: dict[str, dict] = {}
        folder.mkdir(parents=True, exist_ok=True)
        for path, entry in (saved or {}).items():
            self.files[path] = verified_records(folder, path, entry, rows_per_chunk)
            self.manifest[path] = dict(entry)

    def _file(self, path, value, rows):
        if path not in self.files:
            shape = (rows, *value.shape[1:])
            self.files[path] = np.lib.format.open_memmap(
                self.folder / f"{path}.npy", mode="w+", dtype=value.dtype, shape=shape)
            self.manifest[path] = {"shape": list(shape), "dtype": str(value.dtype), "rows": 0,
                                   "sha256": EMPTY}
        return self.files[path]

    def write(self, records, row, rows):
        for path, value in records.items():
            out = self._file(path, np.asarray(value), rows)
            value = np.ascontiguousarray(value, dtype=out.dtype)
            out[row:row + len(value)] = value
            out.flush()
            entry = self.manifest[path]
            entry["sha256"], entry["rows"] = chain(entry["sha256"], value), row + len(value)

    def result(self, paths):
        for memmap in self.files.values():
            memmap.flush()
        return {p: _typed(np.load(self.folder / f"{p}.npy", mmap_mode="r"),
                          self.manifest[p]["dtype"])
                for p in paths if p in self.manifest}


EMPTY = hashlib.sha256(b"").hexdigest()


def chain(previous: str, rows: np.ndarray) -> str:
    """The record checksum after appending ``rows``: ``sha256(previous + bytes of rows)``."""
    h = hashlib.sha256(bytes.fromhex(previous))
    h.update(np.ascontiguousarray(rows).data)
    return h.hexdigest()


def verified_records(folder: Path, port: str, entry: dict, rows_per_chunk: int) -> np.memmap:
    """Open ``folder/<port>.npy`` for writing after checking it against its manifest ``entry``."""
    name = f"{folder.name}/{port}.npy"
    target = folder / f"{port}.npy"
    if not target.exists():
        raise checkpoints.CheckpointError(
            f"checkpoint {folder.parent}: {name} is missing; its {entry['rows']} rows were "
            "written and cannot be recovered (start a new checkpoint)")
    try:  # "r", not "r+": numpy would pad a short file with zeros
        data = np.load(target, mmap_mode="r")
    except Exception as err:  # a damaged header fails in numpy's parser: ValueError, SyntaxError, TokenError...
        raise checkpoints.CheckpointError(
            f"checkpoint {folder.parent}: {name} is truncated or unreadable: {err}") from None
    expected = (tuple(entry["shape"]), np.dtype(entry["dtype"]))
    data = _typed(data, entry["dtype"])
    if (data.shape, data.dtype) != expected:
        raise checkpoints.CheckpointError(
            f"checkpoint {folder.parent}: {name} has shape {data.shape} and dtype {data.dtype}; "
            f"checkpoint.json records shape {expected[0]} and dtype {expected[1]}")
    digest = EMPTY
    for start in range(0, entry["rows"], rows_per_chunk):
        digest = chain(digest, data[start:min(start + rows_per_chunk, entry["rows"])])
    if digest != entry["sha256"]:
        raise checkpoints.CheckpointError(
            f"checkpoint {folder.parent}: {name} does not match its checksum over the "
            f"{entry['rows']} rows written so far (the file was changed or damaged)")
    return np.load(target, mmap_mode="r+")


def _typed(data: np.ndarray, dtype: str) -> np.ndarray:
    """``data`` viewed as ``dtype`` where ``.npy`` stored it as raw bytes (bfloat16)."""
    dtype = np.dtype(dtype)
    raw_bytes = np.issubdtype(data.dtype, np.void) and not np.issubdtype(dtype, np.void)
    if raw_bytes and data.dtype.itemsize == dtype.itemsize:
        return data.view(dtype)
    return data


def _digest(tree) -> str:
    h = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(tree):
        leaf = np.asarray(jax.random.key_data(leaf) if jax.numpy.issubdtype(
            leaf.dtype, jax.dtypes.prng_key) else leaf)
        h.update(str((leaf.shape, leaf.dtype)).encode())
        h.update(np.ascontiguousarray(leaf).tobytes())
    return h.hexdigest()


def _name(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
