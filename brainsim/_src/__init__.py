"""brainsim's plumbing, which no user imports (optax-style): the run chain
(`plan` checks a call, `scan` is the compiled loop, `step` its body, `chunked`
the host loop of long runs), delay lines, inputs, recording, initial values.
Everything a user needs is exported from `brainsim` itself."""
