"""Resource model of an ``ed`` job: rows, nonzeros, memory, MPI ranks and runtime.

The number of nonzeros comes from the model itself: the Liouvillian rows of a random sample of
basis vectors are built (the same code as the assembly) and their mean length is scaled to the
whole basis. Memory is that of the PETSc AIJ matrix (16-byte complex value and 8-byte index per
nonzero), built twice (L and the trace-constrained copy), plus the solver:

- ``direct``: MUMPS LU; the fill-in of this Liouvillian is close to dense at small L
  (measured: 250 MB at L = 6), modelled as ``FILL_FACTOR`` times the matrix, growing with L;
- ``iterative``: GMRES(restart) Krylov basis, ``restart + 5`` vectors of 16 bytes per row, and
  an ILU(0) copy of the matrix for block Jacobi.

Ranks are chosen so that each stays under ``mem_per_rank_mb``. Runtime is a generous
estimate from the measured throughput (benchmarks/README.md), never less than 10 minutes.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import model
from .basis import make_basis
from .liouvillian import local_terms, rows_block
from .steady import resolve_solver

BYTES_PER_NNZ = 16 + 8
#: MUMPS fill relative to the matrix: measured ~100 at L = 6, grows ~4x per site
FILL_FACTOR_L6 = 100.0
#: Python, PETSc and MPI start-up per rank
BASE_MB = 250.0
#: seconds per nonzero per GMRES iteration (measured on this machine, one rank: L = 9, 12M nonzeros, 0.5 s per iteration)
SECONDS_PER_NNZ_IT = 4.5e-8


@dataclasses.dataclass
class Plan:
    L: int
    solver: str
    rows: int
    nnz: int
    mem_mb_total: float
    tasks: int
    mem_mb_per_task: float
    mem_mb: int          # for the job: tasks * per task, rounded up
    runtime_min: int

    def as_dict(self):
        return dataclasses.asdict(self)


def estimate_nnz(p: model.Params, sample: int = 2048, seed: int = 0) -> int:
    """Nonzeros of the Liouvillian, from the exact row lengths of a random sample of rows."""
    basis = make_basis(p.L)
    rng = np.random.default_rng(seed)
    n = min(sample, basis.size)
    rows = np.sort(rng.choice(basis.size, size=n, replace=False)).astype(np.int64)
    block = rows_block(p, basis, rows, local_terms(p))
    return int(round(block.nnz / n * basis.size))


def plan_ed(p: model.Params, solver: str = "auto", mem_per_rank_mb: float = 4000.0,
            max_tasks: int = 64, restart: int = 200) -> Plan:
    """Resources for one ``ed`` job (see the module docstring for the model)."""
    solver = resolve_solver(solver, p.L)
    rows = 4 ** p.L
    nnz = estimate_nnz(p)
    matrix_mb = nnz * BYTES_PER_NNZ / 2 ** 20
    if solver == "direct":
        fill = FILL_FACTOR_L6 * 4.0 ** (p.L - 6)
        solver_mb = matrix_mb * fill
    else:
        solver_mb = (restart + 5) * rows * 16 / 2 ** 20 + matrix_mb
    total = 2 * matrix_mb + solver_mb
    tasks = 1
    while tasks < max_tasks and total / tasks + BASE_MB > mem_per_rank_mb:
        tasks *= 2
    per_task = total / tasks + BASE_MB
    iterations = 250  # measured: 190-225 GMRES iterations for L = 7..9 (minimal model)
    seconds = SECONDS_PER_NNZ_IT * nnz * iterations / tasks + 30
    if solver == "direct" or p.L <= 8:
        seconds += 2e-6 * rows * (rows ** 0.5)  # LU / shift-and-invert for the uniqueness check
    return Plan(L=p.L, solver=solver, rows=rows, nnz=nnz, mem_mb_total=round(total + BASE_MB * tasks, 1),
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
    return Plan(L=L, solver="tebd", rows=0, nnz=0, mem_mb_total=round(BASE_MB + tensors_mb, 1),
                tasks=1, mem_mb_per_task=round(BASE_MB + tensors_mb, 1),
                mem_mb=int(math.ceil((BASE_MB + tensors_mb) * 2)),
                runtime_min=max(10, int(math.ceil(3 * seconds / 60))))
