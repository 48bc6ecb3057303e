"""The ``brainsim`` command.

    brainsim list                         experiments that can be run
    brainsim run NAME [--out DIR] [--FIELD VALUE ...]

An experiment is a module ``experiments.NAME`` (found by name at run time,
never imported by the engine) that defines a frozen dataclass ``Config`` and
``run(config, out_dir) -> metrics``. Every field of ``Config`` becomes a flag
(``--seed 3``, ``--steps 4000``). Results go to ``runs/NAME`` unless ``--out``
says otherwise: ``run.json`` (seed, config, versions), ``metrics.json`` and
the experiment's figures. An experiment's criteria (`brainsim.criteria`) are
printed as a table at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import pkgutil
import sys
import time
import typing

from brainsim import criteria, run_folders


def experiment_names() -> list[str]:
    """Names of the modules in the ``experiments`` package."""
    package = importlib.import_module("experiments")
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def load(name: str):
    """The experiment module ``experiments.<name>`` (``dopamine-td`` names ``dopamine_td``),
    with a clear error if unknown."""
    names = experiment_names()
    module = name.replace("-", "_")
    if module not in names:
        shown = ", ".join(n.replace("_", "-") for n in names)
        raise SystemExit(f"brainsim: unknown experiment {name!r}; available: {shown}")
    return importlib.import_module(f"experiments.{module}")


def config_parser(config_cls, prog: str) -> argparse.ArgumentParser:
    """An argparse parser with one ``--flag`` per field of ``config_cls``."""
    parser = argparse.ArgumentParser(prog=prog, description=(config_cls.__doc__ or "").strip())
    parser.add_argument("--out", default=None, help="output folder (default runs/NAME)")
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        kind = hints[field.name]
        flag = "--" + field.name.replace("_", "-")
        if kind is bool:
            parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction,
                                default=field.default)
        else:
            parser.add_argument(flag, dest=field.name, type=kind, default=field.default,
                                help=f"default {field.default!r}")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    command, rest = argv[0], argv[1:]
    if command == "list":
        for name in experiment_names():
            doc = (load(name).__doc__ or "").strip().splitlines()
            print(f"{name.replace('_', '-'):24s} {doc[0] if doc else ''}")
        return 0
    if command != "run" or not rest:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    name, flags = rest[0], rest[1:]
    module = load(name)
    args = config_parser(module.Config, f"brainsim run {name}").parse_args(flags)
    name = name.replace("_", "-")
    out_dir = args.out or f"runs/{name}"
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(module.Config)}
    config = module.Config(**values)
    out = run_folders.start(out_dir, name, config)
    began = time.perf_counter()
    metrics = module.run(config, out)
    metrics = {**metrics, "wall_time_s": round(time.perf_counter() - began, 3)}
    run_folders.write_json(out / "metrics.json", metrics)
    if metrics.get("criteria"):
        print(criteria.table(metrics["criteria"]))
    print(f"wrote {out}/metrics.json and figures in {time.perf_counter() - began:.1f} s")
    return 0


def use_compilation_cache() -> str | None:
    """Keep compiled programs on disk (JAX's persistent compilation cache), so that seeds and
    conditions that compile to the same program, and later runs, skip the compiler.

    The folder is ``$BRAINSIM_COMPILATION_CACHE``, else one JAX is already set to use
    (``JAX_COMPILATION_CACHE_DIR``), else ``$XDG_CACHE_HOME/brainsim/jax`` (default
    ``~/.cache/brainsim/jax``); ``BRAINSIM_COMPILATION_CACHE=off`` turns it off. A folder that
    cannot be created or written turns it off with one warning. The cache keeps at most 2 GiB
    where the ``filelock`` package is installed (JAX needs it to enforce a limit).
    Returns the folder (None when off).
    """
    import jax

    folder = os.environ.get("BRAINSIM_COMPILATION_CACHE")
    if folder is not None and folder.strip().lower() in ("off", "0", "false", "no", ""):
        return None
    if folder is None:
        folder = jax.config.jax_compilation_cache_dir
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        folder = os.path.join(base, "brainsim", "jax")
    folder = os.path.abspath(os.path.expanduser(folder))
    try:
        os.makedirs(folder, exist_ok=True)
        usable = os.access(folder, os.W_OK)
    except OSError:
        usable = False
    if not usable:
        print(f"brainsim: compilation cache off ({folder} cannot be written)", file=sys.stderr)
        return None
    jax.config.update("jax_compilation_cache_dir", folder)
    try:  # JAX enforces a size limit only with filelock installed (else every cache read fails)
        import filelock  # noqa: F401
    except ImportError:
        pass
    else:
        jax.config.update("jax_compilation_cache_max_size", 2 * 1024**3)
    return folder


def entry() -> int:
    """The ``brainsim`` console command: `main` with the compilation cache on."""
    use_compilation_cache()
    return main()


if __name__ == "__main__":
    raise SystemExit(entry())
