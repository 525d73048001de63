"""`lindring show FILE.nc`, `lindring --version` and the help: what a person reads, checked
against the files and the registry (real command line, real solves)."""
import re

import pytest
import xarray as xr

from conftest import run_cli
from lindring.core.options import OPTIONS, PLAN_SETTINGS


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    d = tmp_path_factory.mktemp("show")
    files = {
        "ring": ["--method", "ed", "--L", 5, "--preset", "minimal", "--alpha", 2, "--delta", 1.5],
        # an even ring at delta = 0: a dark state, kernel of dimension 2
        "dark": ["--method", "ed", "--L", 4, "--preset", "minimal", "--alpha", 1, "--delta", 0],
        "unchecked": ["--method", "ed", "--L", 3, "--bc", "open", "--alpha", "1+0.5j",
                      "--delta", 0.7, "--mu", 1, "--no-check-unique"],
        "cmf": ["--method", "cmf", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5],
    }
    out = {}
    for name, args in files.items():
        out[name] = d / f"{name}.nc"
        run_cli(["solve", *args, "-o", out[name]])
    return out


def _numbers(line):
    return [float(x) for x in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", line)]


def test_show_point_file(points):
    text = run_cli(["show", points["ring"]]).stdout
    ds = xr.open_dataset(points["ring"])
    assert "one point, exact steady state" in text and "ring, L = 5" in text
    assert "preset minimal" in text and "alpha = 2" in text and "delta = 1.5" in text
    assert "steady state: unique by " + ds.attrs["uniqueness_method"] in text
    line = next(l for l in text.splitlines() if l.strip().startswith("current_eta "))
    # uniform on the ring: one number, the file's, on every one of the 5 bonds
    assert "on every bond (5 bonds)" in line
    assert _numbers(line)[0] == pytest.approx(float(ds.current_eta.mean()), rel=1e-5)
    ver = next(l for l in text.splitlines() if l.strip().startswith("verification:"))
    for var in ("residual", "trace_error", "hermiticity_error", "error_estimate"):
        m = re.search(rf"{var} ([-+0-9.e]+) \(limit <= ([0-9.e-]+)\)", ver)
        assert m, (var, ver)
        assert float(m.group(1)) == pytest.approx(float(ds[var]), rel=2e-3)
        assert float(m.group(2)) == float(ds.attrs[{"residual": "max_residual",
                                                    "trace_error": "max_trace_error",
                                                    "hermiticity_error": "max_hermiticity_error",
                                                    "error_estimate": "max_error_estimate"}[var]])
    assert ds.attrs["git_commit"] in text and "lindring_version 0.1.0" in text
    assert f"petsc_version {ds.attrs['petsc_version']}" in text
    assert re.match(r"\d+\.\d+\.\d+", ds.attrs["petsc_version"])


def test_show_nonunique_unchecked_and_mean_field(points):
    text = run_cli(["show", points["dark"], points["unchecked"], points["cmf"]]).stdout
    dark, unch, cmf = text.split("\n\n")
    assert "NOT unique (observables NaN)" in dark and "kernel_dim 2" in dark
    assert "NaN on every bond" in dark
    assert "not checked (--no-check-unique)" in unch and "kernel_dim -1" in unch
    assert "alpha = 1+0.5j" in unch and "open, L = 3" in unch
    ds = xr.open_dataset(points["unchecked"])
    line = next(l for l in unch.splitlines() if l.strip().startswith("sz "))
    vals = ds.sz.values
    assert f"over {vals.size} sites" in line
    assert _numbers(line)[:3] == pytest.approx([vals.mean(), vals.min(), vals.max()], rel=1e-5)
    c = xr.open_dataset(points["cmf"])
    assert "two-site cluster mean field" in cmf and f"branch {c.attrs['branch']}" in cmf
    line = next(l for l in cmf.splitlines() if l.strip().startswith("current_eta "))
    assert _numbers(line)[-5:-3] == pytest.approx(list(c.current_eta.values), rel=1e-4)


def test_show_refuses_what_is_not_a_file(tmp_path):
    proc = run_cli(["show", tmp_path / "nope.nc"], check=False)
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_version_names_the_stack():
    out = run_cli(["--version"]).stdout
    from lindring.solvers.petsc import init
    PETSc, SLEPc = init([])
    got = dict(l.split(None, 1) for l in out.strip().splitlines())
    assert got["lindring"] == "0.1.0"
    assert got["PETSc"] == "%d.%d.%d" % PETSc.Sys.getVersion()
    assert got["SLEPc"] == "%d.%d.%d" % SLEPc.Sys.getVersion()
    assert "MPI" in got and got["MPI"].strip()


@pytest.mark.parametrize("command", ["solve", "plan", "gather", "show"])
def test_every_option_states_its_default(command):
    text = run_cli([command, "--help"]).stdout
    # argparse wraps help lines; join each option's block
    blocks = re.split(r"\n  (?=-)", text.split("options:", 1)[1])
    for block in filter(str.strip, blocks):
        flag = block.split()[0].rstrip(",")
        if flag in ("-h", "--help") or block.startswith("-h"):
            continue
        flat = " ".join(block.split())
        assert "default" in flat or "required" in flat, (command, flag, flat)
    for opt in list(OPTIONS.values()) + list(PLAN_SETTINGS.values()):
        if command == "solve" and opt.name in OPTIONS and opt.kind in ("real", "int"):
            flat = " ".join(text.split("options:", 1)[1].split())
            assert f"{opt.flag} X" in flat
            block = flat.split(f"{opt.flag} X", 1)[1][:400]
            assert "unit:" in block.split(" --")[0], (opt.flag, block[:200])


#: attributes show gives in words rather than by name (each checked below or in the tests above)
IN_WORDS = {"L", "bc", "range", "preset", "method", "unique", "liouvillian_scale", "eta_re",
            "eta_im", "uniqueness_method", "kernel_by_sector", "initial_guess_residual",
            "max_residual", "max_trace_error", "max_hermiticity_error", "positivity_tol",
            "max_error_estimate", "max_relative_residual", "agreement_tol", "gap_sectors",
            "gap_sector", "gap_kernel_dim", "initial_guess", "saved_state", "spectrum_sector",
            "uniqueness_checked"}


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    """An ED point with every optional part (warm start from a saved state, a saved state, the
    gap over all sectors), a point non-unique in the full space only, an MPO and a ground-state
    point."""
    d = tmp_path_factory.mktemp("show_all")
    minimal = ["--L", 4, "--preset", "minimal", "--alpha", 2]
    run_cli(["solve", *minimal, "--delta", 1.5, "--solver", "iterative", "--save-state",
             d / "s1.nc", "-o", d / "a.nc"])
    run_cli(["solve", *minimal, "--delta", 1.4, "--solver", "iterative", "--initial-guess",
             d / "s1.nc", "--save-state", d / "s2.nc", "--gap", "-o", d / "ed.nc"])
    run_cli(["solve", "--bc", "open", "--L", 3, "--J0", 1, "--lam", 1, "--gamma", -1.23,
             "-o", d / "sector.nc"])
    run_cli(["solve", "--method", "mpo", "--bc", "open", "--L", 3, "--preset", "minimal",
             "--alpha", 2, "--delta", 1, "-o", d / "mpo.nc"])
    run_cli(["solve", "--method", "ground", "--L", 4, "--J0", 1, "-o", d / "ground.nc"])
    return d


@pytest.mark.parametrize("name", ["ed", "sector", "mpo", "ground"])
def test_show_leaves_no_attribute_out(everything, name):
    """Every attribute the solve wrote (not at its fill value) is in the text: by name (the
    details lines take whatever the summary does not place), or in words (IN_WORDS, or a
    parameter: ``alpha = 2``)."""
    from lindring.core.model import PHYSICAL_PARAMS
    from lindring.report.show import _at_fill
    path = everything / f"{name}.nc"
    text = run_cli(["show", path]).stdout
    with xr.open_dataset(path) as ds:
        attrs = dict(ds.attrs)
    params = {f"{n}{part}" for n in PHYSICAL_PARAMS for part in ("", "_re", "_im")}
    left_out = [k for k, v in attrs.items()
                if not _at_fill(k, v) and k not in IN_WORDS and k not in params
                and not re.search(rf"(^|[\s(]){re.escape(k)}[\s=:]", text, re.M)]
    assert not left_out, left_out


def test_show_warm_start_gap_kernel_and_full_space_uniqueness(everything):
    ed = run_cli(["show", everything / "ed.nc"]).stdout
    with xr.open_dataset(everything / "ed.nc") as ds:
        a = dict(ds.attrs)
    assert a["initial_guess"] != "none" and a["saved_state"] != "none"
    warm = next(l for l in ed.splitlines() if l.strip().startswith("warm start:"))
    assert f"started from {a['initial_guess']}" in warm and f"saved to {a['saved_state']}" in warm
    assert f"kernel over them {a['gap_kernel_dim']}" in ed and a["gap_kernel_dim"] == 1
    assert "steady state: unique by" in ed and "decided over every sector" in ed
    sector = run_cli(["show", everything / "sector.nc"]).stdout
    line = next(l for l in sector.splitlines() if l.strip().startswith("steady state:"))
    assert "NOT unique in the full operator space, kernel_dim 2" in line
    assert "parity odd, reflection not split: 1" in line and "solved sector's steady state" in line
    mpo = run_cli(["show", everything / "mpo.nc"]).stdout
    with xr.open_dataset(everything / "mpo.nc") as ds:
        limit, how = ds.attrs["max_relative_residual"], ds.attrs["uniqueness_checked"]
    assert re.search(rf"relative_residual \S+ \(limit <= {limit:g}\)", mpo)
    assert f"steady state: unique by {how}, kernel_dim 1" in mpo
    assert f"uniqueness_checked {a['uniqueness_checked']}" in ed       # ED's: a number


def test_show_says_a_saved_state_is_not_a_result(everything):
    """`lindring show results/states/.../point.nc` (a warm start's --save-state file) said "one
    point, exact steady state (ED, PETSc/SLEPc)" and listed the state vector as an observable,
    as if it were a result file; it says what the file is."""
    text = run_cli(["show", everything / "s1.nc"]).stdout
    first = text.splitlines()[0]
    assert "a saved steady state" in first and "not a result file" in first, text
    assert "one point" not in first
