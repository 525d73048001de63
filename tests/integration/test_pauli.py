"""The Pauli-string basis (a real Liouvillian) and the reflection sector: the Pauli matrix against
the independent dense reference transformed to Pauli strings, reality, sparsity, the reflection
found from the model's terms against the dense Liouvillian, the sector bases by brute force, the
sector matrices against the dense Liouvillian restricted to the sector, and steady-state
observables against the complex matrix-unit path in the full space."""
import functools
import itertools

import numpy as np
import pytest

from conftest import run_cli
from dense_reference import SP, SM, SX, SY, SZ, ID2, dense_liouvillian
from lindring.core import model
from lindring.core.basis import (SectorBasis, dihedral_sector_size, make_basis, resolve_symmetry,
                                 rowmajor_to_words, sector_size, symmetries_of)
from lindring.core.pauli import PauliBasis, density_matrix, pauli_terms
from lindring.core.terms import local_terms, reflection_symmetric, rows_block
from lindring.solvers.methods import run_ed

PARAMS = ("J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz", "alpha", "beta", "gamma", "delta")
#: every term, complex where the model allows it: no reflection
GENERAL = dict(J0=0.7 + 0.2j, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_x=0.15,
               eps_zz=0.2, alpha=1.3 + 0.4j, beta=0.35 - 0.2j, gamma=0.6 + 0.5j, delta=0.9 - 0.3j)
#: every term on that keeps the reflection (J real, f_b symmetric in its two sites; lam complex
#: is fine: sp_b sp_b' is symmetric)
MIRROR = dict(J0=0.7, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_zz=0.2, alpha=1.3, beta=0.35,
              gamma=1.3, delta=0.35)
MINIMAL = dict(preset="minimal", alpha=2.0, delta=1.5)


@functools.lru_cache(maxsize=None)
def _dense_pauli(L):
    """Independent Pauli transformation: column w of W is vec(P_w) / 2^(L/2) in row-major order,
    built from dense_reference's Pauli matrices by Kronecker products."""
    ops = [ID2, SX, SY, SZ]
    W = np.empty((4 ** L, 4 ** L), dtype=complex)
    for w, letters in enumerate(itertools.product(range(4), repeat=L)):
        P = np.ones((1, 1))
        for q in letters:
            P = np.kron(P, ops[q])
        W[:, w] = P.reshape(-1) / 2 ** (L / 2)
    return W


def _dense(p):
    return dense_liouvillian(p.L, p.bc, range=p.range, **{k: getattr(p, k) for k in PARAMS})


CASES = [(3, "ring", 1, GENERAL), (4, "ring", 1, GENERAL), (4, "open", 1, GENERAL),
         (5, "ring", 2, GENERAL), (4, "ring", 1, MINIMAL), (4, "ring", 1, MIRROR),
         (5, "open", 1, MIRROR), (5, "ring", 2, MIRROR)]


@pytest.mark.parametrize("L,bc,rng,kw", CASES)
def test_pauli_liouvillian_is_the_dense_one_and_real(L, bc, rng, kw):
    p = model.make_params(L, bc=bc, range=rng, **kw)
    W = _dense_pauli(L)
    np.testing.assert_allclose(W.conj().T @ W, np.eye(4 ** L), atol=1e-13)
    dense = W.conj().T @ _dense(p) @ W               # the dense reference in Pauli strings
    assert np.abs(dense.imag).max() < 1e-12          # real for any complex couplings
    A = rows_block(p, PauliBasis(make_basis(L, "none")), np.arange(4 ** L), pauli_terms(p))
    assert A.dtype.kind == "f"
    np.testing.assert_allclose(A.toarray(), dense.real, atol=1e-12)
    assert A.getrow(0).nnz == 0                      # d Tr rho / dt = 0


@pytest.mark.parametrize("L", [3, 4, 5, 6])
def test_minimal_ring_has_2_25_L_plus_1_nonzeros_per_row(L):
    """The issue's count: 2.25 L + 1 per row (every row but the identity's, which is empty),
    against 5 L + 1 in the matrix units."""
    p = model.make_params(L, bc="ring", **MINIMAL)
    rows = np.arange(4 ** L)
    pauli = rows_block(p, PauliBasis(make_basis(L, "none")), rows, pauli_terms(p))
    units = rows_block(p, make_basis(L, "none"), rows, local_terms(p))
    assert pauli.nnz == (2.25 * L + 1) * 4 ** L - 1
    assert units.nnz == (5 * L + 1) * 4 ** L


def _reflection_matrix(L, bc):
    """The superoperator rho -> R rho R^+ of the site reflection on row-major vec(rho), from
    permuted bits (independent of basis.py)."""
    image = [(-j) % L if bc == "ring" else L - 1 - j for j in range(L)]
    perm = np.zeros(2 ** L, dtype=int)
    for s in range(2 ** L):
        bits = [(s >> (L - 1 - j)) & 1 for j in range(L)]
        t = sum(bits[j] << (L - 1 - image[j]) for j in range(L))
        perm[s] = t
    R = np.zeros((2 ** L, 2 ** L))
    R[perm, np.arange(2 ** L)] = 1
    return np.kron(R, R)          # R rho R^T, R real


@pytest.mark.parametrize("L,bc,rng,kw,holds", [
    (4, "ring", 1, MINIMAL, True), (5, "ring", 1, MINIMAL, True), (5, "open", 1, MINIMAL, True),
    (4, "ring", 1, MIRROR, True), (5, "ring", 2, MIRROR, True), (4, "open", 1, MIRROR, True),
    (4, "ring", 1, dict(MINIMAL, eps_x=0.3, eps_zz=0.2, J0=0.5, kappa=0.1), True),
    (4, "ring", 1, dict(MINIMAL, alpha=2j, delta=1.5j), True),      # f_b -> -f_b
    (4, "ring", 1, dict(MINIMAL, alpha=2 + 0.5j), False),           # complex alpha
    (4, "open", 1, dict(MINIMAL, alpha=2, delta=1.5 + 1j), False),
    (4, "ring", 1, dict(MINIMAL, J0=0.5, phi=0.3), False),          # a flux
    (4, "ring", 1, dict(MINIMAL, J0=0.5j), False),
    (5, "ring", 1, GENERAL, False),
])
def test_reflection_found_from_the_terms_is_that_of_the_dense_liouvillian(L, bc, rng, kw, holds):
    p = model.make_params(L, bc=bc, range=rng, **kw)
    ok, why = reflection_symmetric(p)
    Lm = _dense(p)
    R = _reflection_matrix(L, bc)
    commutes = np.abs(R @ Lm - Lm @ R).max() < 1e-12 * np.abs(Lm).max()
    assert ok == holds == commutes
    if not ok:
        assert "does not map the model's terms onto themselves" in why
        with pytest.raises(ValueError, match="does not hold: the reflection"):
            resolve_symmetry(p, "reflection")
        assert "reflection" not in resolve_symmetry(p, "auto")
    else:
        assert "reflection" in resolve_symmetry(p, "auto")


@pytest.mark.parametrize("kw,message", [
    (dict(MINIMAL, J0=1.0, phi=0.5), "a flux phi != 0"),
    (dict(MINIMAL, alpha=2 + 1j), "D\\[f_b\\] is not symmetric"),
])
def test_broken_reflection_is_refused_with_its_reason(kw, message, tmp_path):
    p = model.make_params(4, **kw)
    with pytest.raises(ValueError, match=message):
        resolve_symmetry(p, "parity+momentum+reflection")
    args = ["solve", "--L", 4, "--preset", "minimal", "--symmetry", "parity+momentum+reflection",
            "-o", tmp_path / "x.nc"] + [a for k, v in kw.items() if k != "preset"
                                        for a in (f"--{k}", v)]
    proc = run_cli(args, check=False)
    assert proc.returncode == 2 and "does not hold" in proc.stderr
    assert not (tmp_path / "x.nc").exists()


def _digits(w, L):
    return [(w >> (2 * (L - 1 - j))) & 3 for j in range(L)]


def _word(d):
    return sum(x << (2 * (len(d) - 1 - j)) for j, x in enumerate(d))


def _brute_force_orbits(L, bc, parity, momentum, reflection):
    """Orbits of words under the chosen site permutations, by explicit digit lists."""
    seen, orbits = set(), []
    for w in range(4 ** L):
        if w in seen:
            continue
        d = _digits(w, L)
        if parity and sum(x in (1, 2) for x in d) % 2:
            continue
        orbit, todo = {w}, [d]
        while todo:
            e = todo.pop()
            images = []
            if momentum:
                images.append(e[1:] + e[:1])
            if reflection:
                images.append([e[(-j) % L] for j in range(L)] if bc == "ring" else e[::-1])
            for f in images:
                if _word(f) not in orbit:
                    orbit.add(_word(f))
                    todo.append(f)
        seen |= orbit
        orbits.append(sorted(orbit))
    return orbits


SECTORS = ["parity", "momentum", "reflection", "parity+momentum", "parity+reflection",
           "momentum+reflection", "parity+momentum+reflection"]


@pytest.mark.parametrize("L,bc", [(3, "ring"), (4, "ring"), (5, "ring"), (6, "ring"),
                                  (2, "open"), (3, "open"), (4, "open"), (5, "open")])
def test_sector_bases_by_brute_force(L, bc):
    for name in SECTORS:
        if "momentum" in name and bc != "ring":
            continue
        parts = name.split("+")
        orbits = _brute_force_orbits(L, bc, "parity" in parts, "momentum" in parts,
                                     "reflection" in parts)
        b = make_basis(L, name, bc=bc)
        assert b.size == len(orbits) == sector_size(L, name, bc), name
        if isinstance(b, SectorBasis) and b.orbits:
            np.testing.assert_array_equal(b.reps, [o[0] for o in orbits])
            np.testing.assert_array_equal(b.orbit, [len(o) for o in orbits])
            words, _ = b.expand(np.arange(b.size), np.ones(b.size))
            np.testing.assert_array_equal(np.sort(words), np.sort(np.concatenate(orbits)))
        idx = np.arange(b.size)
        back, coef = b.locate(b.words(idx))
        np.testing.assert_array_equal(back, idx)
        assert np.all(coef > 0)


def test_sector_sizes_of_the_issue():
    assert dihedral_sector_size(12) == sector_size(12, "parity+momentum+reflection") == 352786
    assert dihedral_sector_size(14) == 4806366
    assert dihedral_sector_size(16) == 67160083


def _isometry(basis, L):
    V = np.zeros((4 ** L, basis.size))
    for i in range(basis.size):
        w, v = basis.expand(np.array([i]), np.array([1.0]))
        V[w, i] = v
    return V


@pytest.mark.parametrize("L,bc,rng,kw", [
    (3, "ring", 1, MINIMAL), (4, "ring", 1, MIRROR), (5, "ring", 1, dict(MINIMAL, eps_x=0.2)),
    (5, "ring", 2, MIRROR), (4, "open", 1, MIRROR), (5, "open", 1, dict(MIRROR, eps_x=0.2)),
    (4, "ring", 1, GENERAL), (4, "open", 1, dict(GENERAL, eps_x=0.0))])
@pytest.mark.parametrize("operator_basis", ["pauli", "matrix-units"])
def test_sector_matrix_is_the_dense_liouvillian_restricted(L, bc, rng, kw, operator_basis):
    """L V = V A with V the sector's isometry: every sector of every symmetry the model has, in
    both operator bases, against the dense reference (Pauli: transformed by _dense_pauli)."""
    p = model.make_params(L, bc=bc, range=rng, **kw)
    has = symmetries_of(p)
    perm = rowmajor_to_words(L)
    if operator_basis == "pauli":
        W = _dense_pauli(L)
        Ld = (W.conj().T @ _dense(p) @ W).real
        terms = pauli_terms(p)
    else:
        Ld = _dense(p)[np.ix_(perm, perm)]
        terms = local_terms(p)
    tested = 0
    for name in SECTORS:
        if not all(has[n] for n in name.split("+")):
            continue
        inner = make_basis(L, resolve_symmetry(p, name), bc=bc)
        basis = PauliBasis(inner) if operator_basis == "pauli" else inner
        A = rows_block(p, basis, np.arange(basis.size), terms).toarray()
        V = _isometry(inner, L)
        np.testing.assert_allclose(V.T @ V, np.eye(basis.size), atol=1e-13)
        np.testing.assert_allclose(Ld @ V, V @ A, atol=1e-12, err_msg=name)
        idx, w = basis.trace_support()
        tr = np.zeros(basis.size)
        tr[idx] = w
        if operator_basis == "pauli":       # Tr(P_w / 2^(L/2)) = 2^(L/2) for w = 0, else 0
            ref = np.zeros(4 ** L)
            ref[0] = 2 ** (L / 2)
        else:
            ref = (perm % (2 ** L + 1) == 0).astype(float)
        np.testing.assert_allclose(tr, ref @ V, atol=1e-13)
        tested += 1
    assert tested >= 1 and (has["reflection"] or tested <= 3)


def test_density_matrix_of_pauli_components():
    """rho = 2^(-L/2) sum_w x_w P_w against the dense Kronecker products."""
    L = 3
    x = np.random.default_rng(1).normal(size=4 ** L)
    rho = (_dense_pauli(L) @ x).reshape(2 ** L, 2 ** L)
    np.testing.assert_allclose(density_matrix(x, L), rho, atol=1e-14)


OBS = ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair",
       "negativity_half", "min_eigenvalue")


def _ed(p, **kw):
    data, attrs = run_ed(p, **kw)
    return {k: v for k, (_, v) in data.items()}, attrs


@pytest.mark.parametrize("L,bc,rng,kw", [
    (3, "ring", 1, GENERAL), (4, "ring", 1, MIRROR), (5, "ring", 2, MIRROR),
    (6, "ring", 1, MINIMAL), (4, "open", 1, GENERAL), (5, "open", 1, MIRROR),
    (6, "open", 1, MINIMAL), (5, "ring", 1, dict(MINIMAL, eps_x=0.2, eps_zz=0.1, J0=0.4)),
])
def test_pauli_observables_equal_the_complex_path(L, bc, rng, kw):
    """The Pauli path (auto: every symmetry the model has) against the complex matrix-unit path
    in the full space (the path of test_ed/test_sectors, itself checked against the dense
    reference), to 1e-10."""
    p = model.make_params(L, bc=bc, range=rng, **kw)
    full, fattrs = _ed(p, solver="direct", symmetry="none", basis="matrix-units")
    pauli, attrs = _ed(p, solver="direct")
    assert fattrs["operator_basis"] == "matrix-units" and attrs["operator_basis"] == "pauli"
    assert fattrs["petsc_scalar"] == "complex" and attrs["petsc_scalar"] == "real"
    assert attrs["symmetry"] == resolve_symmetry(p, "auto")
    assert ("reflection" in attrs["symmetry"]) == reflection_symmetric(p)[0]
    for k in OBS:
        np.testing.assert_allclose(pauli[k], full[k], atol=1e-10, rtol=0, err_msg=k)
    assert pauli["residual"] < 1e-12 and pauli["kernel_dim"] == full["kernel_dim"] == 1
    assert pauli["hermiticity_error"] == 0.0 and pauli["trace_error"] < 1e-12


@pytest.mark.parametrize("L,bc", [(8, "ring"), (7, "open")])
def test_pauli_reflection_sector_equals_full_space_L7_8(L, bc):
    """The largest sizes of the issue: the Pauli reflection sector (iterative) against the
    complex full space (iterative, residual refined to 1e-13)."""
    from lindring.solvers.steady import Tolerances
    p = model.make_params(L, bc=bc, **MINIMAL)
    kw = dict(check_unique=False, tol=Tolerances(residual_target=1e-13))
    full, _ = _ed(p, solver="iterative", symmetry="none", basis="matrix-units", **kw)
    sect, attrs = _ed(p, solver="iterative", **kw)
    assert attrs["symmetry"] == ("parity+momentum+reflection" if bc == "ring"
                                 else "parity+reflection")
    for k in OBS:
        np.testing.assert_allclose(sect[k], full[k], atol=1e-10, rtol=0, err_msg=k)


def test_uniqueness_checks_run_in_the_pauli_sector():
    """The probe decides (iterative), the dark state of the even ring is found (direct,
    shift-and-invert) in the Pauli reflection sector as in the complex path."""
    p = model.make_params(6, bc="ring", **MINIMAL)
    obs, attrs = _ed(p, solver="iterative")
    assert attrs["unique"] == 1 and attrs["uniqueness_method"] == "probe solve"
    dark = model.make_params(4, bc="ring", preset="minimal", alpha=1.0, delta=0.0)
    obs, attrs = _ed(dark, solver="direct")
    assert attrs["operator_basis"] == "pauli" and "reflection" in attrs["symmetry"]
    assert obs["kernel_dim"] == 2 and attrs["unique"] == 0
    assert "reflection-even" in attrs["spectrum_sector"]


def test_cli_writes_the_operator_basis(tmp_path):
    import xarray as xr
    args = ["solve", "--L", 5, "--preset", "minimal", "--alpha", 2, "--delta", 1.5]
    for basis in ("auto", "matrix-units"):
        out = tmp_path / f"{basis}.nc"
        run_cli([*args, "--basis", basis, "-o", out])
        with xr.open_dataset(out) as ds:
            assert ds.attrs["operator_basis"] == ("pauli" if basis == "auto" else basis)
            assert ds.attrs["petsc_scalar"] == ("real" if basis == "auto" else "complex")
            assert ds.attrs["symmetry"] == "parity+momentum+reflection"


REAL_AND_COMPLEX = """
import sys, numpy as np, lindring
from mpi4py import MPI
kw = dict(L=7, bc=sys.argv[1], preset="minimal", alpha=2, delta=1.5, solver="iterative",
          symmetry="none" if sys.argv[1] == "open" else "auto")
first = lindring.solve("ed", basis="matrix-units", **kw)     # loads the complex build
second = lindring.solve("ed", **kw)                          # the real one, in a child world
assert first.attrs["petsc_scalar"] == "complex", first.attrs["petsc_scalar"]
assert second.attrs["petsc_scalar"] == "real", second.attrs["petsc_scalar"]
assert second.attrs["mpi_ranks"] == MPI.COMM_WORLD.Get_size()
for k in ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair"):
    np.testing.assert_allclose(second[k].values, first[k].values, atol=1e-10, rtol=0, err_msg=k)
print("rank", MPI.COMM_WORLD.Get_rank(), "agree", second.attrs["uniqueness_method"])
"""


@pytest.mark.parametrize("bc,ranks", [("ring", 1), ("open", 2)])
def test_real_build_is_taken_and_agrees_with_the_complex_one(tmp_path, bc, ranks):
    """The Pauli path runs in the real-scalar PETSc build (attribute petsc_scalar), the matrix
    units in the complex one, and they agree to 1e-10; a process that loaded the complex build
    first solves the Pauli point in a child MPI world of as many ranks (solvers/builds.py), here
    on 1 and 2 ranks under real mpiexec."""
    import os
    import subprocess
    import sys
    from conftest import MPI_ENV
    script = tmp_path / "both.py"
    script.write_text(REAL_AND_COMPLEX)
    cmd = [sys.executable, str(script), bc]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, **MPI_ENV))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.count("agree probe solve") == ranks


SWITCH_BUILDS = """
import lindring
kw = dict(L=3, preset="minimal", alpha=2, delta=1.5)
for basis in ("pauli", "matrix-units", "matrix-units", "pauli", "matrix-units"):
    ds = lindring.solve("ed", basis=basis, **kw)
    print(basis, ds.attrs["petsc_scalar"], repr(float(ds.current_eta[0])))
"""


def test_child_worlds_start_again_without_oversubscription_exported(tmp_path):
    """A session that switches between the bases several times starts a child world each time
    (solvers/builds.py), also where the environment does not allow Open MPI to oversubscribe
    (a new user's shell on a 2-core machine: the second child failed with a bare
    MPI_ERR_SPAWN; the spawn now asks for it itself). The ring L = 3 current is Fig. 5's
    0.24678 in both builds."""
    import os
    import subprocess
    import sys
    from conftest import MPI_ENV
    script = tmp_path / "switch.py"
    script.write_text(SWITCH_BUILDS)
    env = dict(os.environ, **MPI_ENV)
    env.pop("OMPI_MCA_rmaps_base_oversubscribe")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.split("\n")[:-1]
    assert [line.split()[1] for line in lines] == ["real", "complex", "complex", "real", "complex"]
    for line in lines:
        assert abs(float(line.split()[2]) - 0.24677676824957) < 1e-12, line


@pytest.mark.parametrize("solver", ["direct", "iterative"])
def test_pauli_scale_and_probe_against_the_dense_pauli_matrix(solver):
    """The scale (largest |element|) is that of the dense Liouvillian in Pauli strings, and the
    probe's rate is a cautious estimate of the smallest singular value of the dense Pauli L'
    (row 0, the identity's, replaced by the scale times the trace functional 2^(L/2) x_0)."""
    L = 4
    p = model.make_params(L, bc="ring", preset="minimal", alpha=1.0, delta=0.05)
    ours, attrs = _ed(p, solver=solver, symmetry="none", basis="pauli")
    assert attrs["uniqueness_method"] == "probe solve" and attrs["unique"] == 1
    W = _dense_pauli(L)
    Lp = (W.conj().T @ _dense(p) @ W).real
    scale = np.abs(Lp).max()
    assert attrs["liouvillian_scale"] == pytest.approx(scale, rel=1e-12)
    Lc = Lp.copy()
    Lc[0, :] = 0
    Lc[0, 0] = scale * 2 ** (L / 2)
    # trace preservation: the identity's row of L is zero in the Pauli basis, so the trace-row
    # system is the deflated operator L + scale 2^(L/2) |1><1| (issue 14, item 3)
    np.testing.assert_allclose(Lp[0], 0, atol=1e-13 * scale)
    e0 = np.eye(4 ** L)[0]
    np.testing.assert_allclose(Lc, Lp + scale * 2 ** (L / 2) * np.outer(e0, e0), atol=1e-13 * scale)
    sigma_min = np.linalg.svd(Lc, compute_uv=False)[-1]
    assert sigma_min / 4 ** L / 3 <= attrs["slowest_rate"] <= 3 * sigma_min


def test_auto_falls_back_to_the_matrix_units_where_the_pauli_solve_fails():
    """mu = 100 on an open chain: GMRES with ILU(0) breaks down on the Pauli matrix (the
    Hamiltonian's mu rotates x into y off the diagonal) and converges in the matrix units (where
    mu sits on the diagonal): auto solves again there, says so, and the state is the dense one;
    an explicit --basis pauli fails with the solver's error."""
    from dense_reference import dense_observables, dense_steady_state
    from lindring.solvers.steady import SolverError
    p = model.make_params(4, bc="open", preset="minimal", alpha=2.0, delta=1.0, mu=100.0)
    obs, attrs = _ed(p, solver="iterative", symmetry="none", preconditioner="ilu")
    assert attrs["operator_basis"] == "matrix-units" and "did not converge" in attrs["pauli_fallback"]
    kw = {k: getattr(p, k) for k in PARAMS}
    ref = dense_observables(dense_steady_state(_dense(p))[0], 4, "open", **kw)
    np.testing.assert_allclose(obs["sz"], ref["sz"], atol=1e-9)
    with pytest.raises(SolverError, match="did not converge"):
        _ed(p, solver="iterative", symmetry="none", basis="pauli", preconditioner="ilu")
    # with the preconditioner chosen automatically the Pauli path itself solves it (ILU(0),
    # then the effective-Hamiltonian inverse: issue 15)
    obs, attrs = _ed(p, solver="iterative", symmetry="none")
    assert attrs["operator_basis"] == "pauli" and attrs["preconditioner"] == "heff"
    np.testing.assert_allclose(obs["sz"], ref["sz"], atol=1e-9)
    ok, attrs = _ed(model.make_params(4, **MINIMAL), solver="iterative")
    assert attrs["operator_basis"] == "pauli" and attrs["pauli_fallback"] == ""
