"""Issue 11: a workflow that can be handed any config.

Nothing from a config reaches a shell, values arrive intact (signs, exponents, zero, complex),
empty or ambiguous sweeps and points that cannot fit are config errors before any job, reruns
follow the physics (not the launcher, ranks or memory), deleted points are recomputed, and the
gather refuses a file that does not belong to its point. Real Snakemake runs in temporary folders.
"""
import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import ROOT, run_cli, workflow_env
from lindring.io import results
from test_workflow import SNAKEMAKE, config_error, planned, snakemake

LINDRING = str(Path(sys.executable).parent / "lindring")

# A sweep through zero (a linspace point that is 2.8e-17 before rounding), a fixed negative
# exponent (-1e-05, which YAML reads as text), and a complex grid with a complex fixed parameter.
VALUES = {
    "studies": {
        "zero": {"methods": ["ed"], "L": [3], "preset": "minimal",
                 "fixed": {"alpha": 2.0, "delta": 1.0, "eps_x": "-1e-05"},
                 "grid": {"eps_zz": {"start": -0.2, "stop": 0.1, "num": 4}}},
        "cplx": {"methods": ["ed", "cmf"], "L": [3], "preset": "minimal",
                 "fixed": {"delta": "0.5+0.2j", "lam": "0.3-0.1j"},
                 "grid": {"alpha": ["1+0.5j", "1-0.5j"]}},
    }
}


def _copy(cfg):
    return yaml.safe_load(yaml.safe_dump(cfg))


def _gather_cli(workdir, config_name, study="cplx", out="check.nc", *extra):
    return subprocess.run([LINDRING, "gather", "--configfile", config_name, "--study", study,
                           "-o", out, *extra], cwd=workdir, capture_output=True, text=True,
                          env=workflow_env())


@pytest.fixture(scope="module")
def values_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("values")
    snakemake(work, VALUES)
    return work


def _solve_direct(tmp_path, name, args):
    out = tmp_path / f"{name}.nc"
    run_cli(["solve", *args, "-o", out])
    with xr.open_dataset(out) as ds:
        return ds.load()


def test_zero_and_negative_exponents_arrive_intact(values_run, tmp_path):
    folder = values_run / "results" / "zero" / "ed" / "ring" / "L3"
    assert sorted(p.name for p in folder.iterdir()) == [
        "eps_zz=-0.1.nc", "eps_zz=-0.2.nc", "eps_zz=0.1.nc", "eps_zz=0.nc"]
    ds = xr.open_dataset(values_run / "results" / "zero.nc")
    assert sorted(ds.eps_zz.values) == [-0.2, -0.1, 0.0, 0.1]
    assert ds.attrs["physics_version"] == results.PHYSICS_VERSION
    # `lindring solve` run directly, written as a user would (value after a space)
    ref = _solve_direct(tmp_path, "zero", ["--L", 3, "--preset", "minimal", "--alpha", 2,
                                           "--delta", 1, "--eps-x", "-1e-05", "--eps-zz", "0"])
    assert ref.attrs["eps_x"] == -1e-05 and ref.attrs["eps_zz"] == 0.0
    got = ds.current_eta.sel(technique="ed", L=3, eps_zz=0.0)
    np.testing.assert_allclose(got.values, ref.current_eta.values, atol=1e-12)
    other = ds.current_eta.sel(technique="ed", L=3, eps_zz=-0.2)
    assert np.abs(other.values - got.values).max() > 1e-4     # the sweep does change the result


def test_complex_grid_keeps_both_parts(values_run, tmp_path):
    from lindring.workflow.gather import open_gathered
    ds = open_gathered(values_run / "results" / "cplx.nc")
    assert ds.alpha.dtype.kind == "c"
    assert sorted(ds.alpha.values, key=lambda z: z.imag) == [1 - 0.5j, 1 + 0.5j]
    for alpha in ("1+0.5j", "1-0.5j"):
        ref = _solve_direct(tmp_path, alpha, ["--L", 3, "--preset", "minimal", "--alpha", alpha,
                                              "--delta", "0.5+0.2j", "--lam", "0.3-0.1j"])
        got = ds.sel(technique="ed", L=3, alpha=complex(alpha))
        np.testing.assert_allclose(got.current_eta.values, ref.current_eta.values, atol=1e-12)
        np.testing.assert_allclose(got.sz.values, ref.sz.values, atol=1e-12)
    a, b = (ds.current_eta.sel(technique="ed", L=3, alpha=z).values for z in (1 + 0.5j, 1 - 0.5j))
    assert np.abs(a - b).max() > 0.1                           # two distinct points, both kept


def test_reruns_follow_physics_not_execution_settings(values_run):
    # nothing to do; nor when only the launcher, the ranks or the memory per rank change
    assert planned(snakemake(values_run, VALUES, "-n")) == {}
    assert planned(snakemake(values_run, VALUES, "-n", "--config", "mpi_launcher=srun",
                             "max_tasks=1", "mem_per_rank_mb=3000")) == {}
    # a result-changing option reruns its study's ed points
    solver = _copy(VALUES)
    solver["studies"]["cplx"]["solver"] = "iterative"
    assert planned(snakemake(values_run, solver, "-n")) == {"solve": 2, "gather": 1, "all": 1}
    # a result of an older physics (recorded params of one point with physics_version 1)
    meta = values_run / ".snakemake" / "metadata"
    name = base64.urlsafe_b64encode(b"results/zero/ed/ring/L3/eps_zz=0.nc").decode()
    record = json.loads((meta / name).read_text())
    version = str(results.PHYSICS_VERSION)
    assert version in record["params"]
    record["params"] = ["1" if p == version else p for p in record["params"]]
    saved = (meta / name).read_text()
    (meta / name).write_text(json.dumps(record))
    try:
        assert planned(snakemake(values_run, VALUES, "-n")) == {"solve": 1, "gather": 1, "all": 1}
    finally:
        (meta / name).write_text(saved)


def test_deleted_points_and_folders_are_recomputed(values_run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(values_run, work, symlinks=True)
    (work / "results" / "zero" / "ed" / "ring" / "L3" / "eps_zz=0.1.nc").unlink()
    assert planned(snakemake(work, VALUES, "-n")) == {"solve": 1, "gather": 1, "all": 1}
    shutil.rmtree(work / "results" / "cplx")
    assert planned(snakemake(work, VALUES, "-n")) == {"solve": 5, "gather": 2, "all": 1}


def test_gather_refuses_a_file_of_another_point(values_run, tmp_path):
    work = tmp_path / "copy"
    shutil.copytree(values_run, work, symlinks=True)
    (work / "study.yaml").write_text(yaml.safe_dump(VALUES))
    folder = work / "results" / "cplx" / "ed" / "ring" / "L3"
    ok = _gather_cli(work, "study.yaml")
    assert ok.returncode == 0 and ok.stdout.startswith("wrote check.nc")
    quiet = _gather_cli(work, "study.yaml", "cplx", "quiet.nc", "--quiet")   # nothing but errors
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert (work / "quiet.nc").exists()
    shutil.copy(folder / "alpha=1+0.5j.nc", folder / "alpha=1-0.5j.nc")
    proc = _gather_cli(work, "study.yaml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "alpha=1-0.5j.nc does not belong to its point" in proc.stderr
    assert "alpha_im=0.5 (expected -0.5)" in proc.stderr
    # the workflow's gather (its input is newer) fails the same way, naming the file
    proc = snakemake(work, VALUES, check=False)
    assert proc.returncode != 0
    assert "alpha=1-0.5j.nc does not belong to its point" in proc.stdout + proc.stderr
    # stale files after a change of `fixed`: refused too (and the workflow recomputes them)
    changed = _copy(VALUES)
    changed["studies"]["zero"]["fixed"]["delta"] = 1.5
    (work / "changed.yaml").write_text(yaml.safe_dump(changed))
    proc = _gather_cli(work, "changed.yaml", study="zero")
    assert proc.returncode == 2 and "delta_re=1.0 (expected 1.5)" in proc.stderr
    # (the gather of cplx, refused above, is due too)
    assert planned(snakemake(work, changed, "-n")) == {"solve": 4, "gather": 2, "all": 1}
    # a file without the physics version (written by an older lindring) is refused
    path = work / "results" / "zero" / "ed" / "ring" / "L3" / "eps_zz=0.nc"
    with xr.open_dataset(path) as ds:
        old = ds.load()
    del old.attrs["physics_version"]
    path.unlink()
    old.to_netcdf(path)
    proc = _gather_cli(work, "study.yaml", study="zero")
    assert proc.returncode == 2 and "eps_zz=0.nc" in proc.stderr
    assert f"no physics_version (expected {results.PHYSICS_VERSION})" in proc.stderr


# --------------------------------------------------------------------------- config errors
DUPLICATED = """
studies:
  dup:
    methods: [ed]
    L: [3]
    preset: minimal
    grid:
      alpha: [1.0]
      delta: [0.5]
      alpha: [2.0]
"""

ONE = {"methods": ["ed"], "L": [3], "preset": "minimal", "grid": {"alpha": [2.0], "delta": [1.0]}}


def _with(**study):
    return {"studies": {"s": dict(ONE, **study)}}


# Each config runs through the Snakefile's checks in this process (config_error); those marked
# REAL also as a real Snakemake run (not a dry run): at least one of each kind of error (a name
# that does not match, in a study and in the launcher from the command line; a sweep; a
# duplicated key) and every resource check, which only the workflow makes (rules/solve.smk).
REAL = True
CONFIG_ERRORS = [
    ({"studies": {"a;touch PWNED;b": ONE}}, (), "does not match", REAL),
    ({"studies": {"$(touch PWNED)": ONE}}, (), "does not match", False),
    ({"studies": {"`touch PWNED`": ONE}}, (), "does not match", False),
    ({"studies": {"../../x": ONE}}, (), "does not match", False),
    ({"studies": {"my study": ONE}}, (), "does not match", False),
    ({"studies": {"s": ONE}, "run": ["s;touch PWNED"]}, (), "does not match", False),
    ({"studies": {"s": ONE}}, ("--config", "mpi_launcher=touch PWNED;mpiexec"), "does not match",
     REAL),
    (_with(L={"start": 5, "stop": 3}), (), "studies.s.L: empty range", REAL),
    (_with(grid={"alpha": {"start": 1, "stop": 2, "num": 1}, "delta": [1.0]}), (),
     "studies.s.grid.alpha: num = 1 would drop stop", False),
    (_with(grid={"alpha": [2.0, 2], "delta": [1.0]}), (), "studies.s.grid.alpha: value(s) 2 repeated",
     False),
    (_with(L=[40]), (), "results/s/ed/ring/L40/alpha=2_delta=1.nc: L = 40 gives a Liouvillian",
     REAL),
    (_with(L=[16]), ("--resources", "mem_mb=20000"),
     "above mem_per_rank_mb = 4000", REAL),
    (_with(L=[16]), ("--profile", str(ROOT / "profiles" / "local"), "--config",
                     "mem_per_rank_mb=1000000"),
     "above the memory available here (resources: mem_mb = 20000)", REAL),
    # the gap's phases are in the job's memory request (the plan of lindring plan --gap and
    # of solve's fit check): open L = 8 with the gap factorises its sector (~2.4 GB planned),
    # without it the point asks for ~230 MB, within these 1000
    (_with(bc="open", L=[8], gap=True), ("--resources", "mem_mb=1000"),
     "above the memory available here (resources: mem_mb = 1000)", REAL),
    (DUPLICATED, (), "duplicated key 'alpha'", REAL),
    # what `lindring solve` refuses is refused by the config check (the same function)
    (_with(methods=["mpo"], bc="open", L=[4], range=2), (),
     "studies.s (method mpo, L=4, alpha=2, delta=1): method 'mpo' supports only nearest-neighbour "
     "dissipation (range = 1)", REAL),
    (_with(methods=["mpo"], bc="open", L=[4], mpo={"dt": 5}), (), "dt = 5 is too large", False),
    ({"studies": {"s": {"methods": ["ed"], "L": [3], "grid": {"mu": [1.0], "J0": [1.0]}}}}, (),
     "no dissipation", False),
    (_with(methods=["cmf"], range=2), (), "method 'cmf' supports only nearest-neighbour", False),
]
#: the resource checks are the workflow's own (solve.smk): no in-process equivalent
RESOURCES = ("gives a Liouvillian", "above mem_per_rank_mb", "above the memory available")


def _in_process(config, extra):
    """``--config key=value`` of the command line, applied as Snakemake applies it"""
    if not extra or extra[0] != "--config":
        return config
    cfg = _copy(config)
    for item in extra[1:]:
        key, value = item.split("=", 1)
        cfg[key] = value
    return cfg


@pytest.mark.parametrize("config,extra,message,real", CONFIG_ERRORS)
def test_config_errors_before_any_job(tmp_path, config, extra, message, real):
    """The error comes before any job, and nothing reaches a shell (real runs: not dry runs)."""
    work = tmp_path / "work"
    work.mkdir()
    if not any(r in message for r in RESOURCES):
        assert message in config_error(work, _in_process(config, extra))
    if real:
        _refused_by_snakemake(work, config, message, extra)
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()
    assert not (work / "results").exists() and not (work / "logs").exists()
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("study,message", [
    (dict(ONE, L=[3, 4, 5, 6], grid={"alpha": [2.0, 1.0], "delta": [1.0]}),
     "bad config: scaling.s.ring: study 's' has more than one parameter point (alpha: 2 values)"),
    (dict(ONE, L=[3, 4, 5]), "bad config: scaling.s.ring: study 's' has L = 3, 4, 5: the scaling "
     "extrapolates even and odd L apart and needs at least two even sizes")])
def test_a_scaling_it_cannot_fit_is_refused_before_any_job(tmp_path, study, message):
    """`scaling: {s: {ring: s}}` for a study with two values of alpha, or one even L only:
    refused at the config check, naming the scaling, the study and why (the rule scaling failed
    with a traceback after every point had been computed). Real Snakemake run, not a dry run."""
    config = {"studies": {"s": study}, "scaling": {"s": {"ring": "s"}}}
    work = tmp_path / "work"
    work.mkdir()
    _refused_by_snakemake(work, config, message)
    assert not (work / "results").exists() and not (work / "logs").exists()


def _refused_by_snakemake(work, config, message, extra=()):
    """A real Snakemake run of ``config`` (a dict or its text) in ``work`` fails, saying
    ``message``, without a traceback."""
    cfg = work / "study.yaml"
    cfg.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfg), "--cores", "2", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=work, env=workflow_env(),
                          timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-2000:]
    assert message in out, out[-2000:]
    assert "Traceback" not in out


def test_gather_command_checks_its_config(values_run, tmp_path):
    (tmp_path / "dup.yaml").write_text(DUPLICATED)
    bad = _copy(VALUES)
    bad["studies"]["cplx"]["colour"] = "red"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    empty = _copy(VALUES)
    empty["studies"]["zero"]["L"] = {"start": 5, "stop": 3}
    (tmp_path / "empty.yaml").write_text(yaml.safe_dump(empty))
    for config, study, message in [("missing.yaml", "cplx", "config file missing.yaml not found"),
                                   ("dup.yaml", "dup", "duplicated key 'alpha'"),
                                   ("bad.yaml", "cplx", "colour"),
                                   ("empty.yaml", "cplx", "studies.zero.L: empty range")]:
        proc = _gather_cli(tmp_path, config, study=study)
        assert proc.returncode == 2, (config, proc.stderr)
        assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert not (tmp_path / "check.nc").exists()


def _job_resources(proc) -> dict:
    """{output path: {resource: value}} of a dry run's job listing."""
    jobs, output = {}, None
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if line.startswith("output: "):
            output = line[len("output: "):]
        elif line.startswith("resources: ") and output:
            jobs[output] = dict(part.split("=", 1) for part in line[len("resources: "):].split(", "))
            output = None
    return jobs


@pytest.mark.parametrize("alphas", [["2+0.5j", 2.0], [2.0, "2+0.5j"]])
def test_each_job_gets_the_plan_of_its_own_point(tmp_path, alphas):
    """A real alpha keeps the reflection, a complex one breaks it (twice the rows, other
    nonzeros): each job's mem_mb, tasks and runtime are lindring.plan's for its own point,
    whichever comes first in the grid (the workflow shared one plan between points with the same
    nonzero parameters, so one of the two got the other's). Dry run, L = 8."""
    import lindring
    config = {"studies": {"mix": {"methods": ["ed"], "L": [8], "preset": "minimal",
                                  "fixed": {"delta": 1.5}, "grid": {"alpha": alphas}}}}
    jobs = _job_resources(snakemake(tmp_path, config, "-n"))
    for alpha, name in ((2.0, "alpha=2"), (2 + 0.5j, "alpha=2+0.5j")):
        plan = lindring.plan("ed", L=8, preset="minimal", alpha=alpha, delta=1.5)
        got = jobs[f"results/mix/ed/ring/L8/{name}.nc"]
        assert (int(got["mem_mb"]), int(got["tasks"]), int(got["runtime"])) == (
            plan.mem_mb, plan.tasks, plan.runtime_min), (name, got, plan)
    real = lindring.plan("ed", L=8, preset="minimal", alpha=2.0, delta=1.5)
    cplx = lindring.plan("ed", L=8, preset="minimal", alpha=2 + 0.5j, delta=1.5)
    assert real.mem_mb != cplx.mem_mb       # the two points do differ


@pytest.mark.parametrize("obstacle,message", [
    ("results/q", "results/q is a file where the workflow needs a folder"),
    ("logs/q", "logs/q is a file where the workflow needs a folder"),
    ("results/q/ed/ring/L3/alpha=2_delta=1.5.nc/",
     "results/q/ed/ring/L3/alpha=2_delta=1.5.nc is a folder where the workflow writes a file")])
def test_a_file_where_a_folder_goes_stops_before_any_job(tmp_path, obstacle, message):
    """A file `results/q` where the study's folder goes (or `logs/q`, or a folder named like a
    point file): Snakemake failed every job of the study with its own traceback
    (NotADirectoryError while removing the outputs); the run now stops before any job, naming
    the obstacle."""
    work = tmp_path / "work"
    target = work / obstacle
    target.parent.mkdir(parents=True)
    target.mkdir() if obstacle.endswith("/") else target.write_text("x\n")
    config = {"studies": {"q": {"methods": ["ed", "cmf"], "L": [3], "preset": "minimal",
                                "grid": {"alpha": [2.0], "delta": [1.5]}}}}
    _refused_by_snakemake(work, config, message)
    assert not [p for p in (work / "results").rglob("*.nc") if p.is_file()]
    assert not (work / "logs" / "q").is_dir()


def test_a_gather_that_finds_no_point_says_so(values_run, tmp_path):
    """`lindring gather --configfile /abs/study.yaml` run in another folder than the workflow's
    found none of the point files and wrote an empty dataset with status 0 ("wrote check.nc: 0
    of 4 points"); it now stops with status 2, naming a file it looked for, and writes
    nothing. Run in the workflow's folder, the same command still gathers."""
    config = str(values_run / "study.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _gather_cli(elsewhere, config, "zero")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "none of its 4 point files exists" in proc.stderr
    assert str(elsewhere / "results" / "zero" / "ed" / "ring" / "L3") in proc.stderr
    assert not (elsewhere / "check.nc").exists()
    assert _gather_cli(values_run, config, "zero", str(tmp_path / "ok.nc")).returncode == 0


def test_a_partial_gather_keeps_every_value_of_the_study(values_run, tmp_path):
    """Every point of one grid value missing (both methods of alpha = 1-0.5j): the gathered
    file left the value out, so its alpha axis had one value and the summary read it as fixed
    ("alpha = 1+0.5j"), where the README says missing points are NaN. The axis keeps both
    values, NaN at the missing one."""
    from lindring.report.show import show_text
    from lindring.workflow.gather import open_gathered
    work = tmp_path / "copy"
    shutil.copytree(values_run, work, symlinks=True)
    for method in ("ed", "cmf"):
        (work / "results" / "cplx" / method / "ring" / "L3" / "alpha=1-0.5j.nc").unlink()
    proc = _gather_cli(work, "study.yaml", "cplx", "partial.nc")
    assert proc.returncode == 0 and "2 of 4 points missing" in proc.stderr, proc.stderr
    with open_gathered(work / "partial.nc") as ds:
        assert list(ds.alpha.values) == [1 - 0.5j, 1 + 0.5j] or \
            list(ds.alpha.values) == [1 + 0.5j, 1 - 0.5j]
        assert np.isnan(ds.current_eta.sel(alpha=1 - 0.5j)).all()
        assert np.isfinite(ds.current_eta.sel(technique="ed", L=3, alpha=1 + 0.5j)).all()
    head = show_text(work / "partial.nc").splitlines()[1]
    assert "alpha = " not in head, head
