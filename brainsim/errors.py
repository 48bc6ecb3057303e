"""Exceptions raised by brainsim.

Every mistake a user can make in wiring or in the arguments of a run is caught
in Python, before tracing, and raised as one of these, with a message that
names the regions, ports and shapes involved.
"""


class BrainsimError(Exception):
    """Base class of every error brainsim raises on purpose."""


class WiringError(BrainsimError, ValueError):
    """A connectome is malformed: unknown name, shape mismatch, cycle, ..."""


class RunInputError(BrainsimError, ValueError):
    """An argument of `Network.run` does not fit the network."""


class NonFiniteError(BrainsimError, FloatingPointError):
    """A region's state became NaN or infinite during a checked run."""


class ParamPathError(BrainsimError, KeyError):
    """A readable parameter path (``"a.tau"``) does not name a parameter."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
