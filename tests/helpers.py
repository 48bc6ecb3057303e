"""Small networks shared by several tests."""

import brainsim as bs


def two_loop(n_a=6, n_b=4, activation="tanh"):
    """a <-> b with delays 1 and 2, the second sparse (the README example)."""
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=n_a, activation=activation))
    brain.add("b", bs.RatePopulation(n=n_b, activation=activation))
    brain.connect("a.rate", "b.input", delay=1)
    brain.connect("b.rate", "a.input", delay=2, kind="sparse", fan_in=2)
    return brain


def noisy_loop(n=5):
    """A noisy population in a delayed self-loop with a readout."""
    brain = bs.Connectome()
    brain.add("a", bs.RatePopulation(n=n, noise=True))
    brain.add("out", bs.RatePopulation(n=2, activation="linear"))
    brain.connect("a.rate", "a.input", delay=3)
    brain.connect("a.rate", "out.input")
    return brain
