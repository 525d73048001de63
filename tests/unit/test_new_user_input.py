"""What a new user meets first, without PETSc: the public names, log_to_stderr, the command line's
parsing of odd values and repeated options, the output path, the one check of a point that solve,
plan and the workflow share, and the output schema's declaration of every variable and attribute.
(The same behaviours through PETSc, MPI and files: tests/integration/test_new_user.py.)"""
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

import lindring
from lindring import api, cli
from lindring.core import model, schema
from lindring.core.options import resolve
from lindring.solvers.methods import check_point

SRC = os.path.join(os.path.dirname(lindring.__file__), os.pardir)


# ----------------------------------------------------------------------------- public names
def test_public_names_are_exported():
    from lindring import (ModelError, SolverError, VerificationError, gather,  # noqa: F401
                          log_to_stderr, plan, scaling, show, solve, versions)
    assert issubclass(ModelError, ValueError)
    for name in lindring.__all__:
        assert hasattr(lindring, name), name
    assert {"ModelError", "SolverError", "VerificationError", "log_to_stderr"} <= set(lindring.__all__)
    assert lindring.ModelError is model.ModelError


# ----------------------------------------------------------------------------- log_to_stderr
@pytest.fixture
def lindring_logger():
    logger = logging.getLogger("lindring")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


def test_log_to_stderr_again_only_changes_the_level(lindring_logger):
    ours = lambda: [h for h in lindring_logger.handlers if getattr(h, "lindring", False)]
    lindring.log_to_stderr()
    lindring.log_to_stderr("debug")
    assert len(ours()) == 1 and lindring_logger.level == logging.DEBUG
    lindring.log_to_stderr("Warning")
    assert len(ours()) == 1 and lindring_logger.level == logging.WARNING
    lindring.log_to_stderr(logging.INFO)
    assert len(ours()) == 1 and lindring_logger.level == logging.INFO
    for bad in ("loud", "", True, -1, None):
        with pytest.raises(ValueError, match="level"):
            lindring.log_to_stderr(bad)
    assert len(ours()) == 1 and lindring_logger.level == logging.INFO     # left as it was


@pytest.mark.parametrize("rank,expected", [("0", 1), ("1", 0)])
def test_a_warning_is_printed_once_on_rank_zero_without_a_handler(rank, expected):
    """No log_to_stderr: Python's last-resort handler prints warnings, from rank 0 only."""
    code = ("from lindring.core.diagnostics import get_logger\n"
            "get_logger('lindring.solvers.methods').warning('non-unique steady state: test')\n")
    env = dict(os.environ, OMPI_COMM_WORLD_RANK=rank)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)
    assert proc.stderr.count("non-unique steady state: test") == expected, proc.stderr


# ----------------------------------------------------------------------------- the parser
def _parse(capsys, *argv):
    """(namespace or None, stderr) of ``lindring solve <argv> -o x.nc``, parsed only."""
    try:
        args = cli.build_parser().parse_args(["solve", *map(str, argv), "-o", "x.nc"])
    except SystemExit as stop:
        assert stop.code == 2
        return None, capsys.readouterr().err
    return args, capsys.readouterr().err


@pytest.mark.parametrize("word", ["-1e-05", "-1E-5", "-2+0.5j", "-.5", "-inf", "-nan",
                                  "-Infinity", "-1e400", "-2-infj", "-0"])
def test_negative_numbers_are_values(capsys, word):
    args, err = _parse(capsys, "--L", 4, "--alpha", word)
    assert args is not None and args.alpha == word, err
    assert cli.split_petsc_options(["--alpha", word]) == (["--alpha", word], [])


@pytest.mark.parametrize("argv,message", [
    (["--L", 4, "--L", 5], "argument --L: given twice (--L 4 and --L 5)"),
    (["--L", 4, "--alpha", 1, "--alpha=2"], "argument --alpha: given twice"),
    (["--L", 4, "--check-unique", "--no-check-unique"], "given twice"),
    (["--L", 4, "--gap", "--gap"], "argument --gap: given twice"),
    (["--L", 4, "--solver", "direct", "--solver", "iterative"], "argument --solver: given twice"),
])
def test_an_option_given_twice_is_refused(capsys, argv, message):
    args, err = _parse(capsys, *argv)
    assert args is None and message in err


@pytest.mark.parametrize("name", model.PHYSICAL_PARAMS)
@pytest.mark.parametrize("value", ["-inf", "inf", "nan", "-nan", "1e400", "nan+1j"])
def test_non_finite_parameters_are_refused_naming_them(name, value):
    with pytest.raises(model.ModelError, match=f"parameter '{name}'.*not finite"):
        model.make_params(4, **{name: value})


@pytest.mark.parametrize("value,message", [("", "cannot read ''"), ("1+", "cannot read '1\\+'"),
                                           ("one", "cannot read 'one'"),
                                           ("2+1j", "must be real")])
def test_unreadable_or_complex_real_parameters_are_refused(value, message):
    with pytest.raises(model.ModelError, match=f"'mu'.*{message}|{message}.*'mu'|'mu' {message}"):
        model.make_params(4, alpha=1, mu=value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_a_bool_is_not_a_number(value):
    """`alpha=True` was solved as alpha = 1 (and `mu=False` as 0); model files refuse True."""
    with pytest.raises(model.ModelError, match="parameter 'alpha': .* is not a number"):
        model.make_params(4, preset="minimal", alpha=value, delta=1)
    with pytest.raises(model.ModelError, match="parameter 'mu': .* is not a number"):
        model.make_params(4, alpha=1, mu=value)


def test_readable_forms_give_the_same_number():
    """Spaces, exponents, parentheses and signs: the value Python's complex() gives."""
    for text, z in [("1 + 0.5j", 1 + 0.5j), ("-1E-5", -1e-5), ("(2-3j)", 2 - 3j), ("-0", 0.0),
                    ("  2 ", 2.0), ("1e-5j", 1e-5j)]:
        assert model.make_params(4, alpha=text).alpha == z, text


# ----------------------------------------------------------------------------- output paths
@pytest.mark.parametrize("path,message", [
    ("-", "standard output is not supported"),
    ("", "empty file name"),
    ("   ", "empty file name"),
    ("/proc/x.nc", "cannot write in folder /proc"),
    ("/proc/new/folder/x.nc", "cannot write in folder /proc"),
    ("/dev/null", "not a regular file"),          # would be removed, then replaced
])
def test_unwritable_outputs_are_refused(path, message):
    with pytest.raises(model.ModelError, match=message):
        api.check_output_path(path)


def test_odd_but_valid_output_names_are_accepted_and_nothing_is_left_behind(tmp_path):
    (tmp_path / "file").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    for name in ["a b.nc", "a;touch PWNED;b.nc", "$(touch PWNED).nc", "`x`.nc", "new dir/x.nc",
                 "-leading-dash.nc", "ü.nc"]:
        api.check_output_path(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    with pytest.raises(model.ModelError, match="is a folder"):
        api.check_output_path(tmp_path)
    with pytest.raises(model.ModelError, match="is a file, not a folder"):
        api.check_output_path(tmp_path / "file" / "x.nc")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(model.ModelError, match="not a regular file"):
        api.check_output_path(tmp_path / "fifo")


# ----------------------------------------------------------------------------- one check
MINIMAL = dict(preset="minimal", alpha=2, delta=1)
REFUSED = [
    ("mpo", dict(L=6, bc="ring", **MINIMAL), {}, "does not support bc='ring'"),
    ("mpo", dict(L=6, bc="open", range=2, **MINIMAL), {}, "range = 2"),
    ("mpo", dict(L=6, bc="open", **MINIMAL), dict(chi=1), "--chi must be >= 2"),
    ("mpo", dict(L=6, bc="open", **MINIMAL), dict(dt=5.0), "dt = 5 is too large"),
    ("mpo", dict(L=6, bc="open", mu=1), {}, "no dissipation"),
    ("ed", dict(L=6, bc="ring", mu=1, J0=1), {}, "no dissipation"),
    ("ed", dict(L=6, bc="open", **MINIMAL), dict(symmetry="momentum"), "momentum"),
    ("ed", dict(L=6, **MINIMAL), dict(chi=8), "not an option of --method ed: --chi"),
    ("cmf", dict(L=6, range=2, **MINIMAL), {}, "range = 1"),
    ("cmf", dict(L=6, bc="open", **MINIMAL), {}, "does not support bc='open'"),
    ("ground", dict(L=30, J0=1), {}, "limited to L <= 24"),
]


@pytest.mark.parametrize("method,point,opts,message", REFUSED,
                         ids=[f"{m}-{msg}" for m, _, _, msg in REFUSED])
def test_the_one_check_of_a_point_refuses(method, point, opts, message):
    with pytest.raises(model.ModelError, match=message):
        api.check_point(method, point["L"], point.get("bc", "ring"), point.get("preset"),
                        point.get("range", 1),
                        {k: v for k, v in point.items() if k in model.PHYSICAL_PARAMS}, opts)


def test_ground_needs_no_dissipation():
    p = model.make_params(4, J0=1.0)
    check_point("ground", p, resolve("ground", {}))          # the closed system is its purpose
    with pytest.raises(model.ModelError, match="no dissipation"):
        check_point("ed", p, resolve("ed", {}))


# ----------------------------------------------------------------------------- output schema
def test_every_method_declares_its_variables_and_attributes():
    ed = schema.variable_names("ed")
    assert "negativity_half" in ed and "current_eta_pair" not in ed
    assert "current_eta_pair" in schema.variable_names("ed", range=2)
    assert "sz_symmetric" in schema.variable_names("cmf")
    assert "entropy_pair_mixed" in schema.variable_names("ground")
    assert "energy_mixed" not in schema.variable_names("ground")
    attrs = schema.attribute_names("ed")
    for name in ("slowest_rate", "probe_iterations", "uniqueness_method", "unique", "alpha_re",
                 "eta_im", "mu", "options", "physics_version"):
        assert name in attrs, name
    assert "chi" not in attrs and "chi" in schema.attribute_names("mpo")


def test_fill_values_stand_for_not_applicable():
    attrs = schema.complete_attributes("ed", {"unique": 0})
    assert attrs["unique"] == 0                                   # given values are kept
    assert np.isnan(attrs["slowest_rate"]) and attrs["probe_iterations"] == -1
    assert attrs["uniqueness_method"] == "none" and attrs["ksp_type"] == "none"
    with pytest.raises(KeyError, match="chi"):
        schema.complete_attributes("ed", {"chi": 8})
    with pytest.raises(KeyError, match="made_up"):
        schema.complete_attributes("ed", {"made_up": 1})
    filled = schema.missing_variables("ed", 1, {"sz"}, {"bond": 4, "site": 4})
    assert "sz" not in filled and "current_eta_pair" not in filled
    dims, values = filled["current_eta"]
    assert dims == ("bond",) and values.shape == (4,) and np.isnan(values).all()
    assert filled["kernel_dim"][1] == -1 and np.isnan(filled["negativity_half"][1])


def test_petsc_options_as_one_string_are_refused():
    """A string would be split into characters; before any PETSc."""
    with pytest.raises(TypeError, match="sequence of words"):
        api.prepare("ed", 4, preset="minimal", params=dict(alpha=2, delta=1.5),
                    petsc_options="-ksp_type gmres")


def test_repeated_petsc_options_are_found():
    from lindring.solvers.petsc_options import repeated_options
    assert repeated_options(["-ksp_type", "gmres", "-pc_type", "lu", "-ksp_type", "bcgs"]) == \
        ["-ksp_type"]
    assert repeated_options(["-ksp_atol", "-inf", "-ksp_rtol", "-inf", "-log_view"]) == []
    assert repeated_options(["-ksp_monitor", "-ksp_monitor"]) == ["-ksp_monitor"]


@pytest.mark.parametrize("point", [dict(preset="minimal", alpha=2.0, delta=1.5),
                                   dict(J0=1.0, kappa=0.5), dict(J0=1.0, gamma=-1e-3j)])
def test_ground_refuses_jump_parameters_that_would_not_enter(point):
    """`--method ground --preset minimal --alpha 2 --delta 1.5` wrote the trivial ground state
    of mu n with alpha and delta in the file as if they had been used: refused, naming them."""
    p = model.make_params(4, **point)
    with pytest.raises(model.ModelError, match="jump parameters .* do not enter it"):
        check_point("ground", p, resolve("ground", {}))


@pytest.mark.parametrize("parameters", ["w=0.2", [("w", 0.2)], 0.2])
def test_model_parameters_that_are_not_a_mapping_are_refused(parameters):
    """`lindring.plan(model=..., parameters="w=0.2")` (the text of --set) raised
    AttributeError: 'str' object has no attribute 'items'; a TypeError saying what it takes."""
    model_file = os.path.join(SRC, os.pardir, "models", "disordered_ring.yaml")
    with pytest.raises(TypeError, match="parameters must be a mapping .* not "):
        lindring.plan("ed", L=4, model=model_file, parameters=parameters)
    with pytest.raises(TypeError, match="parameters must be a mapping"):
        api.check_point("ed", 4, model_file=model_file, model_values=parameters)


# ----------------------------------------------------------------------------- lindring show
def test_show_does_not_call_a_partly_nan_variable_uniform():
    """A coherence from site 1 of an open chain of 4 sites is [0, 0, NaN] (d = 3 leaves the
    chain): show said "0 on every distance (3 distances)"; it says where the NaN are."""
    import xarray as xr
    from lindring.report.show import _condensed
    line = _condensed(xr.DataArray([0.0, 0.0, np.nan], dims="distance"))
    assert "every" not in line and line.startswith("0 on 2 of 3 distances, NaN on 1")
    line = _condensed(xr.DataArray([0.5, 0.25, np.nan], dims="distance"))
    assert line.endswith("over 3 distances (NaN on 1)") and "[0.5, 0.25, NaN]" in line
    assert _condensed(xr.DataArray([0.5, 0.5], dims="bond")) == "0.5 on every bond (2 bonds)"
    assert _condensed(xr.DataArray([np.nan, np.nan], dims="bond")) == "NaN on every bond"


def test_show_refuses_files_it_cannot_describe(tmp_path, capsys):
    """A text file, an empty file, a folder and a NetCDF file lindring did not write: status 2
    with a message saying which (a foreign NetCDF file was shown as a point with 'parameters:
    all 0'; text gave xarray's advice on installing IO backends)."""
    import xarray as xr
    (tmp_path / "text.nc").write_text("hello\n")
    (tmp_path / "empty.nc").write_bytes(b"")
    (tmp_path / "dir.nc").mkdir()
    xr.Dataset({"x": ("a", np.arange(3))}).to_netcdf(tmp_path / "foreign.nc")
    for name, message in [("text.nc", "not a NetCDF file"), ("empty.nc", "not a NetCDF file"),
                          ("dir.nc", "is a folder"), ("foreign.nc", "not a lindring file")]:
        with pytest.raises(SystemExit) as exit_:
            cli.main(["show", str(tmp_path / name)])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err, (name, err)
        assert "IO backends" not in err and "Traceback" not in err


def test_a_polar_study_with_two_radii_opens(tmp_path):
    """A gathered polar study with `r: [1, 2]`: netCDF4's auto_complex takes a dimension of
    length 2 named r for the two parts of a complex number, so `lindring show`, open_gathered
    and the rules quicklook and provenance failed ("dimension 'r' already exists as a scalar
    variable"). Such a file opens, and a complex axis still reads back as complex."""
    import xarray as xr
    from lindring.report.show import show_text
    from lindring.workflow.gather import open_gathered, write_gathered
    dims = ("technique", "L", "r", "theta")
    polar = xr.Dataset({"current_eta": (dims + ("bond",), np.ones((1, 1, 2, 3, 4))),
                        "kernel_dim": (dims, np.ones((1, 1, 2, 3)))},
                       coords=dict(technique=["ed"], L=[4], r=[1.0, 2.0],
                                   theta=[0.0, 0.5, 1.0], bond=np.arange(4)),
                       attrs=dict(study="p", points_expected=6, points_present=6,
                                  missing_points="none", nonunique_points="none",
                                  unchecked_points="none"))
    write_gathered(polar, tmp_path / "p.nc")
    with open_gathered(tmp_path / "p.nc") as ds:
        assert list(ds.r.values) == [1.0, 2.0] and ds.current_eta.shape == (1, 1, 2, 3, 4)
    assert "gathered study p" in show_text(tmp_path / "p.nc")
    cplx = polar.isel(r=[0]).squeeze("r", drop=True).expand_dims(alpha=[1 + 0.5j, 1 - 0.5j])
    write_gathered(cplx, tmp_path / "c.nc")
    with open_gathered(tmp_path / "c.nc") as ds:
        assert list(ds.alpha.values) == [1 + 0.5j, 1 - 0.5j]


def test_the_summary_of_a_ground_state_study_has_its_current():
    """A study of ground states over phi (Fig. 7: ring L = 4, J0 = 1) has current_J and no
    current_eta; the run summary and `lindring show` said "(no current in this study)". The
    values below are the dense ground state's -4 Im(J <sm_j sp_j-1>) at phi = 0, 1."""
    import xarray as xr
    from lindring.report.quicklook import study_lines
    cur = np.array([0.0, 0.3498820345625469])[None, None, :, None] * np.ones((1, 1, 2, 4))
    ds = xr.Dataset({"current_J": (("technique", "L", "phi", "bond"), cur),
                     "entropy_pair": (("technique", "L", "phi"), np.full((1, 1, 2), 0.83))},
                    coords=dict(technique=["ground"], L=[4], phi=[0.0, 1.0], bond=np.arange(4)),
                    attrs=dict(bc="ring", preset="none", fixed_J0="1.0", points_expected=2,
                               points_present=2, missing_points="none", nonunique_points="none",
                               unchecked_points="none"))
    text = "\n".join(study_lines("gs", ds))
    assert "no current" not in text and "current I_J (coherent" in text, text
    assert "max    0.34988 at phi = 0.3183 pi" in text, text


@pytest.mark.parametrize("value,ok", [(4, True), (np.int64(4), True), (4.0, True), ("4", True),
                                      (" 4 ", True), (4.5, False), (True, False),
                                      (float("nan"), False), ("4.5", False), ("four", False)])
def test_one_reading_of_an_integer_for_sizes_and_options(value, ok):
    """lindring.solve took L="4" but refused chi="16", took chi=16.0 but refused L=4.0: two
    readings of "an integer". L, range and every integer option read one way now."""
    cases = [("ed", dict(L=value), {}), ("mpo", dict(L=4, bc="open"), dict(chi=value)),
             ("ed", dict(L=4), dict(max_it=value))]
    for method, where, opts in cases:
        call = lambda: api.check_point(method, preset="minimal", params=dict(alpha=2, delta=1),
                                       options=opts, **where)
        if ok:
            call()
        else:
            with pytest.raises(model.ModelError, match="must be an integer"):
                call()
