"""Long runs: jitted chunks on device, records and checkpoints on the host.

A chunked run compiles one chunk of ``N`` steps and calls it repeatedly.
While chunk ``k + 1`` runs, the records of chunk ``k`` are fetched to the
host and, with ``checkpoint=path``, written to disk:

- ``path/records/<port>.npy``: one memory-mapped array per recorded port,
  filled chunk by chunk, so a 10^7-step run never holds its records in RAM;
- ``path/checkpoint.json`` + ``tree-*.msgpack``: the state after the chunk
  (see `brainsim.checkpoint`) and how far the run got.

``resume=path`` loads that state and continues after the last completed
chunk. The run's identity (network, steps, chunk, record plan, params and
input arrays, by digest) is saved with the checkpoint, and resuming a
different run is refused with the differences named. Because the noise of
step ``t`` depends only on ``t``, an interrupted and resumed run equals the
uninterrupted one bit for bit on the same backend.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from brainsim import checkpoint as checkpoints
from brainsim import external, outputs
from brainsim.errors import RunInputError
from brainsim.loop import raise_if_bad, simulate
from brainsim.region import check_int


def run_chunked(net, params, state, arrays, steps, chunk, recording, functions, *,
                progress=None, check_finite=False, checkpoint=None, resume=None):
    """The host loop of `brainsim.simulate.run` with ``chunk=``; returns ``(state, trace)``."""
    check_int("run", "chunk", chunk, error=RunInputError)
    if chunk % recording.every:
        raise RunInputError(f"chunk={chunk} must be a multiple of every={recording.every}")
    # digests of params and inputs cost a pass over them: only checkpointed runs need them
    keeps = checkpoint is not None or resume is not None
    identity = run_identity(net, params, arrays, steps, chunk, recording, functions) if keeps else None
    done = 0
    if resume is not None:
        if checkpoint is not None and Path(checkpoint).resolve() != Path(resume).resolve():
            raise RunInputError(
                f"resume={resume!s} and checkpoint={checkpoint!s} differ; a resumed run keeps "
                "writing to the folder it resumes (its records live there)"
            )
        state, done = _resume(resume, state, identity)
        checkpoint = resume
    sink = DiskRecords(Path(checkpoint) / "records", resuming=done > 0) if checkpoint else MemoryRecords()
    provenance = outputs.provenance() if checkpoint is not None else None
    bar = tqdm(total=steps, initial=done, unit="step", desc="brainsim run",
               disable=not (sys.stderr.isatty() if progress is None else progress))

    def finish(pending):
        records, first_bad, chunk_state, start, n = pending
        sink.write(jax.device_get(records), start // recording.every, steps // recording.every)
        if check_finite:
            raise_if_bad(net, first_bad)
        if checkpoint is not None:
            meta = {"run": identity, "steps_done": start + n, "complete": start + n == steps,
                    "provenance": provenance}
            checkpoints.save(checkpoint, chunk_state, meta, step=start + n)
        bar.update(n)

    pending = None  # the previous chunk, finished on the host while the next one runs
    for start in range(done, steps, chunk):
        n = min(chunk, steps - start)
        # slice on the host, so that only one chunk of a long drive is on device
        part = external.cast({path: a[start:start + n] for path, a in arrays.items()})
        state, records, first_bad = simulate(
            net, params, state, part, steps=n, recording=recording,
            functions=functions, check_finite=check_finite,
        )
        if pending is not None:
            finish(pending)
        pending = (records, first_bad, state, start, n)
    if pending is not None:
        finish(pending)
    bar.close()
    return state, sink.result([path for path, _ in recording.entries])


def run_identity(net, params, arrays, steps, chunk, recording, functions) -> dict:
    """What makes two runs the same run: saved with, and checked against, a checkpoint."""
    return {
        "network": net.fingerprint,
        "steps": steps,
        "chunk": chunk,
        "every": recording.every,
        "record": [[p, r if isinstance(r, str) or r is None else _name(r)]
                   for p, r in recording.entries],
        "params": _digest(params),
        "inputs": {path: _digest(a) for path, a in sorted(arrays.items())},
        "input_functions": {path: _name(fn) for path, fn in functions},
    }


def _resume(path, state, identity):
    saved = checkpoints.read_meta(path)
    differs = [k for k in identity if saved.get("run", {}).get(k) != identity[k]]
    if differs:
        raise checkpoints.CheckpointError(
            f"checkpoint {path} belongs to another run: its {', '.join(differs)} differ "
            "from this call's; resume with the same network, params, inputs, steps, "
            "chunk and record plan, or start a new checkpoint"
        )
    state, _ = checkpoints.load(path, like=state)
    return state, int(saved["steps_done"])


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
    """Records written into memory-mapped ``.npy`` files, one per port."""

    def __init__(self, folder: Path, resuming: bool):
        self.folder, self.resuming = folder, resuming
        self.files: dict[str, np.memmap] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def _file(self, path, value, rows):
        if path not in self.files:
            target = self.folder / f"{path}.npy"
            if self.resuming and target.exists():
                self.files[path] = np.load(target, mmap_mode="r+")
            else:
                self.files[path] = np.lib.format.open_memmap(
                    target, mode="w+", dtype=value.dtype, shape=(rows, *value.shape[1:]))
        return self.files[path]

    def write(self, records, row, rows):
        for path, value in records.items():
            value = np.asarray(value)
            out = self._file(path, value, rows)
            out[row:row + len(value)] = value
            out.flush()

    def result(self, paths):
        for memmap in self.files.values():
            memmap.flush()
        return {p: np.load(self.folder / f"{p}.npy", mmap_mode="r") for p in paths
                if (self.folder / f"{p}.npy").exists()}


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
