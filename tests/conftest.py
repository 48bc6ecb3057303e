"""Shared test set-up: 8 CPU devices, strict dtype promotion, a key fixture."""

import collections
import os

# Must happen before jax initialises its backends.
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"
).strip()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)


@pytest.fixture
def x64():
    """Run a test in float64 (for finite-difference gradient checks)."""
    with jax.enable_x64(True):
        yield


def pytest_sessionfinish(session):
    """Under pytest-xdist, a worker hands its fuzz counters to the controller (see below)."""
    import sys

    support = sys.modules.get("fuzz_support")
    if support is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["fuzz_table"] = {f: dict(row) for f, row in support.TABLE.items()}


def pytest_testnodedown(node, error):
    """The controller adds up the fuzz counters of each worker as it finishes."""
    table = getattr(node, "workeroutput", {}).get("fuzz_table")
    if table:
        import fuzz_support

        for family, row in table.items():
            fuzz_support.TABLE.setdefault(family, collections.Counter()).update(row)


def pytest_terminal_summary(terminalreporter):
    """The fuzz suites' table of outcomes (tests/fuzz_support.py), once, for the families that ran."""
    import sys

    support = sys.modules.get("fuzz_support")
    if support is not None and any(sum(row.values()) for row in support.TABLE.values()):
        terminalreporter.write_sep("=", "fuzz outcomes")
        terminalreporter.write_line(support.table_text())
