"""Issue 15: the iterative ED solve converges across parameter regimes (weak dissipation, local
decay only, near balance, small rates, the general model of the issue), preconditioned by the
inverse of the no-jump Liouvillian (lindring.solvers.heff). Right values: the independent dense
reference (SVD null vector). Under block-Jacobi ILU(0) these points took thousands of GMRES
iterations or stagnated (benchmarks/README.md, "Parameter regimes")."""
import numpy as np
import pytest
import xarray as xr

from conftest import run_cli
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state, minimal_params
from lindring.core import model
from lindring.solvers.methods import run_ed

GENERAL = dict(J0=5.0, phi=1.2, lam=1 + 0.5j, mu=0.5, kappa=0.1, eps_x=0.3, eps_zz=0.5,
               alpha=0.1 + 0.1j, delta=0.1)
#: name -> (lindring parameters, dense-reference parameters)
REGIMES = {
    "weak dissipation J0/rate 100": (dict(preset="minimal", alpha=1.0, delta=0.75, J0=100.0, phi=0.8),
                                     dict(minimal_params(1.0, 0.75), J0=100.0, phi=0.8)),
    "general model of the issue": (GENERAL, dict(GENERAL, beta=0, gamma=0)),
    "local decay only": (dict(J0=2.0, phi=0.7, mu=1.0, kappa=0.2, eps_x=0.5, eps_zz=0.5),
                         dict(J0=2.0, phi=0.7, mu=1.0, kappa=0.2, eps_x=0.5, eps_zz=0.5)),
    "near balance": (dict(preset="minimal", alpha=5.0, delta=5.2), minimal_params(5.0, 5.2)),
    "small rates": (dict(preset="minimal", alpha=0.2, delta=0.05), minimal_params(0.2, 0.05)),
}


def dense(L, bc, kw):
    rho, kernel = dense_steady_state(dense_liouvillian(L, bc, **kw), tol=1e-12)
    assert kernel == 1
    return dense_observables(rho, L, bc, **kw)


@pytest.mark.parametrize("name", list(REGIMES))
@pytest.mark.parametrize("L,bc", [(4, "ring"), (5, "open")])
def test_iterative_solve_converges_in_every_regime(name, L, bc):
    ours_kw, dense_kw = REGIMES[name]
    p = model.make_params(L, bc=bc, **ours_kw)
    data, attrs = run_ed(p, solver="iterative", preconditioner="heff")
    assert attrs["preconditioner"] == "heff" and attrs["pc_type"] == "python"
    assert attrs["unique"] == 1
    ref = dense(L, bc, dense_kw)
    for k in ("sz", "current_eta", "current_J"):
        np.testing.assert_allclose(data[k][1], ref[k], atol=1e-8, err_msg=k)


def test_auto_falls_back_from_ilu_to_heff(monkeypatch):
    """preconditioner = auto below the coherent-dominated ratio: ILU(0) first; where it has not
    converged within its budget (here forced: 2 iterations at the paper's point, open L = 5) heff
    takes over, and the iterations spent are counted and said."""
    from lindring.solvers import methods
    monkeypatch.setattr(methods, "ILU_BUDGET", 2)
    p = model.make_params(5, bc="open", preset="minimal", alpha=2.0, delta=1.5)
    data, attrs = run_ed(p, solver="iterative")
    assert attrs["preconditioner"] == "heff" and attrs["failed_attempt_iterations"] == 2
    assert attrs["solver_iterations"] > 2
    assert attrs["preconditioner_choice"].startswith("auto: ilu first")
    ref = dense(5, "open", minimal_params(2.0, 1.5))
    np.testing.assert_allclose(data["current_eta"][1], ref["current_eta"], atol=1e-8)


@pytest.mark.parametrize("name,expected", [("weak dissipation J0/rate 100", "heff"),
                                           ("general model of the issue", "heff"),
                                           ("local decay only", "heff"),
                                           ("near balance", "ilu"), ("small rates", "heff")])
def test_auto_skips_ilu_where_coherent_terms_dominate(name, expected):
    """preconditioner = auto takes heff alone from the coherent-dominated ratio on (largest
    coupling / largest jump rate >= HEFF_FIRST_RATIO: no ILU iteration spent), ILU(0) first
    below it; the file says which and why; the state equals the dense one either way."""
    from lindring.solvers.methods import HEFF_FIRST_RATIO
    ours_kw, dense_kw = REGIMES[name]
    p = model.make_params(5, bc="open", **ours_kw)
    assert (model.coherence_ratio(p) >= HEFF_FIRST_RATIO) == (expected == "heff")
    data, attrs = run_ed(p, solver="iterative")
    assert attrs["preconditioner"] == expected
    choice = attrs["preconditioner_choice"]
    if expected == "heff":
        assert attrs["failed_attempt_iterations"] == 0
        assert choice.startswith("auto: heff directly, coherent-dominated")
    else:
        assert choice.startswith("auto: ilu first")
    assert "largest coupling / largest jump rate" in choice
    ref = dense(5, "open", dense_kw)
    for k in ("sz", "current_eta", "current_J"):
        np.testing.assert_allclose(data[k][1], ref[k], atol=1e-8, err_msg=k)


def test_auto_plan_by_size_and_name():
    """heff is not taken where it is not affordable (L = 11), whatever the regime; a named
    preconditioner is taken as asked."""
    from lindring.solvers.methods import preconditioner_plan
    weak = dict(preset="minimal", alpha=1.0, delta=0.75, J0=100.0, phi=0.8)
    chain, why = preconditioner_plan("auto", model.make_params(11, bc="ring", **weak))
    assert chain == ["ilu"] and "not affordable" in why
    assert preconditioner_plan("ilu", model.make_params(4, bc="ring", **weak)) == \
        (["ilu"], "ilu: asked for")


@pytest.mark.parametrize("basis", ["pauli", "matrix-units"])
def test_heff_in_both_operator_bases(basis):
    """The preconditioner maps Pauli strings to matrix units and back (Pauli basis, issue 14):
    the same dense state in both bases, weak dissipation on a ring (momentum sector)."""
    ours_kw, dense_kw = REGIMES["weak dissipation J0/rate 100"]
    p = model.make_params(4, bc="ring", **ours_kw)
    data, attrs = run_ed(p, solver="iterative", preconditioner="heff", basis=basis)
    assert attrs["operator_basis"] == basis and attrs["preconditioner"] == "heff"
    ref = dense(4, "ring", dense_kw)
    np.testing.assert_allclose(data["current_eta"][1], ref["current_eta"], atol=1e-8)
    np.testing.assert_allclose(data["sz"][1], ref["sz"], atol=1e-8)


def test_ilu_still_chosen_by_name():
    """--preconditioner ilu: block Jacobi as before, the same state at the paper's point."""
    p = model.make_params(4, bc="ring", preset="minimal", alpha=2.0, delta=1.5)
    data, attrs = run_ed(p, solver="iterative", preconditioner="ilu")
    assert attrs["preconditioner"] == "ilu" and attrs["pc_type"] == "bjacobi"
    ref = dense(4, "ring", minimal_params(2.0, 1.5))
    np.testing.assert_allclose(data["current_eta"][1], ref["current_eta"], atol=1e-9)


def test_preconditioner_on_two_ranks(tmp_path):
    """The preconditioner gathers to rank 0 and scatters back: 2 ranks give the dense state
    (weak dissipation, open L = 5, parity sector)."""
    ours_kw, dense_kw = REGIMES["weak dissipation J0/rate 100"]
    out = tmp_path / "two.nc"
    args = ["solve", "--bc", "open", "--L", 5, "--solver", "iterative", "-o", out]
    for k, v in ours_kw.items():
        args += [f"--{k.replace('_', '-')}={v}"]
    run_cli(args, ranks=2)
    ref = dense(5, "open", dense_kw)
    with xr.open_dataset(out) as ds:
        assert ds.attrs["mpi_ranks"] == 2 and ds.attrs["preconditioner"] == "heff"
        np.testing.assert_allclose(ds.current_eta.values, ref["current_eta"], atol=1e-8)
        np.testing.assert_allclose(ds.sz.values, ref["sz"], atol=1e-8)


@pytest.mark.parametrize("basis", ["pauli", "matrix-units"])
def test_heff_with_a_model_file(basis):
    """The preconditioner builds H_eff from a model file's own terms (issue 16): the boundary-
    driven XXZ chain solved iteratively with heff equals its direct (LU) solve, itself tested
    against the dense reference and the XX closed form (tests/unit/test_modelfile.py)."""
    from pathlib import Path
    from lindring.core.modelfile import build, load
    path = Path(__file__).resolve().parents[2] / "models" / "boundary_driven_xxz.yaml"
    p = build(load(path), L=5, bc="open", values={"Delta": 0.5, "drive": 0.2})
    it, attrs = run_ed(p, solver="iterative", preconditioner="heff", basis=basis)
    assert attrs["preconditioner"] == "heff"
    lu, _ = run_ed(p, solver="direct", basis="matrix-units")
    np.testing.assert_allclose(it["sz"][1], lu["sz"][1], atol=1e-9)
    np.testing.assert_allclose(it["j_spin"][1], lu["j_spin"][1], atol=1e-9)



def test_auto_falls_back_to_the_direct_solver_where_it_fits():
    """issue 15: ``--solver auto`` that ends up iterative (open L = 7 with a flux: parity sector
    of 8192 rows) and whose every preconditioner fails (here forced: at most 3 GMRES iterations)
    solves by LU where the LU fits, says so (``direct_fallback``) and gives the state of the
    direct solver asked for by name; an explicit ``--solver iterative`` does not fall back."""
    from lindring.solvers.methods import Tolerances
    from lindring.solvers.steady import SolverError
    p = model.make_params(7, bc="open", preset="minimal", alpha=2.0, delta=1.5, J0=3.0, phi=0.7)
    tight = Tolerances(max_it=3, sinvert_max_rows=10 ** 6)
    data, attrs = run_ed(p, solver="auto", tol=tight)
    assert attrs["solver"] == "direct" and attrs["direct_fallback"]
    assert attrs["unique"] == 1 and attrs["basis_size"] > 4 ** 6
    ref, ref_attrs = run_ed(p, solver="direct")
    assert ref_attrs["direct_fallback"] == ""
    for k in ("sz", "current_eta", "current_J"):
        np.testing.assert_allclose(data[k][1], ref[k][1], atol=1e-10)
    with pytest.raises(SolverError):
        run_ed(p, solver="iterative", tol=tight)
