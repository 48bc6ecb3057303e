"""distributional-dopamine at reduced size (2 seeds, 13,000 trials), and its analysis helpers
checked against independent references."""

import json

import jax
import numpy as np
import pytest

from brainsim import cli
from experiments import distributional_dopamine as dd

SMALL = ["--seeds", "2", "--fine-trials", "10000", "--probe-points", "101", "--decode-steps", "5000"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributional")
    assert cli.main(["run", "distributional-dopamine", "--out", str(out), *SMALL]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_every_criterion_is_met_at_reduced_size(small_run):
    out, metrics = small_run
    assert len(metrics["criteria"]) == 5
    for name, c in metrics["criteria"].items():
        assert len(c["seeds"]) == 2 and c["pass"], (name, c)
    assert metrics["effects"]["reversal_spread_frac_of_range"]["mean"] > 0.5  # the effect is large
    for name in ("reversal_points", "learning_curves", "decoding", "connectome"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name


def test_expectiles_solve_their_defining_equation_and_include_the_mean():
    values, weights = dd.MAGNITUDES, dd.PROBABILITIES
    mean = float(np.sum(values * weights))
    assert dd.expectile(0.5) == pytest.approx(mean, abs=1e-9)
    for tau in (0.05, 0.3, 0.9):
        e = dd.expectile(tau)
        above = np.sum(weights * np.maximum(values - e, 0))
        below = np.sum(weights * np.maximum(e - values, 0))
        assert tau * above == pytest.approx((1 - tau) * below, abs=1e-9)
    taus = np.linspace(0.05, 0.95, 9)
    assert np.all(np.diff([dd.expectile(t) for t in taus]) > 0)


def test_wasserstein_against_closed_forms():
    assert dd.wasserstein_1([0.0], [1], [3.0], [1]) == pytest.approx(3.0)
    # W1 of a point mass at m to a distribution is E|R - m|
    assert dd.wasserstein_1([2.0], [1], dd.MAGNITUDES, dd.PROBABILITIES) == pytest.approx(
        np.sum(dd.PROBABILITIES * np.abs(dd.MAGNITUDES - 2.0)))
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=400), rng.normal(1.0, 1.0, size=400)
    # equal-size samples: W1 is the mean gap between sorted samples
    assert dd.wasserstein_1(a, np.ones(400), b, np.ones(400)) == pytest.approx(
        np.mean(np.abs(np.sort(a) - np.sort(b))))


def test_spearman_against_a_rank_formula():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    d = np.argsort(np.argsort(a)) - np.argsort(np.argsort(b))
    assert dd.spearman(a, b) == pytest.approx(1 - 6 * np.sum(d**2) / (50 * (50**2 - 1)))
    assert dd.spearman([1, 2, 2, 3], [1, 2, 2, 3]) == pytest.approx(1.0)


def test_imputation_recovers_a_distribution_from_its_exact_expectiles():
    c = dd.Config(decode_steps=5000)
    taus = dd.asymmetries(c)
    samples = dd.impute(taus, [dd.expectile(t) for t in taus], c, jax.random.key(0))
    w1 = dd.wasserstein_1(samples, np.ones(len(samples)), dd.MAGNITUDES, dd.PROBABILITIES)
    point_mass = dd.wasserstein_1([np.sum(dd.MAGNITUDES * dd.PROBABILITIES)], [1], dd.MAGNITUDES,
                                  dd.PROBABILITIES)
    assert w1 < point_mass / 4


def test_reversal_points_interpolate_the_zero_crossing():
    grid = np.linspace(0, 10, 11)
    responses = np.stack([0.3 * (grid - 4.5), np.where(grid < 7.2, 0.9, 0.1) * (grid - 7.2),
                          np.full(11, -1.0)], axis=1)
    rev = dd.reversal_points(grid, responses)
    assert rev[0] == pytest.approx(4.5) and 7.0 < rev[1] < 8.0 and np.isnan(rev[2])
