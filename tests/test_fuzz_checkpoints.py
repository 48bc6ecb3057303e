"""Property-based fuzzing of damaged checkpoints (issue 18, family 4; shared machinery in fuzz_support.py).

A saved, interrupted chunked run, its files deleted, truncated, garbled or its
``checkpoint.json`` edited, then resumed: every case clear or accepted-correct
(equal to the uninterrupted run).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fuzz_support import Wrong, assert_family, close, fuzz, judge, leaves_equal, run_net
from hypothesis import example, given
from hypothesis import strategies as st

CK_STEPS, CK_CHUNK, CK_RECORD = 6, 2, ["a.rate", "b.rate"]
SAVED = {}


class Interrupted(Exception):
    pass


def _ck_call(net, params, state, folder, **kwargs):
    drive = np.linspace(-1.0, 1.0, CK_STEPS * 3).reshape(CK_STEPS, 3)
    return net.run(params, state, CK_STEPS, inputs={"a.input": drive}, record=CK_RECORD, chunk=CK_CHUNK,
                   progress=False, checkpoint=folder, **kwargs)


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, request):
    """An interrupted checkpointed run (4 of 6 steps saved) and the uninterrupted result."""
    net, params, state = run_net()
    root = tmp_path_factory.mktemp("checkpoints")
    final, trace = _ck_call(net, params, state, root / "whole")
    reference = (final, {k: np.array(v) for k, v in trace.items()})
    from brainsim import checkpoint as checkpoints

    save, calls = checkpoints.save, []

    def save_then_stop(*args, **kwargs):  # a kill after the second chunk was saved
        out = save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted
        return out

    mp = pytest.MonkeyPatch()
    mp.setattr(checkpoints, "save", save_then_stop)
    try:
        with pytest.raises(Interrupted):
            _ck_call(net, params, state, root / "cut")
    finally:
        mp.undo()
    index = json.loads((root / "cut" / "checkpoint.json").read_text())
    assert index["meta"]["steps_done"] == 4 and not index["meta"]["complete"]
    SAVED.update(folder=root / "cut", reference=reference, root=root, count=0)
    return SAVED


def _files(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 10), st.sampled_from([2**31, 2**63, -1, 4, 6, 2]),
              st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=5),
              st.sampled_from(["float32", "int8", "V4", "<f4", "a" * 64, "0" * 64, "tree-000000000004.msgpack",
                               "brainsim-checkpoint", "a.rate"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3), inner, max_size=2)),
    max_leaves=4)

JSON_FIELDS = ["format", "version", "file", "sha256", "leaves", "meta", "checksums", "extra",
               "meta.steps_done", "meta.complete", "meta.records", "meta.provenance", "meta.run",
               "meta.run.steps", "meta.run.chunk", "meta.run.network", "meta.run.record", "meta.run.params",
               "meta.records.a.rate", "meta.records.a.rate.rows", "meta.records.a.rate.shape",
               "meta.records.a.rate.dtype", "meta.records.a.rate.sha256", "meta.records.b.rate.rows",
               "checksums.meta.steps_done", "checksums.file", "leaves.first", "meta.new"]


@st.composite
def damage(draw):
    """One to three damages: (what, file or field, parameters)."""
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["delete", "truncate", "flip", "append", "garble", "edit", "edit",
                                     "edit_resum", "edit_resum", "npy"]))
        if what in ("edit", "edit_resum"):
            ops.append((what, draw(st.sampled_from(JSON_FIELDS)),
                        draw(st.one_of(json_values, st.just("<delete>")))))
        elif what == "npy":
            ops.append((what, draw(st.sampled_from(["a.rate", "b.rate"])),
                        draw(st.sampled_from(["shape", "dtype", "values", "unwritten", "fortran"]))))
        else:
            ops.append((what, draw(st.sampled_from(["checkpoint.json", "tree", "records/a.rate.npy",
                                                    "records/b.rate.npy", "records"])),
                        (draw(st.floats(0, 1)), draw(st.integers(1, 255)))))
    return ops


def _field_names(field):
    """What an error about ``field`` of checkpoint.json should mention."""
    parts = field.split(".")
    if parts[0] != "meta" or len(parts) == 1:
        return [parts[0], field, "checkpoint.json" if parts[0] == "extra" else None] + \
            (["meta." + ".".join(parts[1:]), parts[1]] if parts[0] == "checksums" and len(parts) > 1 else [])
    if parts[1] == "records":
        return ["meta.records", f'meta.records["{".".join(parts[2:4])}"]', ".".join(parts[2:4]) or None]
    if parts[1] == "run":
        return ["meta.run", parts[2] if len(parts) > 2 else None]
    return [f"meta.{parts[1]}", parts[1]]


def _set_field(index, field, value):
    parts = field.split(".")
    if parts[0] == "meta" and len(parts) > 2 and parts[1] == "records":
        parts = ["meta", "records", ".".join(parts[2:4])] + parts[4:]
    if parts[0] == "checksums" and len(parts) > 1:
        parts = ["checksums", ".".join(parts[1:])]
    node = index
    for key in parts[:-1]:
        if not isinstance(node, dict):
            return
        node = node.setdefault(key, {})
    if not isinstance(node, dict):
        return
    if value == "<delete>":
        node.pop(parts[-1], None)
    else:
        node[parts[-1]] = value


def _rewritten(data, how):
    """A record's rows changed in one way: ``shape``, ``dtype``, ``values``, ``unwritten``, ``fortran``."""
    if how == "shape":
        return np.concatenate([data, data[:1]])
    if how == "dtype":
        return data.astype(np.float64)
    data = data.copy()
    if how == "values":
        data[0, 0] += 1
    elif how == "unwritten":  # rows 4 and 5 are not written yet: harmless
        data[4:] = 7.0
    elif how == "fortran":
        data = np.asfortranarray(data)
    return data


def apply_damage(folder: Path, ops):
    """Damage ``folder``; return the names an error should mention."""
    from brainsim import checkpoint as checkpoints

    names = []
    tree = next(folder.glob("tree-*.msgpack")).name
    for what, target, arg in ops:
        if what in ("edit", "edit_resum"):
            path = folder / "checkpoint.json"
            try:
                index = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(index, dict):
                continue
            _set_field(index, target, arg)
            if what == "edit_resum" and isinstance(index.get("meta"), dict) and all(
                    k in index for k in ("file", "sha256", "leaves")):
                try:
                    index["checksums"] = checkpoints.field_checksums(index)
                except TypeError:
                    pass
            path.write_text(json.dumps(index))
            names += _field_names(target)
            continue
        if what == "npy":
            path = folder / "records" / f"{target}.npy"
            if not path.exists():
                continue
            try:  # an earlier op may have damaged this file: then this one has nothing to rewrite
                data = _rewritten(np.load(path, allow_pickle=False), arg)
            except Exception:
                continue
            np.save(path, data)
            names += [f"{target}.npy"]
            continue
        name = tree if target == "tree" else target
        path = folder / name
        names += [Path(name).name, name]
        if what == "delete":
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
            continue
        if not path.is_file():
            continue
        data = bytearray(path.read_bytes())
        position, byte = arg
        at = min(int(position * len(data)), max(len(data) - 1, 0))
        if what == "truncate":
            data = data[:at]
        elif what == "flip" and data:
            data[at] ^= byte
        elif what == "append":
            data += bytes([byte]) * 3
        elif what == "garble":
            data = bytearray(bytes([byte]) * len(data))
        path.write_bytes(bytes(data))
    return names


def check_resumed(reference, result):
    final, trace = result
    ref_final, ref_trace = reference
    leaves_equal(final, ref_final, exact=True)
    if sorted(trace) != sorted(ref_trace):
        raise Wrong(f"records {sorted(trace)}")
    for port, values in ref_trace.items():
        close(trace[port], values, exact=True)
    return True


@fuzz(300)
@given(damage())
@example([("delete", "checkpoint.json", (0.0, 1))])
@example([("npy", "a.rate", "unwritten")])
@example([("edit_resum", "meta.provenance", None)])
@example([("edit_resum", "meta.records.a.rate.dtype", "V4")])
@example([("edit_resum", "meta.run", {})])
@example([("edit", "checksums", {})])
@example([("flip", "records/b.rate.npy", (0.05859375, 1))])
@example([("truncate", "records/a.rate.npy", (0.5, 1)), ("npy", "a.rate", "values")])
@example([("flip", "records/b.rate.npy", (0.05, 1)), ("npy", "b.rate", "shape")])
@example([("garble", "records/a.rate.npy", (0.0, 128)), ("npy", "a.rate", "dtype")])
def test_damaged_checkpoint(saved_run, ops):
    net, params, state = run_net()
    SAVED["count"] += 1
    folder = SAVED["root"] / f"case{SAVED['count']}"
    shutil.copytree(SAVED["folder"], folder)
    try:
        names = apply_damage(folder, ops)
        judge("damaged checkpoints", lambda: _ck_call(net, params, state, folder, resume=folder), names,
              lambda result: check_resumed(SAVED["reference"], result))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_zz_checkpoint_outcomes(request):
    """The damaged-checkpoints row of the table (run last in this file: it reads the counters)."""
    assert_family("damaged checkpoints", request, [test_damaged_checkpoint])
