"""Connectomes from matrices: per-edge delays, TVB files, detailed nodes."""

import io
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainsim as bs
from brainsim.datasets import load_tvb_connectivity
from brainsim.whole_brain import DetailedNode

LINEAR = dict(node=lambda n: bs.RatePopulation(n=n, activation="linear"), coupling=(("rate", "input"),))


def random_connectome(n=6, seed=0, density=0.5):
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.1, 0.4, (n, n)) * (rng.random((n, n)) < density)
    np.fill_diagonal(weights, 0.0)
    lengths = rng.integers(1, 9, (n, n)).astype(float)  # mm
    return weights, lengths


def euler_dde(weights, lag, drive, dt, tau, x0):
    """Euler's method for tau dx_i/dt = -x_i + sum_j W[i, j] x_j(t - lag[i, j] dt) + I_i(t),
    written here in terms of the state X[k] = x(k dt), with x(t) = x0 for t <= 0."""
    steps, n = drive.shape
    X = np.zeros((steps + 1, n))
    X[0] = x0

    def x_at(k, j):
        return X[k, j] if k >= 0 else x0[j]

    for k in range(steps):
        coupling = [sum(weights[i, j] * x_at(k - lag[i, j], j) for j in range(n)) for i in range(n)]
        X[k + 1] = X[k] + dt / tau * (-X[k] + np.array(coupling) + drive[k])
    return X


@pytest.mark.parametrize("start", [0.0, 0.7])
def test_delayed_linear_network_matches_an_euler_integration_of_its_dde(key, start):
    """from_matrix couples through x_j(t - L/v): checked against Euler's method for the
    delay differential equation, in state time (not brainsim's ring buffers)."""
    weights, lengths = random_connectome()  # weights[i, j]: from j to i
    n, speed, dt, tau, steps = 6, 2.0, 0.5, 2.0, 80  # L / v = 0.5..4 ms = 1..8 steps
    brain = bs.Connectome.from_matrix(weights.T, lengths.T, speed=speed, **LINEAR)
    net = bs.build(brain, dt=dt)
    x0 = np.full(n, start)
    params, state = net.init(key, overrides={"nodes.tau": tau}, state={"nodes.x": x0},
                             history={"nodes.rate": x0})  # the past: the initial state
    drive = np.random.default_rng(1).normal(size=(steps, n))
    _, trace = net.run(params, state, steps, inputs={"nodes.input": jnp.asarray(drive, jnp.float32)},
                       record=["nodes.rate"])
    lag = np.round(lengths / speed / dt).astype(int)
    X = euler_dde(weights, lag, drive, dt, tau, x0)
    np.testing.assert_allclose(trace["nodes.rate"], X[1:], rtol=1e-4, atol=1e-5)  # step k ends at X[k+1]
    short = euler_dde(weights, np.maximum(lag - 1, 0), drive, dt, tau, x0)  # one step short, as before
    assert np.max(np.abs(trace["nodes.rate"] - short[1:])) > 1e-2


def test_delays_in_steps_equal_the_same_delays_as_lengths(key):
    weights, lengths = random_connectome()
    drive = jnp.asarray(np.random.default_rng(2).normal(size=(40, 6)), jnp.float32)
    traces = []
    for source in (dict(tract_lengths=lengths.T, speed=2.0), dict(delays=(lengths / 2.0).round().T)):
        net = bs.build(bs.Connectome.from_matrix(weights.T, **source, **LINEAR), dt=1.0)
        traces.append(net.run(*net.init(key), 40, inputs={"nodes.input": drive}, record=["nodes.rate"])[1])
    np.testing.assert_array_equal(traces[0]["nodes.rate"], traces[1]["nodes.rate"])


def test_per_edge_delays_are_honoured_exactly():
    """A pulse into node 0 first reaches node i after the shortest delayed path."""
    weights, lengths = random_connectome(n=7, seed=3, density=0.4)
    brain = bs.Connectome.from_matrix(weights.T, lengths.T, speed=1.0, **LINEAR)
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"nodes.tau": 1.0})
    pulse = jnp.zeros((60, 7)).at[5, 0].set(1.0)
    _, trace = net.run(params, state, 60, inputs={"nodes.input": pulse}, record=["nodes.rate"])
    arrival = [int(np.flatnonzero(trace["nodes.rate"][:, i])[0]) if np.any(trace["nodes.rate"][:, i])
               else None for i in range(7)]

    # a hop j -> i takes one step for node j to respond, then L[i, j] / v = L steps of conduction
    delay = np.where(weights > 0, lengths + 1, np.inf)  # delay[i, j]: j -> i
    shortest = np.full(7, np.inf)
    shortest[0] = 0
    for _ in range(7):  # Bellman-Ford over the delays
        shortest = np.minimum(shortest, (shortest[None, :] + delay).min(axis=1))
    expected = [None if np.isinf(s) else 5 + int(s) for s in shortest]
    assert arrival == expected
    assert sum(a is not None for a in arrival) >= 4  # the check covers several paths


def test_a_detailed_node_of_the_node_model_reproduces_the_plain_network():
    weights, lengths = random_connectome(n=5, seed=2, density=0.7)
    labels = ["v1", "m1", "th", "pfc", "s1"]
    drive = jnp.asarray(np.random.default_rng(0).normal(size=(40, 5)), jnp.float32)

    weights, lengths = weights.T, lengths.T  # source x target
    plain = bs.build(bs.Connectome.from_matrix(weights, lengths, labels, speed=2.0, **LINEAR))
    params, state = plain.init(jax.random.key(0))
    _, reference = plain.run(params, state, 40, inputs={"nodes.input": drive}, record=["nodes.rate"])

    thalamus = DetailedNode("thalamus", bs.RatePopulation(n=1, activation="linear"))
    brain = bs.Connectome.from_matrix(weights, lengths, labels, speed=2.0,
                                      detailed={"th": thalamus}, **LINEAR)
    assert brain.node_map["th"] == ("thalamus", None) and brain.node_map["pfc"] == ("nodes", 2)
    mixed = bs.build(brain)
    params, state = mixed.init(jax.random.key(0))
    others = [0, 1, 3, 4]
    _, trace = mixed.run(params, state, 40, record=["nodes.rate", "thalamus.rate"],
                         inputs={"nodes.input": drive[:, others], "thalamus.input": drive[:, 2:3]})
    np.testing.assert_allclose(trace["nodes.rate"], reference["nodes.rate"][:, others], rtol=1e-4,
                               atol=1e-6)
    np.testing.assert_allclose(trace["thalamus.rate"][:, 0], reference["nodes.rate"][:, 2], rtol=1e-4,
                               atol=1e-6)


def test_a_detailed_hopf_node_couples_through_both_x_and_y(x64):
    """In float64, so that summation order cannot hide a missing coupling."""
    weights, lengths = random_connectome(n=4, seed=6, density=0.8)
    drive = jnp.asarray(np.random.default_rng(1).normal(size=(300, 4)) * 0.05, jnp.float32)
    quiet = {"nodes.sigma": 0.0}

    def silent_start(net, extra):
        params, state = net.init(jax.random.key(0), overrides={**quiet, **extra})
        regions = jax.tree_util.tree_map(jnp.zeros_like, state["regions"])
        return params, {**state, "regions": regions}

    weights, lengths = weights.T, lengths.T  # source x target
    plain = bs.build(bs.Connectome.from_matrix(weights, lengths, speed=2.0))
    params, state = silent_start(plain, {})
    _, reference = plain.run(params, state, 300, inputs={"nodes.x_in": drive}, record=["nodes.x"])
    node = DetailedNode("n2", bs.HopfPopulation(n=1), inputs=("x_in", "y_in"), outputs=("x", "y"))
    mixed = bs.build(bs.Connectome.from_matrix(weights, lengths, speed=2.0, detailed={"n2": node}))
    params, state = silent_start(mixed, {"n2.sigma": 0.0})
    _, trace = mixed.run(params, state, 300, record=["nodes.x", "n2.x"],
                         inputs={"nodes.x_in": drive[:, [0, 1, 3]], "n2.x_in": drive[:, 2:3]})
    np.testing.assert_allclose(trace["n2.x"][:, 0], reference["nodes.x"][:, 2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(trace["nodes.x"], reference["nodes.x"][:, [0, 1, 3]], rtol=1e-9,
                               atol=1e-12)


def test_a_larger_detailed_region_receives_and_returns_the_coupling():
    weights, lengths = random_connectome(n=4, seed=5, density=1.0)
    detail = DetailedNode("bg", bs.RatePopulation(n=8))
    brain = bs.Connectome.from_matrix(weights, lengths, speed=2.0, detailed={"n1": detail}, **LINEAR)
    net = bs.build(brain)
    names = {p.name for p in net.projections}
    assert {"nodes.rate->bg.input", "bg.rate->nodes.input", "nodes.rate->nodes.input"} <= names
    params, state = net.init(jax.random.key(0))
    _, trace = net.run(params, state, 50, inputs={"nodes.input": jnp.ones((50, 3))},
                       record=["bg.rate"])
    assert np.all(np.abs(trace["bg.rate"][-1]) > 0)


def test_from_matrix_rejects_bad_matrices():
    with pytest.raises(bs.WiringError, match="square"):
        bs.Connectome.from_matrix(np.ones((3, 4)))
    with pytest.raises(bs.WiringError, match="tract_lengths"):
        bs.Connectome.from_matrix(np.ones((3, 3)), -np.ones((3, 3)))
    with pytest.raises(bs.WiringError, match="unique"):
        bs.Connectome.from_matrix(np.ones((2, 2)), labels=["a", "a"])
    with pytest.raises(bs.WiringError, match="unknown labels"):
        bs.Connectome.from_matrix(np.ones((2, 2)), detailed={"zz": None})
    with pytest.raises(bs.WiringError, match="delays= are whole steps"):
        bs.Connectome.from_matrix(np.ones((2, 2)), delays=np.full((2, 2), 1.5))
    with pytest.raises(bs.WiringError, match="not both"):
        bs.Connectome.from_matrix(np.ones((2, 2)), np.ones((2, 2)), delays=np.ones((2, 2)))
    with pytest.raises(bs.WiringError, match="real numbers"):
        bs.Connectome.from_matrix(np.ones((2, 2), bool))


def write_tvb_zip(path, weights, lengths, labels, folder=""):
    with zipfile.ZipFile(path, "w") as archive:
        for name, matrix in (("weights.txt", weights), ("tract_lengths.txt", lengths)):
            buffer = io.StringIO()
            np.savetxt(buffer, matrix)
            archive.writestr(folder + name, buffer.getvalue())
        centres = "\n".join(f"{label} {i}.0 0.0 1.0" for i, label in enumerate(labels))
        archive.writestr(folder + "centres.txt", centres + "\n")


def test_load_a_tvb_zip(tmp_path):
    weights, lengths = random_connectome(n=4)
    write_tvb_zip(tmp_path / "c.zip", weights, lengths, ["a", "b", "c", "d"], folder="c/")
    conn = load_tvb_connectivity(tmp_path / "c.zip")
    np.testing.assert_allclose(conn.weights, weights)
    np.testing.assert_allclose(conn.tract_lengths, lengths)
    assert conn.labels == ("a", "b", "c", "d") and conn.centres.shape == (4, 3)
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        archive.writestr("weights.txt", "1")
    with pytest.raises(ValueError, match="lacks"):
        load_tvb_connectivity(tmp_path / "bad.zip")


def test_the_connectivities_shipped_by_tvb_data():
    pytest.importorskip("tvb_data")
    conn = load_tvb_connectivity("connectivity_76")
    assert conn.weights.shape == (76, 76) and len(conn.labels) == 76
    conn96 = load_tvb_connectivity("connectivity_96")
    thalamic = [label for label in conn96.labels if label.startswith("TM-")]
    basal_ganglia = [label for label in conn96.labels if label.startswith("BG-")]
    assert len(thalamic) == 6 and len(basal_ganglia) == 8
    same = conn96.connectome(speed=3.0)  # the TVB orientation turned to source x target
    np.testing.assert_array_equal(bs.get(bs.build(same).init(jax.random.key(0))[0], "nodes.x->nodes.x_in.weight"),
                                  conn96.weights.T.astype(np.float32))
    from regions import BasalGanglia, Thalamus  # tests may use the region library

    detailed = {label: DetailedNode(label.replace("-", "_"), Thalamus(16), inputs="driver")
                for label in thalamic}
    detailed.update({label: DetailedNode(label.replace("-", "_"), BasalGanglia(4), inputs="salience",
                                         outputs="gpi") for label in basal_ganglia})
    brain = bs.Connectome.from_matrix((conn96.weights / conn96.weights.max()).T, conn96.tract_lengths.T,
                                      conn96.labels, detailed=detailed, **LINEAR)
    net = bs.build(brain, dt=1.0)
    params, state = net.init(jax.random.key(0), overrides={"nodes.tau": 20.0})
    _, trace = net.run(params, state, 200, inputs={"nodes.input": jnp.full((200, 82), 0.1)},
                       record=["TM_F_R.rate", "BG_Pu_R.gpi", "nodes.rate"], reduce="mean",
                       check_finite=True)
    assert float(trace["TM_F_R.rate"][-1]) > 0.0  # the thalamus model hears the cortex
    assert float(trace["BG_Pu_R.gpi"][-1]) > 0.0  # the basal-ganglia model runs in the loop
