"""The verification figures of a gathered study (its summary, ``lindring show`` of the gathered
file, results/summary.txt) carry each technique's own thresholds, read from what the point files
hold: a real small study with an ED and an MPO point, solved by the command line the workflow
runs, gathered and written."""
import xarray as xr

from conftest import run_cli
from lindring.core.schema import ATTRIBUTES, CHECKS, VARIABLES
from lindring.report.quicklook import verification, verification_lines
from lindring.workflow.gather import gather, open_gathered, write_gathered
from lindring.workflow.studies import expand_study


def test_every_threshold_named_is_an_attribute_of_that_methods_files():
    """(an MPO threshold looked up as ``mpo_agreement``, the option's name, which no file has,
    left the summary's start_difference without its threshold)"""
    for var, how, by_method in CHECKS:
        assert how in ("max", "min")
        for method, attr in by_method.items():
            assert method in VARIABLES[var].methods, (var, method)
            assert attr in ATTRIBUTES, attr
            assert ATTRIBUTES[attr].methods in ("all",) or method in ATTRIBUTES[attr].methods, \
                (attr, method)


def test_summary_of_a_gathered_study_with_an_mpo_point_has_each_techniques_thresholds(tmp_path):
    st = {"methods": ["ed", "mpo"], "bc": "open", "L": [4], "preset": "minimal",
          "fixed": {"alpha": 2, "delta": 1}, "mpo": {"chi": 16}}
    jobs = expand_study("s", st)
    for job in jobs:
        run_cli(["solve", "--quiet", *job.cli_args(), "-o", tmp_path / job.path])
    points = {}
    for job in jobs:
        with xr.open_dataset(tmp_path / job.path) as ds:
            points[job.method] = dict(ds.attrs)
    write_gathered(gather("s", jobs, st, root=str(tmp_path)), tmp_path / "s.nc")
    with open_gathered(tmp_path / "s.nc") as ds:
        rows = {(r["technique"], r["check"]): r["threshold"] for r in verification(ds)}
        lines = verification_lines(ds)
    ed, mpo = points["ed"], points["mpo"]
    # what the MPO file holds: agreement_tol bounds start_difference and error_estimate,
    # max_relative_residual the relative residual, its own hermiticity threshold (not ED's)
    assert rows["mpo", "start_difference"] == str(mpo["agreement_tol"]) == "1e-05"
    assert rows["mpo", "error_estimate"] == str(mpo["agreement_tol"])
    assert rows["mpo", "relative_residual"] == str(mpo["max_relative_residual"]) == "1e-06"
    assert rows["mpo", "hermiticity_error"] == str(mpo["max_hermiticity_error"]) == "1e-06"
    assert rows["mpo", "trace_error"] == str(mpo["max_trace_error"])
    assert rows["mpo", "residual"] == ""            # ED's max_residual does not bound it
    assert rows["ed", "residual"] == str(ed["max_residual"]) == "1e-10"
    assert rows["ed", "hermiticity_error"] == str(ed["max_hermiticity_error"]) == "1e-08"
    assert rows["ed", "error_estimate"] == str(ed["max_error_estimate"])
    assert ("ed", "start_difference") not in rows
    assert any(line.startswith("  MPO: max start_difference = ") and
               line.endswith("over 1 points (threshold 1e-05)") for line in lines), lines
    shown = run_cli(["show", tmp_path / "s.nc"]).stdout
    assert "MPO: max start_difference" in shown and "(threshold 1e-05)" in shown, shown
    point = run_cli(["show", tmp_path / jobs[1].path]).stdout
    assert "start_difference" in point and "(limit <= 1e-05)" in point, point
