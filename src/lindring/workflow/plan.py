"""Resource model of an ``ed`` job: rows, nonzeros, memory, MPI ranks and runtime.

The job runs in the symmetry sector and operator basis that ``lindring solve`` picks (``--symmetry
auto``: parity, on rings momentum, reflection where the terms allow it, basis.py; ``--basis
auto``: Pauli strings, pauli.py); its number of rows is counted exactly. The number of nonzeros
comes from the model itself: the Liouvillian rows of a random sample of basis vectors are built
(the same code as the assembly) and their mean length is scaled to the whole basis. Memory is
that of the PETSc AIJ matrix (an 8-byte index and a value per nonzero: 8 bytes in the real
PETSc build that solves the Pauli basis, 16 in the complex one of the matrix units,
:data:`lindring.solvers.petsc.SCALAR_OF_BASIS`; the assembly writes the rows straight into the
arrays PETSc keeps, so the matrix is held once), plus the solver:

- ``direct``: MUMPS LU; the fill-in of this Liouvillian is close to dense at small L
  (measured: 250 MB at L = 6), modelled as ``FILL_FACTOR`` times the matrix, growing with L;
- ``iterative``: GMRES(restart) Krylov basis, ``restart + 5`` vectors of one value per row
  (``restart``: :func:`lindring.solvers.steady.gmres_restart`, the one the solve takes), and an
  ILU(0) copy of the matrix for block Jacobi.

Ranks are chosen so that each stays under ``mem_per_rank_mb``. Runtime is a generous
estimate from the measured throughput (benchmarks/README.md), never less than 10 minutes.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from lindring.core import model
from lindring.core.basis import FullBasis, SectorBasis, odd_letters, resolve_symmetry, sector_size
from lindring.core.pauli import pauli_terms
from lindring.solvers.liouvillian import local_terms, rows_block
from lindring.solvers.petsc import SCALAR_OF_BASIS
from lindring.solvers.steady import (KRYLOV_EXTRA, available_memory_mb,  # noqa: F401 (re-exported)
                                     gmres_restart, lu_bytes, resolve_solver)

#: bytes of a value in the PETSc build of each scalar type
SCALAR_BYTES = {"real": 8, "complex": 16}
#: bytes of an index
INDEX_BYTES = 8
#: Python, PETSc and MPI start-up per rank
BASE_MB = 250.0
#: seconds per nonzero per GMRES iteration (measured on this machine, one rank: L = 9, 12M nonzeros, 0.5 s per iteration)
SECONDS_PER_NNZ_IT = 4.5e-8


@dataclasses.dataclass
class Plan:
    L: int
    solver: str
    symmetry: str
    rows: int
    nnz: int
    mem_mb_total: float
    tasks: int
    mem_mb_per_task: float
    mem_mb: int          # for the job: tasks * per task, rounded up
    runtime_min: int
    #: set by :func:`assess`: what does not fit (the budget per rank, this machine), in words
    problems: list = dataclasses.field(default_factory=list)
    fits_budget: bool | None = None     # each rank within mem_per_rank_mb
    fits_here: bool | None = None       # the whole job within this machine's available memory
    available_mb: float | None = None   # MemAvailable here when assessed

    def as_dict(self):
        return dataclasses.asdict(self)


#: nonzeros beyond which no estimate is made (memory and time in floating point would overflow)
MAX_PLANNED_NNZ = 10 ** 250
#: largest L whose words (4^L values) fit the int64 arithmetic of the basis
MAX_WORD_L = 31
#: size at which the nonzeros per row are sampled for larger L and scaled by L / SAMPLE_L
#: (measured: 101.0 per row at L = 20 and 156.0 at L = 31, ring: 5.05 and 5.03 per site)
SAMPLE_L = 24


def estimate_nnz(p: model.Params, sample: int = 2048, seed: int = 0,
                 symmetry: str = "none", basis: str = "matrix-units") -> tuple[int, int]:
    """Rows and nonzeros of the Liouvillian in a sector, from the exact row lengths of a random
    sample of rows.

    The sample is drawn among the words of the sector (parity-even ones with parity); with
    momentum or reflection each sampled word stands for its orbit, and the nonzeros of its row
    are the distinct orbits among the columns of its full-space row. The number of orbits is
    counted (Burnside, :func:`basis.sector_size`), not enumerated, so the plan is cheap for any
    L. ``basis`` is the operator basis (``pauli`` or ``matrix-units``).
    """
    parts = symmetry.split("+")
    parity, orbits = "parity" in parts, "momentum" in parts or "reflection" in parts
    rows = sector_size(p.L, symmetry, p.bc)
    if p.L > MAX_WORD_L:
        # words of L letters do not fit int64: the nonzeros per row grow like L (each site and
        # bond adds its terms), so sample at SAMPLE_L and scale; the rows are exact (Python ints)
        q = dataclasses.replace(p, L=SAMPLE_L)
        rows_q, nnz_q = estimate_nnz(q, sample, seed, symmetry, basis)
        return rows, nnz_q * p.L * rows // (rows_q * SAMPLE_L)     # integers: any L
    full = FullBasis(p.L)
    rng = np.random.default_rng(seed)
    if 4 ** p.L <= 2 * sample:
        words = np.arange(4 ** p.L, dtype=np.int64)
    else:
        words = np.unique(rng.integers(0, 4 ** p.L, size=2 * sample, dtype=np.int64))
    if parity:
        words = words[odd_letters(words, p.L) % 2 == 0]
    group = SectorBasis(p.L, parity, "momentum" in parts, reflection="reflection" in parts,
                        bc=p.bc, enumerate=False) if orbits else None
    if orbits:
        words = np.unique(group.representative(words))
    if len(words) > sample:
        words = np.sort(rng.choice(words, size=sample, replace=False))
    terms = pauli_terms(p) if basis == "pauli" else local_terms(p)
    block = rows_block(p, full, words, terms).tocoo()
    if orbits:
        cols = group.representative(block.col)
        pairs = np.unique(np.stack([block.row.astype(np.int64), cols]), axis=1)
        nnz_sample = pairs.shape[1]
    else:
        nnz_sample = block.nnz
    return rows, int(round(nnz_sample / len(words) * rows))


def plan_ed(p: model.Params, solver: str, mem_per_rank_mb: float, max_tasks: int,
            restart: int | None = None, symmetry: str = "auto", basis: str = "auto") -> Plan:
    """Resources for one ``ed`` job in its symmetry sector and operator basis (``auto``:
    ``pauli``, as ``lindring solve``; see the module docstring)."""
    value_bytes = SCALAR_BYTES[SCALAR_OF_BASIS["matrix-units" if basis == "matrix-units"
                                                else "pauli"]]
    sector = resolve_symmetry(p, symmetry)
    rows, nnz = estimate_nnz(p, symmetry=sector,
                             basis="matrix-units" if basis == "matrix-units" else "pauli")
    if nnz > MAX_PLANNED_NNZ:
        raise model.ModelError(
            f"L = {p.L}: the Liouvillian in sector {sector} has about 10^{len(str(rows)) - 1} "
            f"rows and 10^{len(str(nnz)) - 1} nonzeros, beyond the floating-point range of any memory or time estimate; no "
            "machine can hold it")
    solver = resolve_solver(solver, p.L, rows)
    matrix_mb = nnz * (value_bytes + INDEX_BYTES) / 2 ** 20
    if solver == "direct":
        solver_mb = lu_bytes(rows, nnz, value_bytes, INDEX_BYTES) / 2 ** 20
    else:
        if restart is None:
            restart = gmres_restart(rows, nnz, value_bytes, INDEX_BYTES)
        solver_mb = (restart + KRYLOV_EXTRA) * rows * value_bytes / 2 ** 20 + matrix_mb
    total = matrix_mb + solver_mb
    tasks = 1
    while tasks < max_tasks and total / tasks + BASE_MB > mem_per_rank_mb:
        tasks *= 2
    per_task = total / tasks + BASE_MB
    iterations = 250  # measured: 190-225 GMRES iterations for L = 7..9 (minimal model)
    seconds = SECONDS_PER_NNZ_IT * nnz * iterations / tasks + 30
    if solver == "direct" or rows <= 4 ** 8:
        seconds += 2e-6 * rows * (rows ** 0.5)  # LU / shift-and-invert for the uniqueness check
    return Plan(L=p.L, solver=solver, symmetry=sector, rows=rows, nnz=nnz, mem_mb_total=round(total + BASE_MB * tasks, 1),
                tasks=tasks, mem_mb_per_task=round(per_task, 1),
                mem_mb=int(math.ceil(per_task * tasks * 1.2)),
                runtime_min=max(10, int(math.ceil(3 * seconds / 60))))


#: measured MPO throughput: L = 20, chi = 32, fourth order, dt = 0.1 took 184 s (one core)
MPO_SECONDS_L20_CHI32 = 184.0


def plan_mpo(L: int, chi: int = 64) -> Plan:
    """Resources of an ``mpo`` job: memory is small (L chi^2 16 complex numbers per tensor, the
    SVDs of 4 chi x 4 chi matrices); runtime scales like L chi^3 from the measured point."""
    tensors_mb = L * chi * chi * 16 * 16 * 8 / 2 ** 20
    seconds = MPO_SECONDS_L20_CHI32 * (L / 20) * (chi / 32) ** 3
    return Plan(L=L, solver="tebd", symmetry="none", rows=0, nnz=0, mem_mb_total=round(BASE_MB + tensors_mb, 1),
                tasks=1, mem_mb_per_task=round(BASE_MB + tensors_mb, 1),
                mem_mb=int(math.ceil((BASE_MB + tensors_mb) * 2)),
                runtime_min=max(10, int(math.ceil(3 * seconds / 60))))


def check_fits(plan: Plan, ranks: int, available_mb: float) -> str | None:
    """``None`` if the plan's memory for ``ranks`` MPI ranks fits ``available_mb``, else the
    reason, naming the plan and how to run the point on a cluster."""
    need = plan.mem_mb_total + BASE_MB * (ranks - plan.tasks)
    if need <= available_mb:
        return None
    what = (f"an MPO of {plan.L} sites" if plan.solver == "tebd" else
            f"{plan.rows} rows, {plan.nnz} nonzeros in sector {plan.symmetry}, solver {plan.solver}")
    return (f"this point needs about {need:.0f} MB by its plan ({what}) but {available_mb:.0f} MB "
            "are available here; see `lindring plan ... --mem-per-rank-mb N` for the MPI ranks it "
            "needs and run it on a cluster (`snakemake --profile cluster`), or pass --force to "
            "try anyway")


def over_budget(plan: Plan, mem_per_rank_mb: float, max_tasks: int) -> str | None:
    """``None`` if each rank of the plan stays within ``mem_per_rank_mb``, else the reason (the
    plan doubles its ranks up to ``max_tasks`` to get there, :func:`plan_ed`)."""
    if plan.mem_mb_per_task <= mem_per_rank_mb:
        return None
    return (f"needs {plan.mem_mb_per_task:.0f} MB per rank on {plan.tasks} rank(s), above "
            f"mem_per_rank_mb = {mem_per_rank_mb:g} (max_tasks = {max_tasks})")


def assess(plan: Plan, mem_per_rank_mb: float, max_tasks: int, available_mb: float) -> Plan:
    """Say whether ``plan`` fits its budget per rank and this machine (``available_mb``, from
    :func:`available_memory_mb`): sets ``fits_budget``, ``fits_here``, ``available_mb`` and
    ``problems`` (each in words, naming the numbers). Returns ``plan``."""
    budget = over_budget(plan, mem_per_rank_mb, max_tasks)
    plan.fits_budget = budget is None
    plan.fits_here = plan.mem_mb_total <= available_mb
    plan.available_mb = None if math.isinf(available_mb) else round(available_mb, 1)
    plan.problems = [f"the budget per rank: {budget}"] if budget else []
    if not plan.fits_here:
        plan.problems.append(
            f"this machine: needs {plan.mem_mb_total:.0f} MB in all on {plan.tasks} "
            f"rank(s), {available_mb:.0f} MB available here; run it on a cluster "
            "(`snakemake --profile cluster`, --mem-per-rank-mb and --max-tasks for its nodes)")
    return plan
