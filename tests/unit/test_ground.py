"""Tests of the ``ground`` method (App. B, Fig. 7) against physics derived independently of the code.

Free-fermion reference (lam = eps_x = eps_zz = 0). Jordan-Wigner ``sm_j = prod_{l<j} (-1)^{n_l} c_j``
gives ``sp_b sm_{b+1} = c_b^+ c_{b+1}`` inside the chain and, on the closing bond of the ring,
``sp_{L-1} sm_0 = (-1)^(N-1) c_{L-1}^+ c_0`` with N the particle number (the string counts the N-1
particles left after ``c_0``). So ``c_L = (-1)^(N-1) c_0``: periodic momenta ``k = 2 pi m / L`` for odd
N, antiperiodic ``k = 2 pi (m + 1/2) / L`` for even N. With ``c_j = L^(-1/2) sum_k e^{ikj} c_k``,
``H = sum_k e_k n_k``, ``e_k = J e^{ik} + conj(J) e^{-ik} + mu = 2 |J0| cos(k + arg J0 + phi/L) + mu``.
In an eigenstate with occupied set K: ``<c_b^+ c_{b+1}> = (1/L) sum_K e^{ik}``, so
``<I_J> = -4 Im(J <sp_b sm_{b+1}>) = -(4/L) sum_K Im(J e^{ik})`` (= 2 dE/dphi), ``sz = 2N/L - 1``, and
the pair (0, 1) (no string) has the fermionic correlation matrix ``C_ij = (1/L) sum_K e^{ik(j-i)}``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lindring.solvers.ground import ground_observables, hamiltonian
from lindring.core.model import make_params


# ----------------------------------------------------------------------------- free fermions
def _momenta(L, N):
    shift = 0.0 if N % 2 == 1 else 0.5
    return 2 * np.pi * (np.arange(L) + shift) / L


def _ff_levels(L, J, mu):
    """All 2^L many-body levels: (energy, N, occupied momenta)."""
    out = []
    for N in range(L + 1):
        k = _momenta(L, N)
        e = 2 * np.real(J * np.exp(1j * k)) + mu
        for occ in itertools.combinations(range(L), N):
            occ = list(occ)
            out.append((float(np.sum(e[occ])), N, k[occ]))
    out.sort(key=lambda t: t[0])
    return out


def _binary_entropy(nu):
    return sum(-x * math.log(x) for x in (nu, 1 - nu) if x > 1e-15)


def _ff_ground(L, J, mu):
    levels = _ff_levels(L, J, mu)
    E0, N, K = levels[0]
    current = -4.0 / L * float(np.sum(np.imag(J * np.exp(1j * K))))
    C = np.array([[np.sum(np.exp(1j * K * (j - i))) / L for j in range(2)] for i in range(2)])
    S = sum(_binary_entropy(float(nu)) for nu in np.linalg.eigvalsh(C))
    return dict(E0=E0, gap=levels[1][0] - E0, N=N, current=current, sz=2 * N / L - 1, S=S,
                degeneracy=sum(1 for lev in levels if lev[0] - E0 < 1e-9), spectrum=[l[0] for l in levels])


@pytest.mark.parametrize("L", [4, 5, 6])
def test_free_fermion_ring(L):
    n_compared = n_degenerate = 0
    for J0 in (1.0, 0.8, -0.6, 0.7 * np.exp(0.3j)):
        for phi in (-2.5, -0.7, 0.0, 0.4, 1.3, 3.0, np.pi):
            for mu in (0.0, -0.9, 0.6, 1.7, 3.0):
                p = make_params(L, J0=J0, phi=phi, mu=mu)
                ff = _ff_ground(L, p.J, mu)
                # the whole many-body spectrum, not only the ground level
                ev = np.linalg.eigvalsh(hamiltonian(p).toarray())
                np.testing.assert_allclose(ev, ff["spectrum"], atol=1e-10)
                data, attrs = ground_observables(p)
                assert abs(data["energy"][1] - ff["E0"]) < 1e-10
                if ff["gap"] > 1e-6:
                    n_compared += 1
                    assert data["degeneracy"][1] == 1 and attrs["degenerate"] == 0
                    assert abs(attrs["gap"] - ff["gap"]) < 1e-10
                    assert data["current_J"][0] == ("bond",)
                    np.testing.assert_allclose(data["current_J"][1], ff["current"], atol=1e-10)
                    np.testing.assert_allclose(data["current_J_mixed"][1], ff["current"], atol=1e-10)
                    np.testing.assert_allclose(data["sz"][1], ff["sz"], atol=1e-10)
                    assert abs(data["entropy_pair"][1] - ff["S"]) < 1e-10
                else:
                    assert ff["gap"] < 1e-12
                    n_degenerate += 1
                    assert data["degeneracy"][1] == ff["degeneracy"] > 1
                    assert attrs["degenerate"] == 1
                    assert np.all(np.isnan(data["current_J"][1]))
                    assert np.isnan(data["entropy_pair"][1])
                    assert np.all(np.isfinite(data["current_J_mixed"][1]))
    assert n_compared > 50 and n_degenerate > 0


def test_sparse_path_free_fermions(monkeypatch):
    """The eigsh path (forced at L = 7, 8 by lowering the dense threshold) against free fermions,
    including the degenerate point L = 8, J0 = 1, mu = 0, phi = pi (half filling, antiperiodic
    k + pi/8 on multiples of pi/4: the fourth fermion can take either of two zero modes)."""
    import lindring.solvers.ground as ground
    monkeypatch.setattr(ground, "DENSE_MAX_DIM", 16)
    for L, J0, phi, mu in ((7, 1.0, 0.9, 0.35), (8, 0.8, -1.3, -0.4), (8, 1.0, np.pi, 0.0)):
        p = make_params(L, J0=J0, phi=phi, mu=mu)
        ff = _ff_ground(L, p.J, mu)
        data, attrs = ground_observables(p)
        assert attrs["solver"].startswith("eigsh")
        assert abs(data["energy"][1] - ff["E0"]) < 1e-9
        assert data["degeneracy"][1] == ff["degeneracy"]
        if ff["degeneracy"] == 1:
            np.testing.assert_allclose(data["current_J"][1], ff["current"], atol=1e-8)
            np.testing.assert_allclose(data["sz"][1], ff["sz"], atol=1e-8)
            assert abs(data["entropy_pair"][1] - ff["S"]) < 1e-8
        else:
            assert ff["degeneracy"] == 2 and attrs["degenerate"] == 1
            assert np.all(np.isnan(data["current_J"][1]))
            np.testing.assert_allclose(data["current_J_mixed"][1], 0, atol=1e-8)


@pytest.mark.parametrize("s", [1e-6, 1.0, 1e6])
def test_degeneracy_follows_the_energy_scale(s):
    """Scaling every coupling by s scales the spectrum: the degeneracy decision must not change.
    At phi = pi - 1e-6 the gap is 1e-6 |J0| (free fermions): unique at every scale (an absolute
    tolerance floor of 1e-8 called J0 = 1e-6 degenerate and wrote NaN); at phi = pi - 1e-10 the
    gap is 1e-10 |J0|, below the relative tolerance 1e-8: degenerate at every scale."""
    L = 4
    for phi, unique in ((np.pi - 1e-6, True), (np.pi - 1e-10, False), (0.3, True)):
        p = make_params(L, J0=s, phi=phi, mu=0.1 * s)
        ff = _ff_ground(L, p.J, 0.1 * s)
        data, attrs = ground_observables(p)
        assert (data["degeneracy"][1] == 1) == unique, (phi, data["degeneracy"][1], ff["gap"])
        if unique:
            np.testing.assert_allclose(data["current_J"][1] / s, ff["current"] / s, atol=1e-9)
            np.testing.assert_allclose(data["sz"][1], ff["sz"], atol=1e-9)
        else:
            assert np.all(np.isnan(data["current_J"][1]))


def test_a_degenerate_ground_state_is_said(caplog):
    """The crossing phi = pi (and H = 0): NaN observables and one warning, as the ed method says a
    non-unique steady state (it was silent); a unique ground state says nothing."""
    for p, g in ((make_params(4, J0=1.0, phi=np.pi), 2), (make_params(4), 16)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="lindring"):
            data, _ = ground_observables(p)
        said = [r.getMessage() for r in caplog.records if "degenerate ground state" in r.getMessage()]
        assert len(said) == 1 and said[0].startswith(f"degenerate ground state: {g} levels"), said
        assert data["degeneracy"][1] == g and np.all(np.isnan(data["current_J"][1]))
    caplog.clear()
    with caplog.at_level("WARNING", logger="lindring"):
        ground_observables(make_params(4, J0=1.0, phi=0.3))
    assert not caplog.records


@pytest.mark.slow
def test_free_fermion_sparse_solver_L13():
    """L = 13 (2^13 > 4096 states) goes through eigsh for real; compare with free fermions.
    (Fast on an idle machine; marked slow because threaded BLAS can crawl on a loaded one.)"""
    L, J0, phi, mu = 13, 1.0, 0.9, 0.35
    p = make_params(L, J0=J0, phi=phi, mu=mu)
    J = p.J
    best = []
    for N in range(L + 1):
        k = _momenta(L, N)
        e = 2 * np.real(J * np.exp(1j * k)) + mu
        order = np.argsort(e)
        best.append((float(np.sum(e[order[:N]])), N, k[order[:N]]))
    best.sort(key=lambda t: t[0])
    E0, N, K = best[0]
    assert best[1][0] - E0 > 1e-3
    data, attrs = ground_observables(p)
    assert attrs["solver"].startswith("eigsh")
    assert attrs["degeneracy"] == 1
    assert abs(data["energy"][1] - E0) < 1e-9
    current = -4.0 / L * float(np.sum(np.imag(J * np.exp(1j * K))))
    np.testing.assert_allclose(data["current_J"][1], current, atol=1e-8)
    np.testing.assert_allclose(data["sz"][1], 2 * N / L - 1, atol=1e-8)


# ----------------------------------------------------------------------------- Fig. 7
def test_fig7_L4_current_and_entropy():
    """L = 4, J0 = 1, mu = 0: half filling, occupied k + phi/4 = +-3pi/4 + phi/4, so
    E0 = -2 sqrt(2) cos(phi/4), <I_J> = sqrt(2) sin(phi/4) for |phi| < pi, reaching 1 at the
    crossing; C = [[1/2, -sqrt(2)/4], [-sqrt(2)/4, 1/2]] does not depend on phi, so S(rho_12) is
    flat (the point of Fig. 7)."""
    nu = 0.5 + math.sqrt(2) / 4
    S = 2 * _binary_entropy(nu)
    for phi in (-3.0, -1.0, 0.0, 0.5, 2.0, np.pi - 1e-4):
        data, attrs = ground_observables(make_params(4, J0=1.0, phi=phi))
        assert attrs["degenerate"] == 0
        assert abs(data["energy"][1] + 2 * math.sqrt(2) * math.cos(phi / 4)) < 1e-12
        np.testing.assert_allclose(data["current_J"][1], math.sqrt(2) * math.sin(phi / 4), atol=1e-12)
        # 1e-10: at phi = pi - 1e-4 the ground state is 1e-4 from the crossing, so its
        # eigenvector (and S) carries rounding of ~1e-16 / 1e-4 (seen: 1.1e-12)
        assert abs(data["entropy_pair"][1] - S) < 1e-10


# ----------------------------------------------------------------------------- symmetries
def test_current_periodic_and_odd_in_phi():
    # interacting but number conserving: the flux can be gauged around the ring, period 2 pi
    kw = dict(J0=1.0, mu=0.3, eps_zz=0.4)
    for L in (4, 5):
        for phi in (0.3, 1.1, 2.2):
            c = ground_observables(make_params(L, phi=phi, **kw))[0]["current_J"][1]
            assert abs(c[0]) > 1e-3
            for shift in (2 * np.pi, -2 * np.pi, 4 * np.pi):
                c2 = ground_observables(make_params(L, phi=phi + shift, **kw))[0]["current_J"][1]
                np.testing.assert_allclose(c2, c, atol=1e-10)
            cm = ground_observables(make_params(L, phi=-phi, **kw))[0]["current_J"][1]
            np.testing.assert_allclose(cm, -c, atol=1e-10)
    # oddness also holds with real lam and eps_x (H(-phi) = conj H(phi))
    kw = dict(J0=1.0, lam=0.5, mu=1.0, eps_x=0.2, eps_zz=-0.3)
    for phi in (0.4, 1.7):
        c = ground_observables(make_params(4, phi=phi, **kw))[0]["current_J"][1]
        cm = ground_observables(make_params(4, phi=-phi, **kw))[0]["current_J"][1]
        assert abs(c[0]) > 1e-4
        np.testing.assert_allclose(cm, -c, atol=1e-10)
    c0 = ground_observables(make_params(4, phi=0.0, **kw))[0]["current_J"][1]
    np.testing.assert_allclose(c0, 0, atol=1e-12)


def test_hellmann_feynman():
    """dH/dphi = sum_b I_J,b / (2L), so sum_b <I_J,b> = 2 L dE0/dphi (also with lam, eps_x, eps_zz)."""
    kw = dict(J0=0.9, lam=0.4, mu=0.7, eps_x=0.15, eps_zz=0.25)
    L, phi, h = 5, 0.8, 1e-5
    E = lambda f: float(ground_observables(make_params(L, phi=f, **kw))[0]["energy"][1])
    dE = (E(phi + h) - E(phi - h)) / (2 * h)
    c = ground_observables(make_params(L, phi=phi, **kw))[0]["current_J"][1]
    assert abs(np.sum(c) - 2 * L * dE) < 1e-7
    assert abs(np.sum(c)) > 1e-3


def test_open_chain_number_conserving_has_no_current():
    for L in (3, 5):
        data, _ = ground_observables(make_params(L, bc="open", J0=0.8, phi=1.2, mu=0.3, eps_zz=0.2))
        assert data["current_J"][1].shape == (L - 1,)
        np.testing.assert_allclose(data["current_J"][1], 0, atol=1e-12)


def test_basis_convention():
    # J0 = 0: the ground state is empty (mu > 0) or full (mu < 0)
    d = ground_observables(make_params(3, bc="open", mu=1.0, eps_zz=0.0))[0]
    np.testing.assert_allclose(d["sz"][1], -1)
    d = ground_observables(make_params(3, bc="open", mu=-1.0))[0]
    np.testing.assert_allclose(d["sz"][1], 1)


# ----------------------------------------------------------------------------- L = 2 open chain
def test_L2_open_odd_block():
    """One-excitation block (|01>, |10>): [[mu - ezz, conj J], [J, mu - ezz]], ground mu - ezz - |J|,
    state (|01> - e^{i arg J}|10>)/sqrt(2): sz = 0, no current, negativity 1/2, S = 0 (pure)."""
    J0, phi, mu, lam, ezz = 0.7 * np.exp(0.4j), 0.9, 0.2, 0.3, -0.1
    p = make_params(2, bc="open", J0=J0, phi=phi, mu=mu, lam=lam, eps_zz=ezz)
    R = math.hypot(mu, abs(lam))
    E_odd, E_even = mu - ezz - abs(p.J), mu + ezz - R
    assert E_odd < E_even - 0.1
    d, a = ground_observables(p)
    assert abs(d["energy"][1] - E_odd) < 1e-12
    assert abs(a["gap"] - (min(E_even, mu - ezz + abs(p.J)) - E_odd)) < 1e-12
    np.testing.assert_allclose(d["sz"][1], 0, atol=1e-12)
    np.testing.assert_allclose(d["current_J"][1], 0, atol=1e-12)
    assert abs(d["negativity_pair"][1] - 0.5) < 1e-12
    assert abs(d["purity_pair"][1] - 1) < 1e-12
    assert abs(d["entropy_pair"][1]) < 1e-10


def test_L2_open_even_block():
    """Block (|00>, |11>): [[ezz, conj lam], [lam, 2 mu + ezz]], ground mu + ezz - R,
    R = sqrt(mu^2 + |lam|^2); weight of |11> is (1 - mu/R)/2, so sz = -mu/R, negativity |lam|/(2R)."""
    J0, phi, mu, lam, ezz = 0.3, 0.5, 0.6, 0.8 * np.exp(1.0j), -0.4
    p = make_params(2, bc="open", J0=J0, phi=phi, mu=mu, lam=lam, eps_zz=ezz)
    R = math.hypot(mu, abs(lam))
    E_odd, E_even = mu - ezz - abs(p.J), mu + ezz - R
    assert E_even < E_odd - 0.1
    d, a = ground_observables(p)
    assert abs(d["energy"][1] - E_even) < 1e-12
    np.testing.assert_allclose(d["sz"][1], -mu / R, atol=1e-12)
    np.testing.assert_allclose(d["current_J"][1], 0, atol=1e-12)
    assert abs(d["negativity_pair"][1] - abs(lam) / (2 * R)) < 1e-12
    assert abs(d["entropy_pair"][1]) < 1e-10


def test_L2_open_triple_crossing():
    """|J| = 1, lam = mu = 0, eps_zz = -1/2: (|01> - e^{i phi/2}|10>)/sqrt 2, |00> and |11> all at
    E = -1/2. The mixture of the three has sz = 0, purity 1/3, S = ln 3, current 0, negativity 0."""
    p = make_params(2, bc="open", J0=1.0, phi=0.7, eps_zz=-0.5)
    d, a = ground_observables(p)
    assert d["degeneracy"][1] == 3 and a["degenerate"] == 1
    assert abs(d["energy"][1] + 0.5) < 1e-12
    assert abs(a["gap"]) < 1e-12 and abs(a["gap_above_ground_level"] - 2.0) < 1e-12
    for name in ("current_J", "sz", "entropy_pair", "purity_pair", "negativity_pair"):
        assert np.all(np.isnan(d[name][1]))
    np.testing.assert_allclose(d["sz_mixed"][1], 0, atol=1e-12)
    np.testing.assert_allclose(d["current_J_mixed"][1], 0, atol=1e-12)
    assert abs(d["purity_pair_mixed"][1] - 1 / 3) < 1e-12
    assert abs(d["entropy_pair_mixed"][1] - math.log(3)) < 1e-10
    # rho = (1/3)(|00><00| + |11><11| + |psi><psi|); PT on site 0 moves the psi coherence to the
    # |00>,|11> block: [[1/3, x], [x*, 1/3]] with |x| = 1/6, and the |01>,|10> block is diag(1/6, 1/6):
    # all eigenvalues >= 0
    assert abs(d["negativity_pair_mixed"][1] - 0.0) < 1e-12


# ----------------------------------------------------------------------------- degeneracy
def test_degeneracy_at_level_crossing_L4():
    """L = 4, J0 = 1, mu = 0, phi = pi: half filling, antiperiodic k + pi/4 in {0, pi/2, pi, 3pi/2},
    e = 2, 0, -2, 0: the second fermion can take either zero mode -> two ground states, E0 = -2.
    The two carry currents +1 and -1 (the limits phi -> pi-+), their mixture carries none."""
    d, a = ground_observables(make_params(4, J0=1.0, mu=0.0, phi=np.pi))
    assert d["degeneracy"][1] == 2 and a["degenerate"] == 1
    assert abs(d["energy"][1] + 2) < 1e-12
    assert np.all(np.isnan(d["current_J"][1])) and np.isnan(d["negativity_pair"][1])
    np.testing.assert_allclose(d["current_J_mixed"][1], 0, atol=1e-12)
    assert "note" in a
    # -pi is the same point
    d, a = ground_observables(make_params(4, J0=1.0, phi=-np.pi))
    assert a["degeneracy"] == 2
    # away from the crossing the ground state is unique
    for phi in (0.0, 1.0, np.pi - 1e-3, -np.pi + 1e-3, np.pi + 1e-3):
        d, a = ground_observables(make_params(4, J0=1.0, phi=phi))
        assert a["degenerate"] == 0 and d["degeneracy"][1] == 1
        assert np.all(np.isfinite(d["current_J"][1]))
    # at phi = pi - d the gap is 4 sin(d/4) ~ d (one zero mode moves up, the other down)
    d, a = ground_observables(make_params(4, J0=1.0, phi=np.pi - 1e-3))
    assert 0 < a["gap"] < 2e-3
    # a looser tolerance merges the two nearby levels
    d, a = ground_observables(make_params(4, J0=1.0, phi=np.pi - 1e-3), degeneracy_tol=1e-2)
    assert a["degeneracy"] == 2 and np.all(np.isnan(d["current_J"][1]))
    with pytest.raises(ValueError):
        ground_observables(make_params(4, J0=1.0), degeneracy_tol=-1.0)


def test_output_layout():
    p = make_params(5, J0=1.0, phi=0.3, mu=0.2)
    d, a = ground_observables(p)
    assert d["current_J"][0] == ("bond",) and d["current_J"][1].shape == (5,)
    assert d["sz"][0] == ("site",) and d["sz"][1].shape == (5,)
    for name in ("entropy_pair", "energy", "degeneracy", "purity_pair", "negativity_pair"):
        assert d[name][0] == () and np.shape(d[name][1]) == ()
    assert np.issubdtype(d["degeneracy"][1].dtype, np.integer)
    assert a["method"] == "ground" and a["degenerate"] in (0, 1) and a["gap"] > 0


# ----------------------------------------------------------------------------- construction
def _kron_chain(factors, L):
    from lindring.core.model import ID2
    out = np.ones((1, 1), dtype=complex)
    for j in range(L):
        out = np.kron(out, factors.get(j, ID2))
    return out


def test_hamiltonian_matches_kron_construction():
    """H written term by term with np.kron (site 0 leftmost), independently of model.bond_hamiltonian."""
    from lindring.core.model import N as NOP, SM, SP, SX, SZ
    for L, bc in ((3, "ring"), (4, "ring"), (4, "open")):
        p = make_params(L, bc=bc, J0=0.8 * np.exp(0.3j), phi=1.1, lam=0.4 - 0.2j, mu=0.7,
                        eps_x=0.25, eps_zz=-0.35)
        H = np.zeros((2 ** L, 2 ** L), dtype=complex)
        nb = L if bc == "ring" else L - 1
        for b in range(nb):
            c = (b + 1) % L
            t = p.J * _kron_chain({b: SP, c: SM}, L) + p.lam * _kron_chain({b: SP, c: SP}, L)
            H += t + t.conj().T + p.eps_zz * _kron_chain({b: SZ, c: SZ}, L)
        for j in range(L):
            H += p.mu * _kron_chain({j: NOP}, L) + p.eps_x * _kron_chain({j: SX}, L)
        np.testing.assert_allclose(hamiltonian(p).toarray(), H, atol=1e-14)
