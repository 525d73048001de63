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
    from lindring.workflow.plan import dense_bound_mb, plan_point
    for L in range(2 if bc == "open" else 3, 7):
        for preset, params in (("minimal", dict(alpha=2.0, delta=1.5)),
                               (None, dict(J0=1.0, phi=0.3, mu=0.2, kappa=0.1, alpha=1.0,
                                           delta=0.5j))):
            for symmetry in ("none", "auto"):
                for basis in ("pauli", "matrix-units"):
                    for gap in (False, True):
                        p, values = lindring.api.check_point(
                            "ed", L, bc, preset, params=params,
                            options=dict(solver=solver, symmetry=symmetry, basis=basis, gap=gap))
                        plan = plan_point("ed", p, values, ranks=1)
                        assert plan.mem_mb_total <= dense_bound_mb(L), (L, symmetry, basis, gap)


# ----------------------------------------------------------------------------- the gap (--gap)
GAP_MODELS = [(6, "ring", MINIMAL), (6, "ring", dict(MINIMAL, alpha=2 + 0.6j)),
              (7, "ring", MINIMAL), (6, "open", MINIMAL), (5, "open", dict(alpha=1, delta=1))]


def _assembled_nonzeros(p, label):
    """Rows and entries of the matrix the gap search assembles in the sector ``label`` (the
    real forms of solvers/gap.py), counted row block by row block, every diagonal entry stored
    (as the assembly stores it)."""
    from lindring.core.basis import symmetries_of
    from lindring.core.pauli import pauli_terms
    from lindring.core.sectors import CharacterBasis, MirrorRealForm, RealForm
    from lindring.core.terms import rows_block
    inner = held = CharacterBasis(p.L, p.bc, label)
    if label.is_complex(p.L):
        held = MirrorRealForm(inner) if symmetries_of(p)["reflection"] else RealForm(inner)
    terms, nnz = pauli_terms(p), 0
    for start in range(0, held.size, 4096):
        rows = np.arange(start, min(start + 4096, held.size))
        block = (held.rows_block(p, rows, terms) if held is not inner
                 else rows_block(p, inner, rows, terms))
        nnz += block.nnz + int(np.sum(np.asarray(block[np.arange(len(rows)), rows]) == 0))
    return inner.size, held.size, nnz


@pytest.mark.parametrize("L,bc,kw", GAP_MODELS)
def test_gap_sectors_of_the_plan_bound_the_enumerated_and_assembled_ones(L, bc, kw):
    """Each sector the gap searches, as the plan counts it (rows by Burnside, entries from the
    steady state's sector scaled for the real forms): at least the rows the sector's basis
    enumerates (equal for the trivial characters, the steady state's kind) and the entries of
    the matrix built for the search, within 2x; the same sectors."""
    from lindring.core.basis import resolve_symmetry
    from lindring.core.sectors import sector_labels
    from lindring.workflow.plan import count_nonzeros, gap_sectors
    p = model.make_params(L, bc=bc, **kw)
    rows, nnz, _, _ = count_nonzeros(p, resolve_symmetry(p, "auto"), "pauli")
    planned = gap_sectors(p, nnz / rows, real_build=True)
    assert [s.label for s in planned] == sector_labels(p)
    for s in planned:
        inner, held, entries = _assembled_nonzeros(p, s.label)
        trivial = s.label.momentum in (None, 0) and s.label.reflection != -1
        assert s.rows == inner if trivial else s.rows >= inner, s.label
        assert s.held == (2 * s.rows if s.form == "pair" else s.rows)
        assert held <= s.held and entries <= s.nnz <= 2 * entries + 64, (s.label, entries, s.nnz)


def test_the_gap_is_in_the_plan_of_lindring_plan_and_of_solves_fit_check(monkeypatch):
    """Open L = 8 (alpha = delta = 1, no reflection: 32,768 rows): the steady state alone plans
    ~190 MB; with --gap its sector is factorised for the spectral search (shift-and-invert,
    measured 1.8 GB; benchmarks/README.md "The gap in the plan"), and the plan says so. The
    same plan decides whether solve runs: with 1000 MB available here, the gap is refused
    before any compute, the steady state alone is not."""
    from lindring import api
    import lindring.workflow.plan as plan_module
    kw = dict(L=8, bc="open", alpha=1, delta=1)
    alone, gap = lindring.plan("ed", **kw), lindring.plan("ed", gap=True, **kw)
    assert alone.mem_mb_per_task < 300 and "spectrum" not in alone.memory_parts_mb
    assert gap.memory_parts_mb["spectrum"] > 1500 and gap.mem_mb_total > 1500
    assert gap.mem_mb_total >= gap.memory_parts_mb["spectrum"]
    solved = lindring.plan("ed", gap=True, gap_sectors="solved", **kw)
    assert "sectors" not in solved.memory_parts_mb and "sectors" in gap.memory_parts_mb
    monkeypatch.setattr(plan_module, "available_memory_mb", lambda *a: 1000.0)
    api.prepare("ed", 8, "open", params=dict(alpha=1, delta=1), options={})
    with pytest.raises(model.ModelError, match=r"needs about .* MB by its plan \(.*the gap's "
                                               r"search \(--gap\)\)"):
        api.prepare("ed", 8, "open", params=dict(alpha=1, delta=1), options=dict(gap=True))


# ----------------------------------------------------------------------------- absurd numbers
HUGE = "1" + "0" * 400
ABSURD = [
    (["--mem-per-node-mb", "1e300"], "--mem-per-node-mb must be < 1e+10"),
    (["--mem-per-node-mb=-1e3"], "--mem-per-node-mb must be a positive number of MB"),
    (["--mem-per-node-mb", "0"], "--mem-per-node-mb must be a positive number of MB"),
    (["--mem-per-node-mb", "inf"], "'inf' is not a finite number"),
    (["--mem-per-rank-mb", "1e300"], "--mem-per-rank-mb must be < 1e+10"),
    (["--mem-per-rank-mb", "1e-300"], "--mem-per-rank-mb must be >= 1"),
    (["--mem-per-rank-mb=-1e3"], "--mem-per-rank-mb must be >= 1"),
    (["--mem-per-rank-mb", "nan"], "'nan' is not a finite number"),
    (["--max-tasks", "1e300"], "--max-tasks must be an integer of at most 2147483647"),
    (["--max-tasks", "100000000"], "--max-tasks must be < 1e+07"),
    (["--max-tasks=-1e3"], "--max-tasks must be >= 1"),
    (["--max-tasks", "1.5"], "'1.5' is not an integer"),
    (["--max-it", HUGE], "--max-it must be an integer of at most 2147483647, got ~10^400"),
    (["--L", "1e20"], "--L must be <= 100000, got L = ~10^20"),
    (["--L", HUGE], "--L must be <= 100000, got L = ~10^400"),
]


@pytest.mark.parametrize("args,message", ABSURD, ids=[m[:40] for _, m in ABSURD])
def test_plan_refuses_absurd_numbers_naming_the_option(args, message, capsys):
    """Huge, tiny, negative (exponent form), zero, nan and inf values of the plan's numbers are
    refused with status 2 naming the option (1e300 MB per node printed 300 digits before)."""
    from lindring import cli
    point = ["--bc", "open", "--alpha", "1", "--delta", "1"]
    point += [] if args[0].startswith("--L") else ["--L", "6"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(["plan", *point, *args])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err, err
    assert "Traceback" not in err


def test_plan_prints_huge_and_exponent_form_numbers_sensibly(capsys):
    """An integer in exponent form is its value (--max-tasks 1e3); a plan of a huge point prints
    its sizes in exponent form, never hundreds of digits (L = 40; an MPO of 1000 sites)."""
    from lindring import cli
    cli.main(["plan", "--L", "6", "--bc", "open", "--alpha", "1", "--delta", "1",
              "--max-tasks", "1e3", "--mem-per-node-mb", "1e5"])
    cli.main(["plan", "--L", "40", "--alpha", "1", "--delta", "1", "--gap"])
    cli.main(["plan", "--method", "mpo", "--L", "1000", "--bc", "open", "--alpha", "1",
              "--delta", "1", "--chi", "100000000"])
    out = capsys.readouterr().out
    assert "nodes of 100000 MB" in out and "DOES NOT FIT" in out
    assert max(len(word) for word in out.split()) < 40, out


def _peak_rss_mb(args) -> float:
    """Peak resident memory (MB) of ``lindring <args>``, measured by the kernel: the
    ``ru_maxrss`` of a fresh Python process's only child (what ``/usr/bin/time -v`` reports)."""
    import os
    import subprocess
    import sys
    from conftest import LINDRING, MPI_ENV
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", probe, LINDRING, *map(str, args)],
                          capture_output=True, text=True, env=dict(os.environ, **MPI_ENV),
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split()[-1]) / 1024


def test_plan_of_the_gap_bounds_the_measured_peak(tmp_path):
    """Open L = 7 (minimal, 4,160 rows, iterative): with --gap the steady state's sector is
    factorised for the spectral search; the measured peak RSS of the whole run is within the
    plan (an upper bound) and within 2x of it, and above the plan without the gap's phases (the
    fault: the plan ignored --gap)."""
    args = ["--bc", "open", "--L", 7, "--preset", "minimal", "--alpha", 2, "--delta", 1, "--gap"]
    plan = json.loads(run_cli(["plan", *args, "--json"]).stdout)
    alone = json.loads(run_cli(["plan", *args[:-1], "--json"]).stdout)
    peak = _peak_rss_mb(["solve", *args, "--quiet", "-o", tmp_path / "gap.nc"])
    with xr.open_dataset(tmp_path / "gap.nc") as ds:
        assert ds.attrs["uniqueness_method"] == "shift-and-invert"
        assert ds.attrs["shift_invert"].startswith("--gap")       # not "the probes ..."
    assert plan["tasks"] == 1
    assert peak <= plan["mem_mb_per_task"] <= 2 * peak, (peak, plan["memory_parts_mb"])
    assert peak > alone["mem_mb_per_task"], (peak, alone["memory_parts_mb"])


@pytest.mark.parametrize("L", [6, 8])
def test_plan_of_an_mpo_point_bounds_the_measured_peak(tmp_path, L):
    """Open chain, chi = 64: the spectrum step builds the projected Liouvillian of 4096 unknowns
    densely (128 MB, and LAPACK's copy); the plan counted the tensors only (170 MB at L = 6,
    186 MB at L = 8, job request 341 and 373 MB) where the run peaked at 400-430 MB, above the
    job's request. The measured peak RSS is within the plan and within 2x of it."""
    args = ["--method", "mpo", "--bc", "open", "--L", L, "--preset", "minimal", "--alpha", 2,
            "--delta", 1, "--chi", 64]
    plan = json.loads(run_cli(["plan", *args, "--json"]).stdout)
    peak = _peak_rss_mb(["solve", *args, "--quiet", "-o", tmp_path / "mpo.nc"])
    assert peak <= plan["mem_mb_per_task"] <= 2 * peak, (peak, plan["memory_parts_mb"])
    assert peak > plan["mem_mb_per_task"] - plan["memory_parts_mb"]["spectrum"]
