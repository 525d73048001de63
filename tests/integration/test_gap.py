"""The Liouvillian gap over every symmetry sector (``--gap``, ``--gap-sectors``): the sectors
against the independent dense Liouvillian (their spectra together are its spectrum; the gap is its
gap; the slowest mode lies in the sector reported, checked with dense symmetry operators built
here), the issue's L = 4 numbers, a search that does not converge, and 1 rank against 2."""
import numpy as np
import pytest
import xarray as xr
from scipy.optimize import linear_sum_assignment

from conftest import run_cli
from dense_reference import dense_liouvillian
from lindring.core import model
from lindring.core.pauli import pauli_terms
from lindring.core.basis import symmetries_of
from lindring.core.sectors import CharacterBasis, MirrorRealForm, RealForm, sector_labels
from lindring.core.terms import rows_block
from lindring.solvers.methods import run_ed

PARAMS = ("J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz", "alpha", "beta", "gamma", "delta")
MINIMAL = dict(preset="minimal", alpha=2.0, delta=1.5)
#: reflection broken by a complex alpha (f_b is not +- its mirror image)
TWISTED = dict(preset="minimal", alpha=2.0 + 0.6j, delta=1.5)
#: a flux and a complex lam, parity kept: reflection broken by phi != 0
FLUX = dict(J0=0.7, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_zz=0.2, alpha=1.3,
            beta=0.35, gamma=1.3, delta=0.35)
#: eps_x breaks parity too: every term, complex where allowed
GENERAL = dict(J0=0.7 + 0.2j, phi=0.9, lam=0.3 - 0.1j, mu=0.8, kappa=0.25, eps_x=0.15,
               eps_zz=0.2, alpha=1.3 + 0.4j, beta=0.35 - 0.2j, gamma=0.6 + 0.5j, delta=0.9 - 0.3j)


def _dense(p):
    return dense_liouvillian(p.L, p.bc, range=p.range, **{k: getattr(p, k) for k in PARAMS})


def _dense_gap(ev, cutoff=1e-9):
    """-Re of the rightmost eigenvalue off the imaginary axis (the definition of MODEL's gap)."""
    off = ev[np.abs(ev.real) > cutoff]
    return -off.real.max()


def _ed(p, **kw):
    data, attrs = run_ed(p, **kw)
    return {k: v for k, (_, v) in data.items()}, attrs


SPECTRUM_CASES = [(4, "ring", MINIMAL), (5, "ring", MINIMAL), (4, "ring", GENERAL), (4, "ring", TWISTED),
                  (5, "ring", FLUX), (4, "open", MINIMAL), (5, "open", FLUX)]


@pytest.mark.parametrize("L,bc,kw", SPECTRUM_CASES)
def test_sectors_together_have_the_dense_spectrum(L, bc, kw):
    """Every sector's matrix (numpy, Pauli terms; a 0 < k < pi sector with its conjugate, the
    -k sector) together: 4^L rows, and the eigenvalues of the dense Liouvillian, each once."""
    p = model.make_params(L, bc=bc, **kw)
    ours, rows = [], 0
    for label in sector_labels(p):
        basis = CharacterBasis(L, bc, label)
        if basis.size == 0:
            continue
        M = rows_block(p, basis, np.arange(basis.size), pauli_terms(p)).toarray()
        ev = np.linalg.eigvals(M)
        ours.append(ev)
        rows += basis.size
        if label.is_complex(L):
            ours.append(ev.conj())
            rows += basis.size
            # the real form [[A, -B], [B, A]] (interleaved) has the eigenvalues of M and conj(M)
            real = RealForm(basis)
            R = real.rows_block(p, np.arange(real.size), pauli_terms(p)).toarray()
            assert R.dtype == float and R.shape == (2 * basis.size,) * 2
            assert (real.nonzero_bound(np.arange(real.size), pauli_terms(p))
                    >= np.count_nonzero(R, axis=1)).all()
            both = np.concatenate([ev, ev.conj()])
            c = np.abs(np.linalg.eigvals(R)[:, None] - both[None, :])
            assert c[linear_sum_assignment(c)].max() < 1e-8
            if symmetries_of(p)["reflection"]:
                # real by the reflection: the sector's own size and eigenvalues, S unitary
                mirror = MirrorRealForm(basis)
                S = mirror.S.toarray()
                np.testing.assert_allclose(S.conj().T @ S, np.eye(basis.size), atol=1e-12)
                R = mirror.rows_block(p, np.arange(basis.size), pauli_terms(p))
                assert R.dtype == float and (mirror.nonzero_bound(
                    np.arange(basis.size), pauli_terms(p)) >= np.diff(R.indptr)).all()
                c = np.abs(np.linalg.eigvals(R.toarray())[:, None] - ev[None, :])
                assert c[linear_sum_assignment(c)].max() < 1e-8
    ours = np.concatenate(ours)
    assert rows == 4 ** L
    ref = np.linalg.eigvals(_dense(p))
    cost = np.abs(ours[:, None] - ref[None, :])
    i, j = linear_sum_assignment(cost)
    assert cost[i, j].max() < 1e-8


def _translation(L):
    """Dense U of the ring's translation on kets (site j to site j - 1; row-major vec)."""
    s = np.arange(2 ** L)
    bits = (s[:, None] >> (L - 1 - np.arange(L))) & 1
    moved = np.roll(bits, -1, axis=1)
    t = (moved << (L - 1 - np.arange(L))).sum(axis=1)
    U = np.zeros((2 ** L, 2 ** L))
    U[t, s] = 1
    return U


def _reflection(L, bc):
    s = np.arange(2 ** L)
    bits = (s[:, None] >> (L - 1 - np.arange(L))) & 1
    image = [(-j) % L for j in range(L)] if bc == "ring" else [L - 1 - j for j in range(L)]
    moved = np.empty_like(bits)
    moved[:, image] = bits
    t = (moved << (L - 1 - np.arange(L))).sum(axis=1)
    U = np.zeros((2 ** L, 2 ** L))
    U[t, s] = 1
    return U


def _superop(U):
    """rho -> U rho U^+ on the row-major vec: kron(U, conj(U))."""
    return np.kron(U, U.conj())


def _in_sector(v, L, bc, parity, k, reflection):
    """The norm of the part of v in the sector (parity, +-k, reflection), by dense projectors
    built from the symmetry operators here (nothing of lindring's sectors)."""
    n = 2 ** L
    P = np.diag([(-1.0) ** bin(s).count("1") for s in range(n)])
    if parity:
        v = 0.5 * (v + parity * _superop(P) @ v)
    if not np.isnan(k):
        T = _superop(_translation(L))
        images, w = [], v                      # T^j v, j = 0 .. L-1
        for _ in range(L):
            images.append(w)
            w = T @ w
        proj = sum(np.cos(k * j) * images[j] for j in range(L)) / L    # (Pi_k + Pi_-k) v / 2
        v = proj if (np.isclose(k, 0) or np.isclose(k, np.pi)) else 2 * proj
    if reflection:
        v = 0.5 * (v + reflection * _superop(_reflection(L, bc)) @ v)
    return np.linalg.norm(v)


GAP_CASES = [(4, "ring", MINIMAL), (4, "ring", TWISTED), (5, "ring", MINIMAL), (5, "ring", FLUX),
             (4, "ring", GENERAL), (4, "open", MINIMAL), (5, "open", TWISTED), (4, "open", FLUX)]


@pytest.mark.parametrize("L,bc,kw", GAP_CASES)
def test_gap_over_all_sectors_is_the_dense_gap_in_the_sector_named(L, bc, kw):
    """gap_sectors = all (the default): the gap is the dense full-space gap, and the slowest
    eigenvectors of the dense Liouvillian lie in the sector the file names."""
    p = model.make_params(L, bc=bc, **kw)
    obs, attrs = _ed(p, gap=True)
    Ld = _dense(p)
    ev, vecs = np.linalg.eig(Ld)
    ref = _dense_gap(ev)
    assert obs["gap"] == pytest.approx(ref, abs=1e-8)
    assert attrs["gap_sectors"] == "all" and attrs["gap_complete"] == 1
    assert attrs["gap_failures"] == "" and attrs["gap_kernel_dim"] == 1
    assert attrs["gap_sectors_searched"] == len(sector_labels(p))
    slowest = np.flatnonzero(np.abs(ev.real + ref) < 1e-8)
    if "same gap" not in attrs["gap_sector"]:            # no tie: each vector in the sector
        for i in slowest:
            v = vecs[:, i] / np.linalg.norm(vecs[:, i])
            assert _in_sector(v, L, bc, obs["gap_parity"], obs["gap_momentum"],
                              obs["gap_reflection"]) > 1 - 1e-6, attrs["gap_sector"]
    has = {"parity": "eps_x" not in kw, "momentum": bc == "ring"}
    assert (obs["gap_parity"] != 0) == has["parity"]
    assert np.isnan(obs["gap_momentum"]) == (not has["momentum"])


@pytest.mark.slow
@pytest.mark.parametrize("kw", [MINIMAL, TWISTED])
def test_gap_over_all_sectors_ring_6(kw):
    """L = 6 ring (dense eigenvalues of a 4096 x 4096 matrix: slow)."""
    p = model.make_params(6, bc="ring", **kw)
    obs, attrs = _ed(p, gap=True)
    assert obs["gap"] == pytest.approx(_dense_gap(np.linalg.eigvals(_dense(p))), abs=1e-8)
    assert attrs["gap_complete"] == 1


def test_the_issue_numbers_at_L4():
    """Issue 14: L = 4 ring, alpha 2, delta 1.5 (minimal): 0.156 in the steady state's sector,
    0.068 in the full space; the dense Liouvillian, restricted to the sector by dense projectors,
    gives both."""
    p = model.make_params(4, bc="ring", **MINIMAL)
    solved, sattrs = _ed(p, gap=True, gap_sectors="solved")
    every, attrs = _ed(p, gap=True)
    assert solved["gap"] == pytest.approx(0.156, abs=5e-4)
    assert every["gap"] == pytest.approx(0.068, abs=5e-4)
    assert sattrs["gap_sectors"] == "solved" and sattrs["gap_sectors_searched"] == 1
    assert (solved["gap_parity"], solved["gap_momentum"], solved["gap_reflection"]) == (1, 0, 1)
    assert "parity even, k = 0, reflection even" in sattrs["gap_sector"]
    # the sector's gap from the dense L, projected independently
    Ld = _dense(p)
    ev, vecs = np.linalg.eig(Ld)
    inside = [i for i in range(len(ev))
              if _in_sector(vecs[:, i] / np.linalg.norm(vecs[:, i]), 4, "ring", 1, 0.0, 1)
              > 1 - 1e-6]
    assert solved["gap"] == pytest.approx(_dense_gap(ev[inside]), abs=1e-8)
    assert every["gap"] == pytest.approx(_dense_gap(ev), abs=1e-8)
    assert every["gap"] < solved["gap"] - 0.05
    assert every["gap_parity"] in (1, -1) and attrs["gap_sector"] != sattrs["gap_sector"]


def test_solved_sector_none_searches_every_sector(tmp_path):
    """--symmetry none solves in the full space; the gap over all sectors is still decomposed
    (naming the sector), and equals the full-space gap of the solve."""
    p = model.make_params(4, bc="ring", **MINIMAL)
    full, fattrs = _ed(p, gap=True, gap_sectors="solved", symmetry="none")
    every, attrs = _ed(p, gap=True, symmetry="none")
    assert every["gap"] == pytest.approx(full["gap"], abs=1e-8)
    assert attrs["gap_kernel_dim"] == 1
    assert fattrs["gap_sector"] == "the full operator space"
    assert attrs["gap_sector"].startswith("parity ")


def test_a_search_that_does_not_converge_is_said_so():
    """Krylov-Schur starved (one restart, a subspace of 4): the sectors that fail are named and
    the gap is NaN, not the minimum over the others."""
    from lindring.solvers.gap import gap_over_sectors
    from lindring.solvers.steady import Tolerances
    p = model.make_params(5, bc="ring", **TWISTED)
    tol = Tolerances(ncv=5, ncv_max=5, eps_max_it=1, nev=4)
    result = gap_over_sectors(p, scale=4.0, tol=tol)
    assert result.failures and np.isnan(result.gap)
    a = result.attrs()
    assert a["gap_complete"] == 0 and "did not converge" in a["gap_failures"]
    assert a["gap_kernel_dim"] == -1


def test_gap_sectors_option_is_checked_and_written(tmp_path):
    out = tmp_path / "g.nc"
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "--gap", "--gap-sectors", "every", "-o", out], check=False)
    assert proc.returncode == 2 and "--gap-sectors" in proc.stderr and "solved" in proc.stderr
    proc = run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5,
                    "--gap-sectors", "solved", "-o", out], check=False)
    assert proc.returncode == 2 and "--gap-sectors applies with --gap only" in proc.stderr
    assert not out.exists()
    run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5, "--gap",
             "-o", out])
    with xr.open_dataset(out) as ds:
        assert ds.attrs["gap_sectors"] == "all" and "gap_sectors=all" in ds.attrs["options"]
        assert float(ds["gap"]) == pytest.approx(0.068, abs=5e-4)
        for name in ("gap_parity", "gap_momentum", "gap_reflection"):
            assert name in ds and "long_name" in ds[name].attrs
    run_cli(["solve", "--L", 4, "--preset", "minimal", "--alpha", 2, "--delta", 1.5, "-o", out])
    with xr.open_dataset(out) as ds:         # no --gap: nothing searched, the fills
        assert ds.attrs["gap_sectors"] == "none" and np.isnan(float(ds["gap_parity"]))


@pytest.mark.parametrize("bc", ["ring", "open"])
def test_gap_one_and_two_ranks_agree(tmp_path, bc):
    """Under real mpiexec: the same gap and sector on 1 and 2 ranks (L = 5, reflection broken on
    the ring: complex sectors in their real form; sectors above the dense size)."""
    args = ["solve", "--L", 5, "--bc", bc, "--preset", "minimal", "--alpha", "2+0.6j",
            "--delta", 1.5, "--gap"]
    files = []
    for ranks in (None, 2):
        out = tmp_path / f"{bc}{ranks}.nc"
        run_cli(args + ["-o", out], ranks=ranks)
        with xr.open_dataset(out) as ds:
            files.append(ds.load())
    one, two = files
    assert two.attrs["mpi_ranks"] == 2
    assert float(two["gap"]) == pytest.approx(float(one["gap"]), abs=1e-9)
    assert one.attrs["gap_sector"] == two.attrs["gap_sector"]
    for name in ("gap_parity", "gap_momentum", "gap_reflection"):
        np.testing.assert_equal(float(two[name]), float(one[name]))
    assert "Krylov-Schur" in one.attrs["gap_by_sector"]


def test_study_gap_keys_reach_the_command_and_the_gather(tmp_path):
    """A study's gap: true (and gap_sectors) become --gap (--gap-sectors=...) of ed jobs only; a
    gap_sectors without gap, or gap for a study without ed, is refused; the gather takes the file
    (its options attribute is the job's) and carries the gap's sector."""
    from lindring.workflow.gather import gather
    from lindring.workflow.studies import StudyError, expand_study
    st = dict(methods=["ed", "cmf"], bc="ring", L=[4], preset="minimal",
              grid=dict(alpha=[2.0], delta=[1.5]))
    plain = expand_study("s", st)
    assert not any(a.startswith("--gap") for a in plain[0].cli_args())
    jobs = expand_study("s", dict(st, gap=True, gap_sectors="solved"))
    assert "--gap" in jobs[0].cli_args() and "--gap-sectors=solved" in jobs[0].cli_args()
    assert not any(a.startswith("--gap") for a in jobs[1].cli_args())      # cmf has no gap
    with pytest.raises(StudyError, match="gap_sectors: applies to the gap"):
        expand_study("s", dict(st, gap_sectors="all"))
    with pytest.raises(StudyError, match="gap: not an option of methods cmf"):
        expand_study("s", dict(st, methods=["cmf"], gap=True))
    job = expand_study("s", dict(st, methods=["ed"], gap=True))[0]
    run_cli(["solve", *job.cli_args(), "-o", tmp_path / job.path])
    ds = gather("s", [job], dict(st, methods=["ed"], gap=True), root=str(tmp_path))
    assert float(ds.gap.squeeze()) == pytest.approx(0.068, abs=5e-4)
    assert float(ds.gap_parity.squeeze()) in (1.0, -1.0)


@pytest.mark.parametrize("L,bc,a,d", [(4, "ring", 1.0, 0.0), (2, "open", 2.0, 1.0)])
def test_non_unique_points_gap_and_kernel_over_all_sectors(L, bc, a, d):
    """Where the steady state is not unique (the dark magnon of an even ring at theta = 0, with
    undamped coherences; the open pair): the gap over all sectors is still the dense one, and
    the kernel summed over the sectors is the dense kernel's dimension."""
    p = model.make_params(L, bc=bc, preset="minimal", alpha=a, delta=d)
    obs, attrs = _ed(p, gap=True)
    ev = np.linalg.eigvals(_dense(p))
    assert obs["gap"] == pytest.approx(_dense_gap(ev), abs=1e-8)
    assert attrs["gap_kernel_dim"] == np.sum(np.abs(ev) < 1e-9) == obs["kernel_dim"] == 2
    assert attrs["unique"] == 0 and attrs["gap_complete"] == 1


def test_gap_in_the_complex_build(tmp_path):
    """--basis matrix-units runs in the complex PETSc build: there a 0 < k < pi sector is held as
    the complex matrix of k itself (no real form); the gap is the dense one (ring L = 5, sectors
    above the dense size)."""
    out = tmp_path / "c.nc"
    run_cli(["solve", "--L", 5, "--preset", "minimal", "--alpha=2+0.6j", "--delta", 1.5,
             "--basis", "matrix-units", "--gap", "-o", out])
    p = model.make_params(5, bc="ring", **TWISTED)
    with xr.open_dataset(out) as ds:
        assert ds.attrs["petsc_scalar"] == "complex"
        assert float(ds["gap"]) == pytest.approx(_dense_gap(np.linalg.eigvals(_dense(p))),
                                                  abs=1e-8)
        assert "k = +-2pi*1/5" in ds.attrs["gap_by_sector"] and ds.attrs["gap_complete"] == 1


def test_gather_takes_files_from_before_gap_sectors():
    """A file written before --gap-sectors existed (no gap_sectors in its options) belongs to
    its point where the gap was not asked for (the option shapes nothing then), not where it
    was (its gap covered the solved sector only)."""
    from lindring.workflow.gather import check_point_file, expected_attrs
    from lindring.workflow.studies import expand_study
    st = dict(methods=["ed"], bc="ring", L=[4], preset="minimal",
              grid=dict(alpha=[2.0], delta=[1.5]))
    for gap in (False, True):
        job = expand_study("s", dict(st, gap=gap))[0]
        attrs = expected_attrs(job)
        assert check_point_file(job, attrs) == []
        old = dict(attrs, options=" ".join(o for o in attrs["options"].split()
                                           if not o.startswith("gap_sectors=")))
        assert (check_point_file(job, old) == []) == (not gap)


@pytest.mark.parametrize("L,bc,kw", [(3, "ring", MINIMAL), (4, "ring", GENERAL),
                                     (4, "ring", TWISTED), (5, "ring", FLUX),
                                     (4, "open", MINIMAL), (3, "open", GENERAL),
                                     (4, "ring", dict(MINIMAL, range=2))])
def test_sector_projectors_block_the_full_pauli_matrix(L, bc, kw):
    """The projectors of the full-space uniqueness check (``sector_projector``, one per sector,
    the -k sector its conjugate): together a unitary of the whole space that makes the full
    Pauli matrix block diagonal, each block the sector's matrix built from its rows
    (``rows_block`` on :class:`CharacterBasis`, an independent construction)."""
    from lindring.core.sectors import sector_projector
    from lindring.solvers.gap import full_pauli_matrix
    p = model.make_params(L, bc=bc, **kw)
    M = full_pauli_matrix(p).toarray()
    blocks, rows = [], []
    for label in sector_labels(p):
        C = sector_projector(L, bc, label).toarray()
        basis = CharacterBasis(L, bc, label)
        assert C.shape == (basis.size, 4 ** L)
        if basis.size == 0:
            continue
        np.testing.assert_allclose(C @ C.conj().T, np.eye(basis.size), atol=1e-13)
        block = rows_block(p, basis, np.arange(basis.size), pauli_terms(p)).toarray()
        np.testing.assert_allclose(C @ M @ C.conj().T, block, atol=1e-12 * abs(M).max())
        rows.append(C)
        blocks.append(block)
        if label.is_complex(L):
            rows.append(C.conj())
            blocks.append(block.conj())
    U = np.vstack(rows)
    np.testing.assert_allclose(U @ U.conj().T, np.eye(4 ** L), atol=1e-12)
    start, B = 0, U @ M @ U.conj().T
    for block in blocks:                      # block diagonal: nothing between the sectors
        n = len(block)
        np.testing.assert_allclose(B[start:start + n, start:start + n], block,
                                   atol=1e-12 * abs(M).max())
        B[start:start + n, start:start + n] = 0
        start += n
    assert np.abs(B).max() <= 1e-12 * abs(M).max()
