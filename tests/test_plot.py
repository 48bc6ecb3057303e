"""Plot helpers draw the data given, on the given axes, and return them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import brainsim as bs  # noqa: E402


def test_plots_return_their_axes():
    fig, axes = plt.subplots(3)
    t = np.arange(50) * 0.5
    assert bs.plot.traces(t, np.random.default_rng(0).normal(size=(50, 2)), ["a", "b"], ax=axes[0]) is axes[0]
    assert len(axes[0].lines) == 2
    assert bs.plot.heatmap(t, np.zeros((50, 8)), ax=axes[1]) is axes[1]
    assert bs.plot.raster([1.0, 2.0], [0, 3], ax=axes[2]) is axes[2]
    plt.close(fig)


def test_traces_draw_each_signal_against_time():
    fig, ax = plt.subplots()
    t = np.arange(50) * 0.5
    values = np.random.default_rng(0).normal(size=(50, 2))
    bs.plot.traces(t, values, ["a", "b"], ax=ax, ylabel="rate (Hz)")
    assert len(ax.lines) == 2
    for i, line in enumerate(ax.lines):
        np.testing.assert_array_equal(line.get_xdata(), t)
        np.testing.assert_array_equal(line.get_ydata(), values[:, i])
        assert line.get_label() == "ab"[i]
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b"]
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "rate (Hz)"
    # one signal of shape (T,): one line, the default label, no legend
    fig2, ax2 = plt.subplots()
    bs.plot.traces(t, values[:, 1], ax=ax2)
    assert len(ax2.lines) == 1 and ax2.get_legend() is None
    np.testing.assert_array_equal(ax2.lines[0].get_ydata(), values[:, 1])
    assert ax2.get_ylabel() == "activity"
    plt.close(fig)
    plt.close(fig2)


def test_heatmap_shows_units_by_time_with_a_labelled_colorbar():
    fig, ax = plt.subplots()
    t = np.arange(50) * 0.5
    rates = np.random.default_rng(1).uniform(0.0, 40.0, size=(50, 8))
    bs.plot.heatmap(t, rates, ax=ax, label="rate (Hz)")
    (image,) = ax.images
    np.testing.assert_array_equal(image.get_array(), rates.T)  # a row per unit, a column per step
    assert image.origin == "lower"
    np.testing.assert_allclose(image.get_extent(), (0.0, 24.5, -0.5, 7.5))
    assert image.colorbar is not None and image.colorbar.ax.get_ylabel() == "rate (Hz)"
    np.testing.assert_allclose((image.colorbar.vmin, image.colorbar.vmax), (rates.min(), rates.max()))
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "unit"
    plt.close(fig)


def test_raster_puts_a_mark_at_each_spike_time_and_id():
    fig, ax = plt.subplots()
    times, ids = np.array([1.0, 2.0, 2.0, 7.5]), np.array([0, 3, 1, 3])
    bs.plot.raster(times, ids, ax=ax)
    (points,) = ax.collections
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([times, ids]))
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "neuron"
    plt.close(fig)


def test_connectome_diagram_is_drawn_from_the_model():
    import matplotlib

    matplotlib.use("Agg")
    brain = bs.Connectome()
    brain.add("ctx", bs.RatePopulation(n=4)).add("cb", bs.RatePopulation(n=4)).add("th", bs.RatePopulation(n=4))
    brain.connect("ctx.rate", "cb.input", ms=2.0)
    brain.connect("cb.rate", "ctx.input", delay=3, kind="sparse", fan_in=2)
    brain.connect("ctx.rate", "ctx.input", delay=1, kind="one_to_one")
    brain.connect("ctx.rate", "th.input", lag_ms=np.zeros((4, 4)))
    ax = bs.plot.connectome(brain)
    texts = sorted(t.get_text() for t in ax.texts)
    assert [t for t in texts if t in ("ctx", "cb", "th")] == ["cb", "ctx", "th"]
    assert "dense, 2 ms" in texts and "sparse, 3 steps" in texts and "one_to_one, 1 step" in texts
    assert "matrix, lag <= 0 ms" in texts or "dense, lag <= 0 ms" in texts
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 3  # one per projection between two regions; the self-loop is an arc
    net = bs.build(brain, dt=0.5)
    texts = [t.get_text() for t in bs.plot.connectome(net).texts]
    assert "dense, 4 steps (2 ms)" in texts and "sparse, 3 steps (1.5 ms)" in texts


def test_connectome_diagram_tells_apart_projections_between_the_same_regions():
    import matplotlib

    matplotlib.use("Agg")
    from regions import Dopamine

    brain = bs.Connectome().add("task", bs.tasks.Pavlovian()).add("vta", Dopamine())
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("task.done", "vta.done", kind="identity", delay=2)
    ax = bs.plot.connectome(brain)
    texts = [t.get_text() for t in ax.texts]
    assert "reward -> reward: identity, 0 steps" in texts and "done -> done: identity, 2 steps" in texts
    arrows = [t.arrow_patch for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    bends = sorted(a.get_connectionstyle().rad for a in arrows)
    assert len(bends) == 2 and bends[1] > bends[0]  # drawn apart, not on top of each other
    labels = [t.get_position() for t in ax.texts if " -> " in t.get_text()]
    assert labels[0] != labels[1]


def test_connectome_labels_sit_beside_their_own_arrow():
    """Two opposed projections bend to opposite sides; each label is on its arrow's side."""
    brain = bs.Connectome().add("a", bs.RatePopulation(n=2)).add("b", bs.RatePopulation(n=2))
    brain.connect("a.rate", "b.input", delay=1)
    brain.connect("b.rate", "a.input", delay=2)
    fig, ax = plt.subplots()
    bs.plot.connectome(brain, ax=ax, positions={"a": (0.0, 0.0), "b": (1.0, 0.0)})
    fig.canvas.draw()
    arrows = {t.arrow_patch: t for t in ax.texts if getattr(t, "arrow_patch", None) is not None}
    to_data = ax.transData.inverted()
    side = {}
    for patch, text in arrows.items():
        start, control, end = to_data.transform(patch.get_path().vertices[:3])  # the quadratic curve
        furthest = control[1]  # off the chord a -> b, on the side the arrow bends to
        side["a->b" if text.xyann[0] < text.xy[0] else "b->a"] = np.sign(furthest)
    labels = {t.get_text(): np.sign(t.get_position()[1]) for t in ax.texts if "step" in t.get_text()}
    assert side["a->b"] == -side["b->a"] != 0
    assert labels["dense, 1 step"] == side["a->b"] and labels["dense, 2 steps"] == side["b->a"]
    plt.close(fig)
