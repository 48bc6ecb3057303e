"""Checkpoints, resuming interrupted runs, records on disk."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import chex
import jax
import numpy as np
import pytest

import brainsim as bs
from brainsim import checkpoint
from helpers import noisy_loop, two_loop


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


CHILD = textwrap.dedent("""
    import sys
    import jax, jax.numpy as jnp
    import brainsim as bs

    jax.config.update("jax_numpy_dtype_promotion", "strict")
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=400, noise=True))
    brain.add("b", bs.RatePopulation(n=50))
    brain.connect("a.rate", "a.input", delay=2)
    brain.connect("a.rate", "b.input", kind="sparse", fan_in=10, delay=1)
    net = bs.build(brain)
    params, state = net.init(jax.random.key(7))
    drive = jnp.sin(jnp.arange(STEPS, dtype=jnp.float32)[:, None] / 50.0) * jnp.ones((1, 400))
    resume = sys.argv[2] if len(sys.argv) > 2 else None
    net.run(params, state, STEPS, inputs={"a.input": drive}, record=["b.rate", "a.rate"],
            reduce={"a.rate": "mean"}, every=5, chunk=CHUNK, checkpoint=sys.argv[1], resume=resume)
    print("complete")
""")


def test_a_killed_run_resumes_bit_for_bit(tmp_path):
    steps, chunk = 60_000, 1_000
    script = tmp_path / "child.py"
    script.write_text(CHILD.replace("STEPS", str(steps)).replace("CHUNK", str(chunk)))
    folder = tmp_path / "ck"
    child = subprocess.Popen([sys.executable, str(script), str(folder)], env=dict(os.environ),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and child.poll() is None:
        if (folder / "checkpoint.json").exists():
            done = checkpoint.read_meta(folder)["steps_done"]
            if done >= 3 * chunk:
                break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    done = checkpoint.read_meta(folder)["steps_done"]
    assert 3 * chunk <= done < steps, "the child was not killed mid-way; lengthen the run"

    resumed = subprocess.run([sys.executable, str(script), str(folder), str(folder)],
                             capture_output=True, text=True, env=dict(os.environ), timeout=300)
    assert "complete" in resumed.stdout, resumed.stderr[-2000:]
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, str(script), str(reference)], check=True, timeout=300,
                   capture_output=True)
    for port in ("b.rate", "a.rate"):
        np.testing.assert_array_equal(np.load(folder / "records" / f"{port}.npy"),
                                      np.load(reference / "records" / f"{port}.npy"))
    a = (folder / checkpoint._read_index(folder)["file"]).read_bytes()
    b = (reference / checkpoint._read_index(reference)["file"]).read_bytes()
    assert a == b  # the final states are identical, byte for byte
