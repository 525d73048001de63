"""A new user's odd inputs through PETSc, MPI and files: every ED file has the variables and
attributes the output schema declares, whatever the outcome (decided against the dense kernel);
the non-unique warning is printed once under mpiexec; plan refuses what solve refuses and says
when a plan does not fit this machine; unwritable outputs, non-finite values and repeated options
are refused with status 2 before any compute; --quiet prints nothing but warnings and errors.
(The parsing and the schema without PETSc: tests/unit/test_new_user_input.py.)"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import MPI_ENV, run_cli
from dense_reference import dense_liouvillian, dense_steady_state, minimal_params
from lindring.core import schema

RING4 = ["--L", 4, "--preset", "minimal", "--alpha", 2]


def _dense_kernel_dim(L, bc, alpha, delta):
    return dense_steady_state(dense_liouvillian(L, bc, **minimal_params(alpha, delta)))[1]


# ----------------------------------------------------------------------------- one schema
OUTCOMES = {   # name: (solve keywords, dense kernel dimension or None: not checked)
    "unique": (dict(alpha=2, delta=1.5), 1),
    "non-unique": (dict(alpha=1, delta=0), 2),
    "unchecked": (dict(alpha=2, delta=1.5, check_unique=False), None),
    "unique-gap": (dict(alpha=2, delta=1.5, gap=True), 1),
    "non-unique-iterative": (dict(alpha=1, delta=0, solver="iterative"), 2),
}


@pytest.fixture(scope="module")
def ed_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outcomes")
    out = {}
    for name, (kw, _) in OUTCOMES.items():
        lindring.solve("ed", L=4, preset="minimal", output=folder / f"{name}.nc", **kw)
        out[name] = xr.open_dataset(folder / f"{name}.nc")
    return out


def test_ed_outcomes_are_decided_as_the_dense_kernel_says(ed_files):
    for name, (kw, dim) in OUTCOMES.items():
        ds = ed_files[name]
        if dim is None:
            assert ds.attrs["unique"] == -1 and int(ds.kernel_dim) == -1, name
        else:
            assert _dense_kernel_dim(4, "ring", kw["alpha"], kw["delta"]) == dim
            assert int(ds.kernel_dim) == dim and ds.attrs["unique"] == (1 if dim == 1 else 0), name


def test_every_ed_file_has_the_schema_variables_and_attributes(ed_files):
    """The same variables and attributes for every outcome: those of the schema, no more."""
    for name, ds in ed_files.items():
        assert sorted(ds.data_vars) == sorted(schema.variable_names("ed")), name
        assert sorted(ds.attrs) == sorted(schema.attribute_names("ed")), name


def test_not_applicable_is_nan_minus_one_or_none(ed_files):
    nonunique, unchecked, unique = ed_files["non-unique"], ed_files["unchecked"], ed_files["unique"]
    assert math.isnan(nonunique.attrs["slowest_rate"]) and np.isnan(float(nonunique.negativity_half))
    assert np.isnan(nonunique.current_eta).all() and np.isnan(float(nonunique.error_estimate))
    assert unchecked.attrs["probe_iterations"] == -1 and math.isnan(unchecked.attrs["probe_tol"])
    assert unchecked.attrs["uniqueness_method"] == "none"
    assert unchecked.attrs["rightmost_eigenvalues"] == "none"
    assert unchecked.attrs["undamped_coherences"] == -1
    assert ed_files["unique-gap"].attrs["probe_iterations"] == -1     # the search decided
    # where they apply, they are real values
    assert unique.attrs["slowest_rate"] > 0 and unique.attrs["probe_iterations"] >= 1
    assert unique.attrs["uniqueness_method"] == "probe solve"
    assert 0 <= float(unique.negativity_half) < 1


# ----------------------------------------------------------------------------- warnings
SCRIPT = """
import lindring
ds = lindring.solve("ed", L=4, preset="minimal", alpha=1, delta=0)
assert ds.attrs["unique"] == 0
"""


def test_non_unique_warning_once_under_mpiexec_without_a_handler():
    """The API without log_to_stderr, 2 ranks: one line (not one per rank, not logging plus a
    UserWarning)."""
    env = dict(os.environ, **MPI_ENV)
    proc = subprocess.run(["mpiexec", "-n", "2", sys.executable, "-c", SCRIPT],
                          capture_output=True, text=True, env=env, timeout=600, check=True)
    assert proc.stderr.count("non-unique steady state") == 1, proc.stderr


def test_non_unique_warning_once_from_the_command_line(tmp_path):
    proc = run_cli(["solve", *RING4[:-1], 1, "--delta", 0, "-o", tmp_path / "n.nc"], ranks=2)
    assert proc.stderr.count("non-unique steady state") == 1, proc.stderr
    assert proc.stderr.count("[verify]") == 0      # nothing verified: NaN is written


def test_quiet_prints_nothing_but_warnings_and_errors(tmp_path):
    ok = run_cli(["solve", *RING4, "--delta", 1.5, "--quiet", "-o", tmp_path / "u.nc"])
    assert (ok.stdout, ok.stderr) == ("", "")
    with xr.open_dataset(tmp_path / "u.nc") as ds:
        assert ds.attrs["unique"] == 1
    bad = run_cli(["solve", *RING4, "--delta", 1.5, "--quiet", "--mu", "1j", "-o",
                   tmp_path / "b.nc"], check=False)
    assert bad.returncode == 2 and bad.stdout == "" and "'mu' must be real" in bad.stderr


# ----------------------------------------------------------------------------- plan = solve
REFUSED = [
    ("mpo", dict(L=6, bc="open", preset="minimal", alpha=2, delta=1, chi=1)),
    ("mpo", dict(L=6, bc="ring", preset="minimal", alpha=2, delta=1)),
    ("mpo", dict(L=6, bc="open", range=2, preset="minimal", alpha=2, delta=1)),
    ("mpo", dict(L=6, bc="open", preset="minimal", alpha=2, delta=1, dt=5)),
    ("ed", dict(L=6, mu=1, J0=1)),
    ("ed", dict(L=6, preset="minimal", alpha=2, delta=1, chi=8)),
    ("ed", dict(L=6, bc="open", preset="minimal", alpha=2, delta=1, symmetry="momentum")),
    ("ed", dict(L=6, preset="minimal", alpha="-inf", delta=1)),
]


def _argv(method, kw):
    return ["--method", method] + [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]


@pytest.mark.parametrize("method,kw", REFUSED, ids=[f"{m}-{i}" for i, (m, _) in enumerate(REFUSED)])
def test_plan_refuses_what_solve_refuses(tmp_path, method, kw):
    with pytest.raises(lindring.ModelError) as solved:
        lindring.solve(method, **kw)
    with pytest.raises(lindring.ModelError) as planned:
        lindring.plan(method, **kw)
    assert str(planned.value) == str(solved.value)
    solve = run_cli(["solve", *_argv(method, kw), "-o", tmp_path / "x.nc"], check=False)
    plan = run_cli(["plan", *_argv(method, kw)], check=False)
    assert solve.returncode == plan.returncode == 2
    assert plan.stderr == solve.stderr and str(solved.value) in plan.stderr
    assert plan.stdout == "" and list(tmp_path.iterdir()) == []


def _mem_available_mb():
    with open("/proc/meminfo") as fh:
        info = dict(line.split(":", 1) for line in fh)
    return float(info["MemAvailable"].split()[0]) / 1024


def test_a_plan_that_does_not_fit_says_so():
    """L = 40 needs ~1e20 MB: the plan is printed (exit 0: a plan may be meant for a cluster)
    with 'DOES NOT FIT' lines for the budget and this machine; L = 6 fits both."""
    big = lindring.plan("ed", L=40, preset="minimal", alpha=2, delta=1)
    assert big.mem_mb_total > 1e6 * _mem_available_mb()
    assert big.fits_here is False and big.fits_budget is False
    assert any("this machine" in p for p in big.problems)
    assert abs(big.available_mb - _mem_available_mb()) < 0.5 * _mem_available_mb()
    small = lindring.plan("ed", L=6, preset="minimal", alpha=2, delta=1)
    assert small.fits_here and small.fits_budget and small.problems == []
    text = run_cli(["plan", "--L", 40, "--preset", "minimal", "--alpha", 2, "--delta", 1])
    assert text.returncode == 0
    assert "DOES NOT FIT this machine" in text.stdout
    assert "DOES NOT FIT the budget per rank" in text.stdout
    as_json = json.loads(run_cli(["plan", "--L", 40, "--preset", "minimal", "--alpha", 2,
                                  "--delta", 1, "--json"]).stdout)
    assert as_json["fits_here"] is False and as_json["problems"]
    fits = run_cli(["plan", "--L", 6, "--preset", "minimal", "--alpha", 2, "--delta", 1])
    assert "DOES NOT FIT" not in fits.stdout
    cluster = lindring.plan("ed", L=14, preset="minimal", alpha=2, delta=1.5,
                            mem_per_rank_mb=8000, max_tasks=64)
    # the fewest ranks (a power of two) whose share fits the 8000 MB budget
    assert cluster.fits_budget and cluster.mem_mb_per_task <= 8000
    assert cluster.tasks == 1 or cluster.mem_mb_total / (cluster.tasks // 2) > 8000
    assert cluster.fits_here == (cluster.mem_mb_total <= _mem_available_mb())


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args,message", [
    (["-o", "/proc/x.nc"], "output '/proc/x.nc': cannot write in folder /proc"),
    (["-o", "-"], "output '-': writing to standard output is not supported"),
    (["-o", ""], "empty file name"),
    (["--delta", "-inf", "-o", "X"], "parameter 'delta': '-inf' is not finite"),
    (["--delta", "nan", "-o", "X"], "parameter 'delta': 'nan' is not finite"),
    (["--delta", 1, "--phi", "-Infinity", "-o", "X"], "parameter 'phi': '-Infinity' is not finite"),
    (["--delta", 1, "--L", 5, "-o", "X"], "argument --L: given twice (--L 4 and --L 5)"),
    (["--delta", 1, "--rtol", "-inf", "-o", "X"], "argument --rtol: '-inf' is not a finite number"),
])
def test_bad_input_is_refused_before_compute(tmp_path, args, message):
    args = [tmp_path / "x.nc" if a == "X" else a for a in args]
    if "--delta" not in args:
        args = ["--delta", 1.5] + args
    proc = run_cli(["solve", *RING4, *args], check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert "[assemble]" not in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_odd_output_names_are_written_as_given(tmp_path):
    """Spaces and shell characters in the output name: the file is written with that name and
    no shell ever sees it."""
    name = tmp_path / "new dir" / "a b;touch PWNED;$(touch PWNED2).nc"
    run_cli(["solve", *RING4, "--delta", 1.5, "--quiet", "-o", name])
    with xr.open_dataset(name) as ds:
        assert ds.attrs["unique"] == 1
    assert not list(tmp_path.rglob("PWNED*")) and not os.path.exists("PWNED")
    ds = lindring.solve("ed", L=4, preset="minimal", alpha="-2-0.5j", delta=" 1.5 ",
                        output=tmp_path / "-api name.nc")
    assert ds.attrs["alpha_re"] == -2.0 and ds.attrs["alpha_im"] == -0.5
    assert (tmp_path / "-api name.nc").exists()


def test_solve_removes_an_old_output_before_a_failing_compute(tmp_path):
    """The API as the command line: a failed rerun leaves no old file that looks like its result."""
    old = tmp_path / "x.nc"
    old.write_text("an old result")
    with pytest.raises(lindring.VerificationError, match="residual"):
        lindring.solve("ed", L=4, preset="minimal", alpha=2, delta=1.5, max_residual=1e-30,
                       output=old)
    assert list(tmp_path.iterdir()) == []


def test_an_mpo_point_too_large_for_this_machine_is_refused(tmp_path):
    """As for ed: the plan first (about 800 GB at L = 100000, chi = 64), status 2, nothing run."""
    proc = run_cli(["solve", "--method", "mpo", "--bc", "open", "--L", 100000, "--preset",
                    "minimal", "--alpha", 2, "--delta", 1, "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 2 and "an MPO of 100000 sites" in proc.stderr, proc.stderr
    assert "--force" in proc.stderr and "[mpo]" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_mpo_point_too_large_is_refused_before_any_work_per_bond(tmp_path, monkeypatch):
    """The refusal needs L and chi only: nothing that visits every bond (the generators and
    their rates: 11-37 s at L = 100000) runs before it; a point that fits still gets them."""
    from lindring.solvers import mpo

    def per_bond(*args):
        raise AssertionError("work per bond before the memory was decided")

    monkeypatch.setattr(mpo, "bond_generators", per_bond)
    with pytest.raises(lindring.core.model.ModelError, match="an MPO of 100000 sites"):
        lindring.api.prepare("mpo", 100000, "open", "minimal", params=dict(alpha=2, delta=1),
                             output=tmp_path / "x.nc")
    with pytest.raises(AssertionError, match="work per bond"):      # --force: the rates
        lindring.api.prepare("mpo", 100000, "open", "minimal", params=dict(alpha=2, delta=1),
                             output=tmp_path / "x.nc", force=True)
    with pytest.raises(AssertionError, match="work per bond"):      # fits: the rates are checked
        lindring.api.prepare("mpo", 6, "open", "minimal", params=dict(alpha=2, delta=1),
                             output=tmp_path / "x.nc")
    assert list(tmp_path.iterdir()) == []


def test_show_says_not_decided_without_a_method(ed_files):
    """The fill value "none" is not shown as if it were a method."""
    text = lindring.show(ed_files["unchecked"].encoding["source"])
    assert "not checked (--no-check-unique), kernel_dim -1" in text and "by none" not in text
    assert "steady state: unique by probe solve" in lindring.show(ed_files["unique"].encoding["source"])


# ----------------------------------------------------------------------------- Ctrl-C, | head
def test_ctrl_c_during_a_solve_says_so_in_one_line_and_leaves_no_file(tmp_path):
    """Ctrl-C (SIGINT) in the middle of a solve: status 130 and one line, no traceback, and no
    file at the output or the state path (a Python traceback ending in KeyboardInterrupt was
    printed). Interrupted once the solve has started (its first progress line)."""
    import signal
    import time
    out, state = tmp_path / "a b.nc", tmp_path / "s.nc"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lindring.cli", "solve", "--L", "11", "--preset", "minimal",
         "--alpha", "2", "--delta", "1.5", "-o", str(out), "--save-state", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, **MPI_ENV),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    line = proc.stderr.readline()          # "[basis] ...": the compute has started
    assert line.startswith("["), line
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    if proc.returncode == 0:               # finished before the signal: nothing to check
        pytest.skip("the solve finished before Ctrl-C")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "lindring: interrupted" in stderr, stderr
    assert not out.exists() and not state.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("command", ["show", "plan"])
def test_a_closed_standard_output_is_not_a_traceback(ed_files, command):
    """`lindring show FILE | head`, `lindring plan ... | head`: the reader has closed the pipe
    (here before lindring writes anything); lindring stops with 141 (128 + SIGPIPE) and nothing
    on stderr (it printed a BrokenPipeError traceback and exited 1)."""
    args = (["show", ed_files["unique"].encoding["source"]] if command == "show" else
            ["plan", "--L", "4", "--preset", "minimal", "--alpha", "2", "--delta", "1.5"])
    proc = subprocess.Popen([sys.executable, "-m", "lindring.cli"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, **MPI_ENV))
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=300) == 141, stderr
    assert stderr == ""
