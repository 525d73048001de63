"""Issue 11 (6): the command line splits PETSc options without swallowing lindring's own, refuses
unused or bad PETSc options, bad output paths, options of other methods and values out of range,
all before any compute and with status 2."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli
from lindring.cli import split_petsc_options
from lindring.io import results

POINT = ["--L", 3, "--preset", "minimal", "--alpha", 2, "--delta", 1]


@pytest.mark.parametrize("argv,own,petsc", [
    (["--no-check-unique", "-ksp_converged_reason", "--gap"],
     ["--no-check-unique", "--gap"], ["-ksp_converged_reason"]),
    (["-ksp_rtol", "1e-12", "--L", "4"], ["--L", "4"], ["-ksp_rtol", "1e-12"]),
    (["-log_view", "-ksp_type", "bcgs", "-o", "x.nc"], ["-o", "x.nc"],
     ["-log_view", "-ksp_type", "bcgs"]),
    (["-ksp_atol", "-1e-05", "--eps-zz", "-1e-05"], ["--eps-zz", "-1e-05"], ["-ksp_atol", "-1e-05"]),
    (["-ksp_monitor", "-h"], ["-h"], ["-ksp_monitor"]),
])
def test_split_petsc_options(argv, own, petsc):
    assert split_petsc_options(argv) == (own, petsc)


def test_valueless_petsc_flag_keeps_the_next_option_and_values_with_signs(tmp_path):
    out = tmp_path / "new" / "folder" / "gap.nc"          # a missing folder is created
    run_cli(["solve", "--L", 3, "--preset", "minimal", "--delta", 1, "--eps-zz", "-1e-05",
             "--alpha", "-2+0.5j", "--no-check-unique", "-ksp_converged_reason", "--gap", "-o", out])
    with xr.open_dataset(out) as ds:
        assert np.isfinite(float(ds["gap"])) and float(ds["gap"]) > 0     # --gap was not swallowed
        assert ds.attrs["eps_zz"] == -1e-05
        assert (ds.attrs["alpha_re"], ds.attrs["alpha_im"]) == (-2.0, 0.5)
        assert ds.attrs["physics_version"] == results.PHYSICS_VERSION
        assert "-ksp_converged_reason" in ds.attrs["petsc_options"]


BAD = [
    (["-ksp_rtoll", "1e-3"], "-ksp_rtoll are not used"),
    (["-ksp_type", "nonsense"], "Unable to find requested KSP type nonsense"),
    (["--method", "ed", "--chi", "0", "--dt", "-1"], "not an option of --method ed: --chi, --dt"),
    (["--method", "cmf", "--solver", "iterative"], "not an option of --method cmf: --solver"),
    (["--method", "cmf", "--gap"], "not an option of --method cmf: --gap"),
    (["--method", "cmf", "-ksp_type", "gmres"], "only apply to --method ed"),
    (["--method", "mpo", "--bc", "open", "--cutoff", "-1"], "--cutoff must be >= 0"),
    (["--method", "mpo", "--bc", "open", "--cutoff", "nan"], "'nan' is not a finite number"),
    (["--method", "mpo", "--bc", "open", "--chi", "0"], "--chi must be >= 2"),
    (["--rtol", "inf"], "'inf' is not a finite number"),
    (["--max-residual", "-1e-9"], "--max-residual must be > 0"),
    (["--max-it", "0"], "--max-it must be >= 1"),
    (["--eps-zz", "nan"], "'eps_zz'"),
    (["-ksp_type", "gmres", "-ksp_type", "bcgs"], "PETSc option(s) -ksp_type given twice"),
    (["--eps-x", "-inf"], "parameter 'eps_x': '-inf' is not finite"),
    (["--L", "5"], "argument --L: given twice (--L 3 and --L 5)"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
def test_bad_options_are_refused_before_compute(tmp_path, args, message):
    args = POINT + args
    proc = run_cli(["solve", *args, "-o", tmp_path / "bad.nc"], check=False)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and "[assemble]" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_output_paths_are_refused_before_compute(tmp_path):
    (tmp_path / "file.nc").write_text("not a folder")
    for out, message in [(tmp_path, "is a folder"), (f"{tmp_path}/sub/", "is a folder"),
                         (tmp_path / "file.nc" / "x.nc", "is a file, not a folder")]:
        proc = run_cli(["solve", *POINT, "-o", out], check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert "[assemble]" not in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.nc"]
