"""`lindring plan` on the default ED path (Pauli strings, parity x momentum zero x reflection-even,
issue 14): its rows against the enumerated sector and the issue's sizes, its nonzeros against the
dense reference restricted to the sector (independent of lindring's rows) and against the matrix
the solve assembles, the memory model's shape on several ranks, and 1 against 3 MPI ranks of the
Pauli path. (The memory and time the plan predicts are compared with measurements in
benchmarks/README.md, "Ranks and the plan (issue 14)": a benchmark, not a test.)"""
import json

import numpy as np
import pytest
import xarray as xr

import lindring
from conftest import run_cli
from lindring.core import model
from lindring.core.basis import make_basis
from test_pauli import MINIMAL, MIRROR, _brute_force_orbits, _dense, _dense_pauli

SECTOR = "parity+momentum+reflection"
ARGS = ["--preset", "minimal", "--alpha", 2, "--delta", 1.5]


@pytest.mark.parametrize("L,bc,symmetry", [(L, "ring", SECTOR) for L in range(4, 13)]
                         + [(7, "open", "parity+reflection"), (8, "ring", "parity+momentum"),
                            (9, "ring", "momentum+reflection")])
def test_plan_rows_are_the_enumerated_sector(L, bc, symmetry):
    """The plan counts the sector by Burnside; the solve enumerates it by filtering words."""
    plan = lindring.plan("ed", L=L, bc=bc, preset="minimal", alpha=2, delta=1.5,
                         symmetry=symmetry)
    assert plan.rows == make_basis(L, symmetry, bc=bc).size


def test_plan_rows_are_the_issues_sector_sizes():
    """Issue 14: parity x momentum zero x reflection-even has 4,806,366 rows at L = 14 and
    67,160,083 at L = 16 (cited numbers; L <= 12 against the enumeration above)."""
    for L, rows in ((12, 352786), (14, 4806366), (16, 67160083)):
        assert lindring.plan("ed", L=L, preset="minimal", alpha=2, delta=1.5).rows == rows


def _dense_sector_nonzeros(p, symmetry):
    """Stored entries of the solved matrix, from the dense reference alone: the dense Liouvillian
    in Pauli strings (test_pauli's independent transformation) restricted to the orbit sums of
    brute-force orbits, row 0 (the identity's orbit) replaced by the trace functional (one
    entry), every diagonal entry stored."""
    L = p.L
    parts = symmetry.split("+")
    orbits = _brute_force_orbits(L, p.bc, "parity" in parts, "momentum" in parts,
                                 "reflection" in parts)
    V = np.zeros((4 ** L, len(orbits)))
    for i, orbit in enumerate(orbits):
        V[orbit, i] = 1 / np.sqrt(len(orbit))
    W = _dense_pauli(L)
    A = V.T @ (W.conj().T @ _dense(p) @ W).real @ V
    assert orbits[0] == [0]
    A[0] = 0
    A[0, 0] = 1
    stored = (np.abs(A) > 1e-12 * np.abs(A).max()) | np.eye(len(orbits), dtype=bool)
    return len(orbits), int(stored.sum())


@pytest.mark.parametrize("L,bc,kw,symmetry", [
    (4, "ring", MINIMAL, SECTOR), (5, "ring", MINIMAL, SECTOR), (4, "ring", MIRROR, SECTOR),
    (5, "open", MIRROR, "parity+reflection"), (4, "ring", dict(MINIMAL, alpha=0.0), SECTOR)])
def test_plan_nonzeros_are_those_of_the_dense_sector_matrix(L, bc, kw, symmetry):
    p = model.make_params(L, bc=bc, **kw)
    plan = lindring.plan("ed", L=L, bc=bc, symmetry=symmetry, **kw)
    assert plan.nnz_exact
    assert (plan.rows, plan.nnz) == _dense_sector_nonzeros(p, symmetry)


def _solve(tmp_path, name, args, ranks=None):
    out = tmp_path / f"{name}.nc"
    run_cli(["solve", *args, "--solver", "iterative", "-o", out], ranks=ranks)
    with xr.open_dataset(out) as ds:
        return ds.load()


@pytest.mark.parametrize("L,bc", [(6, "ring"), (8, "ring"), (6, "open"), (10, "ring")])
def test_plan_nonzeros_are_those_of_the_assembled_matrix(tmp_path, L, bc):
    """Counted (every row, small sectors): equal to PETSc's count of the matrix the solve
    assembled; sampled (L = 10, 27,036 rows): within 4 standard errors of the sample and 1 %."""
    args = ["--bc", bc, "--L", L, *ARGS]
    plan = json.loads(run_cli(["plan", *args, "--json"]).stdout)
    ds = _solve(tmp_path, f"L{L}{bc}", args)
    assert plan["rows"] == ds.attrs["basis_size"]
    assert ds.attrs["operator_basis"] == "pauli" and plan["symmetry"] == ds.attrs["symmetry"]
    if plan["nnz_exact"]:
        assert plan["nnz"] == ds.attrs["nnz"]
    else:
        assert L == 10
        assert abs(plan["nnz"] / ds.attrs["nnz"] - 1) <= 0.01


def test_memory_per_rank_falls_with_the_ranks_but_not_below_what_each_rank_holds():
    """The model's shape (numbers: benchmarks): the matrix, its ILU(0) and the vectors are split
    by rows, the basis and the start-up are on every rank, so memory in all grows with the
    ranks; and the job's own ranks are what its self-check plans for."""
    from lindring.workflow.plan import BASE_MB, BASIS_ROW_BYTES, plan_ed
    p = model.make_params(14, bc="ring", **MINIMAL)
    plans = {r: plan_ed(p, "auto", float("inf"), 1, ranks=r) for r in (1, 2, 4, 8, 64)}
    held = BASE_MB + BASIS_ROW_BYTES * plans[1].rows / 2 ** 20
    for a, b in ((1, 2), (2, 4), (4, 8), (8, 64)):
        assert plans[b].tasks == b
        assert held < plans[b].mem_mb_per_task < plans[a].mem_mb_per_task
        assert plans[b].mem_mb_total > plans[a].mem_mb_total or a == 1
    assert plans[1].min_mem_mb_total <= min(pl.mem_mb_total for pl in plans.values())


def test_plan_says_how_many_nodes_and_refuses_a_node_below_a_rank():
    out = run_cli(["plan", "--L", 16, *ARGS, "--mem-per-rank-mb", 4000, "--max-tasks", 64,
                   "--mem-per-node-mb", 64000]).stdout
    plan = lindring.plan("ed", L=16, preset="minimal", alpha=2, delta=1.5, mem_per_rank_mb=4000,
                         max_tasks=64, mem_per_node_mb=64000)
    assert plan.nodes == -(-plan.tasks // plan.ranks_per_node)
    assert f"-> {plan.nodes} node(s)" in out
    if plan.min_mem_mb_total > 64000:
        assert "no number of ranks fits one node" in out
    bad = run_cli(["plan", "--L", 8, *ARGS, "--mem-per-node-mb", 100], check=False)
    assert bad.returncode == 2 and "--mem-per-node-mb" in bad.stderr


def test_plan_names_what_no_number_of_ranks_fixes():
    """L = 18: the basis every rank holds (16 bytes per row, 954,641,186 rows) is above a
    budget of 8 GB per rank; L = 19: more rows than one MPI gather of the basis takes."""
    big = lindring.plan("ed", L=18, preset="minimal", alpha=2, delta=1.5, mem_per_rank_mb=8000,
                        max_tasks=1024)
    assert big.rows == 954641186 and not big.fits_budget
    assert any("no number of ranks fits" in text for text in big.problems)
    beyond = lindring.plan("ed", L=19, preset="minimal", alpha=2, delta=1.5,
                           mem_per_rank_mb=1e9, max_tasks=1024)
    assert beyond.rows > 2 ** 31 and not beyond.fits_budget
    assert any("cannot enumerate" in text for text in beyond.problems)


def test_pauli_path_on_one_and_three_ranks_agrees(tmp_path):
    """The default path split unevenly over 3 ranks (rows, orbits and the trace row on
    rank 0): the same matrix, and the same steady state to 1e-10."""
    args = ["--bc", "ring", "--L", 8, *ARGS]
    one = _solve(tmp_path, "one", args)
    three = _solve(tmp_path, "three", args, ranks=3)
    assert three.attrs["mpi_ranks"] == 3 and three.attrs["operator_basis"] == "pauli"
    assert three.attrs["petsc_scalar"] == "real" and three.attrs["symmetry"] == SECTOR
    assert three.attrs["nnz"] == one.attrs["nnz"]
    assert three.attrs["uniqueness_method"] == one.attrs["uniqueness_method"] == "probe solve"
    for k in ("current_eta", "current_J", "sz", "purity", "purity_pair", "negativity_pair",
              "negativity_half", "min_eigenvalue"):
        np.testing.assert_allclose(three[k].values, one[k].values, atol=1e-10, rtol=0, err_msg=k)


@pytest.mark.parametrize("bc", ["ring", "open"])
@pytest.mark.parametrize("solver", ["auto", "direct", "iterative"])
def test_dense_bound_is_above_every_plan_it_replaces(bc, solver):
    """``prepare`` skips the plan where ``dense_bound_mb`` fits: that bound (dense matrices of
    the whole space) must be above the detailed plan of every sector, basis and solver, at every
    L where it can fit a machine (L <= 6: 1.2 GB; L = 7: 17 GB)."""
    from lindring.workflow.plan import dense_bound_mb, plan_ed
    for L in range(2 if bc == "open" else 3, 7):
        p = model.make_params(L=L, bc=bc, preset="minimal", alpha=2.0, delta=1.5)
        q = model.make_params(L=L, bc=bc, J0=1.0, phi=0.3, mu=0.2, kappa=0.1, alpha=1.0,
                              delta=0.5j)
        for point in (p, q):
            for symmetry in ("none", "auto"):
                for basis in ("pauli", "matrix-units"):
                    plan = plan_ed(point, solver, mem_per_rank_mb=float("inf"), max_tasks=1,
                                   symmetry=symmetry, basis=basis, ranks=1)
                    assert plan.mem_mb_total <= dense_bound_mb(L), (L, symmetry, basis)
