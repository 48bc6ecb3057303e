"""Optional peer simulators (Brian2, BrainPy) for checking and timing brainsim.

They live beside the engine, not in it: only the benchmark and one test use them.

Each module here runs one reference network in another simulator from connectivity and initial
state that brainsim hands over. The peers are not dependencies of brainsim: install them with
``pip install brainsim[peers]``. The modules import without them; their functions raise an
ImportError naming that extra when the peer is missing.
"""
