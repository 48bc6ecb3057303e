"""Forward eligibility traces: e-prop and RFLO, computed inside the run's scan.

Both rules estimate the gradient of a loss ``E = sum_t l_t(y_t)`` without a
backward pass through time. For a param ``w`` that acts on unit ``j`` (a
weight onto ``j``, its bias), the exact gradient is ``sum_t dl_t/dz_t dz_t/dw``
through every path in the network; the rules keep only the paths inside
unit ``j`` itself, which can be followed forward in time, and replace the
credit ``dE/dz_j`` by a learning signal ``L_j`` broadcast from the output
error ``e_t = dl_t/dy_t``:

- **e-prop** (Bellec et al. 2020, Nat Commun 11, 3625): the eligibility
  vector ``eps_t = D_t eps_{t-1} + ds_t/dw`` follows the unit's own state
  ``s`` (``D_t = ds_t/ds_{t-1}`` within the unit: for a leaky rate unit
  ``1 - dt/tau``), the eligibility trace is ``dz_t/dw = dz_t/ds_{t-1} eps_{t-1}
  + (dz_t/dw)_immediate``, and ``dw = sum_t L_t * trace_t``. With no recurrent
  weights and a readout without memory of its own this is the exact gradient.
- **RFLO** (Murray 2019, eLife 8, e43299): the trace low-pass filters the
  immediate influence of ``w`` on the unit's output with the unit's leak,
  ``p_t = D_t p_{t-1} + (dz_t/dw)_immediate`` (for ``z = phi(x)``:
  ``p_t = (1 - a) p_{t-1} + a phi'(x_t) pre``), ``dw = sum_t L_t * p_t``. It is
  exact for linear units without recurrent weights.

Learning signals (``feedback``): the output region gets ``e_t`` itself (its
own weights learn by the exact delta rule); every other trained region gets
``e_t B`` through a fixed random matrix ``B`` (``"random"``, as in both papers
and direct feedback alignment across areas), or, with ``"symmetric"``, the
exact credit ``dl_t/dz_t`` of its output within the step (the transposed
readout for a region that projects straight to the output).

The derivatives inside one step are taken by JAX on the network's own step
with ``isolate=True`` (`brainsim._src.step`), so any region that declares
``unit_local`` takes part. Memory is the traces (one per param and state
variable of its unit), constant in the number of steps.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from brainsim._src.step import advance
from brainsim.credit import rule as rules
from brainsim.errors import RunInputError

FEEDBACK = ("random", "symmetric")


@dataclasses.dataclass(frozen=True)
class _Leaf:
    index: int  # in the flattened params
    path: str
    region: str  # the region whose units it acts on


def _flat(params):
    leaves, treedef = jax.tree_util.tree_flatten(params)
    return leaves, treedef


class TraceRule(rules.Rule):
    """e-prop or RFLO on a network (see the module docstring and `eprop`, `rflo`)."""

    def __init__(self, method: str, net, state, *, output: str, loss: str = "mse",
                 feedback: str = "random", signal_ports=None, key=None, feedback_scale: float = 1.0,
                 regions=None):
        self.method, self.net, self.state = method, net, state
        self.loss, self.output = rules.check_loss(loss), output
        self.name = method
        if feedback not in FEEDBACK:
            raise RunInputError(f"{method}: feedback must be one of {FEEDBACK}, got {feedback!r}")
        if output not in net.output_ports:
            raise RunInputError(f"{method}: no output port {output!r}; output ports are "
                                f"{sorted(net.output_ports)}")
        self.feedback = feedback
        self.out_region = output.split(".")[0]
        self.regions = self._trained_regions(state, regions)
        self.signal = self._signal_ports(signal_ports)
        if method == "rflo":
            multi = [r for r in self.regions if len(state["regions"][r]) != 1]
            if multi:
                raise RunInputError(f"rflo filters one state variable per unit; {multi} have several "
                                    f"({ {r: sorted(state['regions'][r]) for r in multi} }); use eprop")
        y_size = int(np.prod(net.output_ports[output].shape))
        key = jax.random.key(0) if key is None else key
        self.B = {}
        if feedback == "random":
            for i, r in enumerate(r for r in self.regions if r != self.out_region):
                n = int(np.prod(net.output_ports[self.signal[r]].shape))
                self.B[r] = feedback_scale * jax.random.normal(jax.random.fold_in(key, i), (y_size, n)) \
                    / np.sqrt(y_size)
        else:
            self._check_symmetric()

    # -- structure ---------------------------------------------------------
    def _trained_regions(self, state, only):
        if only is not None:
            only = [only] if isinstance(only, str) else list(only)
            unknown = sorted(set(only) - set(self.net.regions))
            if unknown:
                raise RunInputError(f"{self.method}: no regions {unknown}; regions are "
                                    f"{sorted(self.net.regions)}")
        chosen = []
        for name, region in self.net.regions.items():
            leaves = state["regions"].get(name) or {}
            if only is not None and name not in only:
                continue
            if not getattr(region, "unit_local", False) or not leaves:
                if only is not None:
                    raise RunInputError(f"{self.method}: region {name!r} is not a unit_local region with "
                                        "state; the rule cannot train it")
                continue
            shapes = {k: tuple(v.shape) for k, v in leaves.items()}
            if len(set(shapes.values())) != 1 or len(next(iter(shapes.values()))) != 1:
                raise RunInputError(f"{self.method}: region {name!r} declares unit_local but its state "
                                    f"leaves are not one value per unit: {shapes}")
            chosen.append(name)
        if self.out_region not in chosen:
            raise RunInputError(f"{self.method}: the output region {self.out_region!r} must be a unit_local "
                                "region (e.g. a RatePopulation or Cortex readout) among those it trains")
        return tuple(chosen)

    def _signal_ports(self, signal_ports):
        ports = {self.out_region: self.output}
        given = dict(signal_ports or {})
        for r in self.regions:
            if r == self.out_region:
                continue
            path = given.get(r, f"{r}.rate")
            if path not in self.net.output_ports:
                raise RunInputError(f"{self.method}: region {r!r} has no output {path!r} to receive the "
                                    "learning signal; name one with signal_ports={region: 'region.port'}")
            ports[r] = path
        return ports

    def _check_symmetric(self):
        direct = {p.src for p in self.net.projections if p.dst == self.out_region and p.delay == 0
                  and p.edge_delay is None}
        far = [r for r in self.regions if r != self.out_region and r not in direct]
        if far:
            raise RunInputError(f"{self.method}: symmetric feedback is the credit of a region's output "
                                f"within one step, and {far} have no zero-delay projection to "
                                f"{self.out_region!r}; use feedback='random'")

    def _leaves(self, params):
        """The params the rule trains: each acts on the units of one trained region (its own
        params and those of projections into it) and has those units on its last axis."""
        owner = {r: r for r in self.regions}
        owner.update({p.name: p.dst for p in self.net.projections if p.dst in self.regions
                      and p.plasticity is None})
        n_units = {r: next(iter(self.state["regions"][r].values())).shape[0] for r in self.regions}
        chosen = []
        for i, (key_path, leaf) in enumerate(jax.tree_util.tree_flatten_with_path(params)[0]):
            region = owner.get(getattr(key_path[0], "key", None))
            if region is None or jnp.ndim(leaf) == 0:
                continue  # not on a trained region's units, or shared by all of them (tau)
            name = jax.tree_util.keystr(key_path)
            if leaf.shape[-1] != n_units[region]:
                raise RunInputError(f"{self.method}: param {name} has shape {tuple(leaf.shape)}; the rule "
                                    f"needs its last axis to be the {n_units[region]} units of {region!r}")
            chosen.append(_Leaf(i, name, region))
        return chosen

    # -- one update --------------------------------------------------------
    def __call__(self, params, rule_state, batch, key):
        size, steps = rules.check_batch(self.net, batch, self.output, self.loss)
        mask, norm = rules.loss_mask(batch)
        keys = None if key is None else jax.random.split(key, size)
        inputs = batch.get("inputs") or {}
        trial = lambda i, tgt, m, k: self._trial(params, i, tgt, m, norm, k, steps)  # noqa: E731
        axes = (0, 0, None if mask is None else 0, None if keys is None else 0)
        loss, flat = jax.vmap(trial, in_axes=axes)(inputs, batch["targets"], mask, keys)
        leaves, treedef = _flat(params)
        updates = [jnp.zeros_like(leaf) for leaf in leaves]
        for leaf, g in zip(self._leaves(params), flat):
            updates[leaf.index] = jnp.sum(g, axis=0).astype(leaves[leaf.index].dtype)
        return jnp.sum(loss), jax.tree_util.tree_unflatten(treedef, updates), rule_state, {}

    def _trial(self, params, inputs, targets, mask, norm, key, steps):
        chosen = self._leaves(params)
        leaves, _ = _flat(params)
        start = self.state if key is None else {**self.state, "key": key}
        zeros = lambda c: jnp.zeros_like(leaves[c.index])  # noqa: E731
        if self.method == "eprop":  # one eligibility vector per state variable of the unit
            traces = [[zeros(c) for _ in self.state["regions"][c.region]] for c in chosen]
        else:
            traces = [zeros(c) for c in chosen]
        grads = [zeros(c) for c in chosen]

        def body(carry, _):  # inputs are indexed, not scanned over: nothing of length T is made
            state, traces, grads, loss = carry
            t = state["t"] - start["t"]
            drive = {path: value[t] for path, value in inputs.items()}
            new_state, local = self._local_derivatives(params, state, drive)
            l_t, signal = self._learning_signals(params, state, drive, local["z"], targets[t],
                                                 rules.step_weight(mask, t, norm))
            update = self._eprop if self.method == "eprop" else self._rflo
            traces, grads = update(chosen, local, signal, traces, grads)
            return (new_state, traces, grads, loss + l_t), None

        carry = (start, traces, grads, jnp.zeros((), jnp.float32))
        (_, _, grads, loss), _ = jax.lax.scan(body, carry, None, length=steps)
        return loss, grads

    def _local_derivatives(self, params, state, drive):
        """The next state, and the derivatives of this step with each unit seen alone:
        ``z`` the signal ports; ``dz_dw``, ``ds_dw[v]`` the immediate change of the signal port
        and of state variable ``v`` per param (flat leaves); ``dz_ds[u]``, ``ds_ds[u]`` their
        change per unit change of the unit's own variable ``u`` (per region)."""
        regions, z_paths = self.regions, [self.signal[r] for r in self.regions]

        def local(p, own):
            new, signals = advance(self.net, p, {**state, "regions": {**state["regions"], **own}}, drive,
                                   isolate=True)
            return ({r: new["regions"][r] for r in regions}, {z: signals[z] for z in z_paths}), new

        own = {r: state["regions"][r] for r in regions}
        (next_own, z), pull, new_state = jax.vjp(lambda p: local(p, own), params, has_aux=True)
        zeros = lambda tree: jax.tree.map(jnp.zeros_like, tree)  # noqa: E731
        leaves = jax.tree_util.tree_leaves
        slots = max(len(v) for v in own.values())
        out = {"z": z, "dz_dw": leaves(pull((zeros(next_own), jax.tree.map(jnp.ones_like, z)))[0]),
               "ds_dw": [], "dz_ds": [], "ds_ds": []}
        for u in range(slots):
            ones = self._slot_tree(own, u)
            if self.method == "eprop":
                out["ds_dw"].append(leaves(pull((ones, zeros(z)))[0]))
            ds, dz = jax.jvp(lambda s: local(params, s)[0], (own,), (ones,))[1]
            out["ds_ds"].append(ds)
            out["dz_ds"].append(dz)
        return new_state, out

    def _learning_signals(self, params, state, drive, z, target, weight):
        """This step's loss and ``{region: L}``: the output's error ``e = dl/dy``, and ``e B`` (random)
        or the exact credit of each region's signal port within the step (symmetric)."""
        l_t, e_t = jax.value_and_grad(lambda y: rules.step_loss(self.loss, y, target, weight))(z[self.output])
        signal = {self.out_region: e_t}
        hidden = [r for r in self.regions if r != self.out_region]
        if self.feedback == "random":
            signal.update({r: (e_t.reshape(-1) @ self.B[r]).reshape(z[self.signal[r]].shape) for r in hidden})
        elif hidden:
            nudges = {self.signal[r]: jnp.zeros_like(z[self.signal[r]]) for r in hidden}
            output = lambda d: advance(self.net, params, state, drive, nudge=d)[1][self.output]  # noqa: E731
            credit = jax.vjp(output, nudges)[1](e_t)[0]
            signal.update({r: credit[self.signal[r]] for r in hidden})
        return l_t, signal

    def _eprop(self, chosen, local, signal, traces, grads):
        """``trace = dz/dw + sum_u dz/ds_u eps_u``, ``eps_v <- ds_v/dw + sum_u ds_v/ds_u eps_u``,
        ``grad += L trace``."""
        new_traces, new_grads = [], []
        for c, eps, g in zip(chosen, traces, grads):
            names = sorted(self.state["regions"][c.region])
            follow = lambda d: sum(_per_unit(d[u], e) * e for u, e in enumerate(eps))  # noqa: E731
            trace = local["dz_dw"][c.index] + follow([local["dz_ds"][u][self.signal[c.region]]
                                                      for u in range(len(names))])
            new_traces.append([local["ds_dw"][v][c.index] + follow([local["ds_ds"][u][c.region][name]
                                                                   for u in range(len(names))])
                               for v, name in enumerate(names)])
            new_grads.append(g + _per_unit(signal[c.region], g) * trace)
        return new_traces, new_grads

    def _rflo(self, chosen, local, signal, traces, grads):
        """``p <- D p + dz/dw`` with ``D`` the unit's own decay, ``grad += L p``."""
        new_traces, new_grads = [], []
        for c, p, g in zip(chosen, traces, grads):
            (name,) = self.state["regions"][c.region]
            p = _per_unit(local["ds_ds"][0][c.region][name], p) * p + local["dz_dw"][c.index]
            new_traces.append(p)
            new_grads.append(g + _per_unit(signal[c.region], g) * p)
        return new_traces, new_grads

    def _slot_tree(self, own, slot):
        """Ones on the ``slot``-th (sorted) state variable of every trained region, zeros elsewhere."""
        return {r: {v: jnp.ones_like(x) if i == slot else jnp.zeros_like(x)
                    for i, (v, x) in enumerate(sorted(own[r].items()))} for r in self.regions}


def _per_unit(values, like):
    """``values`` (one per unit) shaped to multiply ``like``, whose last axis is the units."""
    return values.reshape((1,) * (like.ndim - 1) + (-1,))


def eprop(net, state, *, output: str, loss: str = "mse", feedback: str = "random", regions=None,
          signal_ports=None, key=None, feedback_scale: float = 1.0) -> TraceRule:
    """e-prop (Bellec et al. 2020) as a `brainsim.credit.Rule`; see `brainsim.credit.traces`.

    Args:
      net, state: the network and the state each trial starts from.
      output: the recorded output port the loss compares with the targets.
      loss: ``"mse"`` or ``"cross_entropy"``.
      feedback: ``"random"`` (fixed random ``B`` per region, seeded by ``key``, scaled by
        ``feedback_scale``) or ``"symmetric"``.
      regions: the regions that learn (default: every `unit_local` region with state); the
        rest run but get no update. The output's region must be among them.
      signal_ports: ``{region: "region.port"}``, the output that receives each region's
        learning signal (default ``"region.rate"``).
    """
    return TraceRule("eprop", net, state, output=output, loss=loss, feedback=feedback,
                     signal_ports=signal_ports, key=key, feedback_scale=feedback_scale, regions=regions)


def rflo(net, state, *, output: str, loss: str = "mse", feedback: str = "random", regions=None,
         signal_ports=None, key=None, feedback_scale: float = 1.0) -> TraceRule:
    """RFLO (Murray 2019) as a `brainsim.credit.Rule`; arguments as `eprop`. Regions must hold one
    state variable per unit."""
    return TraceRule("rflo", net, state, output=output, loss=loss, feedback=feedback,
                     signal_ports=signal_ports, key=key, feedback_scale=feedback_scale, regions=regions)
