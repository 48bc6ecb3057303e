"""Checkpoints, resuming interrupted runs, records on disk."""

import dataclasses
import json
import os
import random
import signal
import stat
import subprocess
import sys
import textwrap

import chex
import jax
import numpy as np
import pytest
from helpers import noisy_loop, two_loop

import brainsim as bs
from brainsim import checkpoint


def without_key(state):
    return {k: v for k, v in state.items() if k != "key"}


def test_save_and_load_round_trip_with_typed_keys(tmp_path, key):
    net = bs.build(noisy_loop())
    _, state = net.init(key)
    checkpoint.save(tmp_path, state, {"note": "x"}, step=3)
    loaded, meta = checkpoint.load(tmp_path, like=state)
    assert meta == {"note": "x"}
    chex.assert_trees_all_equal(without_key(loaded), without_key(state))
    np.testing.assert_array_equal(jax.random.key_data(loaded["key"]), jax.random.key_data(state["key"]))


def test_truncated_or_corrupt_checkpoints_raise(tmp_path, key):
    net = bs.build(noisy_loop())
    _, state = net.init(key)
    checkpoint.save(tmp_path, state, step=1)
    data = next(tmp_path.glob("tree-*.msgpack"))
    payload = data.read_bytes()
    data.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(bs.CheckpointError, match="corrupt or truncated"):
        checkpoint.load(tmp_path, like=state)
    data.write_bytes(payload[:-1] + bytes([payload[-1] ^ 1]))
    with pytest.raises(bs.CheckpointError, match="corrupt"):
        checkpoint.load(tmp_path, like=state)
    (tmp_path / "checkpoint.json").write_text("{not json")
    with pytest.raises(bs.CheckpointError, match="unreadable"):
        checkpoint.load(tmp_path, like=state)
    with pytest.raises(bs.CheckpointError, match="no checkpoint"):
        checkpoint.load(tmp_path / "nowhere", like=state)


def test_newer_format_versions_are_refused(tmp_path, key):
    _, state = bs.build(noisy_loop()).init(key)
    checkpoint.save(tmp_path, state)
    index = json.loads((tmp_path / "checkpoint.json").read_text())
    index["version"] = 99
    (tmp_path / "checkpoint.json").write_text(json.dumps(index))
    with pytest.raises(bs.CheckpointError, match="version 99"):
        checkpoint.load(tmp_path, like=state)


def test_a_checkpoint_of_another_model_names_what_differs(tmp_path, key):
    _, state = bs.build(two_loop(n_a=6)).init(key)
    checkpoint.save(tmp_path, state)
    _, other = bs.build(two_loop(n_a=7)).init(key)
    with pytest.raises(bs.CheckpointError, match=r"\['regions'\]\['a'\]\['x'\]: checkpoint \[\[6\]"):
        checkpoint.load(tmp_path, like=other)
    _, lif = bs.build(bs.Connectome().add("a", bs.LIFPopulation(n=3))).init(key)
    with pytest.raises(bs.CheckpointError, match="lacks"):
        checkpoint.load(tmp_path, like=lif)


def test_checkpointed_run_writes_records_to_disk_and_equals_a_plain_run(tmp_path, key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    final, plain = net.run(params, state, 120, record=["a.rate"], every=2)
    final_ck, on_disk = net.run(params, state, 120, record=["a.rate"], every=2, chunk=30,
                                checkpoint=tmp_path)
    assert isinstance(on_disk["a.rate"], np.memmap)
    np.testing.assert_array_equal(on_disk["a.rate"], plain["a.rate"])
    chex.assert_trees_all_equal(without_key(final_ck), without_key(final))
    meta = checkpoint.read_meta(tmp_path)
    assert meta["complete"] is True and meta["steps_done"] == 120
    assert {"jax", "brainsim", "git_revision"} <= set(meta["provenance"])


def test_resuming_another_run_is_refused(tmp_path, key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    net.run(params, state, 60, record=["a.rate"], chunk=20, checkpoint=tmp_path)
    changed = bs.set(params, "a.tau", 3.0)
    with pytest.raises(bs.CheckpointError, match="params differ"):
        net.run(changed, state, 60, record=["a.rate"], chunk=20, resume=tmp_path)
    with pytest.raises(bs.CheckpointError, match="steps"):
        net.run(params, state, 80, record=["a.rate"], chunk=20, resume=tmp_path)
    with pytest.raises(bs.RunInputError, match="need chunk"):
        net.run(params, state, 60, checkpoint=tmp_path)
    with pytest.raises(bs.RunInputError, match="differ"):
        net.run(params, state, 60, record=["a.rate"], chunk=20, resume=tmp_path,
                checkpoint=tmp_path / "elsewhere")


# --- a resume verifies everything it relies on (issue 18) -------------------

STEPS, CHUNK, EVERY, PORTS = 60, 20, 2, ["a.rate", "out.rate"]


class Crash(Exception):
    """Stands in for a kill between two chunks."""


def noisy_run(net, params, state, folder, **kw):
    return net.run(params, state, STEPS, record=PORTS, every=EVERY, chunk=CHUNK, **kw,
                   checkpoint=folder)


@pytest.fixture
def model(key):
    net = bs.build(noisy_loop())
    params, state = net.init(key)
    return net, params, state


@pytest.fixture
def partial(tmp_path, model, monkeypatch):
    """A checkpoint of a run stopped after 40 of its 60 steps."""
    net, params, state = model
    real = checkpoint.save

    def save_then_crash(path, tree, meta=None, step=0):
        real(path, tree, meta, step=step)
        if step == 40:
            raise Crash

    monkeypatch.setattr(checkpoint, "save", save_then_crash)
    with pytest.raises(Crash):
        noisy_run(net, params, state, tmp_path)
    monkeypatch.setattr(checkpoint, "save", real)
    assert checkpoint.read_meta(tmp_path)["steps_done"] == 40
    return tmp_path


@pytest.fixture
def complete(tmp_path, model):
    net, params, state = model
    noisy_run(net, params, state, tmp_path)
    return tmp_path


def resume(model, folder):
    net, params, state = model
    return noisy_run(net, params, state, folder, resume=folder)


def edit_index(folder, change, restamp=False):
    """Edit checkpoint.json; ``restamp`` recomputes its checksums, as if written so."""
    index = json.loads((folder / "checkpoint.json").read_text())
    change(index)
    if restamp:
        index["checksums"] = checkpoint.field_checksums(index)
    (folder / "checkpoint.json").write_text(json.dumps(index))


def test_a_resumed_partial_run_equals_an_uninterrupted_one(partial, model, tmp_path_factory):
    final, records = resume(model, partial)
    net, params, state = model
    final_ref, ref = noisy_run(net, params, state, tmp_path_factory.mktemp("ref"))
    for port in PORTS:
        np.testing.assert_array_equal(records[port], ref[port])
    chex.assert_trees_all_equal(without_key(final), without_key(final_ref))
    assert len(list(partial.glob("tree-*.msgpack"))) == 1


def crash_in_save(monkeypatch, at_step, point):
    """Make the save after step ``at_step`` raise `Crash` at ``point``.

    ``"records"``: the chunk's records are written, its state not;
    ``"tree"``: its tree file is written, its checkpoint.json not;
    ``"index"``: all of it is saved.
    """
    real_save, real_write = checkpoint.save, checkpoint.atomic_write

    def write_then_crash(path, data):
        real_write(path, data)
        raise Crash

    def save(path, tree, meta=None, step=0):
        if step == at_step and point == "records":
            raise Crash
        if step == at_step and point == "tree":
            monkeypatch.setattr(checkpoint, "atomic_write", write_then_crash)
        real_save(path, tree, meta, step=step)
        if step == at_step:
            raise Crash

    monkeypatch.setattr(checkpoint, "save", save)
    return lambda: (monkeypatch.setattr(checkpoint, "save", real_save),
                    monkeypatch.setattr(checkpoint, "atomic_write", real_write))


@pytest.mark.parametrize("point", ["records", "tree", "index"])
@pytest.mark.parametrize("at_step", [20, 40, 60])
def test_a_crash_at_any_point_of_a_save_resumes(point, at_step, tmp_path, model, monkeypatch):
    """Crash, resume and crash again in the last chunk, resume: the uninterrupted run."""
    net, params, state = model
    folder = tmp_path / "ck"
    for step, where in [(at_step, point), (60, "tree")]:
        restore = crash_in_save(monkeypatch, step, where)
        with pytest.raises(Crash):
            noisy_run(net, params, state, folder, resume=folder)
        restore()
        if at_step == 60:
            break
    final, records = resume(model, folder)
    final_ref, ref = noisy_run(net, params, state, tmp_path / "ref")
    for port in PORTS:
        np.testing.assert_array_equal(records[port], ref[port])
    chex.assert_trees_all_equal(without_key(final), without_key(final_ref))
    assert [p.name for p in folder.glob("tree-*.msgpack")] == ["tree-000000000060.msgpack"]


@pytest.mark.parametrize("which", ["partial", "complete"])
def test_a_deleted_record_file_is_named(which, request, model):
    folder = request.getfixturevalue(which)
    (folder / "records" / "a.rate.npy").unlink()
    with pytest.raises(bs.CheckpointError, match=r"records/a\.rate\.npy is missing"):
        resume(model, folder)


@pytest.mark.parametrize("which", ["partial", "complete"])
@pytest.mark.parametrize("keep", [0, 40, 0.5, -1])
def test_a_truncated_record_file_is_named(which, keep, request, model):
    folder = request.getfixturevalue(which)
    target = folder / "records" / "out.rate.npy"
    data = target.read_bytes()
    keep = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    target.write_bytes(data[:keep])
    with pytest.raises(bs.CheckpointError, match=r"records/out\.rate\.npy is truncated"):
        resume(model, folder)


def test_a_changed_record_row_fails_its_checksum(partial, model):
    target = partial / "records" / "a.rate.npy"
    rows = np.load(target, mmap_mode="r+")
    rows[3, 1] += 1.0  # a row of the first 40 steps, which the resume keeps
    rows.flush()
    del rows
    with pytest.raises(bs.CheckpointError, match=r"a\.rate\.npy does not match its checksum"):
        resume(model, partial)


def test_rows_after_the_last_saved_chunk_may_be_anything(partial, model):
    """A kill between writing a chunk's records and saving its state leaves such rows."""
    target = partial / "records" / "a.rate.npy"
    rows = np.load(target, mmap_mode="r+")
    rows[-1] = 7.0
    rows.flush()
    del rows
    _, records = resume(model, partial)
    assert not np.any(records["a.rate"][-1] == 7.0)


def test_a_record_file_of_another_shape_or_dtype_is_named(partial, model):
    target = partial / "records" / "a.rate.npy"
    np.save(target, np.load(target).astype(np.float64))
    with pytest.raises(bs.CheckpointError, match=r"a\.rate\.npy has shape \(30, 5\) and dtype float64"):
        resume(model, partial)


@pytest.mark.parametrize("value", [0, 1000, 35, -10, None, "20", 20])
def test_an_edited_steps_done_is_named(value, partial, model):
    edit_index(partial, lambda index: index["meta"].update(steps_done=value))
    with pytest.raises(bs.CheckpointError,
                       match=r"'meta\.steps_done' does not match its checksum"):
        resume(model, partial)


@pytest.mark.parametrize("value, problem", [
    (0, "is 0; a run of 60 steps in chunks of 20"),
    (1000, "is 1000; a run of 60"),
    (35, "is 35; a run of 60"),
    (-10, "is -10; a run of 60"),
    (None, r"is None \(NoneType\), not an integer"),
    ("20", r"is '20' \(str\), not an integer"),
    (20.0, r"is 20.0 \(float\), not an integer"),
    (True, r"is True \(bool\), not an integer"),
])
def test_a_steps_done_out_of_type_or_range_is_named_even_with_its_checksum(value, problem,
                                                                          partial, model):
    edit_index(partial, lambda index: index["meta"].update(steps_done=value), restamp=True)
    with pytest.raises(bs.CheckpointError, match=r"'meta\.steps_done' " + problem):
        resume(model, partial)


@pytest.mark.parametrize("field, value, problem", [
    ("steps_done", 20, r"'meta\.records\[\"a\.rate\"\]' says 20 rows are written, but 20 steps"),
    ("complete", True, r"'meta\.complete' is True \(bool\) but 40 of 60"),
    ("complete", "no", r"'meta\.complete' is 'no'"),
    ("records", [], r"'meta\.records' is \[\] \(list\)"),
    ("run", None, r"'meta\.run' is None"),
])
def test_other_resume_fields_are_type_checked(field, value, problem, partial, model):
    edit_index(partial, lambda index: index["meta"].update({field: value}), restamp=True)
    with pytest.raises(bs.CheckpointError, match=problem):
        resume(model, partial)


@pytest.mark.parametrize("change, problem", [
    (lambda index: index["leaves"].popitem(), "'leaves' does not match its checksum"),
    (lambda index: index.update(file="tree-000000000020.msgpack"),
     "'file' does not match its checksum"),
    (lambda index: index.update(file="../x"), "'file' is '../x'"),
    (lambda index: index["meta"].pop("provenance"), r"'meta\.provenance' is missing"),
    (lambda index: index["meta"].update(extra=1), r"'meta\.extra' has no entry in 'checksums'"),
    (lambda index: index["meta"]["run"].update(steps=80), r"'meta\.run' does not match"),
    (lambda index: index.update(checksums="x"), "'checksums' is not"),
    (lambda index: index.update(meta=[]), r"'meta' is \[\] \(list\), not an object"),
])
def test_every_field_of_checkpoint_json_is_checked(change, problem, partial, model):
    edit_index(partial, change)
    with pytest.raises(bs.CheckpointError, match=problem):
        resume(model, partial)


@pytest.mark.parametrize("text, problem", [
    ("{}", "has no 'format' field"),
    ("null", r"holds None \(NoneType\), not an object"),
    ("[]", r"holds \[\] \(list\), not an object"),
    ('"x"', r"holds 'x' \(str\), not an object"),
])
def test_garbled_checkpoint_json_is_named(text, problem, partial, model):
    (partial / "checkpoint.json").write_text(text)
    with pytest.raises(bs.CheckpointError, match="checkpoint.json " + problem):
        resume(model, partial)
    with pytest.raises(bs.CheckpointError, match=problem):
        checkpoint.load(partial, like=model[2])


@pytest.mark.parametrize("version", [str(checkpoint.VERSION), None, 2.0, True])
def test_a_version_that_is_not_an_integer_is_named(version, partial, model):
    edit_index(partial, lambda index: index.update(version=version))
    with pytest.raises(bs.CheckpointError, match=r"field 'version' is .* expected the integer"):
        resume(model, partial)


def test_an_older_format_version_is_refused_as_such(partial, model):
    edit_index(partial, lambda index: index.update(version=1))
    with pytest.raises(bs.CheckpointError, match="version 1; .* written by an older brainsim"):
        resume(model, partial)


@pytest.mark.parametrize("where", ["empty", "missing"])
def test_resume_with_nothing_saved_starts_the_run(where, tmp_path, model):
    folder = tmp_path / "ck"
    if where == "empty":
        folder.mkdir()
    final, records = resume(model, folder)
    net, params, state = model
    final_ref, ref = noisy_run(net, params, state, tmp_path / "fresh")
    for port in PORTS:
        np.testing.assert_array_equal(records[port], ref[port])
    chex.assert_trees_all_equal(without_key(final), without_key(final_ref))
    assert checkpoint.read_meta(folder)["complete"] is True
    again, records = resume(model, folder)  # a completed run resumes to its result
    chex.assert_trees_all_equal(without_key(again), without_key(final_ref))
    np.testing.assert_array_equal(records["a.rate"], ref["a.rate"])


@pytest.mark.parametrize("which", ["partial", "complete"])
def test_resume_from_another_initial_state_is_refused(which, request, model):
    folder = request.getfixturevalue(which)
    net, params, state = model
    other = {**state, "t": state["t"] + 1} if "t" in state else net.init(jax.random.key(1))[1]
    with pytest.raises(bs.CheckpointError, match="initial_state differ"):
        noisy_run(net, params, other, folder, resume=folder)
    _, reseeded = net.init(jax.random.key(1))
    with pytest.raises(bs.CheckpointError, match="initial_state differ"):
        noisy_run(net, params, reseeded, folder, resume=folder)


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def test_written_files_follow_the_umask(umask, tmp_path, model):
    from brainsim import run_folders

    @dataclasses.dataclass
    class Config:
        seed: int = 0

    out = run_folders.start(tmp_path / "out", "demo", Config())
    run_folders.write_json(out / "metrics.json", {"loss": 1.0})
    net, params, state = model
    noisy_run(net, params, state, tmp_path / "ck")
    files = [out / "run.json", out / "metrics.json", tmp_path / "ck" / "checkpoint.json",
             *(tmp_path / "ck").glob("tree-*.msgpack"), tmp_path / "ck" / "records" / "a.rate.npy"]
    modes = {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files}
    assert modes == {f.name: oct(0o666 & ~umask) for f in files}
    assert not list(tmp_path.rglob("*.tmp"))




CHILD = textwrap.dedent("""
    import os, signal, sys
    import jax, jax.numpy as jnp
    import brainsim as bs
    from brainsim import checkpoint

    folder, kill_step, kill_point = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    real_save, real_write = checkpoint.save, checkpoint.atomic_write

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def write_then_die(path, data):
        real_write(path, data)
        die()

    def save(path, tree, meta=None, step=0):
        # records of chunk `step` are on disk; its state is saved next
        if step == kill_step and kill_point == "records":
            die()
        if step == kill_step and kill_point == "tree":  # tree file written, index not
            checkpoint.atomic_write = write_then_die
        real_save(path, tree, meta, step=step)
        if step == kill_step and kill_point == "index":
            die()

    checkpoint.save = save
    jax.config.update("jax_numpy_dtype_promotion", "strict")
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=400, noise=True))
    brain.add("b", bs.RatePopulation(n=50))
    brain.connect("a.rate", "a.input", delay=2)
    brain.connect("a.rate", "b.input", kind="sparse", fan_in=10, delay=1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(7))
    drive = jnp.sin(jnp.arange(STEPS, dtype=jnp.float32)[:, None] / 50.0) * jnp.ones((1, 400))
    net.run(params, state, STEPS, inputs={"a.input": drive}, record=["b.rate", "a.rate"],
            reduce={"a.rate": "mean"}, every=5, chunk=CHUNK, checkpoint=folder, resume=folder)
    print("complete")
""")


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    """SIGKILL at a seeded random chunk and point of that chunk's save, then resume.

    A kill lands after a chunk's records are written but before its state is
    saved ("records"), between its tree file and its checkpoint.json ("tree"),
    or after both ("index"); `test_a_crash_at_any_point_of_a_save_resumes`
    covers each point in-process. Both launches pass ``resume=``, the first
    one with nothing saved yet. The launches share a compilation cache.
    """
    steps, chunk = 4_000, 250
    rng = random.Random(18)  # the same kills in every CI run
    k, point = rng.randrange(1, steps // chunk), rng.choice(["records", "tree", "index"])
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("STEPS", str(steps)).replace("CHUNK", str(chunk)))
    folder, reference = tmp_path / "ck", tmp_path / "reference"
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "jit-cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")

    def launch(out, kill_step=-1, point="none"):
        return subprocess.Popen([sys.executable, str(script), str(out), str(kill_step), point],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

    uninterrupted = launch(reference)
    killed = launch(folder, k * chunk, point)
    out, err = killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL, err[-2000:]
    saved = k if point == "index" else k - 1
    if saved:
        assert checkpoint.read_meta(folder)["steps_done"] == saved * chunk
    else:
        assert not (folder / "checkpoint.json").exists()
    resumed = launch(folder)
    for run in (resumed, uninterrupted):
        out, err = run.communicate(timeout=300)
        assert "complete" in out, err[-2000:]
    for port in ("b.rate", "a.rate"):
        np.testing.assert_array_equal(np.load(folder / "records" / f"{port}.npy"),
                                      np.load(reference / "records" / f"{port}.npy"))
    assert [p.name for p in folder.glob("tree-*.msgpack")] == [f"tree-{steps:012d}.msgpack"]
    a = (folder / checkpoint._read_index(folder)["file"]).read_bytes()
    b = (reference / checkpoint._read_index(reference)["file"]).read_bytes()
    assert a == b  # the final states are identical, byte for byte
