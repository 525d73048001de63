"""Issue 13: lindring as a library. The Python API gives the dataset the command line writes
(every method), refuses what the command line refuses, is collective under mpiexec, and the
README's example runs. The option registry is the one source of the parser's defaults."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import MPI_ENV, ROOT, run_cli
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params
from lindring.core import model, options

#: attributes that differ between two runs of the same point (time, memory, date, probe timing)
RUN_ATTRS = re.compile(r".*seconds$|^peak_memory|^created$")

POINTS = [
    ("ed", dict(L=4, bc="ring", preset="minimal", alpha=2.0, delta="1.5+0.5j")),
    ("ed", dict(L=4, bc="open", J0="0.7+0.2j", phi=0.9, mu=0.8, kappa=0.25, alpha="1.3+0.4j",
                delta=0.9, solver="iterative", max_residual=1e-9)),
    ("cmf", dict(L=4, bc="ring", preset="minimal", alpha=2.0, delta=1.5)),
    ("ground", dict(L=4, bc="open", J0=1.0, phi=0.3)),
    ("mpo", dict(L=4, bc="open", preset="minimal", alpha=2.0, delta=1.0, chi=16)),
]


def _cli_args(method, kw):
    args = ["solve", "--method", method]
    for k, v in kw.items():
        args.append(f"--{k.replace('_', '-')}={v}")
    return args


def assert_same_dataset(api: xr.Dataset, cli: xr.Dataset):
    assert set(api.data_vars) == set(cli.data_vars)
    assert dict(api.sizes) == dict(cli.sizes)
    for k in cli.data_vars:
        assert api[k].dims == cli[k].dims, k
        assert api[k].attrs == cli[k].attrs, k
        np.testing.assert_allclose(api[k].values, cli[k].values, rtol=1e-12, atol=1e-12,
                                   err_msg=k)
    keep = lambda attrs: {k: v for k, v in attrs.items() if not RUN_ATTRS.match(k)}
    a, c = keep(api.attrs), keep(cli.attrs)
    assert set(a) == set(c)
    for k in c:
        if isinstance(c[k], str):
            assert str(a[k]) == c[k], k
        else:
            np.testing.assert_allclose(np.asarray(a[k], float), np.asarray(c[k], float),
                                       rtol=1e-10, err_msg=k)


@pytest.mark.parametrize("method,kw", POINTS, ids=[f"{m}-{kw['bc']}" for m, kw in POINTS])
def test_solve_gives_the_file_of_the_command_line(tmp_path, method, kw):
    ds = lindring.solve(method, **kw, output=tmp_path / "api.nc")
    run_cli(_cli_args(method, kw) + ["-o", tmp_path / "cli.nc"])
    with xr.open_dataset(tmp_path / "cli.nc") as cli, xr.open_dataset(tmp_path / "api.nc") as written:
        assert_same_dataset(ds, cli.load())
        assert_same_dataset(written.load(), cli)


def test_solve_is_the_dense_steady_state():
    """Independent check of a number the API returns: the dense reference's current."""
    ds = lindring.solve("ed", L=4, preset="minimal", alpha=2.0, delta=1.5)
    kw = minimal_params(2.0, 1.5)
    ref = dense_observables(dense_steady_state(dense_liouvillian(4, "ring", **kw))[0], 4, "ring", **kw)
    np.testing.assert_allclose(ds.current_eta.values, ref["current_eta"], atol=1e-10)
    assert ds.attrs["unique"] == 1 and ds.attrs["options"].startswith("solver=auto symmetry=auto")


@pytest.mark.parametrize("call,error,words", [
    (dict(L=4, preset="minimal", alpha=2, delta=1, bogus=1), TypeError, "bogus"),
    (dict(L=4, preset="minimal", alpha=2, delta=1, chi=8), ValueError, "--chi"),
    (dict(L=4, preset="minimal", alpha=2, delta=1, rtol=-1e-3), ValueError, "--rtol must be > 0"),
    (dict(L=4, preset="minimal", alpha=2, delta=1, solver="lu"), ValueError, "--solver must be one of"),
    (dict(L=4, preset="minimal", alpha=2, delta=1, max_it=2.5), ValueError, "--max-it must be an integer"),
    (dict(L=4, preset="minimal", alpha="x", delta=1), ValueError, "alpha"),
    (dict(L=4, bc="moebius", preset="minimal", alpha=2, delta=1), ValueError, "moebius"),
])
def test_bad_input_raises_naming_it(tmp_path, call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        lindring.solve("ed", **call, output=tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()


def test_unknown_method_and_wrong_boundary():
    with pytest.raises(ValueError, match="unknown method 'dmrg'"):
        lindring.solve("dmrg", L=4, preset="minimal", alpha=2, delta=1)
    with pytest.raises(ValueError, match="mpo"):
        lindring.solve("mpo", L=4, bc="ring", preset="minimal", alpha=2, delta=1)


def test_failed_verification_raises_and_writes_nothing(tmp_path):
    from lindring.solvers.methods import VerificationError
    with pytest.raises(VerificationError, match="residual"):
        lindring.solve("ed", L=4, preset="minimal", alpha=2, delta=1.5, max_residual=1e-30,
                       output=tmp_path / "x.nc")
    assert not (tmp_path / "x.nc").exists()


def test_plan_is_what_the_command_line_prints():
    import json
    pl = lindring.plan("ed", L=10, bc="ring", preset="minimal", alpha=2, delta=1.5)
    cli = json.loads(run_cli(["plan", "--L", 10, "--preset", "minimal", "--alpha", 2, "--delta",
                              1.5, "--json"]).stdout)
    measured = lambda d: {k: v for k, v in d.items() if k != "available_mb"}   # MemAvailable now
    assert measured(pl.as_dict()) == measured(cli)
    assert pl.rows == 27036       # parity x momentum zero x reflection-even (basis.py)
    with pytest.raises(TypeError, match="chii"):
        lindring.plan("ed", L=4, chii=3)


def test_collective_under_mpiexec(tmp_path):
    """Every rank gets the same dataset; rank 0 writes the file."""
    script = tmp_path / "two.py"
    script.write_text(
        "import lindring\n"
        "from mpi4py import MPI\n"
        f"ds = lindring.solve('ed', L=5, preset='minimal', alpha=2, delta=1.5, output={str(tmp_path / 'x.nc')!r})\n"
        "rank = MPI.COMM_WORLD.Get_rank()\n"
        f"open({str(tmp_path)!r} + f'/rank{{rank}}.txt', 'w').write("
        "f\"{ds.attrs['mpi_ranks']} {float(ds.current_eta.sum())!r}\")\n")
    proc = subprocess.run(["mpiexec", "-n", "2", sys.executable, str(script)], capture_output=True,
                          text=True, env=dict(os.environ, **MPI_ENV), timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert lines[0] == lines[1] and lines[0][0] == "2"
    lines = [["RANK", str(r)] + l for r, l in enumerate(lines)]
    with xr.open_dataset(tmp_path / "x.nc") as ds:
        assert repr(float(ds.current_eta.sum())) == lines[0][3]


def test_gather_and_scaling_as_functions(tmp_path, monkeypatch):
    """A tiny study computed through the API into the workflow's paths, gathered by the function
    and by the command line (the same dataset), then the finite-size scaling of it."""
    from lindring.workflow.studies import expand, load_config
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(
        "studies:\n  tiny:\n    methods: [ed]\n    bc: ring\n    L: [3, 4, 5, 6]\n"
        "    preset: minimal\n    fixed: {alpha: 2, delta: 1.5}\n")
    for job in expand(load_config("c.yaml"))["tiny"]:
        lindring.solve(job.method, L=job.L, bc=job.bc, preset=job.preset, solver=job.solver,
                       output=job.path, **dict(job.params))
    ds = lindring.gather("tiny", "c.yaml", output="g.nc")
    run_cli(["gather", "--configfile", "c.yaml", "--study", "tiny", "-o", "g_cli.nc"])
    assert ds.attrs["points_present"] == ds.attrs["points_expected"] == 4
    with xr.open_dataset("g_cli.nc") as cli:
        np.testing.assert_allclose(ds.current_eta.values, cli.current_eta.values, rtol=0, atol=0)
    sc = lindring.scaling("g.nc")
    # the ring current at each L is the mean over the bonds (dense reference at L = 4)
    kw = minimal_params(2.0, 1.5)
    ref = dense_observables(dense_steady_state(dense_liouvillian(4, "ring", **kw))[0], 4, "ring", **kw)
    np.testing.assert_allclose(float(sc.current_ring.sel(L=4)),
                               np.mean(ref["current_eta"] + ref["current_J"]), atol=1e-9)
    assert np.isfinite(float(sc.current_inf))


def test_parser_defaults_come_from_the_registry():
    """Every option's help states the registry's default; no other table of defaults."""
    from lindring.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["solve"]
    helps = {flag: a.help for a in sub._actions for flag in a.option_strings}
    for name, opt in options.OPTIONS.items():
        assert helps[opt.flag] == opt.describe(), name
        assert "(default " in helps[opt.flag]
    assert options.defaults("mpo")["chi"] == 64 and options.defaults("ed")["rtol"] == 1e-12
    src = (ROOT / "src" / "lindring" / "cli.py").read_text()
    assert "SOLVE_DEFAULTS" not in src and "_RANGES" not in src


def test_readme_example_runs(tmp_path, monkeypatch):
    """The notebook-style examples of the README's "Python API" section, run as written, one
    after the other."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Python API"):]
    section = section[:section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    assert isinstance(namespace["ds"], xr.Dataset)
    assert dict(namespace["scan"].sizes) == dict(technique=1, L=3, alpha=4, bond=8, site=8)
    assert namespace["scan"].attrs["points_present"] == 12


def test_one_output_schema():
    """Every variable a method writes is declared for it in the one table, with its dims, and
    the file takes long name and units from that table; an undeclared one is refused."""
    from lindring.core import schema
    for method, kw in POINTS:
        ds = lindring.solve(method, **{k: v for k, v in kw.items() if k != "max_residual"})
        for name in ds.data_vars:
            var, variant = schema.describe(name)
            assert method in var.methods and ds[name].dims == var.dims, (method, name)
            assert ds[name].attrs["long_name"].startswith(var.long_name)
            assert ds[name].attrs["units"] == var.units
    with pytest.raises(KeyError, match="energy"):
        schema.data_vars("ed", {"energy": 1.0})
    with pytest.raises(ValueError, match="sz"):
        schema.data_vars("ed", {"sz": 1.0})


def test_diagnostics_from_rank_zero_and_quiet(tmp_path):
    """Progress lines go through logging with one rank-0 handler: once under 2 ranks; --quiet
    prints nothing but warnings and errors (no progress, no summary on stdout), --verbose shows
    every solver iteration."""
    point = ["solve", "--L", 5, "--preset", "minimal", "--alpha", 2, "--delta", 1.5]
    two = run_cli(point + ["-o", tmp_path / "a.nc"], ranks=2)
    assert two.stderr.count("[verify]") == 1 and two.stderr.count("[assemble]") == 1
    quiet = run_cli(point + ["--quiet", "-o", tmp_path / "b.nc"])
    assert (quiet.stdout, quiet.stderr) == ("", "") and (tmp_path / "b.nc").exists()
    degenerate = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 1, "--delta", 0,
                          "--quiet", "-o", tmp_path / "c.nc"])
    assert degenerate.stdout == ""
    assert degenerate.stderr.splitlines() == [
        "WARNING: non-unique steady state: the Liouvillian kernel has dimension 2; observables "
        "written as NaN"]
    verbose = run_cli(point + ["--solver", "iterative", "--verbose", "-o", tmp_path / "d.nc"])
    its = [int(m) for m in re.findall(r"\[gmres\] it +(\d+)", verbose.stderr)]
    assert its[:3] == [0, 1, 2]


def test_workflow_options_come_from_the_registry(tmp_path):
    """The options part of the workflow schema is generated from the registry (and up to date);
    an option a study's methods do not take is refused there as on the command line and in the
    API."""
    from lindring.workflow import studies
    generated = tmp_path / "options.schema.yaml"
    studies.write_options_schema(generated)
    assert generated.read_text() == studies.OPTIONS_SCHEMA.read_text(), "run `make schema`"
    defs = studies.options_schema()["$defs"]
    assert defs["max_tasks"]["default"] == options.PLAN_SETTINGS["max_tasks"].default
    assert defs["mpo"]["properties"]["chi"]["minimum"] == options.OPTIONS["chi"].minimum
    assert studies.study_defaults()["solver"] == options.OPTIONS["solver"].default
    cfg = {"studies": {"s": {"methods": ["ed"], "L": 4, "preset": "minimal", "mpo": {"chi": 8},
                             "fixed": {"alpha": 2, "delta": 1}}}}
    with pytest.raises(studies.StudyError, match=r"studies\.s\.mpo: not an option of methods ed"):
        studies.expand(studies.validate_config(cfg))
    bad_chi = {"studies": {"s": {"methods": ["mpo"], "bc": "open", "L": 4, "preset": "minimal",
                                 "mpo": {"chi": 1}, "fixed": {"alpha": 2, "delta": 1}}}}
    with pytest.raises(studies.StudyError, match="chi"):
        studies.validate_config(bad_chi)
    proc = run_cli(["solve", "--method", "ed", "--L", 4, "--preset", "minimal", "--alpha", 2,
                    "--delta", 1, "--chi", 8, "-o", tmp_path / "x.nc"], check=False)
    assert proc.returncode == 2 and "not an option of --method ed: --chi" in proc.stderr


def test_petsc_options_fixed_for_the_process(tmp_path):
    """PETSc reads its options once per process: a later solve with other PETSc options (or
    without the first call's) is refused naming both, never run with options it does not use."""
    script = tmp_path / "two_calls.py"
    script.write_text(
        "import lindring\n"
        "kw = dict(L=4, preset='minimal', alpha=2, delta=1.5, solver='iterative')\n"
        "a = lindring.solve('ed', petsc_options=['-ksp_gmres_restart', '50'], **kw)\n"
        "b = lindring.solve('ed', petsc_options=['-ksp_gmres_restart', '50'], **kw)\n"
        "assert b.attrs['petsc_options'] == '-ksp_gmres_restart 50'\n"
        "for opts in (['-ksp_type', 'bcgs'], []):\n"
        "    try:\n"
        "        lindring.solve('ed', petsc_options=opts, **kw)\n"
        "    except ValueError as err:\n"
        "        assert 'differ from those this process initialised PETSc with' in str(err), err\n"
        "    else:\n"
        "        raise SystemExit('accepted ' + repr(opts))\n"
        "print('OK')\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=dict(os.environ, **MPI_ENV), timeout=300)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stderr[-2000:]


@pytest.mark.parametrize("kw,words", [(dict(L=4.7), "L must be an integer"),
                                      (dict(L=True), "L must be an integer"),
                                      (dict(L=5, range=1.9), "range must be an integer"),
                                      (dict(L=4, rtol=5.0), "--rtol must be < 1")])
def test_no_silent_truncation(kw, words):
    """A fractional size or range is refused, not truncated (4.7 would run L = 4)."""
    with pytest.raises(ValueError, match=re.escape(words)):
        lindring.solve("ed", preset="minimal", alpha=2, delta=1.5, **kw)


def test_numpy_scalars_are_numbers():
    ds = lindring.solve("ed", L=np.int64(4), preset="minimal", alpha=np.float64(2), delta=1.5,
                        max_it=np.int64(500), gap=np.bool_(False))
    assert ds.attrs["L"] == 4 and "max_it=500" in ds.attrs["options"]


@pytest.mark.parametrize("method", ["cmf", "ground"])
def test_plan_of_a_method_without_one_is_a_model_error(method):
    """`lindring.plan("cmf", ...)`: ModelError naming the methods with a plan (an
    AttributeError: plan's `model` argument shadowed the module)."""
    with pytest.raises(lindring.ModelError, match="plan: method must be ed or mpo"):
        lindring.plan(method, L=4, preset="minimal", alpha=2, delta=1.5)


@pytest.mark.parametrize("value", [None, 3, ["results/x.nc"]])
def test_scaling_of_something_that_is_not_a_study_names_it(value):
    """`lindring.scaling(None)` said "did not find a match in any of xarray's currently installed
    IO backends"; now a TypeError saying what it takes."""
    with pytest.raises(TypeError, match="takes a gathered dataset .* not "):
        lindring.scaling(value)


def test_gathered_thresholds_are_each_methods_own(tmp_path, monkeypatch):
    """A study of ED and MPO points: the summary of `lindring show` gave the MPO's residual
    ED's threshold ("MPO: max residual = 4.15e-14 ... (threshold 1e-10)": MPO files have no
    max_residual) and ED's hermiticity both ("(threshold 1e-06, 1e-08)"): each technique's row
    now has the thresholds its own files record, none where they record none."""
    from lindring.report.quicklook import verification
    from lindring.workflow.studies import expand, load_config
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(
        "studies:\n  both:\n    methods: [ed, mpo]\n    bc: open\n    L: [4]\n"
        "    preset: minimal\n    fixed: {alpha: 2, delta: 1}\n    mpo: {chi: 16}\n")
    for job in expand(load_config("c.yaml"))["both"]:
        extra = dict(chi=16) if job.method == "mpo" else dict(solver=job.solver)
        lindring.solve(job.method, L=job.L, bc=job.bc, preset=job.preset, output=job.path,
                       **extra, **dict(job.params))
    ds = lindring.gather("both", "c.yaml")
    rows = {(r["technique"], r["check"]): r["threshold"] for r in verification(ds)}
    with xr.open_dataset("results/both/ed/open/L4/point.nc") as ed, \
            xr.open_dataset("results/both/mpo/open/L4/point.nc") as mpo:
        assert rows[("ed", "residual")] == str(ed.attrs["max_residual"]) == "1e-10"
        assert rows[("ed", "hermiticity_error")] == str(ed.attrs["max_hermiticity_error"])
        assert rows[("mpo", "hermiticity_error")] == str(mpo.attrs["max_hermiticity_error"])
        assert "max_residual" not in mpo.attrs and rows[("mpo", "residual")] == ""
    assert str(ed.attrs["max_hermiticity_error"]) != str(mpo.attrs["max_hermiticity_error"])
    ds.to_netcdf("both.nc")
    shown = lindring.show("both.nc").splitlines()
    assert "threshold" not in next(line for line in shown if "MPO: max residual" in line)
    assert "(threshold 1e-10)" in next(line for line in shown if "ED: max residual" in line)


@pytest.mark.parametrize("mpo", [{"chi": 16.0, "refine_sweeps": 3.0},
                                 {"chi": 16, "refine_sweeps": 3, "dt": 0.05, "order": 4.0}])
def test_a_study_mpo_options_file_belongs_to_its_point(tmp_path, mpo):
    """`mpo: {chi: 16, refine_sweeps: 3}` in a study: the job ran --refine-sweeps=3.0, the file
    recorded refine_sweeps=3, and the gather refused it as a file of another point ("option
    refine_sweeps=3 (expected 3.0)"), at every rerun; chi: 16.0 likewise. The job's arguments,
    run by the real command line, give a file that the gather's check accepts."""
    from lindring.workflow.gather import check_point_file
    from lindring.workflow.studies import expand, validate_config
    config = {"studies": {"o": {"methods": ["mpo"], "bc": "open", "L": [4], "preset": "minimal",
                                "fixed": {"alpha": 2.0, "delta": 1.0}, "mpo": mpo}}}
    (job,) = expand(validate_config(config))["o"]
    assert "--refine-sweeps=3" in job.cli_args() and "--chi=16" in job.cli_args()
    out = tmp_path / "point.nc"
    run_cli(["solve", *job.cli_args(), "-o", out, "--quiet"])
    with xr.open_dataset(out) as ds:
        assert check_point_file(job, ds.attrs) == []


def test_option_values_written_as_yaml_reads_1e_minus_9(tmp_path):
    """`max_residual: 1e-9` in a study (YAML 1.1 reads it as the text '1e-9', as it does for
    parameters, where the README says both forms work) stopped the run with the schema's
    "'1e-9' is not of type 'number'"; so did mpo: {tol: 1e-9}. They are read as numbers, the
    job's file belongs to its point, and a negative one is refused naming the key."""
    import yaml
    from lindring.workflow.gather import check_point_file
    from lindring.workflow.studies import StudyError, expand, validate_config
    text = ("studies:\n"
            "  e: {methods: [ed], L: [3], preset: minimal, fixed: {alpha: 2, delta: 1.5},"
            " max_residual: 1e-9}\n"
            "  m: {methods: [mpo], bc: open, L: [4], preset: minimal, fixed: {alpha: 2, delta: 1},"
            " mpo: {chi: 16, tol: 1e-9, dt: 5e-2}}\n")
    config = yaml.safe_load(text)
    assert config["studies"]["e"]["max_residual"] == "1e-9"      # what YAML gives
    jobs = expand(validate_config(config))
    for job, flag in ((jobs["e"][0], "--max-residual=1e-09"), (jobs["m"][0], "--mpo-tol=1e-09")):
        assert flag in job.cli_args(), job.cli_args()
        out = tmp_path / f"{job.study}.nc"
        run_cli(["solve", *job.cli_args(), "-o", out, "--quiet"])
        with xr.open_dataset(out) as ds:
            assert check_point_file(job, ds.attrs) == []
    config["studies"]["e"]["max_residual"] = "-1e-9"
    with pytest.raises(StudyError, match="max.residual"):
        expand(validate_config(config))
