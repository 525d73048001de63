"""The Snakemake workflow, run for real in a temporary directory with a shrunk config."""
import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from conftest import ROOT, run_cli, workflow_env

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")

SMALL = {
    "studies": {
        "ring": {"methods": ["ed", "cmf"], "bc": "ring", "L": [3, 4], "preset": "minimal",
                 "grid": {"alpha": [2.0], "delta": [1.5, 1.0]}},
        "theta": {"methods": ["ed"], "bc": "ring", "L": [4], "preset": "minimal",
                  "polar": {"r": [1.0], "theta": {"start": 0.0, "stop": 1.5707963267948966, "num": 3}}},
        "flux": {"methods": ["ed"], "bc": "ring", "L": [4],
                 "fixed": {"J0": 1.5, "lam": 0.5, "mu": 1.0, "kappa": 0.1},
                 "grid": {"phi": [-1.0, 1.0]}},
    }
}


def snakemake(workdir, config, *extra, check=True):
    cfg = Path(workdir) / "study.yaml"
    cfg.write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(cfg), "--cores", "2", "--rerun-triggers", "mtime", "params", "input",
           *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=workflow_env(),
                          timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-5000:])
    return proc


def planned(proc) -> dict:
    """Job counts of a dry run's 'Job stats' table."""
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return {}
    counts, in_table = {}, False
    for line in out.splitlines():
        if line.startswith("Job stats"):
            in_table = True
            continue
        parts = line.split()
        if in_table and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
        elif in_table and counts and not parts:
            break
    return counts


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    work = tmp_path_factory.mktemp("wf")
    snakemake(work, SMALL)
    return work


def test_gathered_dataset(done, tmp_path):
    ds = xr.open_dataset(done / "results" / "ring.nc")
    assert set(ds.current_eta.dims) == {"technique", "L", "alpha", "delta", "bond"}
    assert list(ds.L.values) == [3, 4] and sorted(ds.technique.values) == ["cmf", "ed"]
    assert sorted(ds.delta.values) == [1.0, 1.5]
    assert ds.attrs["missing_points"] == "none" and ds.attrs["points_present"] == 8
    # the ring current equals what `lindring solve` gives for the same point
    out = tmp_path / "one.nc"
    run_cli(["solve", "--method", "ed", "--L", 4, "--preset", "minimal", "--alpha", 2,
             "--delta", 1.5, "-o", out])
    ref = xr.open_dataset(out)
    got = ds.current_eta.sel(technique="ed", L=4, alpha=2.0, delta=1.5).dropna("bond")
    np.testing.assert_allclose(got.values, ref.current_eta.values, atol=1e-12)
    assert "kernel_dim" in ds and "residual" in ds


def test_polar_axes_and_nonunique_points(done):
    ds = xr.open_dataset(done / "results" / "theta.nc")
    assert "r" in ds.dims and "theta" in ds.dims
    kd = ds.kernel_dim.sel(technique="ed", L=4, r=1.0)
    assert list(kd.values) == [2, 1, 2]   # even ring: dark state at theta = 0 and pi/2
    assert np.isnan(ds.current_eta.sel(technique="ed", L=4, r=1.0).isel(theta=0)).all()
    assert "theta=0" in ds.attrs["nonunique_points"]
    flux = xr.open_dataset(done / "results" / "flux.nc")
    c = flux.current_J.sel(technique="ed", L=4).isel(bond=0)
    np.testing.assert_allclose(c.sel(phi=1.0), -c.sel(phi=-1.0), atol=1e-10)


def test_incremental_reruns(done):
    assert planned(snakemake(done, SMALL, "-n")) == {}
    bigger = yaml.safe_load(yaml.safe_dump(SMALL))
    bigger["studies"]["ring"]["L"] = [3, 4, 5]                # a new size: 2 points x 2 methods
    bigger["studies"]["flux"]["grid"]["phi"] = [-1.0, 1.0, 2.0]   # a new point
    assert planned(snakemake(done, bigger, "-n")) == {"solve": 5, "gather": 2, "all": 1}
    changed = yaml.safe_load(yaml.safe_dump(SMALL))
    changed["studies"]["flux"]["fixed"]["kappa"] = 0.2        # a fixed parameter of one study
    assert planned(snakemake(done, changed, "-n")) == {"solve": 2, "gather": 1, "all": 1}


def config_error(workdir, config) -> str:
    """The config checks the Snakefile makes before any job (workflow/rules/common.smk), in this
    process: the file read refusing duplicated keys, the schema, every study expanded and each
    point checked with the model. Returns the message of the StudyError they must raise.

    Each kind of error also has at least one real Snakemake run (test_bad_config_is_rejected_...
    below, tests/test_workflow_safety.py::test_config_errors_before_any_job), which shows that the
    Snakefile makes these checks and stops before any job; the in-process cases show which
    configs fail them and with what message."""
    from lindring.workflow.studies import StudyError, expand, load_config, validate_config
    cfg = Path(workdir) / "study.yaml"
    cfg.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    with pytest.raises(StudyError) as err:
        expand(validate_config(load_config(cfg)))
    return str(err.value)


BAD_CONFIGS = [
    (lambda c: c["studies"]["ring"].update(colour="red"), "colour"),            # schema
    (lambda c: c["studies"]["ring"].update(L="four"), "four"),                  # schema
    (lambda c: c["studies"]["flux"]["fixed"].update(kappa=-1), "kappa"),
    (lambda c: c["studies"]["flux"]["fixed"].update(mu_typo=1), "mu_typo"),
    (lambda c: c["studies"]["ring"].update(L=[2]), "ring needs L >= 3"),       # model
    (lambda c: c["studies"]["ring"].update(bc="open"), "does not support bc='open'"),
    (lambda c: c.update(run=["nope"]), "nope"),
    (lambda c: c["studies"]["theta"].update(gap="yes"), "studies.theta.gap: 'yes' is not of type"),
]
#: messages of the cases also run through Snakemake: of the schema (a key, a value's type), of
#: the model
BAD_CONFIGS_SNAKEMAKE = ("colour", "studies.theta.gap: 'yes' is not of type", "ring needs L >= 3")


@pytest.mark.parametrize("edit,message", BAD_CONFIGS, ids=[m for _, m in BAD_CONFIGS])
def test_bad_config_is_rejected_naming_the_key(tmp_path, edit, message):
    cfg = yaml.safe_load(yaml.safe_dump(SMALL))
    edit(cfg)
    assert message in config_error(tmp_path, cfg)
    if message in BAD_CONFIGS_SNAKEMAKE:
        proc = snakemake(tmp_path, cfg, "-n", check=False)
        assert proc.returncode != 0
        assert message in proc.stdout + proc.stderr
        assert not (tmp_path / "results").exists()


def test_good_config_passes_the_in_process_checks(tmp_path):
    """(the in-process checks above fail for the edit, not for the config they start from)"""
    from lindring.workflow.studies import expand, load_config, validate_config
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(SMALL))
    jobs = expand(validate_config(load_config(tmp_path / "study.yaml")))
    assert sorted(jobs) == ["flux", "ring", "theta"]


def test_failed_job_leaves_no_output_and_others_complete(tmp_path):
    cfg = {"studies": {
        "good": {"methods": ["ed"], "L": [3], "preset": "minimal", "grid": {"alpha": [2.0], "delta": [1.0]}},
        "bad": {"methods": ["ed"], "L": [3, 4], "preset": "minimal", "max_residual": 1e-30,
                "grid": {"alpha": [2.0], "delta": [1.0]}},
    }}
    proc = snakemake(tmp_path, cfg, "--keep-going", check=False)
    assert proc.returncode != 0
    assert (tmp_path / "results" / "good.nc").exists()
    assert not list((tmp_path / "results").glob("bad/**/*.nc"))
    assert not (tmp_path / "results" / "bad.nc").exists()
    log = (tmp_path / "logs" / "bad" / "ed" / "ring" / "L3" / "alpha=2_delta=1.log").read_text()
    assert "failed verification" in log
    # a rerun with the threshold fixed computes only the missing points
    cfg["studies"]["bad"].pop("max_residual")
    assert planned(snakemake(tmp_path, cfg, "-n")) == {"solve": 2, "gather": 1, "all": 1}


def test_killed_workflow_restarts_without_recomputing(tmp_path):
    cfg = {"studies": {"sizes": {"methods": ["ed"], "L": [3, 4, 5, 6, 7], "preset": "minimal",
                                 "grid": {"alpha": [2.0], "delta": [1.5]}}}}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path), "--configfile",
           str(tmp_path / "study.yaml"), "--cores", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=workflow_env(), start_new_session=True)
    out = tmp_path / "results" / "sizes" / "ed" / "ring"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(out.glob("L*/*.nc"))) < 3:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)      # a node dies: no clean-up at all
    proc.wait()
    # a file the job had written but Snakemake had not yet recorded as finished is incomplete
    # (Snakemake's markers: base64 of the output path) and may be redone; the rest must not be
    marked = {base64.urlsafe_b64decode(m.name + "=" * (-len(m.name) % 4)).decode()
              for m in (tmp_path / ".snakemake" / "incomplete").iterdir()}
    complete = {p: p.stat().st_mtime_ns for p in out.glob("L*/*.nc")
                if str(p.relative_to(tmp_path)) not in marked}
    assert 2 <= len(complete) < 5
    snakemake(tmp_path, cfg, "--unlock")
    snakemake(tmp_path, cfg, "--rerun-incomplete")
    for p, mtime in complete.items():
        assert p.stat().st_mtime_ns == mtime, f"{p} was recomputed"
    assert len(list(out.glob("L*/*.nc"))) == 5
    assert (tmp_path / "results" / "sizes.nc").exists()


def test_partial_gather_marks_missing_points_nan(done, tmp_path):
    """`lindring gather` merges a study with a missing point: NaN there, and it is listed."""
    import shutil
    work = tmp_path / "copy"
    shutil.copytree(done / "results", work / "results")
    (work / "study.yaml").write_text(yaml.safe_dump(SMALL))
    gone = work / "results" / "ring" / "ed" / "ring" / "L4" / "alpha=2_delta=1.nc"
    gone.unlink()
    proc = subprocess.run([str(Path(sys.executable).parent / "lindring"), "gather", "--configfile",
                           "study.yaml", "--study", "ring", "-o", "partial.nc"], cwd=work,
                          capture_output=True, text=True, check=True)
    assert "1 of 8 points missing" in proc.stderr
    ds = xr.open_dataset(work / "partial.nc")
    assert ds.attrs["points_present"] == 7
    assert "L4/alpha=2_delta=1.nc" in ds.attrs["missing_points"]
    assert np.isnan(ds.current_eta.sel(technique="ed", L=4, alpha=2.0, delta=1.0)).all()
    assert np.isfinite(ds.current_eta.sel(technique="ed", L=4, alpha=2.0, delta=1.5).isel(bond=0))


def test_summary_and_show_list_nonunique_points(done):
    # issue 17: the run summary and `lindring show` of a gathered study count and name the
    # non-unique points the gather found (the even ring's dark states at theta = 0, pi/2)
    from lindring.report.quicklook import summary_text
    ds = xr.open_dataset(done / "results" / "theta.nc")
    nonunique = ds.attrs["nonunique_points"].split("; ")
    assert len(nonunique) == int((ds.kernel_dim > 1).sum()) >= 2
    text = summary_text({"theta": ds})
    assert f"{len(nonunique)} non-unique (kernel_dim > 1, left out of fits and figures): ed L4 r=1_theta=0" in text
    shown = run_cli(["show", done / "results" / "theta.nc"]).stdout
    assert f"{len(nonunique)} non-unique" in shown
    assert f"ED: {int((ds.kernel_dim == 1).sum())} unique, {len(nonunique)} non-unique" in shown
