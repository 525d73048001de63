"""Tests of the ``mpo`` method (TEBD of the vectorised density matrix, open chains).

The reference is the independent dense implementation in ``dense_reference.py`` (no lindring code).
"""
import numpy as np
import pytest
from dense_reference import (apply_lindblad, dense_hamiltonian, dense_jumps, dense_liouvillian,
                             dense_observables, dense_steady_state)

from lindring.core.basis import rowmajor_to_words
from lindring.core.model import ModelError, make_params
from lindring.solvers.mpo import (TEBD, VectorisedMPS, bond_generators, global_checks, liouvillian_mpo,
                          measure, mpo_observables, residual, trotter_layers)

#: every range-1 term switched on, complex where allowed
ALL_TERMS = dict(J0=0.7 + 0.2j, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.3, eps_x=0.2,
                 eps_zz=0.15, alpha=1.1 + 0.3j, beta=0.4, gamma=0.5 - 0.2j, delta=0.6 + 0.1j)


def _embed(g, b, L):
    return np.kron(np.kron(np.eye(4 ** b), g), np.eye(4 ** (L - b - 2)))


def _dense_reference(L, kw):
    Lm = dense_liouvillian(L, "open", **kw)
    rho, kdim = dense_steady_state(Lm)
    assert kdim == 1
    return Lm, rho, dense_observables(rho, L, "open", **kw)


# ----------------------------------------------------------------------------- building blocks
@pytest.mark.parametrize("L", [2, 3, 4])
def test_bond_generators_sum_to_dense_liouvillian(L):
    """Sum of bond generators (one-site terms folded in) == the dense Liouvillian in letter order."""
    p = make_params(L, bc="open", **ALL_TERMS)
    Lm = dense_liouvillian(L, "open", **ALL_TERMS)
    perm = rowmajor_to_words(L)
    total = sum(_embed(g, b, L) for b, g in enumerate(bond_generators(p)))
    assert np.abs(total - Lm[np.ix_(perm, perm)]).max() < 1e-12


def test_gates_preserve_trace_and_are_not_unitary():
    p = make_params(4, bc="open", **ALL_TERMS)
    run = TEBD(p, chi=8, dt=0.1, order=2)
    ident = np.kron([1, 0, 0, 1], [1, 0, 0, 1])
    for b in range(3):
        g = run.gate(b, 0.1)
        assert np.allclose(ident @ g, ident, atol=1e-13)       # <<1| exp(tau G) = <<1|
        assert not np.allclose(g.conj().T @ g, np.eye(16))      # dissipative, not unitary


def test_trotter_layers_fuse_half_steps():
    assert trotter_layers(3, 0.1, 2) == [(0, 0.05), (1, 0.1), (0, pytest.approx(0.1)),
                                         (1, 0.1), (0, pytest.approx(0.1)), (1, 0.1), (0, 0.05)]
    lay = trotter_layers(2, 0.1, 4)
    assert sum(t for par, t in lay if par == 1) == pytest.approx(0.2)
    assert sum(t for par, t in lay if par == 0) == pytest.approx(0.2)


def test_product_state_observables_and_contractions():
    """Mixed state: trace 1, purity 2^-L, no current; the MPS vector matches the dense one."""
    L = 4
    p = make_params(L, bc="open", **ALL_TERMS)
    st = VectorisedMPS.initial(L, "mixed")
    obs = measure(st, p)
    assert obs["trace"] == pytest.approx(1.0)
    assert np.allclose(obs["current_eta"], 0) and np.allclose(obs["sz"], 0)
    chk = global_checks(st)
    assert chk["purity"] == pytest.approx(2.0 ** -L)
    assert chk["hermiticity_error"] < 1e-7
    vac = measure(VectorisedMPS.initial(L, "vacuum"), p)
    assert np.allclose(vac["sz"], -1)


def test_short_evolution_matches_dense_propagator():
    """After a short evolution (no truncation) the MPS equals expm(t L) on the dense vector to O(dt^2)."""
    from scipy.linalg import expm
    L, t = 4, 0.4
    p = make_params(L, bc="open", **ALL_TERMS)
    Lm = dense_liouvillian(L, "open", **ALL_TERMS)
    perm = rowmajor_to_words(L)
    Lw = Lm[np.ix_(perm, perm)]
    x0 = VectorisedMPS.initial(L, "vacuum").to_vector()
    exact = expm(t * Lw) @ x0
    errs = []
    for order, dt in [(2, 0.1), (2, 0.05), (4, 0.1)]:
        run = TEBD(p, chi=64, dt=dt, order=order, initial="vacuum")
        run.evolve(int(round(t / dt)))
        errs.append(np.abs(run.state.to_vector() - exact).max())
    assert errs[1] < errs[0] / 3          # second order: halving dt gains ~4
    assert errs[2] < errs[1] / 10         # fourth order is far better
    assert errs[2] < 1e-5


def test_refuses_ring_and_range_2():
    with pytest.raises(ModelError, match="open chains"):
        mpo_observables(make_params(4, bc="ring", alpha=1, delta=0.5), progress=False)
    with pytest.raises(ModelError, match="range = 1"):
        mpo_observables(make_params(5, bc="open", range=2, alpha=1, delta=0.5), progress=False)
    with pytest.raises(ModelError, match="order"):
        mpo_observables(make_params(4, bc="open", alpha=1, delta=0.5), order=3, progress=False)
    with pytest.raises(ModelError, match="chi = 1"):
        mpo_observables(make_params(4, bc="open", alpha=1, delta=0.5), chi=1, progress=False)


# ----------------------------------------------------------------------------- against exact ED
@pytest.mark.parametrize("L", [4, 5])
def test_steady_state_matches_dense_reference(L):
    """Certified pipeline (TEBD, refinement, two starts), all range-1 terms on, complex couplings:
    at L <= 5 chi = 16 holds the exact state, so the refined residual reaches rounding and the
    observables agree with the dense steady state to 1e-10."""
    p = make_params(L, bc="open", **ALL_TERMS)
    _, rho, ref = _dense_reference(L, ALL_TERMS)
    data, attrs = mpo_observables(p, chi=16, progress=False)
    assert attrs["converged"] == 1 and attrs["unique"] == 1 and int(data["kernel_dim"][1]) == 1
    rel = float(data["relative_residual"][1])
    assert rel < 1e-10
    for name in ("current_eta", "current_J", "sz"):
        dims, val = data[name]
        assert dims == (("site",) if name == "sz" else ("bond",))
        assert np.abs(val - ref[name]).max() < 1e-10, (name, val, ref[name])
    assert abs(float(data["purity"][1]) - ref["purity"]) < 1e-10
    assert float(data["trace_error"][1]) < 1e-12
    assert float(data["hermiticity_error"][1]) < 1e-6
    assert float(data["start_difference"][1]) < 1e-10
    for key in ("dt", "chi", "chi_reached", "t_final", "order", "cutoff", "rate_scale",
                "max_relative_residual", "uniqueness_checked"):
        assert key in attrs


# ----------------------------------------------------------------------------- residual ||L x||
def _dense_rho(x, L):
    """Word vector (letters 2 k_j + b_j, site 0 first) -> matrix rho[k, b], without lindring."""
    order = list(range(0, 2 * L, 2)) + list(range(1, 2 * L, 2))        # all kets, then all bras
    return x.reshape([2] * (2 * L)).transpose(order).reshape(2 ** L, 2 ** L)


def _dense_residual(state, L, kw):
    """||L(rho)||_F / ||rho||_F with the independent dense Lindbladian (same as ED's residual)."""
    rho = _dense_rho(state.to_vector(), L)
    Lrho = apply_lindblad(dense_hamiltonian(L, "open", **kw), dense_jumps(L, "open", **kw), rho)
    return np.linalg.norm(Lrho) / np.linalg.norm(rho)


@pytest.mark.parametrize("L", [2, 4])
def test_liouvillian_mpo_is_the_dense_liouvillian(L):
    """Contracting the MPO of sum_b G_b gives the dense Liouvillian (letter order)."""
    p = make_params(L, bc="open", **ALL_TERMS)
    W = liouvillian_mpo(bond_generators(p))
    M = np.ones((1, 1, 1))
    for w in W:                                    # M[(out), (in), w_right]
        M = np.einsum("abu,uvcd->acbdv", M, w).reshape(M.shape[0] * 4, M.shape[1] * 4, w.shape[1])
    perm = rowmajor_to_words(L)
    Lw = dense_liouvillian(L, "open", **ALL_TERMS)[np.ix_(perm, perm)]
    assert np.abs(M[:, :, 0] - Lw).max() < 1e-12


def test_residual_of_random_mps_equals_dense():
    """Exact MPO contraction: ||L x|| / ||x|| of an arbitrary MPS equals the dense value."""
    L, dims = 5, [1, 3, 7, 6, 2, 1]
    rng = np.random.default_rng(7)
    st = VectorisedMPS([rng.normal(size=(dims[j], 4, dims[j + 1]))
                        + 1j * rng.normal(size=(dims[j], 4, dims[j + 1])) for j in range(L)])
    p = make_params(L, bc="open", **ALL_TERMS)
    assert residual(st, bond_generators(p)) == pytest.approx(_dense_residual(st, L, ALL_TERMS),
                                                             rel=1e-12)


def test_residual_decreases_towards_the_steady_state():
    """Along a TEBD run (L = 4, fourth order, dt = 0.1) the MPS residual equals the dense
    ||L(rho)|| / ||rho|| of the same state and falls from O(1) to the Trotter floor (~1e-5).

    The stated accuracy of :func:`residual` is an absolute rounding error of about
    eps (sum_b ||G_b x|| / ||x||)^2 / (2 r) in r (measured: 2e-11 at r = 1e-5): 1e-9 is asserted."""
    L, dt = 4, 0.1
    p = make_params(L, bc="open", **ALL_TERMS)
    run = TEBD(p, chi=64, dt=dt, order=4, initial="vacuum")
    res = []
    for t in (0, 1, 2, 4, 8, 16):
        run.evolve(int(round((t - run.t) / dt))) if t > run.t else None
        r = residual(run.state, run.generators)
        assert abs(r - _dense_residual(run.state, L, ALL_TERMS)) < 1e-9, t
        res.append(r)
    assert all(b < a for a, b in zip(res, res[1:])), res
    assert res[0] > 1 and res[-1] < 1e-4


# ----------------------------------------------------------------------------- Pauli basis
def _pauli_unitary(L):
    """Matrix-unit letters (2 k + b) -> normalised Pauli letters (1, x, y, z) / sqrt(2), built
    here from the Pauli matrices of MODEL.md (|1> up: sigma^z = diag(-1, 1))."""
    sx = np.array([[0, 1], [1, 0]])
    sy = np.array([[0, 1j], [-1j, 0]])                 # -i (sp - sm), sp = |1><0|
    sz = np.diag([-1, 1])
    one = np.array([[s[b, k] for k in range(2) for b in range(2)]
                    for s in (np.eye(2), sx, sy, sz)]) / np.sqrt(2)
    U = np.ones((1, 1))
    for _ in range(L):
        U = np.kron(U, one)
    return U


@pytest.mark.parametrize("L", [2, 4])
def test_pauli_liouvillian_mpo_is_real_and_the_dense_liouvillian(L):
    """In the Pauli basis the MPO of sum_b G_b is real and contracts to U L_dense U^+ (complex
    couplings, every range-1 term)."""
    p = make_params(L, bc="open", **ALL_TERMS)
    run = TEBD(p, chi=16, dt=0.1, order=4, basis="pauli")
    W = liouvillian_mpo(run.generators)
    assert all(np.isrealobj(w) for w in W)
    M = np.ones((1, 1, 1))
    for w in W:
        M = np.einsum("abu,uvcd->acbdv", M, w).reshape(M.shape[0] * 4, M.shape[1] * 4, w.shape[1])
    perm = rowmajor_to_words(L)
    U = _pauli_unitary(L)
    Lp = U @ dense_liouvillian(L, "open", **ALL_TERMS)[np.ix_(perm, perm)] @ U.conj().T
    assert np.abs(Lp.imag).max() < 1e-12
    assert np.abs(M[:, :, 0] - Lp).max() < 1e-12


def test_pauli_basis_evolution_is_real_and_matches_dense_propagator():
    """TEBD in the Pauli basis from a random product state keeps real tensors and equals
    expm(t L) on the dense vector as the letters' evolution does; trace, purity, Hermiticity
    and observables of a Pauli-basis state are those of the dense rho."""
    from scipy.linalg import expm
    L, t, dt = 4, 0.4, 0.05
    p = make_params(L, bc="open", **ALL_TERMS)
    perm = rowmajor_to_words(L)
    Lw = dense_liouvillian(L, "open", **ALL_TERMS)[np.ix_(perm, perm)]
    x0 = VectorisedMPS.initial(L, "random").to_vector()
    assert np.allclose(VectorisedMPS.initial(L, "random", "pauli").to_vector(), x0, atol=1e-14)
    exact = expm(t * Lw) @ x0
    out = {}
    for basis in ("letters", "pauli"):
        run = TEBD(p, chi=64, dt=dt, order=4, initial="random", basis=basis)
        run.evolve(int(round(t / dt)))
        out[basis] = run.state
    assert all(np.isrealobj(a) for a in out["pauli"].A)
    assert np.abs(out["pauli"].to_vector() - exact).max() < 1e-6
    assert np.abs(out["pauli"].to_vector() - out["letters"].to_vector()).max() < 1e-12
    st = out["pauli"]
    rho = _dense_rho(st.to_vector(), L)
    ref = dense_observables(rho / np.trace(rho), L, "open", **ALL_TERMS)
    obs = measure(st, p)
    for name in ("sz", "current_eta", "current_J"):
        assert np.abs(obs[name] - ref[name]).max() < 1e-12, name
    assert st.trace() == pytest.approx(np.trace(rho), abs=1e-13)
    chk = global_checks(st)
    assert chk["purity"] == pytest.approx(np.trace(rho @ rho).real / abs(np.trace(rho)) ** 2,
                                          abs=1e-12)
    assert chk["hermiticity_error"] < 1e-7              # real Pauli components: Hermitian
    # a non-Hermitian state in the Pauli basis (complex components): the same check sees it
    skew = VectorisedMPS([a * (1 + 0.3j) if j == 1 else a for j, a in enumerate(
        VectorisedMPS.initial(L, "random", "pauli").A)] , basis="pauli")
    skew.A[2] = skew.A[2] + 0.2j * np.roll(skew.A[2], 1, axis=1)
    r = _dense_rho(skew.to_vector(), L)
    assert global_checks(skew)["hermiticity_error"] == pytest.approx(
        np.linalg.norm(r - r.conj().T) / np.linalg.norm(r), rel=1e-6)


def test_bonds_never_exceed_their_exact_maximum_and_the_plan_caps_chi():
    """A vectorised density matrix of an open chain of L sites needs at most min(4^l, 4^(L-l))
    states at the cut after site l (the operator space of the smaller side): with chi = 1024
    at L = 5 the evolved state's bonds stay within 4, 16, 16, 4 (the SVD's rank caps them),
    and the plan counts those bonds, not chi: at L = 6, 4, 16, 64, 16, 4 (by hand), so
    chi = 1024 and chi = 64 have one plan, whose tensors are sum_l D_(l-1) D_l = 1*4 + 4*16 +
    16*64 + 64*16 + 16*4 + 4*1 = 2184 units of MPO_BYTES_PER_BOND_PAIR."""
    from lindring.workflow.plan import (BASE_MB, MPO_BYTES_PER_BOND_PAIR, MPO_SPECTRUM_COPIES,
                                        OUTPUT_MB, mpo_bond_dimensions, plan_mpo)
    p = make_params(5, bc="open", preset="minimal", alpha=2, delta=1)
    run = TEBD(p, chi=1024, dt=0.05, order=2, initial="random", cutoff=0.0)
    run.evolve(4)
    assert run.state.bond_dims == [4, 16, 16, 4]         # reached, and not exceeded
    assert mpo_bond_dimensions(5, 1024) == [4, 16, 16, 4]
    assert mpo_bond_dimensions(6, 1024) == [4, 16, 64, 16, 4]
    assert mpo_bond_dimensions(6, 8) == [4, 8, 8, 8, 4]
    big, small = plan_mpo(6, 1024), plan_mpo(6, 64)
    assert (big.mem_mb_total, big.runtime_min) == (small.mem_mb_total, small.runtime_min)
    # the spectrum step's dense problem: the whole space at L = 6, 4 x 16 x 64 = 4096 unknowns
    assert big.mem_mb_total == pytest.approx(
        BASE_MB + OUTPUT_MB + (2184 * MPO_BYTES_PER_BOND_PAIR
                               + MPO_SPECTRUM_COPIES * 4096 ** 2 * 8) / 2 ** 20, abs=0.1)


@pytest.mark.parametrize("chi", [2, 3, 4, 5, 16, 17, 64, 1000, 4 ** 31, 4 ** 32, 4 ** 32 + 1,
                                 10 ** 40])
def test_mpo_plan_in_closed_form_is_the_sum_over_the_bonds(chi):
    """The plan's sums over the bonds (no work per site, so a chain of 10^5 sites is refused at
    once) equal the sums bond by bond, with D_l = min(chi, 4^min(l, L - l, 32)) written here
    from the definition, on short chains (every bond below the cap) and long ones."""
    from lindring.workflow.plan import _mpo_cost
    for L in list(range(2, 80)) + [101, 1000, 4321]:
        bonds = [1] + [min(chi, 4 ** min(l, L - l, 32)) for l in range(1, L)] + [1]
        pairs = sum(float(a) * float(b) for a, b in zip(bonds, bonds[1:]))
        cubes = sum(float(d) ** 3 for d in bonds[1:-1])
        got = _mpo_cost(L, chi)
        assert got[0] == pytest.approx(pairs, rel=1e-13) and got[1] == pytest.approx(cubes, rel=1e-13)


def test_benchmarks_mpo_md_states_the_kernel_cutoffs_the_code_uses():
    """benchmarks/MPO.md names the MPO's two cutoffs with the code's numbers: the spectral one
    (an eigenvalue of the projected Liouvillian at zero, ED's Krylov number, relative to
    rate_scale) and the two starts' one (||L (x1 - x2)||), and ED's shift-and-invert cutoff
    (it said 1e-8 x rate for the spectral cutoff after the code had moved to 1e-12)."""
    from conftest import ROOT
    from lindring.solvers.mpo import MPOThresholds
    from lindring.solvers.steady import SINVERT_KERNEL_TOL, Tolerances
    def short(x):                   # 1e-08 -> "1e-8", as the text writes it
        mantissa, exponent = f"{x:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    text = " ".join((ROOT / "benchmarks" / "MPO.md").read_text().split())
    th = MPOThresholds()
    assert th.spectral_kernel == Tolerances.kernel_tol
    assert f"Two eigenvalues of modulus `<= {short(th.spectral_kernel)} x rate`" in text
    assert f"measured again: at most `{short(th.kernel)} x rate`" in text
    assert f"shift-and-invert search uses {short(SINVERT_KERNEL_TOL)}" in text
