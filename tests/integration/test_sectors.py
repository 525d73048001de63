"""Symmetry sectors of the Liouvillian (parity, momentum): the bases, the sector matrices against the
independent dense Liouvillian, observables against the full-space path, and refused symmetries."""
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sps

from conftest import run_cli
from dense_reference import dense_liouvillian
from lindring.core import model
from lindring.core.basis import (SectorBasis, make_basis, momentum_sector_size, resolve_symmetry,
                            rowmajor_to_words)
from lindring.solvers.liouvillian import local_terms, rows_block
from lindring.solvers.methods import run_ed

SECTORS = ("parity", "momentum", "parity+momentum")
#: every term that keeps parity, complex where the model allows it (eps_x = 0)
PARITY_FULL = dict(J0=0.7 + 0.2j, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_zz=0.2,
                   alpha=1.3 + 0.4j, beta=0.35 - 0.2j, gamma=0.6 + 0.5j, delta=0.9 - 0.3j)
MINIMAL = dict(preset="minimal", alpha=2.0, delta=1.5)


def _brute_force_orbits(L, parity):
    """Translation orbits of all words by explicit digit rotation (independent of basis.py)."""
    seen, orbits = set(), []
    for w in range(4 ** L):
        if w in seen:
            continue
        digits = [(w >> (2 * (L - 1 - j))) & 3 for j in range(L)]
        if parity and sum(d in (1, 2) for d in digits) % 2:
            continue
        orbit = {sum(digits[(j + m) % L] << (2 * (L - 1 - j)) for j in range(L)) for m in range(L)}
        seen |= orbit
        orbits.append(sorted(orbit))
    return orbits


@pytest.mark.parametrize("L", [2, 3, 4, 5, 6])
def test_bases_enumerate_and_locate(L):
    orbits = _brute_force_orbits(L, parity=True)
    b = SectorBasis(L, parity=True, momentum=True)
    assert b.size == len(orbits) == momentum_sector_size(L)
    np.testing.assert_array_equal(b.reps, [o[0] for o in orbits])
    np.testing.assert_array_equal(b.orbit, [len(o) for o in orbits])
    assert momentum_sector_size(L, parity=False) == len(_brute_force_orbits(L, parity=False))
    for name in SECTORS:
        basis = make_basis(L, name)
        idx = np.arange(basis.size)
        back, coef = basis.locate(basis.words(idx))
        np.testing.assert_array_equal(back, idx)
        assert np.all(coef > 0)
    parity = make_basis(L, "parity")
    even = [w for w in range(4 ** L)
            if sum(((w >> (2 * j)) & 3) in (1, 2) for j in range(L)) % 2 == 0]
    np.testing.assert_array_equal(parity.words(np.arange(parity.size)), even)
    odd = np.setdiff1d(np.arange(4 ** L), even)
    assert np.all(parity.locate(odd)[1] == 0)


def _isometry(basis, L):
    """V with V[:, i] = the full-space vector of sector basis vector i (via ``expand``)."""
    V = np.zeros((4 ** L, basis.size), dtype=complex)
    for i in range(basis.size):
        w, v = basis.expand(np.array([i]), np.array([1.0]))
        V[w, i] = v
    return V


CASES = [(3, "ring", 1, PARITY_FULL), (4, "ring", 1, PARITY_FULL), (5, "ring", 1, PARITY_FULL),
         (4, "open", 1, PARITY_FULL), (5, "ring", 2, PARITY_FULL), (4, "ring", 1, MINIMAL),
         (4, "ring", 1, dict(PARITY_FULL, eps_x=0.3))]


@pytest.mark.parametrize("L,bc,rng,kw", CASES)
def test_sector_matrix_is_the_dense_liouvillian_restricted(L, bc, rng, kw):
    """L V = V A: the sector is invariant and A is the Liouvillian on it (dense reference)."""
    p = model.make_params(L, bc=bc, range=rng, **kw)
    perm = rowmajor_to_words(L)
    dense_kw = {k: getattr(p, k) for k in ("J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz",
                                           "alpha", "beta", "gamma", "delta")}
    Lw = dense_liouvillian(L, bc, range=rng, **dense_kw)[np.ix_(perm, perm)]
    has_parity, has_momentum = p.eps_x == 0, bc == "ring"
    for name in SECTORS:
        if ("parity" in name and not has_parity) or ("momentum" in name and not has_momentum):
            with pytest.raises(ValueError, match="does not hold"):
                resolve_symmetry(p, name)
            continue
        basis = make_basis(L, resolve_symmetry(p, name))
        A = rows_block(p, basis, np.arange(basis.size), local_terms(p)).toarray()
        V = _isometry(basis, L)
        np.testing.assert_allclose(V.conj().T @ V, np.eye(basis.size), atol=1e-13)
        np.testing.assert_allclose(Lw @ V, V @ A, atol=1e-12, err_msg=name)
        # the trace functional: Tr rho = sum_i w_i x_i for rho = V x
        idx, w = basis.trace_support()
        diag = np.flatnonzero(perm % (2 ** L + 1) == 0)     # words of rho[s, s]
        tr = np.zeros(basis.size)
        tr[idx] = w
        np.testing.assert_allclose(tr, V[diag].sum(axis=0).real, atol=1e-13)


OBS = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair",
       "negativity_half", "min_eigenvalue", "residual")


def _ed(p, **kw):
    """The matrix-unit path (the complex one, and the fallback of the Pauli path; the Pauli
    sectors: test_pauli.py)."""
    data, attrs = run_ed(p, **dict(dict(basis="matrix-units"), **kw))
    return {k: v for k, (_, v) in data.items()}, attrs


@pytest.mark.parametrize("L,bc,rng,kw", [
    (3, "ring", 1, PARITY_FULL), (4, "ring", 1, PARITY_FULL), (5, "ring", 2, PARITY_FULL),
    (6, "ring", 1, MINIMAL), (5, "open", 1, PARITY_FULL), (6, "open", 1, MINIMAL),
    (4, "ring", 1, dict(PARITY_FULL, eps_x=0.3)),
])
def test_sector_observables_equal_full_space(L, bc, rng, kw):
    p = model.make_params(L, bc=bc, range=rng, **kw)
    full, fattrs = _ed(p, solver="direct", symmetry="none")
    sect, sattrs = _ed(p, solver="direct", symmetry="auto")
    assert fattrs["symmetry"] == "none"
    expect = {(True, True): "parity+momentum", (True, False): "parity",
              (False, True): "momentum"}[(p.eps_x == 0, bc == "ring")]
    if kw is MINIMAL:          # real alpha, delta: mirror-symmetric too (test_pauli.py)
        expect += "+reflection"
    assert sattrs["symmetry"] == expect
    assert sattrs["basis_size"] < fattrs["basis_size"]
    for k in OBS[:-1]:
        np.testing.assert_allclose(sect[k], full[k], atol=1e-10, rtol=0, err_msg=k)
    assert sect["residual"] < 1e-12 and sect["kernel_dim"] == full["kernel_dim"] == 1


@pytest.mark.parametrize("L,bc,sym", [(8, "ring", "parity+momentum"), (7, "open", "parity")])
def test_sector_observables_equal_full_space_L7_8(L, bc, sym):
    """The largest sizes of the issue (iterative solver, residual refined to 1e-13)."""
    from lindring.solvers.steady import Tolerances
    p = model.make_params(L, bc=bc, **MINIMAL)
    kw = dict(check_unique=False, tol=Tolerances(residual_target=1e-13))
    full, _ = _ed(p, solver="iterative", symmetry="none", **kw)
    sect, attrs = _ed(p, symmetry=sym, **kw)
    assert attrs["symmetry"] == sym
    for k in OBS[:-1]:
        np.testing.assert_allclose(sect[k], full[k], atol=1e-10, rtol=0, err_msg=k)


def test_dark_state_of_even_ring_is_seen_in_the_sector():
    """theta = 0 (delta = 0): the momentum-pi magnon is dark; |psi><psi| is even and at momentum
    zero, in the sector of the vacuum, so the sector's kernel is two-dimensional."""
    p = model.make_params(4, bc="ring", preset="minimal", alpha=1.0, delta=0.0)
    obs, attrs = _ed(p, solver="direct", symmetry="parity+momentum")
    assert obs["kernel_dim"] == 2 and attrs["unique"] == 0
    assert "momentum-zero" in attrs["spectrum_sector"]
    assert np.isnan(obs["current_eta"]).all()


def test_sector_gap_is_the_dense_gap_within_the_sector():
    """The gap in a sector (gap_sectors = solved) is that of the dense Liouvillian restricted to
    it (V^+ L V), which can be larger than the full-space gap: the slowest mode may live in
    another sector, where the default (all sectors) finds it."""
    L = 4
    p = model.make_params(L, bc="ring", **MINIMAL)
    basis = make_basis(L, "parity+momentum")
    V = _isometry(basis, L)
    perm = rowmajor_to_words(L)
    Lw = dense_liouvillian(L, "ring", mu=1.0, alpha=2, delta=1.5, gamma=2, beta=1.5)
    Lw = Lw[np.ix_(perm, perm)]
    ev = np.linalg.eigvals(V.conj().T @ Lw @ V)
    ev = ev[np.abs(ev) > 1e-8]
    obs, attrs = _ed(p, solver="direct", symmetry="parity+momentum", gap=True,
                     gap_sectors="solved")
    assert obs["gap"] == pytest.approx(-ev.real.max(), abs=1e-8)
    full_ev = np.linalg.eigvals(Lw)
    full_ev = full_ev[np.abs(full_ev) > 1e-8]
    assert -full_ev.real.max() < obs["gap"] - 1e-3      # this model: the slowest mode is elsewhere
    every, _ = _ed(p, solver="direct", symmetry="parity+momentum", gap=True)   # all sectors
    assert every["gap"] == pytest.approx(-full_ev.real.max(), abs=1e-8)


@pytest.mark.parametrize("kw,sym,message", [
    (dict(bc="ring", eps_x=0.1), "parity", "eps_x = 0.1 breaks parity"),
    (dict(bc="open"), "momentum", "open chain has no translation symmetry"),
    (dict(bc="open"), "parity+momentum", "open chain has no translation symmetry"),
    (dict(bc="ring"), "spin-flip", "unknown symmetry"),
])
def test_symmetry_that_does_not_hold_is_refused(kw, sym, message):
    p = model.make_params(4, alpha=1, delta=0.5, **kw)
    with pytest.raises(ValueError, match=message):
        resolve_symmetry(p, sym)


def test_cli_refuses_a_broken_symmetry_before_compute(tmp_path):
    out = tmp_path / "bad.nc"
    proc = run_cli(["solve", "--L", 4, "--alpha", 1, "--delta", 0.5, "--eps-x", 0.1,
                    "--symmetry", "parity", "-o", out], check=False)
    assert proc.returncode == 2
    assert "eps_x = 0.1 breaks parity" in proc.stderr and "[assemble]" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bc", ["ring", "open"])
def test_sector_one_and_two_ranks_agree(tmp_path, bc):
    import xarray as xr
    args = ["solve", "--bc", bc, "--L", 6, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
            "--solver", "iterative"]
    res = {}
    for ranks in (1, 2):
        out = tmp_path / f"{ranks}.nc"
        run_cli([*args, "-o", out], ranks=ranks if ranks > 1 else None)
        with xr.open_dataset(out) as ds:
            res[ranks] = ds.load()
    assert res[2].attrs["symmetry"] == ("parity+momentum" if bc == "ring" else "parity") \
        + "+reflection"
    for k in ("current_eta", "sz", "purity", "negativity_half", "min_eigenvalue"):
        np.testing.assert_allclose(res[2][k].values, res[1][k].values, atol=1e-9, err_msg=k)


def test_study_symmetry_key_reaches_the_command_and_is_checked():
    from lindring.workflow.studies import StudyError, expand_study
    st = dict(methods=["ed", "cmf"], bc="ring", L=[4], preset="minimal",
              grid=dict(alpha=[2.0], delta=[1.5]))
    default = expand_study("s", st)
    assert not any(a.startswith("--symmetry") for a in default[0].cli_args())  # auto: the default
    off = expand_study("s", dict(st, symmetry="none"))
    assert "--symmetry=none" in off[0].cli_args()
    assert not any(a.startswith("--symmetry") for a in off[1].cli_args())  # cmf has no sectors
    with pytest.raises(StudyError, match="breaks parity"):
        no_preset = {k: v for k, v in st.items() if k != "preset"}  # (preset: null is refused)
        expand_study("s", dict(no_preset, symmetry="parity", fixed=dict(eps_x=0.1),
                               grid=dict(alpha=[1.0], delta=[0.5])))
