"""The cerebellum as cortex's feedback estimator: it rescues truncated BPTT (Pemberton et al. 2021; Boven et al. 2023).

Cortex learns by backpropagation cut short: gradients stop after
``window`` steps, so an error that arrives later never reaches the activity
that caused it. Pemberton et al. (2021, NeurIPS) and Boven et al. (2023,
Nat Commun 14, 351) proposed that the cerebellum fills the gap as a
decoupled neural interface (Jaderberg et al. 2017): a feedforward network
reads the cortical state ``h`` and predicts the gradient of future losses,
``g_hat(h) ~ dL_future/dh``, which cortex uses where its own feedback is cut
(`brainsim.synthetic_gradients`).

Task (`bs.tasks.LineDrawing`, as in the authors' code): a brief cue on the
first step selects one of 7 end points (the origin and 6 points on a circle
of radius 10); the output draws the straight line to it over 10 steps;
feedback arrives on every 2nd step only.

Model: ``cue`` (the scalar cue) -> ``ctx`` (`regions.RecurrentCortex`, an
LSTM of 50 units built on flax's cell) -> ``motor`` (a linear readout of 2);
the cerebellum is the gradient predictor, two ReLU layers of 400 reading the
LSTM's cell and hidden state (100 numbers) and zero at first. Cortex and
readout train by truncated BPTT with window 1, Adam 1e-3 with the gradient
clipped to norm 1, batches of 50; the cerebellum learns with Adam 1e-3 in the
same update (as in the authors' code), its estimate scaled by 0.1 where it
enters cortex. One epoch is 16 updates (800 training trials); validation is
the mean squared error over all 10 steps of the 7 lines.

Conditions, paired (one seed: the same initial cortex, the same batches):

- ``cerebellum`` and ``cortex only`` with window 1 (criterion a);
- the same two with window 10, full BPTT: no cut, nothing for the
  cerebellum to supply (criterion b), and with window 5 (one cut; the
  benefit as feedback grows, an effect without a target);
- ``ablated``: the cerebellum lesioned at epoch ``ablate_epoch`` (its output
  zero, its learning stopped; `fit_decoupled`'s ``ablate_at``), training
  going on (criterion c).

``--quick`` (the README's first command) runs criterion (a) only, on 3
seeds and ``quick_epochs`` epochs: about 2.5 minutes on 2 cores. The full
run (5 seeds, 100 epochs, every condition) takes about 13 minutes on 2 cores.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import numpy as np
import optax

import brainsim as bs
from brainsim import criteria
from brainsim.synthetic_gradients import fit_decoupled
from regions import RecurrentCortex

POSITIONS = {"cue": (-1.0, 0.0), "ctx": (0.0, 0.0), "motor": (1.0, 0.0)}
TRAINABLE = ["ctx", "ctx.rate->motor.input", "motor.bias"]


@dataclasses.dataclass(frozen=True)
class Config:
    """Line drawing by an LSTM cortex trained by truncated BPTT, with and without a cerebellar gradient predictor."""

    seed: int = 0  # the first seed
    seeds: int = 5  # paired seeds seed, seed + 1, ...
    quick: bool = False  # criterion (a) only, 3 seeds, quick_epochs epochs
    quick_epochs: int = 100
    epochs: int = 100
    updates_per_epoch: int = 16  # 800 training trials in batches of 50
    batch: int = 50
    n_cortex: int = 50
    cell: str = "lstm"
    cb_width: int = 400  # units in each of the cerebellum's 2 hidden layers
    cb_layers: int = 2
    lr: float = 1e-3
    clip: float = 1.0  # global gradient norm
    sg_scale: float = 0.1  # factor on the synthetic gradient (Jaderberg et al. 2017)
    window: int = 1  # the truncation of criterion (a)
    mid_window: int = 5  # one cut (an effect)
    ablate_epoch: int = 50
    final_epochs: int = 5  # final error: mean validation MSE over the last this many epochs

    def __post_init__(self):
        for name in ("seeds", "quick_epochs", "epochs", "updates_per_epoch", "batch", "n_cortex",
                     "cb_width", "cb_layers", "window", "mid_window", "final_epochs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"cerebellar-decoupling: {name} must be an int >= 1, got {value!r}")
        trained = self.quick_epochs if self.quick else self.epochs
        if self.final_epochs > trained:
            raise ValueError(f"cerebellar-decoupling: final_epochs = {self.final_epochs} must not exceed "
                             f"the epochs trained ({'quick_epochs' if self.quick else 'epochs'} = {trained})")
        if not self.quick and not 0 < self.ablate_epoch < self.epochs:  # quick runs no ablation
            raise ValueError(f"cerebellar-decoupling: ablate_epoch must lie inside training "
                             f"(0 < ablate_epoch < epochs = {self.epochs}), got {self.ablate_epoch}")
        for name in ("lr", "clip"):
            if not getattr(self, name) > 0:
                raise ValueError(f"cerebellar-decoupling: {name} must be > 0, got {getattr(self, name)}")
        task = task_of(self)
        for name in ("window", "mid_window"):
            if task.steps % getattr(self, name):
                raise ValueError(f"cerebellar-decoupling: {name} = {getattr(self, name)} must divide "
                                 f"the trial length {task.steps}")

    @property
    def effective(self) -> Config:
        """The config that runs: ``--quick`` means 3 seeds and ``quick_epochs`` epochs."""
        if not self.quick:
            return self
        return dataclasses.replace(self, seeds=min(self.seeds, 3), epochs=self.quick_epochs)


def task_of(c: Config) -> bs.tasks.LineDrawing:
    return bs.tasks.LineDrawing(n_targets=7, radius=10.0, steps=10, feedback_every=2)


def connectome(c: Config) -> bs.Connectome:
    brain = bs.Connectome()
    brain.add("cue", bs.RatePopulation(n=1, activation="linear"))
    brain.add("ctx", RecurrentCortex(c.n_cortex, 1, cell=c.cell))
    brain.add("motor", bs.RatePopulation(n=2, activation="linear"))
    brain.connect("cue.rate", "ctx.input", kind="identity")
    brain.connect("ctx.rate", "motor.input")
    return brain


def conditions(c: Config) -> dict:
    """name -> (window, cerebellum on, ablated): what each run is."""
    task = task_of(c)
    table = {"cerebellum": (c.window, True, False), "cortex only": (c.window, False, False)}
    if not c.quick:
        table.update({
            "cerebellum, full BPTT": (task.steps, True, False),
            "cortex only, full BPTT": (task.steps, False, False),
            f"cerebellum, window {c.mid_window}": (c.mid_window, True, False),
            f"cortex only, window {c.mid_window}": (c.mid_window, False, False),
            "ablated": (c.window, True, True),
        })
    return table


def _validation(net, state, task):
    """Validation MSE over all steps of every line, the endpoint error, and the drawn lines."""
    trials = task.all_targets()

    @jax.jit
    def drawn(params, start):  # the start state is an argument: seeds share the compiled program
        def one(cue):
            _, trace = net.run(params, start, task.steps, inputs={"cue.input": cue}, record=["motor.rate"])
            return trace["motor.rate"]
        return jax.vmap(one)(trials["inputs"])

    lines = np.asarray(task.lines)

    def measure(params):
        y = np.asarray(drawn(params, state))
        return (float(np.mean((y - lines) ** 2)),
                float(np.mean(np.linalg.norm(y[:, -1] - lines[:, -1], axis=1))), y)

    return measure


def train(c: Config, seed: int, name: str, net) -> dict:
    """One condition on one seed: validation MSE and endpoint error per epoch."""
    window, on, ablated = conditions(c)[name]
    task = task_of(c)
    params, state = net.init(jax.random.key(seed), overrides={"cue.tau": 1.0, "motor.tau": 1.0})

    @jax.jit
    def batch_of(key):
        b = task.trials(key, c.batch)
        return {"inputs": {"cue.input": b["inputs"]}, "targets": b["targets"], "mask": b["mask"]}

    def data(key, step):
        return batch_of(key)

    measure = _validation(net, state, task)
    mse0, end0, _ = measure(params)
    curve = {"mse": [mse0], "endpoint": [end0], "calls": 0}

    def evaluate(p, key):  # called after every update (eval_every=1); measures once per epoch
        curve["calls"] += 1
        if curve["calls"] % c.updates_per_epoch == 0:
            mse, end, _ = measure(p)
            curve["mse"].append(mse)
            curve["endpoint"].append(end)
        return curve["mse"][-1]

    updates = c.epochs * c.updates_per_epoch
    trained, _, history = fit_decoupled(
        net, state, params, data, updates, region="ctx", window=window, output="motor.rate",
        key=jax.random.key(10_000 + seed), hidden=(c.cb_width,) * c.cb_layers, scale=c.sg_scale,
        joint=True, optimizer=optax.chain(optax.clip_by_global_norm(c.clip), optax.adam(c.lr)),
        predictor_optimizer=optax.adam(c.lr), use_predictor=on, trainable=TRAINABLE,
        ablate_at=c.ablate_epoch * c.updates_per_epoch if ablated else None,
        evaluate=evaluate, eval_every=1, progress=False)
    # epoch e's entry is measured after e epochs of updates (entry 0: untrained)
    return {"mse": np.asarray(curve["mse"]), "endpoint": np.asarray(curve["endpoint"]),
            "drawn": measure(trained)[2], "train_mse": np.asarray(history["mse"])}


def measure(c: Config, results: dict) -> dict:
    m = {k: [] for k in ("auc_lower", "final_ratio", "auc_ratio", "full_ratio", "mid_ratio",
                         "ablation_ratio", "ablation_mse_ratio", "ablation_jump")}
    last = slice(-c.final_epochs, None)
    for run in results.values():
        cb, ctx = run["cerebellum"]["mse"], run["cortex only"]["mse"]
        m["auc_lower"].append(float(cb.mean() < ctx.mean()))
        m["auc_ratio"].append(cb.mean() / ctx.mean())
        m["final_ratio"].append(cb[last].mean() / ctx[last].mean())
        if c.quick:
            continue
        m["full_ratio"].append(run["cerebellum, full BPTT"]["mse"][last].mean()
                               / run["cortex only, full BPTT"]["mse"][last].mean())
        m["mid_ratio"].append(run[f"cerebellum, window {c.mid_window}"]["mse"][last].mean()
                              / run[f"cortex only, window {c.mid_window}"]["mse"][last].mean())
        after = slice(c.ablate_epoch + 1, None)
        m["ablation_ratio"].append(run["ablated"]["endpoint"][after].mean()
                                   / run["cerebellum"]["endpoint"][after].mean())
        m["ablation_mse_ratio"].append(run["ablated"]["mse"][after].mean() / run["cerebellum"]["mse"][after].mean())
        m["ablation_jump"].append(run["ablated"]["endpoint"][c.ablate_epoch + 1: c.ablate_epoch + 6].mean()
                                  / run["ablated"]["endpoint"][c.ablate_epoch])
    return m


def run(config: Config, out_dir) -> dict:
    c = config.effective
    out = Path(out_dir)
    net = bs.build(connectome(c), dt=1.0)
    seeds = list(range(c.seed, c.seed + c.seeds))
    names = list(conditions(c))
    results = criteria.paired_runs(seeds, names, lambda seed, name: train(c, seed, name, net),
                                   "cerebellar-decoupling")
    for seed in seeds:  # paired: every condition of a seed starts from the same cortex (and, from the
        first = results[seed][names[0]]  # same key, draws the same batches)
        for name in names[1:]:
            if first["mse"][0] != results[seed][name]["mse"][0]:
                raise RuntimeError(f"seed {seed}: {name} did not start from the same cortex")

    np.savez_compressed(out / "curves.npz", **{  # kept before the figures are drawn
        f"{kind}/{name}/seed{s}": results[s][name][kind] for s in seeds for name in names
        for kind in ("mse", "endpoint", "drawn")})
    m = measure(c, results)
    crit = {
        "auc_lower_with_cerebellum_fraction_of_seeds": criteria.criterion(m["auc_lower"], ">= 0.8"),
        "final_error_ratio_window_1": criteria.criterion(m["final_ratio"], "<= 0.7"),
    }
    effects = {"auc_ratio_window_1": criteria.effect(m["auc_ratio"]),
               "final_error_ratio_window_1": criteria.effect(m["final_ratio"])}
    if not c.quick:
        # With window = trial length there is no boundary: the cerebellum is never used nor trained,
        # so this control holds by construction (it checks that nothing leaks in). The one with a
        # single cut (mid_window) is the control that could fail.
        for bound in (">= 0.8", "<= 1.25"):
            side = "at_least" if bound.startswith(">") else "at_most"
            crit[f"control_full_bptt_final_ratio_{side}"] = {
                **criteria.criterion(m["full_ratio"], bound),
                "note": "identical runs by construction: one window, no boundary for the cerebellum"}
            crit[f"control_one_cut_window_{c.mid_window}_final_ratio_{side}"] = criteria.criterion(
                m["mid_ratio"], bound)
        crit["ablation_endpoint_error_ratio"] = criteria.criterion(m["ablation_ratio"], "> 1.0")
        effects.update({
            "final_error_ratio_full_bptt": criteria.effect(m["full_ratio"]),
            f"final_error_ratio_window_{c.mid_window}": criteria.effect(m["mid_ratio"]),
            "ablation_endpoint_error_ratio": criteria.effect(m["ablation_ratio"]),
            "ablation_validation_mse_ratio": criteria.effect(m["ablation_mse_ratio"]),
            "endpoint_error_5_epochs_after_ablation_over_at_ablation": criteria.effect(m["ablation_jump"]),
        })
    for name in names:
        effects[f"final_validation_mse/{name}"] = criteria.effect(
            [results[s][name]["mse"][-c.final_epochs:].mean() for s in seeds])
    figures(c, results, seeds, net, out)
    return {"criteria": crit, "effects": effects, "seeds": seeds, "quick": c.quick,
            "epochs": c.epochs, "curves": {name: {str(s): results[s][name]["mse"].tolist() for s in seeds}
                                           for name in names}}


def figures(c: Config, results, seeds, net, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = task_of(c)
    epochs = np.arange(c.epochs + 1)
    names = list(conditions(c))
    styles = {"cerebellum": ("C0", "-"), "cortex only": ("C3", "-"),
              "cerebellum, full BPTT": ("C0", ":"), "cortex only, full BPTT": ("C3", ":"),
              f"cerebellum, window {c.mid_window}": ("C0", "--"),
              f"cortex only, window {c.mid_window}": ("C3", "--"), "ablated": ("C2", "-")}

    # 1. learning curves with the spread over seeds (and, in the full form, the ablation)
    panels = [("mse", ("cerebellum", "cortex only")
               + (() if c.quick else ("cerebellum, full BPTT", "cortex only, full BPTT")))]
    if not c.quick:
        panels += [("mse", ("cerebellum", "ablated")), ("endpoint", ("cerebellum", "ablated"))]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.5), constrained_layout=True,
                             squeeze=False)
    for ax, (key, group) in zip(axes[0], panels):
        for name in group:
            curves = np.stack([results[s][name][key] for s in seeds])
            colour, style = styles[name]
            label = f"{name} (window {c.window})" if name in ("cerebellum", "cortex only") else name
            ax.semilogy(epochs, np.exp(np.log(curves).mean(0)), color=colour, ls=style, lw=1.8, label=label)
            ax.fill_between(epochs, curves.min(0), curves.max(0), color=colour, alpha=0.15, lw=0)
        ax.set_xlabel("epoch (16 updates of 50 trials)")
        ax.legend(frameon=False, fontsize=8)
        ax.set_ylabel(f"validation MSE (geometric mean, range over {len(seeds)} seeds)" if key == "mse"
                      else "endpoint error (distance at the last step)")
    axes[0][0].set_title("learning the 7 lines")
    for ax in axes[0][1:]:
        ax.axvline(c.ablate_epoch, color="0.4", lw=0.8, ls="--")
        ax.set_title(f"cerebellum ablated at epoch {c.ablate_epoch} (dashed)")
    fig.savefig(out / "learning_curves.png", dpi=100)
    plt.close(fig)

    # 2. the drawn lines (seed c.seed)
    shown = [n for n in ("cortex only", "cerebellum", "ablated") if n in names]
    fig, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 4.2), constrained_layout=True,
                             squeeze=False)
    colours = plt.cm.viridis(np.linspace(0, 0.9, task.n_targets))
    for ax, name in zip(axes[0], shown):
        drawn = results[seeds[0]][name]["drawn"]
        for k, colour in enumerate(colours):
            ax.plot(*task.lines[k].T, color="0.75", lw=4, solid_capstyle="round")
            ax.plot(*drawn[k].T, "o-", color=colour, ms=3, lw=1.2)
        ax.set_aspect("equal")
        ax.set_title(f"{name}: after {c.epochs} epochs" + (f" (ablated at {c.ablate_epoch})"
                                                           if name == "ablated" else ""))
        ax.set_xlabel("x")
    axes[0][0].set_ylabel("y (grey: the target lines)")
    fig.suptitle(f"lines drawn from the 7 cues, window {c.window}, seed {seeds[0]}")
    fig.savefig(out / "trajectories.png", dpi=100)
    plt.close(fig)

    # 3. the benefit against the feedback horizon
    if not c.quick:
        windows = [c.window, c.mid_window, task.steps]
        pairs = [("cerebellum", "cortex only"),
                 (f"cerebellum, window {c.mid_window}", f"cortex only, window {c.mid_window}"),
                 ("cerebellum, full BPTT", "cortex only, full BPTT")]
        ratios = np.array([[results[s][a]["mse"][-c.final_epochs:].mean()
                            / results[s][b]["mse"][-c.final_epochs:].mean() for a, b in pairs] for s in seeds])
        fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
        for row in ratios:
            ax.plot(windows, row, "o-", color="0.7", lw=0.8)
        ax.plot(windows, np.exp(np.log(ratios).mean(0)), "o-", color="C0", lw=2, label="geometric mean")
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xscale("log")
        ax.set_xticks(windows, [str(w) for w in windows])
        ax.set_xlabel("truncation window (steps; 10 = full BPTT)")
        ax.set_ylabel("final validation MSE, cerebellum / cortex only")
        ax.set_title("the cerebellum helps where cortical feedback is cut")
        ax.legend(frameon=False)
        fig.savefig(out / "benefit_by_window.png", dpi=100)
        plt.close(fig)

    # 4. the connectome, drawn from the network that ran, with the cerebellum's gradient path
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    bs.plot.connectome(net, ax=ax, positions=POSITIONS)
    ax.annotate("", xy=(0.05, 0.12), xytext=(0.05, 0.75),
                arrowprops=dict(arrowstyle="-|>", ls="--", color="C0", connectionstyle="arc3,rad=-0.6"))
    ax.annotate("", xy=(-0.05, 0.75), xytext=(-0.05, 0.12),
                arrowprops=dict(arrowstyle="-|>", ls="--", color="C0", connectionstyle="arc3,rad=-0.6"))
    ax.text(0.0, 0.85, f"cerebellum: {c.cb_layers} x {c.cb_width} ReLU\n(reads ctx's c, h; "
            f"returns g_hat = dL_future/dh)", ha="center", color="C0", fontsize="small")
    ax.set_ylim(-0.6, 1.2)
    ax.set_title("cerebellar-decoupling: the forward connectome (solid) and the cerebellum's "
                 "gradient loop (dashed, a training path)", fontsize="small")
    fig.savefig(out / "connectome.png", dpi=100)
    plt.close(fig)
