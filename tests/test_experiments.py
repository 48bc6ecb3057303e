"""The experiments run from the CLI at reduced size and meet their criteria."""

import json

import pytest

from brainsim import cli

SMALL_QUICKSTART = ["--duration-ms", "120", "--n-cb", "32", "--chunk", "80"]


def test_quickstart_echoes_arrive_after_the_wired_round_trip(tmp_path, capsys):
    assert cli.main(["run", "quickstart", "--out", str(tmp_path), *SMALL_QUICKSTART]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["cerebellar_echo_latency_ms"] == metrics["cerebellar_round_trip_ms"] == 8.0
    assert metrics["basal_ganglia_echo_latency_ms"] == metrics["basal_ganglia_round_trip_ms"] == 12.0
    assert (tmp_path / "quickstart.png").stat().st_size > 10_000
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["seed"] == 0 and run["experiment"] == "quickstart"
    assert {"jax", "brainsim", "git_revision"} <= set(run)
    assert "measured echo 8.0 ms" in capsys.readouterr().out


def test_quickstart_echo_follows_a_changed_delay(tmp_path):
    flags = [*SMALL_QUICKSTART, "--cb-to-ctx-ms", "6.5", "--seed", "3"]
    assert cli.main(["run", "quickstart", "--out", str(tmp_path), *flags]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["cerebellar_echo_latency_ms"] == 10.5


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(SystemExit, match="available: .*quickstart"):
        cli.main(["run", "nonesuch"])


def test_list(capsys):
    assert cli.main(["list"]) == 0
    assert "quickstart" in capsys.readouterr().out


def test_whole_brain_fc_follows_sc_and_the_shuffled_control_does_not(tmp_path):
    pytest.importorskip("tvb_data")
    flags = ["--duration-ms", "20000", "--out", str(tmp_path)]
    assert cli.main(["run", "whole_brain", *flags]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["r_fc_sc_no_delays"] > 0.2
    assert abs(metrics["r_fc_sc_shuffled_sc"]) < 0.1
    assert metrics["r_fc_sc_delays"] < metrics["r_fc_sc_no_delays"]
    assert (tmp_path / "whole_brain.png").exists()


def test_coba_settles_into_asynchronous_irregular_firing(tmp_path):
    flags = ["--n", "1000", "--duration-ms", "300", "--cpu-threads", "0", "--out", str(tmp_path)]
    assert cli.main(["run", "coba", *flags]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 5.0 < metrics["rate_e_hz"] < 60.0 and 5.0 < metrics["rate_i_hz"] < 60.0
    assert metrics["isi_cv"] > 0.8  # irregular, unlike the clock-like firing of an isolated neuron (CV 0)
    assert 0.5 < metrics["ei_ratio"] < 2.0
    assert 70_000 < metrics["synapses"] < 90_000  # 1000 neurons x 80 expected inputs
    assert (tmp_path / "coba_raster.png").stat().st_size > 10_000


def test_the_command_keeps_compiled_programs_in_a_cache_folder(tmp_path, monkeypatch, capsys):
    import jax

    monkeypatch.setenv("BRAINSIM_COMPILATION_CACHE", "off")
    assert cli.use_compilation_cache() is None
    before = jax.config.jax_compilation_cache_dir, jax.config.jax_compilation_cache_max_size
    monkeypatch.setenv("BRAINSIM_COMPILATION_CACHE", str(tmp_path / "xla"))
    try:
        assert cli.use_compilation_cache() == str(tmp_path / "xla")
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "xla") and (tmp_path / "xla").is_dir()
        monkeypatch.delenv("BRAINSIM_COMPILATION_CACHE")
        assert cli.use_compilation_cache() == str(tmp_path / "xla")  # a folder JAX already has is kept
        jax.config.update("jax_compilation_cache_dir", None)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert cli.use_compilation_cache() == str(tmp_path / "cache" / "brainsim" / "jax")
        (tmp_path / "file").write_text("not a folder")
        monkeypatch.setenv("BRAINSIM_COMPILATION_CACHE", str(tmp_path / "file" / "xla"))
        assert cli.use_compilation_cache() is None
        assert "compilation cache off" in capsys.readouterr().err
    finally:
        jax.config.update("jax_compilation_cache_dir", before[0])
        jax.config.update("jax_compilation_cache_max_size", before[1])
