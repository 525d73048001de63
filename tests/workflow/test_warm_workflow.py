"""Warm starts in the workflow (config ``warm_start``), run for real: a warm-started sweep gives
the results of the cold sweep; unusable states give cold starts; turning warm starts on or off
reruns nothing; the choice of the neighbour (lindring.workflow.warm)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import ROOT, workflow_env

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
THETA = [0.5, 0.6, 0.7, 0.8]
STUDY = {"methods": ["ed"], "bc": "ring", "L": [5], "preset": "minimal", "solver": "iterative",
         "polar": {"r": [2.0], "theta": THETA}}
CONFIG = {"studies": {"warm": dict(STUDY, warm_start=True), "cold": dict(STUDY)}}
OBSERVABLES = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair")


def snakemake(workdir, config, *extra):
    cfg = Path(workdir) / "study.yaml"
    cfg.write_text(yaml.safe_dump(config))
    # one core: the points run one after the other, so every point but the first finds a
    # finished neighbour
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg), "--cores", "1", "--rerun-triggers", "mtime", "params",
           "input", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=workflow_env(), timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def point_files(work, study):
    return sorted((work / "results" / study / "ed" / "ring" / "L5").glob("*.nc"))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    work = tmp_path_factory.mktemp("warmwf")
    snakemake(work, CONFIG)
    return work


def test_warm_sweep_equals_cold_sweep(done):
    warm, cold = xr.open_dataset(done / "results" / "warm.nc"), \
        xr.open_dataset(done / "results" / "cold.nc")
    assert warm.attrs["points_present"] == cold.attrs["points_present"] == len(THETA)
    for k in OBSERVABLES:
        np.testing.assert_allclose(warm[k].values, cold[k].values, atol=1e-10, err_msg=k)
    used = [xr.open_dataset(f).attrs["initial_guess"] for f in point_files(done, "warm")]
    assert sum(u != "none" for u in used) >= len(THETA) - 1, used
    assert all(xr.open_dataset(f).attrs["initial_guess"] == "none"
               for f in point_files(done, "cold"))
    # every warm point saved its state; the cold study saved none
    states = done / "results" / "states"
    assert len(list((states / "warm").rglob("*.nc"))) == len(THETA)
    assert not (states / "cold").exists()
    logs = [p.read_text() for p in (done / "logs" / "warm").rglob("*.log")]
    assert sum("# warm start: from r=2_theta=" in t for t in logs) >= len(THETA) - 1


def test_warm_start_from_a_neighbour(done):
    """Each warm-started point's guess is a neighbouring theta of the same study."""
    for f in point_files(done, "warm"):
        guess = xr.open_dataset(f).attrs["initial_guess"]
        if guess != "none":
            assert "results/states/warm/ed/ring/L5/r=2_theta=0." in guess
            assert Path(f).stem not in guess.split(" (")[0]      # not itself


def test_unusable_state_falls_back_to_a_cold_start(done):
    """A corrupt state file of the only finished neighbour: a cold start with a log line and
    the cold result."""
    states = done / "results" / "states" / "warm" / "ed" / "ring" / "L5"
    for f in states.glob("*.nc"):
        f.write_bytes(f.read_bytes()[:100])          # every state truncated
    target = point_files(done, "warm")[1]
    target.unlink()
    snakemake(done, CONFIG)
    ds = xr.open_dataset(target)
    assert ds.attrs["initial_guess"] == "none"
    assert "cannot be read as NetCDF" in ds.attrs["initial_guess_note"]
    log = (done / "logs" / "warm" / "ed" / "ring" / "L5" / (target.stem + ".log")).read_text()
    assert "WARNING: [warm start]" in log and "cold start" in log
    cold = xr.open_dataset(done / "results" / "cold" / "ed" / "ring" / "L5" / target.name)
    for k in OBSERVABLES:
        np.testing.assert_allclose(ds[k].values, cold[k].values, atol=1e-10, err_msg=k)


def test_turning_warm_starts_on_reruns_nothing(done):
    config = {"warm_start": True, "studies": {"warm": dict(STUDY, warm_start=False),
                                               "cold": dict(STUDY)}}
    proc = snakemake(done, config, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_neighbours_are_of_the_same_space():
    """The choice of the neighbour, without running: same study, L, sector; nearest in the
    grid coordinates scaled by each axis's spread."""
    from lindring.workflow import warm
    from lindring.workflow.studies import expand_study
    jobs = expand_study("s", {"methods": ["ed"], "bc": "ring", "L": [4, 5], "preset": "minimal",
                              "grid": {"eps_x": [0.0, 0.1]},
                              "polar": {"r": [1.0, 3.0], "theta": [0.2, 0.3, 0.4]}})
    job = next(j for j in jobs if j.L == 5 and j.point == "eps_x=0.1_r=1_theta=0.3")
    near = warm.neighbours(job, jobs)
    assert {j.L for j in near} == {5}
    # eps_x = 0 has parity, eps_x = 0.1 not: another sector, never a neighbour
    assert all(dict(j.coords)["eps_x"] == 0.1 for j in near)
    assert [j.point for j in near[:2]] == ["eps_x=0.1_r=1_theta=0.2", "eps_x=0.1_r=1_theta=0.4"]
    assert near[2].point.startswith("eps_x=0.1_r=3")
    assert warm.nearest_finished(job, jobs, exists=lambda p: False) is None
    finished = {warm.state_path(near[1]), near[1].path}
    assert warm.nearest_finished(job, jobs, exists=finished.__contains__) == near[1]
    args, note = warm.warm_arguments(job, jobs, exists=finished.__contains__)
    assert args == [f"--save-state={warm.state_path(job)}",
                    f"--initial-guess={warm.state_path(near[1])}", "--initial-guess-fallback"]
