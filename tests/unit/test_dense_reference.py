"""Tests of the independent dense reference (tests/dense_reference.py) itself.

Everything checked here is known independently of any code: hand-written matrices for two
sites, exact properties of Lindblad generators, Heisenberg-picture identities derived by hand
below, dark states, symmetries, and the corrected cluster-mean-field closed form of MODEL.md.
"""

import numpy as np
import pytest

from dense_reference import (
    NUM, SM, SP, SX, SY, SZ,
    apply_lindblad, dense_hamiltonian, dense_jumps, dense_liouvillian, dense_observables,
    dense_steady_state, diss_pairs, lindblad_superop, minimal_params, nn_bonds, site_op,
)

RNG = np.random.default_rng(20240611)

# A generic parameter set: every term present, complex where allowed.
GENERIC = dict(J0=0.9, phi=0.7, lam=0.3 - 0.2j, mu=0.8, kappa=0.25, eps_x=0.15, eps_zz=-0.35,
               alpha=1.1 + 0.3j, beta=0.4 - 0.5j, gamma=-0.6 + 0.2j, delta=0.7 + 0.45j)

LATTICES = [(2, "open", 1), (3, "open", 1), (4, "open", 1), (3, "open", 2), (4, "open", 2),
            (3, "ring", 1), (4, "ring", 1), (3, "ring", 2), (4, "ring", 2)]


def random_rho(D, hermitian=True):
    X = RNG.normal(size=(D, D)) + 1j * RNG.normal(size=(D, D))
    if not hermitian:
        return X
    rho = X @ X.conj().T
    return rho / np.trace(rho)


def ket(bits):
    """Product ket for a tuple of site bits, site 0 first (most significant)."""
    v = np.zeros(2 ** len(bits), dtype=complex)
    v[int("".join(map(str, bits)), 2)] = 1.0
    return v


def ex(O, rho):
    return np.trace(O @ rho)


# ---------------------------------------------------------------- conventions
def test_local_operators_and_site_order():
    assert np.allclose(SP @ np.array([1, 0]), [0, 1])        # sp|0> = |1>
    assert np.allclose(SM @ np.array([0, 1]), [1, 0])        # sm|1> = |0>
    assert np.allclose(NUM, np.diag([0, 1]))
    assert np.allclose(SZ, 2 * NUM - np.eye(2))
    assert np.allclose(SX @ SY - SY @ SX, 2j * SZ)           # [sx, sy] = 2i sz
    # site 0 is the most significant bit
    L = 3
    assert np.allclose(site_op(SP, 0, L) @ ket((0, 0, 0)), ket((1, 0, 0)))
    assert np.allclose(site_op(SP, 2, L) @ ket((0, 0, 0)), ket((0, 0, 1)))
    assert np.allclose(site_op(SP, 0, L) @ ket((0, 0, 0)), np.eye(8)[4])


def test_two_site_open_chain_by_hand():
    """H and f for L = 2 (open) written out as 4x4 matrices, basis |00>,|01>,|10>,|11>."""
    p = GENERIC
    J = p["J0"] * np.exp(1j * p["phi"] / 2)
    lam, mu, ex_, ez = p["lam"], p["mu"], p["eps_x"], p["eps_zz"]
    H = np.zeros((4, 4), dtype=complex)
    H[2, 1] = J                     # sp_0 sm_1 |01> = |10>
    H[1, 2] = np.conj(J)
    H[3, 0] = lam                   # sp_0 sp_1 |00> = |11>
    H[0, 3] = np.conj(lam)
    H += np.diag([0, mu, mu, 2 * mu])
    H += ez * np.diag([1, -1, -1, 1])
    for i in range(4):              # sx_0 flips the high bit, sx_1 the low bit
        H[i ^ 2, i] += ex_
        H[i ^ 1, i] += ex_
    assert np.allclose(dense_hamiltonian(2, "open", **p), H)

    a, b, g, d = p["alpha"], p["beta"], p["gamma"], p["delta"]
    f = np.zeros((4, 4), dtype=complex)
    f[0, 2] += a; f[1, 3] += a      # alpha sm_0: |10>->|00>, |11>->|01>
    f[2, 0] += b; f[3, 1] += b      # beta sp_0:  |00>->|10>, |01>->|11>
    f[0, 1] += g; f[2, 3] += g      # gamma sm_1: |01>->|00>, |11>->|10>
    f[1, 0] += d; f[3, 2] += d      # delta sp_1: |00>->|01>, |10>->|11>
    k = np.sqrt(p["kappa"])
    sm0 = np.zeros((4, 4)); sm0[0, 2] = sm0[1, 3] = k
    sm1 = np.zeros((4, 4)); sm1[0, 1] = sm1[2, 3] = k
    jumps = dense_jumps(2, "open", **p)
    assert len(jumps) == 3
    assert np.allclose(jumps[0], sm0) and np.allclose(jumps[1], sm1) and np.allclose(jumps[2], f)

    # row-major vectorisation written out element by element: L(rho) computed directly
    Lm = dense_liouvillian(2, "open", **p)
    rho = random_rho(4, hermitian=False)
    direct = -1j * (H @ rho - rho @ H)
    for O in (sm0, sm1, f):
        Od = O.conj().T
        direct += O @ rho @ Od - 0.5 * (Od @ O @ rho + rho @ Od @ O)
    out = (Lm @ rho.reshape(-1)).reshape(4, 4)
    assert np.allclose(out, direct)
    # and vec(rho)[k*D + b] = rho[k, b]
    v = rho.reshape(-1)
    assert v[2 * 4 + 1] == rho[2, 1]


@pytest.mark.parametrize("L,bc,rng", LATTICES)
def test_superoperator_matches_direct_action(L, bc, rng):
    p = dict(GENERIC, range=rng)
    H = dense_hamiltonian(L, bc, **p)
    jumps = dense_jumps(L, bc, **p)
    assert np.allclose(H, H.conj().T)
    n_pairs = L if bc == "ring" else L - rng
    assert len(jumps) == L + n_pairs
    Lm = dense_liouvillian(L, bc, **p)
    rho = random_rho(2 ** L, hermitian=False)
    assert np.allclose(Lm @ rho.reshape(-1), apply_lindblad(H, jumps, rho).reshape(-1))


def test_bond_lists():
    assert nn_bonds(4, "ring") == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert nn_bonds(4, "open") == [(0, 1), (1, 2), (2, 3)]
    assert diss_pairs(4, "ring", 2) == [(0, 2), (1, 3), (2, 0), (3, 1)]
    assert diss_pairs(5, "open", 2) == [(0, 2), (1, 3), (2, 4)]
    with pytest.raises(ValueError):
        dense_liouvillian(2, "ring", alpha=1)
    with pytest.raises(ValueError):
        dense_liouvillian(2, "open", alpha=1, range=2)


# ---------------------------------------------------------------- Lindblad structure
@pytest.mark.parametrize("L,bc,rng", LATTICES)
def test_trace_preservation(L, bc, rng):
    """vec(I)^T L = 0: the sum of the rows k*D + k vanishes."""
    D = 2 ** L
    Lm = dense_liouvillian(L, bc, **dict(GENERIC, range=rng))
    diag_rows = np.arange(D) * D + np.arange(D)
    assert np.max(np.abs(Lm[diag_rows].sum(axis=0))) < 1e-12


@pytest.mark.parametrize("L,bc,rng", LATTICES)
def test_hermiticity_preservation(L, bc, rng):
    D = 2 ** L
    Lm = dense_liouvillian(L, bc, **dict(GENERIC, range=rng))
    X = random_rho(D, hermitian=False)
    LX = (Lm @ X.reshape(-1)).reshape(D, D)
    LXd = (Lm @ X.conj().T.reshape(-1)).reshape(D, D)
    assert np.allclose(LXd, LX.conj().T)


def test_generic_steady_state_is_a_density_matrix():
    L, bc = 4, "ring"
    Lm = dense_liouvillian(L, bc, **GENERIC)
    rho, kdim = dense_steady_state(Lm)
    assert kdim == 1
    assert np.linalg.norm(Lm @ rho.reshape(-1)) < 1e-10
    assert abs(np.trace(rho) - 1) < 1e-12
    assert np.allclose(rho, rho.conj().T, atol=1e-12)
    obs = dense_observables(rho, L, bc, **GENERIC)
    assert obs["min_eig"] > -1e-12
    assert 1 / 2 ** L - 1e-12 <= obs["purity"] <= 1 + 1e-12
    assert abs(np.trace(obs["rho_pair"]) - 1) < 1e-12


# ---------------------------------------------------------------- Heisenberg picture
def dsz_dt_expected(rho, L, bc, j, J0=0, phi=0, lam=0, mu=0, kappa=0, eps_x=0, eps_zz=0,
                    alpha=0, beta=0, gamma=0, delta=0, range=1):
    """d<sz_j>/dt = Tr(L^dagger(sz_j) rho), derived by hand.

    Adjoint dissipator D^+[O](X) = O^+ X O - {O^+ O, X}/2; with [sz, sp] = 2 sp,
    [sz, sm] = -2 sm. For f = A + B, A = alpha sm_b + beta sp_b, B = gamma sm_c + delta sp_c:
      * the local parts: D^+[x sm + y sp](sz) = -|x|^2 (1 + sz) + |y|^2 (1 - sz)
        (on the site they act on, zero elsewhere);
      * the cross terms on X = sz_c: (A^+[X, B] + h.c.)/2 = I_eta + (c sp_b sp_c + h.c.);
        on X = sz_b: ([A^+, X] B + h.c.)/2 = I_eta - (c sp_b sp_c + h.c.),
        with I_eta = -eta sp_c sm_b + h.c., eta = alpha conj(gamma) - delta conj(beta) and
        c = conj(alpha) delta - beta conj(gamma).
      So the number-conserving cross term I_eta enters BOTH sites of the pair with the same
      sign (it is not a conserved-charge current).
    Hamiltonian: i[H, sz_j] gives the coherent current in minus out,
    I_J(b, c) = 2i (J sm_c sp_b - h.c.), the pair term 4 Im(lam <sp_b sp_c>) for each bond
    touching j, and 2 eps_x <sy_j>; mu and eps_zz commute with sz_j. kappa: -kappa (1 + sz_j).
    """
    J = J0 * np.exp(1j * phi / L)
    op = lambda o, s: site_op(o, s, L)  # noqa: E731
    szj = ex(op(SZ, j), rho).real
    tot = 2 * eps_x * ex(op(SY, j), rho).real - kappa * (1 + szj)
    for b, c in nn_bonds(L, bc):
        IJ = -4 * np.imag(J * ex(op(SM, c) @ op(SP, b), rho))
        pair = 4 * np.imag(lam * ex(op(SP, b) @ op(SP, c), rho))
        if c == j:
            tot += IJ + pair
        if b == j:
            tot += -IJ + pair
    eta = alpha * np.conj(gamma) - delta * np.conj(beta)
    cc = np.conj(alpha) * delta - beta * np.conj(gamma)
    for b, c in diss_pairs(L, bc, range):
        Ieta = -2 * np.real(eta * ex(op(SP, c) @ op(SM, b), rho))
        anom = 2 * np.real(cc * ex(op(SP, b) @ op(SP, c), rho))
        if c == j:
            tot += Ieta + anom - abs(gamma) ** 2 * (1 + szj) + abs(delta) ** 2 * (1 - szj)
        if b == j:
            tot += Ieta - anom - abs(alpha) ** 2 * (1 + szj) + abs(beta) ** 2 * (1 - szj)
    return tot


@pytest.mark.parametrize("L,bc,rng", LATTICES)
def test_heisenberg_sz_identity(L, bc, rng):
    p = dict(GENERIC, range=rng)
    D = 2 ** L
    Lm = dense_liouvillian(L, bc, **p)
    rho = random_rho(D)
    Lrho = (Lm @ rho.reshape(-1)).reshape(D, D)
    for j in range(L):
        lhs = ex(site_op(SZ, j, L), Lrho)
        assert abs(lhs.imag) < 1e-12
        assert lhs.real == pytest.approx(dsz_dt_expected(rho, L, bc, j, **p), abs=1e-11)


def test_two_site_minimal_model_sz1_rate():
    """Open L = 2, minimal model with real alpha, delta (gamma = alpha, beta = delta):
    the anomalous cross term vanishes (c = alpha delta - delta alpha = 0), so
    d<sz_1>/dt = <I_eta on bond 0> - alpha^2 (1 + <sz_1>) + delta^2 (1 - <sz_1>)
    exactly, for any rho; and the same holds for site 0 (with the same sign of I_eta)."""
    a, d = 2.0, 1.5
    p = minimal_params(a, d)
    Lm = dense_liouvillian(2, "open", **p)
    rho = random_rho(4)
    Lrho = (Lm @ rho.reshape(-1)).reshape(4, 4)
    obs = dense_observables(rho, 2, "open", **p)
    assert obs["eta"] == pytest.approx(a * a - d * d)
    for j in (0, 1):
        sz = obs["sz"][j]
        rate = ex(site_op(SZ, j, 2), Lrho).real
        assert rate == pytest.approx(obs["current_eta"][0] - a * a * (1 + sz) + d * d * (1 - sz),
                                     abs=1e-12)


# ---------------------------------------------------------------- simple steady states
@pytest.mark.parametrize("extra", [{}, {"mu": 1.3}, {"mu": -0.7, "eps_zz": 0.4}])
@pytest.mark.parametrize("L,bc", [(3, "ring"), (4, "ring"), (3, "open")])
def test_pure_decay_gives_vacuum(L, bc, extra):
    Lm = dense_liouvillian(L, bc, kappa=0.6, **extra)
    rho, kdim = dense_steady_state(Lm)
    assert kdim == 1
    vac = np.zeros((2 ** L, 2 ** L)); vac[0, 0] = 1.0
    assert np.allclose(rho, vac, atol=1e-10)
    obs = dense_observables(rho, L, bc, kappa=0.6, **extra)
    assert np.allclose(obs["sz"], -1)
    assert obs["purity"] == pytest.approx(1)
    assert obs["negativity_pair"] == pytest.approx(0, abs=1e-12)


def test_no_dissipation_kernel_is_degenerate():
    """H = mu N alone on 3 sites: every matrix block-diagonal in N commutes with H,
    kernel dimension 1 + 3^2 + 3^2 + 1 = 20; dense_steady_state then returns None."""
    rho, kdim = dense_steady_state(dense_liouvillian(3, "ring", mu=1.0))
    assert kdim == 20 and rho is None


def test_one_magnon_spectrum_with_flux():
    """J = J0 e^{i phi/L}: one-magnon energies mu + 2 J0 cos(2 pi m/L + phi/L)."""
    J0, phi, mu = 1.3, 0.9, 0.4
    for L in (3, 4, 5):
        H = dense_hamiltonian(L, "ring", J0=J0, phi=phi, mu=mu)
        one = [i for i in range(2 ** L) if bin(i).count("1") == 1]
        ev = np.sort(np.linalg.eigvalsh(H[np.ix_(one, one)]))
        m = np.arange(L)
        assert np.allclose(ev, np.sort(mu + 2 * J0 * np.cos(2 * np.pi * m / L + phi / L)))


# ---------------------------------------------------------------- observables on known states
def test_observables_on_known_states():
    # singlet on sites (0, 1): negativity 1/2, pure, sz = 0
    s = (ket((0, 1)) - ket((1, 0))) / np.sqrt(2)
    rho = np.outer(s, s.conj())
    o = dense_observables(rho, 2, "open", alpha=1.0, gamma=1.0)
    assert o["negativity_pair"] == pytest.approx(0.5)
    assert o["negativity_half"] == pytest.approx(0.5)
    assert o["purity"] == pytest.approx(1) and o["purity_pair"] == pytest.approx(1)
    assert np.allclose(o["sz"], 0)
    assert o["min_eig"] == pytest.approx(0, abs=1e-12)
    # <sp_1 sm_0> = -1/2 in the singlet, eta = 1 -> current_eta = 1
    assert o["current_eta"][0] == pytest.approx(1.0)
    # L = 4: Bell pairs (0,3) and (1,2) both cross the cut [0,1]|[2,3]: N = (4 - 1)/2;
    # rho_pair of sites (0,1) is then maximally mixed: purity 1/4, negativity 0
    bell = (ket((0, 0)) + ket((1, 1))) / np.sqrt(2)
    psi = np.einsum("ad,bc->abcd", bell.reshape(2, 2), bell.reshape(2, 2)).reshape(-1)
    rho4 = np.outer(psi, psi.conj())
    o4 = dense_observables(rho4, 4, "ring")
    assert o4["negativity_half"] == pytest.approx(1.5)
    assert o4["negativity_pair"] == pytest.approx(0, abs=1e-12)
    assert o4["purity_pair"] == pytest.approx(0.25)
    assert np.allclose(o4["rho_pair"], np.eye(4) / 4)
    # a coherent hopping state v = (|10> + e^{i t}|01>)/sqrt2 on an open pair with J real:
    # <sm_1 sp_0> = e^{i t}/2, so current_J = -4 Im(J e^{i t}/2) = -2 J sin t; Schroedinger's
    # equation for the amplitudes gives the same d<sz_1>/dt = i<[H, sz_1]>
    t, J0 = 0.6, 0.8
    v = (ket((1, 0)) + np.exp(1j * t) * ket((0, 1))) / np.sqrt(2)
    rv = np.outer(v, v.conj())
    o = dense_observables(rv, 2, "open", J0=J0)
    assert o["current_J"][0] == pytest.approx(-2 * J0 * np.sin(t))
    H = dense_hamiltonian(2, "open", J0=J0)
    sz1 = site_op(SZ, 1, 2)
    assert o["current_J"][0] == pytest.approx(ex(1j * (H @ sz1 - sz1 @ H), rv).real)


# ---------------------------------------------------------------- minimal model
def test_open_pair_minimal_model_singlet_is_dark():
    """Open L = 2, real alpha, delta: f = a (sm_0 + sm_1) + d (sp_0 + sp_1) kills the singlet,
    which is an eigenstate of mu N; f and H are swap-symmetric (a strong symmetry), so the
    kernel is at least 2-dimensional (singlet + one state in the triplet sector).
    In the singlet current_eta = alpha^2 - delta^2, negativity 1/2."""
    a, d = 2.0, 1.5
    p = minimal_params(a, d)
    Lm = dense_liouvillian(2, "open", **p)
    s = (ket((0, 1)) - ket((1, 0))) / np.sqrt(2)
    S = np.outer(s, s)
    assert np.linalg.norm(Lm @ S.reshape(-1)) < 1e-12
    _, kdim = dense_steady_state(Lm)
    assert kdim == 2
    o = dense_observables(S, 2, "open", **p)
    assert o["current_eta"][0] == pytest.approx(a * a - d * d)
    # at mu = 0 the even dark state a|00> - d|11> is stationary too
    Lm0 = dense_liouvillian(2, "open", **minimal_params(a, d, mu=0.0))
    e = a * ket((0, 0)) - d * ket((1, 1))
    assert np.linalg.norm(Lm0 @ np.outer(e, e).reshape(-1)) < 1e-12
    assert np.linalg.norm(Lm0 @ S.reshape(-1)) < 1e-12
    # complex alpha breaks the swap symmetry: unique steady state
    _, kdim_c = dense_steady_state(dense_liouvillian(2, "open", **minimal_params(2 * np.exp(0.3j), d)))
    assert kdim_c == 1


@pytest.mark.parametrize("a,d,mu", [(2.0, 1.5, 1.0), (1.0, 0.4, 0.7), (0.5, 1.3, 2.0)])
def test_cluster_mean_field_closed_form(a, d, mu):
    """Two-site cluster of MODEL.md at the parity-symmetric solution: the exact intra bond plus
    D[conj(alpha) sm_0 + delta sp_0] and D[alpha sm_1 + conj(delta) sp_1] from the halves of the
    outer bonds. Corrected closed forms: <I_eta> = 2 a^2 d^2 (a^2-d^2)^3 / Z,
    rho22 = rho33 = a^2 d^2 [5 (a^2-d^2)^2 + 4 mu^2] / (4 Z)."""
    p = minimal_params(a, d, mu)
    H = dense_hamiltonian(2, "open", **p)
    jumps = dense_jumps(2, "open", **p)
    jumps += [np.conj(a) * site_op(SM, 0, 2) + d * site_op(SP, 0, 2),
              a * site_op(SM, 1, 2) + np.conj(d) * site_op(SP, 1, 2)]
    rho, kdim = dense_steady_state(lindblad_superop(H, jumps))
    assert kdim == 1
    o = dense_observables(rho, 2, "open", **p)
    a2, d2 = a * a, d * d
    Z = (a2 - d2) ** 2 * (a2 ** 2 + d2 ** 2 + 3 * a2 * d2) + mu ** 2 * (a2 + d2) ** 2
    assert o["current_eta"][0] == pytest.approx(2 * a2 * d2 * (a2 - d2) ** 3 / Z, rel=1e-10)
    r22 = a2 * d2 * (5 * (a2 - d2) ** 2 + 4 * mu ** 2) / (4 * Z)
    assert rho[1, 1].real == pytest.approx(r22, rel=1e-10)
    assert rho[2, 2].real == pytest.approx(r22, rel=1e-10)


def _ring_current(L, a, d, **kw):
    p = dict(minimal_params(a, d), **kw)
    rho, kdim = dense_steady_state(dense_liouvillian(L, "ring", **p))
    assert kdim == 1
    return dense_observables(rho, L, "ring", **p)


@pytest.mark.parametrize("L", [3, 4])
def test_minimal_ring_current(L):
    a, d = 2.0, 1.5
    o = _ring_current(L, a, d)
    cur = o["current_eta"]
    assert len(cur) == L
    assert np.allclose(cur, cur[0], atol=1e-11)           # translation invariance
    assert np.allclose(o["sz"], o["sz"][0], atol=1e-11)
    assert abs(cur[0]) > 0.1
    assert np.allclose(o["current_J"], 0)                  # J0 = 0
    # alpha <-> delta is particle-hole x reflection (with mu -> -mu, undone by complex
    # conjugation for real parameters): the current changes sign exactly
    o_sw = _ring_current(L, d, a)
    assert np.allclose(o_sw["current_eta"], -cur, atol=1e-11)
    # alpha = delta: eta = 0
    o_eq = _ring_current(L, 1.7, 1.7)
    assert np.allclose(o_eq["current_eta"], 0, atol=1e-12)


def test_minimal_ring_complex_swap():
    a, d = 2 * np.exp(0.4j), 1.5 * np.exp(-1.1j)
    c1 = _ring_current(3, a, d)["current_eta"]
    c2 = _ring_current(3, d, a)["current_eta"]
    assert np.allclose(c1, c1[0]) and np.allclose(c2, -c1, atol=1e-11)


def test_even_ring_dark_magnon_degeneracy():
    """Even ring at theta = 0 or pi/2 (delta = 0 or alpha = 0): the momentum-pi magnon is dark,
    the kernel is degenerate; odd rings stay unique."""
    for a, d in ((2.0, 0.0), (0.0, 2.0)):
        _, kdim = dense_steady_state(dense_liouvillian(4, "ring", **minimal_params(a, d)))
        assert kdim > 1
    _, kdim3 = dense_steady_state(dense_liouvillian(3, "ring", **minimal_params(2.0, 0.0)))
    assert kdim3 == 1
    # the one-magnon state at momentum pi is annihilated by every f_b when delta = 0
    L = 4
    k_pi = sum((-1) ** j * ket(tuple(int(i == j) for i in range(L))) for j in range(L)) / 2
    for f in dense_jumps(L, "ring", **minimal_params(2.0, 0.0)):
        assert np.allclose(f @ k_pi, 0)


def test_range_two():
    # on a 3-ring the pairs (b, b+2) are the bonds (b-1, b) reversed: range 2 equals range 1
    # with (alpha, beta) <-> (gamma, delta)
    a, b, g, d = GENERIC["alpha"], GENERIC["beta"], GENERIC["gamma"], GENERIC["delta"]
    base = {k: v for k, v in GENERIC.items() if k not in ("alpha", "beta", "gamma", "delta")}
    L2 = dense_liouvillian(3, "ring", alpha=a, beta=b, gamma=g, delta=d, range=2, **base)
    L1 = dense_liouvillian(3, "ring", alpha=g, beta=d, gamma=a, delta=b, range=1, **base)
    assert np.allclose(L1, L2)
    # ring L = 4, range 2 splits into two 2-site rings {0,2}, {1,3}, each with a 2-dim kernel
    p = dict(minimal_params(2.0, 1.5), range=2)
    _, kdim = dense_steady_state(dense_liouvillian(4, "ring", **p))
    assert kdim == 4
    # current_eta lives on the nearest-neighbour bonds whatever the range (MODEL.md);
    # current_eta_pair on the dissipative pairs
    p = dict(GENERIC, range=2)
    rho = random_rho(2 ** 4)
    o = dense_observables(rho, 4, "open", **p)
    assert len(o["current_eta"]) == 3 and len(o["current_eta_pair"]) == 2
    assert len(o["current_J"]) == 3
    eta = a * np.conj(g) - d * np.conj(b)
    want = -2 * np.real(eta * ex(site_op(SP, 3, 4) @ site_op(SM, 1, 4), rho))
    assert o["current_eta_pair"][1] == pytest.approx(want)
    want = -2 * np.real(eta * ex(site_op(SP, 2, 4) @ site_op(SM, 1, 4), rho))
    assert o["current_eta"][1] == pytest.approx(want)


def test_flux_reverses_coherent_current():
    """Fig. 2 parameters (ring L = 4, J0 = 1.5, lam = 0.5, mu = 1, kappa = 0.1): with real
    lam, mu, kappa the Liouvillian at -phi is the complex conjugate of the one at phi, so
    rho(-phi) = conj(rho(phi)) and the coherent current is odd in phi (zero at phi = 0)."""
    base = dict(J0=1.5, lam=0.5, mu=1.0, kappa=0.1)
    cur = {}
    for phi in (-1.1, 0.0, 1.1):
        p = dict(base, phi=phi)
        rho, kdim = dense_steady_state(dense_liouvillian(4, "ring", **p))
        assert kdim == 1
        o = dense_observables(rho, 4, "ring", **p)
        assert np.allclose(o["current_J"], o["current_J"][0], atol=1e-11)
        assert np.allclose(o["current_eta"], 0)
        cur[phi] = o["current_J"][0]
    assert cur[0.0] == pytest.approx(0, abs=1e-11)
    assert abs(cur[1.1]) > 1e-4
    assert cur[-1.1] == pytest.approx(-cur[1.1], abs=1e-11)
