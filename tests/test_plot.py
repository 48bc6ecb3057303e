"""Plot helpers draw on the given axes and return them."""

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
