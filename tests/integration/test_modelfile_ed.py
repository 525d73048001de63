"""Issue 16: ``lindring solve --model FILE --set NAME=VALUE`` and ``lindring.solve(model=...)``.

* models/paper.yaml against today's path (``--preset minimal`` and the paper's options, itself
  tested against the dense reference in test_ed.py): every observable to 1e-12, uniqueness
  decisions equal, at representative test points (ring and open, every perturbation, range 2,
  a degenerate kernel).
* models/boundary_driven_xxz.yaml at Delta = 0 against the closed form of the XX chain
  (see tests/unit/test_modelfile.py::test_boundary_driven_xx_chain_closed_form for the
  derivation and the published solution it agrees with), and at maximal driving (drive = 1)
  against Prosen's exact XXZ steady state (PRL 107, 137201 (2011)) for Delta = 0, 1/2, 1,
  1.5: the magnetisation profile, the current, and the paper's printed Delta = 1/2 transfer
  matrix.
* Bad input exits with status 2 before any compute and writes nothing.
"""
import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import ROOT, run_cli

PAPER = ROOT / "models" / "paper.yaml"
XXZ = ROOT / "models" / "boundary_driven_xxz.yaml"
DISORDERED = ROOT / "models" / "disordered_ring.yaml"

#: (today's keywords, the model file's parameters) of the same point
POINTS = [
    (dict(L=4, bc="ring", preset="minimal", alpha=2.0, delta="1.5+0.5j"),
     dict(alpha=2.0, delta="1.5+0.5j")),
    (dict(L=4, bc="open", J0="0.7+0.2j", phi=0.9, mu=0.8, kappa=0.25, alpha="1.3+0.4j",
          delta=0.9),
     dict(J0="0.7+0.2j", phi=0.9, mu=0.8, kappa=0.25, alpha="1.3+0.4j", delta=0.9, beta=0,
          gamma=0)),
    (dict(L=5, bc="ring", preset="minimal", alpha=1.0, delta=0.6, eps_x=0.2, eps_zz=0.1,
          lam="0.3-0.1j", range=2),
     dict(alpha=1.0, delta=0.6, eps_x=0.2, eps_zz=0.1, lam="0.3-0.1j", range=2)),
    (dict(L=4, bc="ring", preset="minimal", alpha=1.0, delta=0.0),      # even ring, theta = 0:
     dict(alpha=1.0, delta=0.0)),                                       # dark state, kernel 2
]
SAME = {"current_eta": "I_eta", "current_J": "I_J", "sz": "sz", "purity": "purity",
        "purity_pair": "purity_pair", "negativity_pair": "negativity_pair",
        "negativity_half": "negativity_half", "kernel_dim": "kernel_dim"}


@pytest.mark.parametrize("today, values", POINTS)
def test_paper_model_file_reproduces_todays_results(today, values):
    ref = lindring.solve("ed", **today)
    got = lindring.solve("ed", L=today["L"], bc=today["bc"], model=PAPER, parameters=values)
    for a, b in SAME.items():
        assert a in ref, a        # the paper's files have every variable (NaN: not computed)
        if b not in got:          # a model file writes what it computed: negativity_half is
            assert np.isnan(ref[a].values).all(), a    # not, where the state is not unique
            continue
        x, y = np.asarray(ref[a].values), np.asarray(got[b].values)
        assert x.shape == y.shape
        assert np.array_equal(np.isnan(x), np.isnan(y)), a
        np.testing.assert_allclose(y[~np.isnan(y)], x[~np.isnan(x)], rtol=0, atol=1e-12,
                                   err_msg=a)
    assert got.attrs["unique"] == ref.attrs["unique"]
    assert got.attrs["symmetry"] == ref.attrs["symmetry"]
    assert got.attrs["model"] == "paper" and len(got.attrs["model_sha256"]) == 64
    assert got["I_eta"].dims == ("bond",) and "model file" in got["I_eta"].attrs["long_name"]


@pytest.mark.parametrize("symmetry", ["auto", "none"])
def test_xx_chain_through_the_command_line(tmp_path, symmetry):
    out = tmp_path / "xx.nc"
    J, Gamma, drive, L = 0.8, 1.7, 0.6, 5
    run_cli(["solve", "--method", "ed", "--model", XXZ, "--bc", "open", "--L", L,
             "--set", f"J={J}", "--set", "Delta=0", "--set", f"Gamma={Gamma}",
             "--set", f"drive={drive}", "--symmetry", symmetry, "-o", out])
    with xr.open_dataset(out) as ds:
        z1 = Gamma ** 2 * drive / (16 * J ** 2 + Gamma ** 2)
        np.testing.assert_allclose(ds.sz.values, [z1, 0, 0, 0, -z1], atol=1e-10)
        np.testing.assert_allclose(ds.j_spin.values, 16 * J * Gamma * drive / (16 * J ** 2 + Gamma ** 2),
                                   atol=1e-10)
        assert ds.attrs["symmetry"] == ("parity" if symmetry == "auto" else "none")
        assert ds.attrs["unique"] == 1
        assert ds.attrs["Delta_re"] == 0 and ds.attrs["Gamma_re"] == Gamma


# ----------------------------------------------------------------------------- Prosen 2011
def _prosen_amplitudes(Delta, eps, dim):
    """a_r^0, a_r^+, a_r^- (r = 0 .. dim-1) of the exact steady state of T. Prosen, "Exact
    nonequilibrium steady state of a strongly driven open XXZ chain", Phys. Rev. Lett. 107,
    137201 (2011), arXiv:1106.2978: Eqs. (6)-(7) with lambda = arccos(Delta) (complex for
    Delta > 1) and the gauge c = 1, tau_r = sign Re cos(r lambda); at Delta = 1 the regularised
    isotropic amplitudes a_r^0 = 1 + i eps r / 2 printed after Fig. 2. (Transcribed through the
    equation cards of the clean-room reproduction github.com/xi-zhao/RunThePaper,
    cases/1106.2978/docs/DERIVATION.md, EQ002 and EQ008.)"""
    import cmath
    a0, ap, am = (np.zeros(dim, complex) for _ in range(3))
    a0[0], ap[0], am[0] = 1, 1j * eps, 1
    for r in range(1, dim):
        k_odd, k_even = (r + 1) // 2, r // 2
        if Delta == 1:
            a0[r] = 1 + 0.5j * eps * r
            ap[r] = (2 * k_odd + 1j * eps * k_odd * (k_odd - 0.5) if r % 2
                     else 2 * k_even + 1j * eps * k_even ** 2)
            am[r] = 1j * eps if r % 2 else 1j * eps * (k_even + 0.5) / k_even
            continue
        lam = cmath.acos(Delta)
        s, c = cmath.sin(lam), cmath.cos(r * lam)
        tau = 1.0 if c.real >= 0 else -1.0
        a0[r] = c + 1j * eps * cmath.sin(r * lam) / (2 * s)
        ratio = 1j * eps * cmath.sin(r * lam) / (2 * (c + tau) * s)
        if r % 2:
            ap[r] = cmath.sin(2 * k_odd * lam) * (1 + ratio)
            am[r] = -cmath.sin(r * lam) + 1j * eps * (c + tau) / (2 * s)
        else:
            ap[r] = cmath.sin(r * lam) - 1j * eps * (c + tau) / (2 * s)
            am[r] = -cmath.sin((2 * k_even + 1) * lam) * (1 + ratio)
    return a0, ap, am


def _prosen_sz_and_current(Delta, eps, n):
    """<sigma^z_j> (Eq. 15) and the current J = (eps/2) <0|T^(n-1)|0> / <0|T^n|0>
    (Eqs. 17-18) from the tridiagonal transfer matrix T (diagonal |a_r^0|^2, above it
    |a_r^+|^2 / 2, below |a_r^-|^2 / 2) and the magnetisation vertex V (the off-diagonal part
    of T, the lower diagonal negated) of Prosen, PRL 107, 137201 (2011)."""
    dim = n // 2 + 1                    # a path from |0> back to |0> in n steps climbs n/2
    a0, ap, am = _prosen_amplitudes(Delta, eps, dim)
    T = np.diag(np.abs(a0) ** 2)
    T += np.diag(np.abs(ap[:-1]) ** 2 / 2, 1) + np.diag(np.abs(am[:-1]) ** 2 / 2, -1)
    V = np.diag(np.diag(T, 1), 1) - np.diag(np.diag(T, -1), -1)
    P = np.linalg.matrix_power
    Z = P(T, n)[0, 0]
    sz = np.array([(P(T, j) @ V @ P(T, n - 1 - j))[0, 0] / Z for j in range(n)])
    return sz, eps / 2 * P(T, n - 1)[0, 0] / Z


@pytest.mark.parametrize("L, Delta, eps", [(2, 1.0, 0.7), (3, 0.5, 0.7), (4, 1.0, 2.5),
                                           (5, 1.5, 0.7), (5, 0.0, 1.3), (6, 0.5, 0.7),
                                           (6, 1.0, 0.3)])
def test_maximal_driving_against_prosens_exact_xxz_steady_state(L, Delta, eps):
    """The XXZ chain driven at maximal bias (drive = 1: only sp on the first site, only sm on
    the last) against the exact steady state of T. Prosen, Phys. Rev. Lett. 107, 137201
    (2011), arXiv:1106.2978. The paper's H = sum (2 s+ s- + 2 s- s+ + Delta sz sz) is
    J = 1 here; its dissipator 2 L rho L^+ - {L^+ L, rho} with L_1 = sqrt(eps) s+_1,
    L_2 = sqrt(eps) s-_n is D[sqrt(2 eps) ...], so Gamma = 2 eps. The profile is Eq. (15);
    its current J (Eqs. 17-18) is the paper's normalisation, (eps / 2) (1 - <sz_1>) by
    continuity at site 1 against 2 eps (1 - <sz_1>) = <j_spin_0> here, so j_spin = 4 J.
    Prosen proves the state unique (also arXiv:1205.3126): lindring decides so, in the
    parity sector, with no special case for the pure source and sink."""
    ds = lindring.solve("ed", L=L, bc="open", model=XXZ,
                        parameters=dict(J=1, Delta=Delta, Gamma=2 * eps, drive=1))
    assert ds.attrs["unique"] == 1 and int(ds.kernel_dim) == 1
    sz, current = _prosen_sz_and_current(Delta, eps, L)
    np.testing.assert_allclose(ds.sz.values, sz, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ds.j_spin.values, 4 * current, rtol=1e-10)
    if L == 2:      # Z_2 = 1 + eps^2 / 4 whatever Delta: J = 2 eps / (4 + eps^2)
        assert 4 * current == pytest.approx(8 * eps / (4 + eps ** 2), rel=1e-14)
    if Delta == 0:  # the XX closed form of the README at drive = 1, Gamma = 2 eps
        Gamma = 2 * eps
        assert 4 * current == pytest.approx(16 * Gamma / (16 + Gamma ** 2), rel=1e-12)


@pytest.mark.parametrize("L", [3, 6])
def test_delta_one_half_against_prosens_printed_transfer_matrix(L):
    """At Delta = 1/2 (lambda = pi/3) Prosen's transfer process closes on three states; the
    paper prints that 3 x 3 matrix, T' = [[1, eps^2/2, 0], [1/2, (1 + eps^2)/4,
    (9 + eps^2)/24], [0, 3 (1 + eps^2)/8, (1 + eps^2)/4]] (PRL 107, 137201, p. 4), and
    J = (eps/2) <0|T'^(n-1)|0> / <0|T'^n|0>: the printed numbers against lindring's ED."""
    eps = 0.9
    Tp = np.array([[1, eps ** 2 / 2, 0], [0.5, (1 + eps ** 2) / 4, (9 + eps ** 2) / 24],
                   [0, 3 * (1 + eps ** 2) / 8, (1 + eps ** 2) / 4]])
    P = np.linalg.matrix_power
    current = eps / 2 * P(Tp, L - 1)[0, 0] / P(Tp, L)[0, 0]
    ds = lindring.solve("ed", L=L, bc="open", model=XXZ,
                        parameters=dict(J=1, Delta=0.5, Gamma=2 * eps, drive=1))
    np.testing.assert_allclose(ds.j_spin.values, 4 * current, rtol=1e-10)


def test_xxz_correlation_against_distance_in_the_file(tmp_path):
    """models/boundary_driven_xxz.yaml names C_zz(d) = <sz_0 sz_d> - <sz_0><sz_d>: written with
    dims (distance,), d = 1 .. L - 1, and equal to numpy on the dense steady state built here
    from the model's definition (tests/dense_reference.py primitives, no lindring code)."""
    import dense_reference as dr
    L, J, Delta, Gamma, drive = 5, 0.8, 0.6, 1.3, 0.4
    out = tmp_path / "xxz.nc"
    run_cli(["solve", "--model", XXZ, "--bc", "open", "--L", L, "--set", f"J={J}",
             "--set", f"Delta={Delta}", "--set", f"Gamma={Gamma}", "--set", f"drive={drive}",
             "-o", out])
    op = lambda o, j: dr.site_op(o, j, L)               # noqa: E731
    H = sum(J * (op(dr.SX, j) @ op(dr.SX, j + 1) + op(dr.SY, j) @ op(dr.SY, j + 1)
                 + Delta * op(dr.SZ, j) @ op(dr.SZ, j + 1)) for j in range(L - 1))
    up, down = np.sqrt(Gamma * (1 + drive) / 2), np.sqrt(Gamma * (1 - drive) / 2)
    jumps = [up * op(dr.SP, 0), down * op(dr.SM, 0), down * op(dr.SP, L - 1),
             up * op(dr.SM, L - 1)]
    rho, kdim = dr.dense_steady_state(dr.lindblad_superop(H, jumps))
    assert kdim == 1
    z = [dr.expect(op(dr.SZ, j), rho).real for j in range(L)]
    czz = [dr.expect(op(dr.SZ, 0) @ op(dr.SZ, d), rho).real - z[0] * z[d] for d in range(1, L)]
    with xr.open_dataset(out) as ds:
        assert ds.C_zz.dims == ("distance",) and list(ds.distance.values) == [1, 2, 3, 4]
        assert "against distance" in ds.C_zz.attrs["long_name"]
        np.testing.assert_allclose(ds.C_zz.values, czz, rtol=0, atol=1e-10)
        np.testing.assert_allclose(ds.sz.values, z, rtol=0, atol=1e-10)
        assert np.abs(czz).max() > 1e-3


def test_disordered_ring_runs_in_the_parity_sector_and_its_clean_limit():
    dis = lindring.solve("ed", L=4, bc="ring", model=DISORDERED, parameters=dict(w=0.3, seed=2))
    assert dis.attrs["symmetry"] == "parity" and dis.attrs["unique"] == 1
    assert np.ptp(dis.I_eta.values) > 1e-3          # the disorder shows in the currents
    clean = lindring.solve("ed", L=4, bc="ring", model=DISORDERED, parameters=dict(w=0))
    ref = lindring.solve("ed", L=4, bc="ring", preset="minimal", alpha=2, delta=1.5)
    np.testing.assert_allclose(clean.I_eta.values, ref.current_eta.values, atol=1e-12)
    # complex amplitudes: eta = alpha^2 - delta^2, not |alpha|^2 - |delta|^2
    clean = lindring.solve("ed", L=4, bc="ring", model=DISORDERED,
                           parameters=dict(w=0, alpha="1+0.5j", delta="0.3-0.4j"))
    ref = lindring.solve("ed", L=4, bc="ring", preset="minimal", alpha=1 + 0.5j, delta=0.3 - 0.4j)
    np.testing.assert_allclose(clean.I_eta.values, ref.current_eta.values, atol=1e-12)
    assert abs(float(ref.current_eta[0])) > 0.1


@pytest.mark.parametrize("args, message", [
    (["--model", PAPER, "--set", "zeta=1"], "unknown parameter"),
    (["--model", PAPER, "--set", "alpha=2*3"], "cannot read '2\\*3' as a number"),
    (["--model", PAPER, "--set", "alpha=__import__('os')"], "cannot read"),
    (["--model", PAPER, "--set", "alpha"], "write NAME=VALUE"),
    (["--model", PAPER, "--alpha", "2"], "--alpha: the paper's parameters do not apply"),
    (["--model", PAPER, "--preset", "minimal"], "--preset"),
    (["--model", PAPER, "--set", "eps_x=0.1", "--symmetry", "parity"],
     "hamiltonian term 'onsite' at site 0 does not commute with parity"),
    (["--model", XXZ, "--symmetry", "momentum"], "open chain"),
    (["--model", PAPER, "--method", "cmf"], "--method ed"),
    (["--model", ROOT / "models" / "missing.yaml"], "not found"),
    (["--set", "alpha=1"], "need --model"),
    (["--model", PAPER, "--set", "alpha=0", "--set", "delta=0"], "no jump operator"),
])
def test_bad_model_input_exits_2_before_compute(tmp_path, args, message):
    out = tmp_path / "bad.nc"
    bc = "open" if XXZ in args else "ring"
    proc = run_cli(["solve", "--L", 4, "--bc", bc] + args + ["-o", out], check=False)
    assert proc.returncode == 2, proc.stderr
    assert __import__("re").search(message, proc.stderr), proc.stderr
    assert not out.exists()
    assert "[assemble]" not in proc.stderr


def test_api_refuses_paper_keywords_with_a_model():
    with pytest.raises(lindring.core.model.ModelError, match="--alpha"):
        lindring.solve("ed", L=4, model=PAPER, alpha=2)
    with pytest.raises(lindring.core.model.ModelError, match="model=FILE"):
        lindring.solve("ed", L=4, parameters=dict(alpha=2))


def test_model_file_under_mpiexec_matches_one_rank(tmp_path):
    """Two ranks, iterative solver, a disordered ring (every rank draws the same couplings from
    the seed) against one rank with the direct solver."""
    args = ["solve", "--model", DISORDERED, "--L", 5, "--set", "w=0.3", "--set", "seed=4"]
    run_cli(args + ["--solver", "iterative", "-o", tmp_path / "two.nc"], ranks=2)
    run_cli(args + ["-o", tmp_path / "one.nc"])
    with xr.open_dataset(tmp_path / "two.nc") as two, xr.open_dataset(tmp_path / "one.nc") as one:
        assert two.attrs["mpi_ranks"] == 2 and two.attrs["solver"] == "iterative"
        assert np.ptp(one.I_eta.values) > 1e-2
        for name in ("I_eta", "sz", "purity"):
            np.testing.assert_allclose(two[name].values, one[name].values, rtol=0, atol=1e-8)


# ----------------------------------------------------------------------------- plan
@pytest.mark.parametrize("model_file, L, bc, values", [
    (XXZ, 5, "open", dict(Delta=0.5)), (DISORDERED, 5, "ring", dict(w=0.3, seed=2))])
def test_plan_of_a_model_file_counts_its_own_liouvillian(model_file, L, bc, values):
    """``lindring.plan(model=...)`` (and ``lindring plan --model``) sizes the model file's own
    Liouvillian: in the full space its rows and nonzeros equal those of the matrix assembled
    from the file's terms (counted by numpy on the dense matrix), and with symmetry auto the
    parity sector holds half of the 4^L operators."""
    from lindring.core import modelfile
    from lindring.core.basis import FullBasis, diagonal_words
    from lindring.solvers.liouvillian import rows_block
    full = lindring.plan("ed", L=L, bc=bc, model=model_file, parameters=values,
                         symmetry="none", basis="matrix-units")
    point = modelfile.build(modelfile.load(model_file), L, bc, values)
    A = rows_block(point, FullBasis(L), np.arange(4 ** L, dtype=np.int64)).toarray()
    # as the solve assembles it: row 0 the trace functional (the 2^L diagonal words |s><s|),
    # every diagonal entry stored
    A[0] = 0
    A[0, diagonal_words(L)] = 1
    stored = (A != 0) | np.eye(4 ** L, dtype=bool)
    assert (full.rows, full.nnz, full.nnz_exact) == (A.shape[0], np.count_nonzero(stored), True)
    auto = lindring.plan("ed", L=L, bc=bc, model=model_file, parameters=values)
    assert auto.symmetry == "parity" and auto.rows == 4 ** L // 2
    proc = run_cli(["plan", "--model", model_file, "--bc", bc, "--L", L, "--json"]
                   + [f"--set={k}={v}" for k, v in values.items()])
    import json
    assert json.loads(proc.stdout)["rows"] == auto.rows


def test_plan_of_the_paper_model_file_equals_todays_plan():
    today = lindring.plan("ed", L=10, preset="minimal", alpha=2, delta=1.5)
    got = lindring.plan("ed", L=10, model=PAPER)
    assert (got.rows, got.nnz, got.symmetry, got.tasks) == \
        (today.rows, today.nnz, today.symmetry, today.tasks)
    mpo = lindring.plan("mpo", L=30, bc="open", model=XXZ, chi=32)
    assert mpo.mem_mb_total == lindring.plan("mpo", L=30, bc="open", preset="minimal",
                                             alpha=2, delta=1, chi=32).mem_mb_total


@pytest.mark.parametrize("args, message", [
    (["--model", PAPER, "--L", 4, "--alpha", "2"], "--alpha: the paper's parameters"),
    (["--set", "w=1", "--L", 4], "need --model FILE"),
    (["--model", XXZ, "--L", 4, "--bc", "ring"], "is for bc open"),
    (["--model", PAPER, "--L", 4, "--set", "zeta=1"], "unknown parameter"),
])
def test_plan_refuses_what_solve_refuses_for_a_model_file(args, message):
    proc = run_cli(["plan"] + args, check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    proc = run_cli(["solve"] + args + ["-o", "/tmp/never-written.nc"], check=False)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
