"""Ready-made loops through cortex, as ordinary connectomes to extend.

`cerebro_cerebellar` — cortex -> pons (mossy fibres) -> cerebellum ->
thalamus -> cortex, with the inferior olive comparing the cerebellum's
output with the cortex's current activity. The cerebellum hears cortex
``prediction_ms`` late, so matching the present means predicting that far
ahead of its input: it learns a forward model of the cortex (the cerebellum as a
predictor of cortical dynamics, e.g. Wolpert, Miall & Kawato 1998; Pemberton
et al. 2021 for cortico-cerebellar loops in learning).

`cortico_basal_ganglia_thalamic` — cortex -> striatum (learned salience)
-> GPi -| thalamus -> cortex, with the thalamic relay driven by cortex and
gated per action channel by GPi, and a dopamine loop: a critic reads cortex,
the VTA turns its value and the reward (port ``vta.reward``) into an RPE
that trains the critic and the cortico-striatal synapses (Alexander, DeLong
& Strick 1986 for the loop; Gurney et al. 2001 for the basal ganglia).

Both take their cortical drive at ``ctx.input``; all delays are in ms and
are resolved by ``brainsim.build(brain, dt)``.

`cerebellar_motor_loop` — a reaching task's view -> cortex -> motor command
<- cerebellum, with the inferior olive's motor error teaching the
cerebellum fast and the cerebellum's output tutoring cortex slowly: the
two-rate account of motor adaptation (Smith, Ghazizadeh & Shadmehr 2006)
as a circuit (Pemberton, Chadderton & Costa 2024).

`thalamic_context_loop` — a trial task -> cortex -> policy, with the cortex's
synaptic input gated unit by unit by a thalamic gain pattern that the basal
ganglia select and dopamine (the RPE of the trial's reward) re-selects when
it stops paying: thalamic control of which cortical subnetwork computes
(Rikhye, Gilra & Halassa 2018; Wang & Halassa 2021).

`td_conditioning` — a trial task's cues -> temporal basis -> striatal
critic -> dopamine -> critic: the temporal-difference account of
conditioning (Schultz, Dayan & Montague 1997), scalar or distributional
(Dabney et al. 2020), with the episode boundary wired as tasks emit it.
"""

from __future__ import annotations

import numpy as np

import brainsim as bs
from regions.basal_ganglia import BasalGanglia
from regions.cerebellum import Cerebellum, InferiorOlive
from regions.cortex import Cortex
from regions.critic import Critic
from regions.neuromodulators import Dopamine
from regions.temporal_basis import TemporalBasis
from regions.thalamus import Thalamus


def cerebro_cerebellar(n_ctx: int = 64, n_mossy: int = 64, n_granule: int = 1024,
                       n_out: int = 32, n_thalamus: int = 32,
                       loop_ms: float = 2.0, prediction_ms: float = 5.0) -> bs.Connectome:
    """Cortex and cerebellum in a loop through pons and thalamus.

    Args:
      n_ctx, n_mossy, n_granule, n_out, n_thalamus: sizes.
      loop_ms: delay of the projections from cerebellum back to cortex.
      prediction_ms: delay from cortex to the pons: the cerebellum learns to
        predict cortex this far ahead of its input.
    """
    brain = bs.Connectome()
    brain.add("ctx", Cortex(n_ctx))
    brain.add("pons", bs.RatePopulation(n=n_mossy, activation="relu"))
    brain.add("cb", Cerebellum(n_mossy, n_granule, n_out))
    brain.add("io", InferiorOlive(n_out))
    brain.add("th", Thalamus(n_thalamus))
    brain.connect("ctx.rate", "pons.input", ms=prediction_ms, scale=2.0)
    brain.connect("pons.rate", "cb.mossy", kind="identity")
    brain.connect("cb.dcn", "io.actual", kind="identity")
    brain.connect("ctx.rate", "io.target", scale=1.0)  # the present cortex
    brain.connect("io.error", "cb.climbing", kind="identity", delay=1)
    brain.connect("cb.dcn", "th.driver", ms=loop_ms, scale=2.0)
    brain.connect("th.rate", "ctx.input", ms=loop_ms, scale=1.0)
    return brain


def cortico_basal_ganglia_thalamic(n_ctx: int = 64, channels: int = 4, per_channel: int = 8,
                                   loop_ms: float = 2.0) -> bs.Connectome:
    """Cortex, basal ganglia and thalamus in a loop, with dopamine to the striatum.

    Args:
      n_ctx: cortical units.
      channels: action channels of the basal ganglia.
      per_channel: thalamic relay units gated by each channel.
      loop_ms: delay of each projection around the loop.
    """
    brain = bs.Connectome()
    brain.add("ctx", Cortex(n_ctx))
    brain.add("bg", BasalGanglia(channels, n_cortex=n_ctx))
    brain.add("th", Thalamus(channels * per_channel, n_inhibition=channels))
    brain.add("critic", Critic(n_ctx))
    brain.add("vta", Dopamine())
    brain.connect("ctx.rate", "bg.cortex", ms=loop_ms, kind="identity")
    brain.connect("bg.gpi", "th.inhibition", ms=loop_ms, kind="identity")
    brain.connect("ctx.rate", "th.driver", ms=loop_ms, scale=2.0)
    brain.connect("th.rate", "ctx.input", ms=loop_ms, scale=2.0)
    brain.connect("ctx.rate", "critic.features", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    brain.connect("vta.rpe", "bg.dopamine", kind="identity", delay=1)
    return brain


TD_CONDITIONING_POSITIONS = {"task": (-1, 0.6), "tb": (0, 0.6), "critic": (1, 0.6), "vta": (0, -0.6)}
"""Where `brainsim.plot.connectome` puts the regions of `td_conditioning`: the cue path on top."""


def cerebellar_motor_loop(task, n_cortex: int = 100, n_granule: int = 200, *, eta_cortex: float = 1e-3,
                          tutor: float = 0.1, error_to_cortex: float = 0.01,
                          recurrence: float = 0.9, input_scale: float = 3.0) -> bs.Connectome:
    """A reaching task driven by cortex and cerebellum, each learning at its own rate.

    - ``ctx`` (``n_cortex`` tanh units, fixed recurrent weights scaled by
      ``recurrence``) sees the task's ``obs`` and drives ``motor`` through
      plastic weights; its efference copy is the cerebellum's mossy input;
    - ``cb`` (`Cerebellum`, ``n_granule`` granule cells, 2 outputs) adds its
      nuclear output ``dcn`` to the command; its parallel-fibre synapses learn
      from the climbing-fibre error one step late (the IO loop);
    - ``io`` (`InferiorOlive`): the motor error, the task's corrective command
      (``task.target``) minus the command sent;
    - ``tutor`` sums what teaches cortex, ``tutor * dcn + error_to_cortex * e``:
      cortex slowly takes over what the cerebellum supplies, and learns a little
      from the error itself (`plasticity.ClimbingFibre` on ``ctx.rate ->
      motor.input``, the delta rule ``dW = eta x (tutor dcn + error_to_cortex e)^T``);
    - ``motor`` (2, linear): the velocity command, read by the task one step later.

    Lesion the cerebellum without rebuilding by zeroing the params
    ``cb.dcn->motor.input.weight`` and ``cb.dcn->tutor.input.weight``. The
    dynamic units need ``tau`` = ``dt`` (one update per step): pass
    ``overrides={"ctx.tau": dt, "motor.tau": dt, "tutor.tau": dt}`` to ``init``.
    """
    brain = bs.Connectome()
    brain.add("task", task)
    brain.add("ctx", bs.RatePopulation(n=n_cortex, activation="tanh"))
    brain.add("cb", Cerebellum(n_mossy=n_cortex, n_granule=n_granule, n_out=2))
    brain.add("io", InferiorOlive(2))
    brain.add("tutor", bs.RatePopulation(n=2, activation="linear"))
    brain.add("motor", bs.RatePopulation(n=2, activation="linear"))
    brain.connect("task.obs", "ctx.input", scale=input_scale)
    brain.connect("ctx.rate", "ctx.input", delay=1, scale=recurrence)
    brain.connect("ctx.rate", "cb.mossy", kind="identity")
    brain.connect("ctx.rate", "motor.input",
                  plasticity=bs.plasticity.ClimbingFibre(modulator="tutor.rate", eta=eta_cortex, lag=0))
    brain.connect("cb.dcn", "motor.input", kind="one_to_one", scale=1.0)
    brain.connect("motor.rate", "task.action", delay=1, kind="identity")
    brain.connect("task.target", "io.target", kind="identity")
    brain.connect("motor.rate", "io.actual", kind="identity")
    brain.connect("io.error", "cb.climbing", delay=1, kind="identity")
    # ClimbingFibre descends an error positive when the output is too high: the teacher enters negated
    brain.connect("cb.dcn", "tutor.input", kind="one_to_one", scale=-tutor)
    brain.connect("io.error", "tutor.input", kind="one_to_one", scale=-error_to_cortex)
    return brain


def thalamic_context_loop(task, n_cortex: int = 256, channels: int = 2, per_channel: int = 4,
                          input_scale: float = 1.0, latch: float = 0.2,
                          bounds: tuple[float, float] = (0.3, 0.9)) -> bs.Connectome:
    """A trial task learned by a cortex whose active subnetwork the thalamus selects.

    - ``ctx`` (`Cortex`, ``n_cortex`` tanh units) receives the task's
      ``obs`` at its port ``recurrent``, so the thalamic gain scales all its
      synaptic input, sensory and recurrent: a unit with gain 0 is silent, and
      no gradient reaches its weights (the context-dependent gating of Masse,
      Grant & Freedman 2018, PNAS 115, E10467, set by the thalamus);
    - ``policy`` (`bs.SoftmaxPolicy`) reads ``ctx.rate`` and acts in ``task``;
    - ``th`` (`Thalamus` in control mode): one relay block of ``per_channel``
      units per channel, driven tonically (at 1.25, so that a block opened by
      a full GPi pause, gate 0.88, imposes its whole mask); set ``th.W_g`` to
      `control_patterns` of one 0/1 mask per channel (an ``init`` override),
      and an open block sets the cortical gain to its mask;
    - ``bg`` (`BasalGanglia`, one channel per pattern): its salience is a
      learned weight (within ``bounds``) from a tonic unit (``tonic``) plus Ornstein-Uhlenbeck
      noise (``noise``, exploration) plus ``latch`` times the gates it
      released, fed back (the thalamostriatal limb of the loop: a selected
      channel holds itself, so near-equal weights do not leave both half open,
      and switching takes a clear fall of the chosen channel's weight); its GPi
      output gates the relay blocks, and the same gates come back as
      ``bg.selected`` so that only the chosen channel's weight learns from
      dopamine;
    - ``critic`` (reading the thalamic relay: the value of the pattern in
      force) and ``vta`` (`Dopamine`, episode ends from ``task.done``): the RPE
      of each trial's reward, ``r - V(pattern)``, reaches ``bg.dopamine`` and
      the critic one step late. A pattern that stops paying what it used to
      gives large negative errors; a new one, expected to pay little, does not.

    ``init`` overrides that make it a trial-level loop (``dt`` = 10 ms):
    ``"tonic.bias": 1, "tonic.tau": dt, "th.tau": dt, "vta.gamma": 1``, and
    ``"th.W_g": control_patterns(masks, per_channel)``. Cut
    selection without rebuilding by zeroing ``bg.eta`` (the striatum stops
    learning from dopamine and its first pattern stays), and thalamic control by zeroing
    ``th.W_g`` (gain 1 everywhere: a plain RNN).
    """
    n = n_cortex
    brain = bs.Connectome()
    brain.add("task", task)
    brain.add("ctx", Cortex(n))
    brain.add("policy", bs.SoftmaxPolicy(task.n_actions))
    brain.add("tonic", bs.RatePopulation(n=1, activation="linear"))
    brain.add("noise", bs.RatePopulation(n=channels, activation="linear", noise=True))
    brain.add("bg", BasalGanglia(channels, n_cortex=1, bounds=bounds))
    brain.add("th", Thalamus(channels * per_channel, n_inhibition=channels, n_gain=n))
    brain.add("critic", Critic(channels * per_channel))
    brain.add("vta", Dopamine())
    brain.connect("task.obs", "ctx.recurrent", scale=input_scale)
    brain.connect("ctx.rate", "policy.logits")
    brain.connect("policy.action", "task.action", kind="identity", delay=1)
    brain.connect("tonic.rate", "bg.cortex", kind="identity")
    brain.connect("noise.rate", "bg.salience", kind="identity")
    # driven at 1.25: a block that a GPi pause opens (gate 0.88 at GPi = 0) still imposes its full mask
    brain.connect("tonic.rate", "th.driver", weight=np.full((1, channels * per_channel), 1.25, np.float32))
    brain.connect("bg.gpi", "th.inhibition", kind="identity", delay=1)
    pool = np.kron(np.eye(channels), np.ones((per_channel, 1))) / per_channel  # mean gate per channel
    brain.connect("th.gate", "bg.selected", weight=pool.astype(np.float32), delay=1)
    brain.connect("th.gate", "bg.salience", weight=(latch * pool).astype(np.float32), delay=1)
    brain.connect("th.gain", "ctx.gain", kind="identity", delay=1)
    brain.connect("th.rate", "critic.features", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("task.done", "vta.done", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    brain.connect("vta.rpe", "bg.dopamine", kind="identity", delay=1)
    return brain


THALAMIC_CONTEXT_POSITIONS = {"task": (0.0, 1.0), "ctx": (-1.0, 0.35), "policy": (1.0, 0.35),
                              "th": (-1.0, -0.5), "bg": (0.0, -0.5), "vta": (1.0, -0.5),
                              "tonic": (-1.0, -1.3), "noise": (-0.3, -1.3), "critic": (0.5, -1.3)}
"""Where `brainsim.plot.connectome` puts the regions of `thalamic_context_loop`: the task loop on top,
the selection loop below."""


CEREBELLAR_MOTOR_POSITIONS = {"task": (0.0, 1.0), "ctx": (-1.0, 0.25), "cb": (1.0, 0.25),
                              "motor": (0.0, -0.1), "tutor": (-0.7, -1.0), "io": (0.7, -1.0)}


def td_conditioning(task, span: int, channels: int | None = None, basis: bool = True) -> bs.Connectome:
    """``task.obs`` (its cues) -> ``tb`` -> ``critic`` -> ``vta`` -> ``critic``, and the task's
    reward and episode ends into ``vta``.

    Args:
      task: a task region with ports ``obs`` (one unit per cue), ``reward`` and ``done``.
      span: steps the temporal basis spans after each cue's onset; make it the cue-reward
        interval plus one (longer, and a fixed inter-trial interval predicts the next cue).
      channels: ``None`` for scalar dopamine, or the number of distributional channels,
        each with its own value (critic) and asymmetry (``vta.alpha_plus``/``alpha_minus``).
      basis: ``False`` wires the cues straight into the critic (a control: a cue seen only
        while it is on cannot predict a later reward).

    The RPE returns to the critic one step late (``Critic.rpe_delay`` = 1), the only delay.
    """
    n_cues = task.n_obs
    brain = bs.Connectome().add("task", task)
    if basis:
        brain.add("tb", TemporalBasis(n_cues=n_cues, n_basis=span))
        brain.add("critic", Critic(n_cues * span, channels=channels))
        brain.connect("task.obs", "tb.cue", kind="identity")
        brain.connect("tb.features", "critic.features", kind="identity")
    else:
        brain.add("critic", Critic(n_cues, channels=channels))
        brain.connect("task.obs", "critic.features", kind="identity")
    brain.add("vta", Dopamine(channels=channels))
    brain.connect("task.reward", "vta.reward", kind="identity")
    brain.connect("task.done", "vta.done", kind="identity")
    brain.connect("critic.value", "vta.value", kind="identity")
    brain.connect("vta.rpe", "critic.rpe", kind="identity", delay=1)
    return brain


def default_drive(n: int, steps: int, dt: float, seed: int = 0) -> np.ndarray:
    """A cortical drive for demos and tests: slow waves on random patterns plus noise.

    ``(steps, n)`` float32: two 5 Hz and 3 Hz sinusoids of amplitude 0.5, each
    on a random +-1 pattern over the units, plus white noise of std 0.2.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None] * dt / 1000.0
    patterns = rng.choice([-1.0, 1.0], size=(2, n))
    waves = 0.5 * (np.sin(2 * np.pi * 5 * t) * patterns[0] + np.sin(2 * np.pi * 3 * t) * patterns[1])
    return (waves + 0.2 * rng.normal(size=(steps, n))).astype(np.float32)


def default_reward(steps: int, dt: float, rate_hz: float = 1.0, seed: int = 0) -> np.ndarray:
    """Rewards of 1 at random times (a Bernoulli process of ``rate_hz``), ``(steps,)`` float32."""
    rng = np.random.default_rng(seed)
    return (rng.random(steps) < rate_hz * dt / 1000.0).astype(np.float32)
