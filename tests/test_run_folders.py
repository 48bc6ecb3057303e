"""Run folders keep the finished parts of a long run: a digest per config, results cached as JSON."""

import dataclasses

import numpy as np

from brainsim import run_folders


@dataclasses.dataclass(frozen=True)
class Config:
    seed: int = 0
    seeds: int = 5
    lr: float = 1e-3


def test_the_digest_follows_the_config_but_not_the_seed_range():
    base = run_folders.config_digest(Config())
    assert base == run_folders.config_digest(Config(seed=3, seeds=1))
    assert base != run_folders.config_digest(Config(lr=2e-3))
    assert base != run_folders.config_digest(Config(), ignore=("seed",))  # seeds counts then


def test_a_cached_part_is_computed_once_and_read_back(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"curve": np.arange(3.0), "final": np.float64(0.5), "steps": [1, 2]}

    where = tmp_path / "parts" / "a.json"
    first = run_folders.cached(where, compute)
    again = run_folders.cached(where, compute)
    assert len(calls) == 1 and where.exists() and not list(tmp_path.rglob("*.tmp"))
    assert again == {"curve": [0.0, 1.0, 2.0], "final": 0.5, "steps": [1, 2]}
    np.testing.assert_array_equal(first["curve"], again["curve"])
