"""The region library: anatomical regions built on the brainsim engine.

Cortex, cerebellum, basal ganglia, thalamus, hippocampus and the
neuromodulatory nuclei arrive here one module each; until then the engine's
generic `brainsim.RatePopulation` and `brainsim.LIFPopulation` stand in.
"""
