"""Issue 16 as a new user meets it: a model file of one's own (models/dissipative_ising.yaml,
written from the README's "Your own model" section), solved, shown and checked against the
dense reference; the ``--set`` forms of the command line; ``lindring show`` of a model-file
point; ED and MPO on one model file (same uniqueness decision, variables, complex
correlations).

Every number is compared with something independent: numpy on a dense Liouvillian built in the
test from the operator definitions (tests/dense_reference.py), today's path for the paper's
model, or ED for the MPO (ED itself checked against the dense reference here).
"""
import re

import numpy as np
import pytest
import xarray as xr

import dense_reference as dr
import lindring
from conftest import ROOT, run_cli

ISING = ROOT / "models" / "dissipative_ising.yaml"
PAPER = ROOT / "models" / "paper.yaml"
XXZ = ROOT / "models" / "boundary_driven_xxz.yaml"


def _ising_dense(L, bc, J, g, h, w, kappa, seed):
    """The steady state of models/dissipative_ising.yaml from its definition in the file's
    comment: H = J sum sz sz + g sum sx + sum h_j sz, jumps sqrt(kappa) sm_j, h_j = h + w u_j
    with u_j from numpy's PCG64 seeded [seed, 0] (README: the field's index in the file)."""
    op = lambda o, j: dr.site_op(o, j % L, L)                         # noqa: E731
    u = np.random.Generator(np.random.PCG64([seed, 0])).uniform(-1.0, 1.0, L)
    hj = h + w * u
    bonds = range(L if bc == "ring" else L - 1)
    H = sum(J * op(dr.SZ, b) @ op(dr.SZ, b + 1) for b in bonds)
    H = H + sum(g * op(dr.SX, j) + hj[j] * op(dr.SZ, j) for j in range(L))
    jumps = [np.sqrt(kappa) * op(dr.SM, j) for j in range(L)]
    rho, kdim = dr.dense_steady_state(dr.lindblad_superop(H, jumps))
    return rho, kdim, op


@pytest.mark.parametrize("L, bc, values, sector, options", [
    (4, "ring", dict(J=1.0, g=0.7, h=0.3, kappa=0.8), "momentum+reflection", {}),
    (4, "ring", dict(J=1.0, g=0.7, h=0.3, kappa=0.8), "none",
     dict(symmetry="none", basis="matrix-units")),
    (4, "open", dict(J=-0.6, g=1.1, h=-1e-05, kappa=1.5), "reflection", {}),
    (4, "ring", dict(J=1.0, g=0.7, h=0.2, w=0.5, seed=3, kappa=0.8), "none", {}),
    (3, "open", dict(J=1.3, g=0.4, w=1.0, seed=11, kappa=0.3), "none", {}),
])
def test_dissipative_ising_against_the_dense_reference(L, bc, values, sector, options):
    """Every observable of a user's model file (one-site, two-site, a connected Hermitian
    correlation and a complex one) against numpy on the dense steady state, in the sector
    ``auto`` finds (the transverse field breaks parity; a random field breaks translation and
    reflection) in the Pauli basis, and in the full space of matrix units."""
    ds = lindring.solve("ed", L=L, bc=bc, model=ISING, parameters=values, **options)
    assert ds.attrs["operator_basis"] == options.get("basis", "pauli")
    full = dict(J=1, g=0.5, h=0, w=0, kappa=1, seed=0) | values
    rho, kdim, op = _ising_dense(L, bc, **full)
    assert kdim == 1 and ds.attrs["unique"] == 1
    assert ds.attrs["symmetry"] == sector
    ev = lambda O: dr.expect(O, rho)                                  # noqa: E731
    np.testing.assert_allclose(ds.sz.values, [ev(op(dr.SZ, j)).real for j in range(L)], atol=1e-10)
    np.testing.assert_allclose(ds.mx.values, [ev(op(dr.SX, j)).real for j in range(L)], atol=1e-10)
    bonds = range(L if bc == "ring" else L - 1)
    np.testing.assert_allclose(ds.zz.values, [ev(op(dr.SZ, b) @ op(dr.SZ, b + 1)).real
                                              for b in bonds], atol=1e-10)
    ds_ = range(1, L)
    cxx = [ev(op(dr.SX, 0) @ op(dr.SX, d)).real - ev(op(dr.SX, 0)).real * ev(op(dr.SX, d)).real
           for d in ds_]
    gpm = np.array([ev(op(dr.SP, 0) @ op(dr.SM, d)) for d in ds_])
    np.testing.assert_allclose(ds.C_xx.values, cxx, atol=1e-10)
    np.testing.assert_allclose(ds.G_pm_re.values, gpm.real, atol=1e-10)
    np.testing.assert_allclose(ds.G_pm_im.values, gpm.imag, atol=1e-10)
    assert np.abs(cxx).max() > 1e-3 and np.abs(gpm).max() > 1e-3
    assert ds.G_pm_im.dims == ("distance",) and "imaginary part" in ds.G_pm_im.attrs["long_name"]


def test_dissipative_ising_refuses_symmetries_it_lacks_naming_the_term(tmp_path):
    base = ["solve", "--model", ISING, "--L", 4, "-o", tmp_path / "x.nc"]
    for extra, message in (
            (["--symmetry", "parity"], "hamiltonian term 'transverse' at site 0 does not commute "
                                       "with parity"),
            (["--set", "w=0.1", "--symmetry", "momentum"],
             "hamiltonian term 'longitudinal' differs between sites"),
            (["--set", "w=0.1", "--symmetry", "reflection"], "hamiltonian term 'longitudinal'")):
        proc = run_cli(base + extra, check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "x.nc").exists()


# ----------------------------------------------------------------------------- --set
def test_set_takes_exponent_form_negatives_and_complex_values(tmp_path):
    """``--set=delta=-1e-05`` and ``--set alpha=1+0.5j`` reach the model as numbers: the file's
    values and results equal today's path with ``--alpha 1+0.5j --delta=-1e-05``."""
    out = tmp_path / "set.nc"
    run_cli(["solve", "--model", PAPER, "--L", 3, "--set=delta=-1e-05", "--set", "alpha=1+0.5j",
             "--set", "mu=-2E-1", "-o", out])
    ref = lindring.solve("ed", L=3, preset="minimal", alpha=1 + 0.5j, delta=-1e-05, mu=-0.2)
    with xr.open_dataset(out) as ds:
        assert (ds.attrs["delta_re"], ds.attrs["delta_im"]) == (-1e-05, 0.0)
        assert (ds.attrs["alpha_re"], ds.attrs["alpha_im"]) == (1.0, 0.5)
        assert ds.attrs["mu_re"] == -0.2
        assert ds.attrs["model_parameters_set"] == "alpha, delta, mu"
        np.testing.assert_allclose(ds.I_eta.values, ref.current_eta.values, rtol=0, atol=1e-12)
        np.testing.assert_allclose(ds.sz.values, ref.sz.values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("item, message", [
    ("--set=Alpha=1", "unknown parameter.*Alpha"),
    ("--set=alpha=1+", "cannot read '1\\+' as a number"),
    ("--set=alpha=", "write NAME=VALUE"),
    ("--set=alpha=nan", "not finite"),
    ("--set=alpha=1e999", "not finite"),
    ("--set=alpha=-1e-05*2", "cannot read"),
    ("--set=alpha=sqrt(2)", "cannot read"),
    ("--set=range=1.5", "'range' must be an integer"),
    ("--set=kappa=-1e-05", "'kappa' must be >= 0"),
    ("--set=mu=1j", "'mu' must be real"),
    ("--set=alpha=1e-300", "outside"),
])
def test_bad_set_values_exit_2_before_compute(tmp_path, item, message):
    out = tmp_path / "bad.nc"
    proc = run_cli(["solve", "-o", out, "--model", PAPER, "--L", 3, item], check=False)
    assert proc.returncode == 2, proc.stderr
    assert re.search(message, proc.stderr), proc.stderr
    if message != "write NAME=VALUE":       # the file and how the value was given are named
        name, value = item[len("--set="):].split("=", 1)
        assert f"error: --model {PAPER}: " in proc.stderr, proc.stderr
        assert f"(--set {name}={value})" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "[assemble]" not in proc.stderr
    assert not out.exists()


# ----------------------------------------------------------------------------- show
def test_show_prints_the_model_files_own_parameters(tmp_path):
    """``lindring show`` of a model-file point: the model's name and its parameters as the file
    holds them, none of the paper's (which the schema fills with NaN), no eta, no range."""
    out = tmp_path / "xxz.nc"
    run_cli(["solve", "--model", XXZ, "--bc", "open", "--L", 3, "--set=Delta=-1e-05",
             "--set", "drive=0.25", "-o", out])
    text = run_cli(["show", out]).stdout
    with xr.open_dataset(out) as ds:
        attrs = ds.attrs
        assert np.isnan(attrs["alpha_re"])           # the schema's fill, not the model's
        assert "model: boundary_driven_xxz (file " in text and attrs["model_sha256"][:12] in text
        line = next(l for l in text.splitlines() if l.strip().startswith("parameters:"))
        assert line.strip() == "parameters: J = 1, Delta = -1e-05, Gamma = 1, drive = 0.25"
        assert "set: Delta, drive" in text
        assert not re.search(r"\bnan\b", text, re.I) and "eta =" not in text and "range" not in text
        j_line = next(l for l in text.splitlines() if l.strip().startswith("j_spin "))
        assert float(re.findall(r"[-+]?\d\.\d+(?:e[-+]\d+)?", j_line)[0]) == \
            pytest.approx(float(ds.j_spin.mean()), rel=1e-5)
    paper = tmp_path / "paper.nc"
    run_cli(["solve", "--model", PAPER, "--L", 3, "--set", "alpha=1+0.5j", "-o", paper])
    line = next(l for l in run_cli(["show", paper]).stdout.splitlines()
                if l.strip().startswith("parameters:"))
    assert line.strip() == ("parameters: J0 = 0, phi = 0, lam = 0, mu = 1, kappa = 0, eps_x = 0, "
                            "eps_zz = 0, alpha = 1+0.5j, delta = 1.5, beta = 1.5, gamma = 1-0.5j, "
                            "range = 1")


# ----------------------------------------------------------------------------- ED and MPO
DEPHASING = """
name: dephasing_xx
parameters: {J: 1, gamma: 0.5}
hamiltonian:
  - {name: hop, sum: [[J, sx_0 sx_1], [J, sy_0 sy_1]]}
jumps:
  - {name: dephase, sum: [["sqrt(gamma)", sz_0]]}
correlations:
  - {name: G_pm, left: sp, right: sm}
"""


def test_ed_and_mpo_take_the_same_nonunique_decision_on_a_model_file(tmp_path):
    """Dephasing conserves the magnetisation: every sector of it has a steady state, the kernel
    has dimension L + 1. ED and MPO both say not unique, write NaN, and the same variables of the
    model (dims included)."""
    path = tmp_path / "dephasing xx.yaml"
    path.write_text(DEPHASING)
    ed = lindring.solve("ed", L=3, bc="open", model=path)
    mpo = lindring.solve("mpo", L=3, bc="open", model=path, chi=8)
    assert ed.attrs["unique"] == mpo.attrs["unique"] == 0
    assert int(ed.kernel_dim) >= 2 and int(mpo.kernel_dim) >= 2
    for name in ("sz", "G_pm_re", "G_pm_im", "purity"):
        assert ed[name].dims == mpo[name].dims
        assert np.isnan(ed[name].values).all() and np.isnan(mpo[name].values).all(), name
    from lindring.core.schema import VARIABLES
    own = [{v for v in ds.data_vars if v not in VARIABLES} for ds in (ed, mpo)]
    assert own[0] == own[1] == {"G_pm_re", "G_pm_im"}


def test_complex_correlation_by_mpo_against_ed(tmp_path):
    """<sp_0 sm_d> of the boundary-driven XXZ chain: its imaginary part carries the current
    (at d = 1, j_spin_0 = -8 Im<sp_0 sm_1>), and a connected <sm_1 sp_1+d> from the second
    site, by MPO against ED, both parts to 1e-9 (ED's complex correlations are checked against
    the dense reference in tests/unit/test_modelfile.py)."""
    path = tmp_path / "xxz.yaml"
    path.write_text(XXZ.read_text() + "  - {name: G_pm, left: sp, right: sm}\n"
                    "  - {name: G_mp, left: sm, right: sp, site: 1, connected: true}\n")
    values = dict(J=0.8, Delta=0.6, Gamma=1.3, drive=0.4)
    ed = lindring.solve("ed", L=4, bc="open", model=path, parameters=values)
    mpo = lindring.solve("mpo", L=4, bc="open", model=path, parameters=values, chi=16)
    assert ed.attrs["unique"] == mpo.attrs["unique"] == 1
    for name in ("G_pm_re", "G_pm_im", "G_mp_re", "G_mp_im", "C_zz", "j_spin"):
        assert mpo[name].dims == ed[name].dims
        np.testing.assert_allclose(mpo[name].values, ed[name].values, rtol=0, atol=1e-9)
    # the operator identity 2 (sx_0 sy_1 - sy_0 sx_1) = 4i (sp_0 sm_1 - sm_0 sp_1), so that
    # <j_spin_0> = -8 Im<sp_0 sm_1> (MODEL.md's sp, sm)
    assert float(ed.j_spin[0]) == pytest.approx(-8 * float(ed.G_pm_im[0]), abs=1e-12)
    assert abs(float(ed.G_pm_im[0])) > 1e-3
    # one distance dimension for the file: d = 3 from site 1 leaves the chain of 4 sites (NaN)
    for ds in (ed, mpo):
        assert list(ds.distance.values) == [1, 2, 3]
        assert np.isnan(ds.G_mp_re.values[2]) and np.isfinite(ds.G_mp_re.values[:2]).all()
        assert np.isfinite(ds.C_zz.values).all()
    assert np.abs(ed.G_mp_im.values[:2]).max() > 1e-3
    assert float(mpo.imag_error) < 1e-8     # the complex parts do not count as rounding
