"""The fuzz harness itself (tests/fuzz_support.py): its cases do not depend on what else ran.

Issue 18 asks that the fuzz table stay at zero raw and zero silent cases in every CI run; that
only means something if a CI run meets the same cases as a run of one file alone.
"""

import importlib
import sys

from fuzz_support import fuzz, weird
from hypothesis import given


def _cases(n=400):
    seen = []

    @fuzz(n)
    @given(weird)
    def draw(value):
        seen.append(repr(value))

    draw()
    return seen


def test_cases_do_not_depend_on_loaded_modules(tmp_path, monkeypatch):
    """Importing a module full of literal constants (as a test of an experiment would) leaves the
    derandomized cases unchanged; hypothesis' own harvest of local constants would change most."""
    before = _cases()
    module = tmp_path / "many_literal_constants.py"
    module.write_text("\n".join(f"K{i} = {i * 1.37 + 0.001!r}" for i in range(300)) +
                      "\nWORDS = ['ab', 'a.rate', 'xyz']\nBIG = 123456789\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        importlib.import_module("many_literal_constants")
        after = _cases()
    finally:
        sys.modules.pop("many_literal_constants", None)
    assert len(before) == len(after) == 400
    assert before == after, sum(a != b for a, b in zip(before, after))
