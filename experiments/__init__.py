"""Reproductions and demos, one module each, run with ``brainsim run NAME``.

Each module defines a frozen dataclass ``Config`` (its defaults are the full
size; the tests use a reduced one) and ``run(config, out_dir) -> metrics``.
"""
