"""Resource model of an ``ed`` job: rows, nonzeros, memory per MPI rank, ranks and runtime.

The job runs in the symmetry sector and operator basis that ``lindring solve`` picks (``--symmetry
auto``: parity, on rings momentum, reflection where the terms allow it, basis.py; ``--basis
auto``: Pauli strings, pauli.py, a real matrix held in the real-scalar PETSc build).

**Rows** are counted exactly (Burnside, :func:`lindring.core.basis.sector_size`; parity x
momentum zero x reflection-even has 352,786 rows at L = 12, 4,806,366 at L = 14 and 67,160,083 at
L = 16). **Nonzeros** are those of the matrix the solve assembles (:func:`count_nonzeros`): the
rows of the sector built from the model's terms (the assembly's :func:`rows_block`, columns
labelled by their orbit's smallest word, so nothing is enumerated), every diagonal entry stored,
row 0 the trace row; all rows while the sector has at most ``EXACT_ROWS`` of them (then exact),
else a random sample of ``SAMPLE_ROWS`` rows (the mean row length, orbits weighted by the inverse
of their size; 0.1-0.3 % from the assembled count at L = 10-14).

**Memory per rank** on R ranks (:func:`rank_memory`): the rank with the most rows, ``n = ceil(N /
R)`` of the N rows and ``z = imbalance(R) nnz n / N`` of the nonzeros (PETSc splits the rows
evenly, the later rows are longer: :func:`nnz_imbalance`), in bytes, ``v`` the value size (8
real, 16 complex), ``i = 8`` the index size, ``m`` the GMRES restart of the solve
(:func:`lindring.solvers.steady.gmres_restart`). Three phases, each on top of the start-up
``BASE_MB`` (Python, numpy, petsc4py, slepc4py, mpi4py, lindring):

- the basis, held on **every** rank from then on (sectors with orbits): the representatives and
  orbit sizes, ``16 N``, and ``32 n`` more while the ranks' slices are gathered;
- the assembly: while the rows are filled, the word table (``4 * 4^L`` on every rank, L <= 14,
  basis.LOOKUP_MAX_WORDS), the rank's CSR arrays ``(v + i) z + 8 n`` and the work arrays of one
  chunk of rows (``ASSEMBLY_WORK_ENTRY_BYTES`` per entry); after, on several ranks, PETSc's copy
  of the CSR arrays into its diagonal and off-diagonal blocks (twice the arrays for a moment);
- the solve: the matrix ``(v + i) z + MATRIX_ROW_BYTES n``, the ILU(0) factor of its diagonal
  block (counted as the whole: ``(v + i) z + ILU_ROW_BYTES n``), ``m + EXTRA_VECTORS`` vectors of
  ``v n``, and the ghost values of the product, ``GHOST_BYTES`` each, ``min(GHOST_ROW_FRACTION N,
  GHOST_NNZ_FRACTION z)`` of them.

With ``--gap`` (:func:`gap_memory`) two phases more: ``spectrum``, the spectral search of the
steady state's sector with the solve's objects still held: ``GAP_KRYLOV_VECTORS`` vectors of
``v n`` (Krylov-Schur's largest subspace) and, where the search factorises the sector (the
direct solver, or at most ``SINVERT_MAX_ROWS`` rows: :func:`sinvert_taken`), the Liouvillian
assembled again and SLEPc's shifted copy of it (``SINVERT_MATRICES``) and their MUMPS LU
(:func:`lindring.solvers.steady.lu_bytes`, whole on the largest rank); and with
``--gap-sectors all``
``sectors``, the largest of the other sectors searched one after the other (:func:`gap_sectors`:
rows bounded by the trivial character's Burnside count, entries by the steady state's sector's
per row, scaled for the real forms of the complex sectors): its basis and lookup table on every
rank, its matrix and ``GAP_KRYLOV_VECTORS`` vectors split by rows. Measured against the model
(benchmarks/README.md, "The gap in the plan"): open L = 8 (minimal) 1,794 MB (plan 2,025), ring
L = 10 5,344 MB (6,599); the LU's fill depends on the model (open L = 8 with alpha = delta = 1
only: 597 MB, the plan 9x that).

The peak of a rank is the largest phase, and ``OUTPUT_MB`` more for the result written at the
end (the process keeps its resident memory). Measured against the model (benchmarks/bench_ranks.py,
the L = 12 ring, peak of the largest rank): 1 rank 675 MB (model 780: GMRES allocates its
vectors as it goes, 79 iterations of a restart of 90, and reuses the assembly's freed heap), 2
ranks 476 (486), 4 ranks 435 (435), 8 ranks 364 (358); L = 13 2,074 and 1,201 on 1 and 2 ranks
(2,211, 1,261); L = 14 8,306 and 4,563 on 1 and 2 ranks (8,315, 4,526). Ranks grow (1, 2,
4, ...) until the peak fits ``mem_per_rank_mb``; the basis and the start-up do not shrink with R,
so some sizes fit no number of ranks (the plan says so).

**Runtime** (:func:`runtime`): one GMRES iteration streams the matrix and the ILU factor once each
and ``m + 1 + VECTOR_SWEEPS`` vectors (classical Gram-Schmidt reads on average half the Krylov
basis twice), ``(2 (v + i) z + v n (m + 1 + VECTOR_SWEEPS)) / BANDWIDTH`` seconds per rank, plus
the ghost values over the network (``NET_BANDWIDTH``, assumed: not measurable here) on several
ranks. Measured CPU seconds per iteration (all ranks): L = 12 0.043, 0.041, 0.033, 0.048 on 1, 2,
4, 8 ranks (14 GB/s: the 2.8 MB vectors stay in the cache), L = 13 0.27 and 0.25 on 1 and 2
ranks (7 GB/s), L = 14 1.36 on 2 ranks (5.6 GB/s); ``BANDWIDTH`` is the largest sizes'. The iterations of the solve and the probe are
``PLANNED_ITERATIONS``, the most measured (L = 10 67 + 40, L = 12 79 + 47, L = 13 54 + 36, L = 14
113 + 55; they change little with the ranks: 78-82 + 47-51 at L = 12 on 1-8 ranks); the
basis enumeration takes ``ENUMERATION_S_PER_WORD 4^L / R``, the assembly ``ASSEMBLY_S_PER_NNZ z``
plus ``TABLE_S_PER_WORD 4^L`` for the word table each rank builds (``ASSEMBLY_S_PER_NNZ_NO_TABLE
z`` without it, L >= 15), the ILU(0) set-up ``ILU_S_PER_NNZ z``. The expected time is their sum; the job asks for ``RUNTIME_FACTOR`` times
that (a shared machine, a full node's smaller bandwidth per core, more iterations than
measured), at least 10 minutes. Calibration and the table: benchmarks/README.md, "Ranks and the
plan (issue 14)".

The direct solver (MUMPS LU, small L only) is modelled by :func:`lindring.solvers.steady.lu_bytes`,
growing with the rows (measured: 250 MB at L = 6).

:func:`plan_point` is the one entry: ``lindring plan``, ``lindring solve``'s check that the point
fits the memory here and the workflow's job resources (ranks, ``mem_mb``, runtime) all call it
with the job's resolved options, so an option that changes the memory (``--gap``, the sector,
the basis, ``chi``) counts everywhere alike. The MPO plan (:func:`plan_mpo`) takes the bond
dimensions the state can reach, ``min(chi, 4^l, 4^(L-l))``.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from lindring.core import model
from lindring.core.model import _shown_int
from lindring.core.basis import (LOOKUP_MAX_WORDS, SectorBasis, diagonal_words, make_basis,
                                 parity_odd, resolve_symmetry, sector_size, symmetries_of)
from lindring.core.options import OPTIONS
from lindring.core.pauli import pauli_terms
from lindring.core.sectors import SectorLabel, sector_labels
from lindring.solvers.liouvillian import CHUNK_ROWS, local_terms, rows_block
from lindring.solvers.mpo import MAX_EXPONENT, PAD_SPECTRUM, PAD_WHOLE_MAX_L, full_bonds
from lindring.solvers.mpo_refine import SPECTRUM_MAX_N
from lindring.solvers.methods import check_ed_size
from lindring.solvers.petsc import SCALAR_OF_BASIS
from lindring.solvers.steady import (KRYLOV_EXTRA, SINVERT_MAX_ROWS,  # noqa: F401 (re-exported)
                                     Tolerances, available_memory_mb, gmres_restart, lu_bytes,
                                     resolve_solver)

MB = 2 ** 20
#: bytes of a value in the PETSc build of each scalar type
SCALAR_BYTES = {"real": 8, "complex": 16}
#: bytes of an index
INDEX_BYTES = 8
# ---- memory per rank (benchmarks/README.md, "Ranks and the plan (issue 14)")
#: Python, numpy, PETSc, SLEPc, MPI and lindring per rank (VmRSS after the L = 12 basis, 157 MB
#: on 1, 2, 4 and 8 ranks, less its 6 MB of basis)
BASE_MB = 150.0
#: the result written at the end (xarray, netCDF4 and the dataset; on rank 0), on top of the
#: largest phase: the process keeps its resident memory (measured peak RSS, /usr/bin/time -v,
#: 13-14 MB above the peak the file records before writing, at every size from L = 6 to 10:
#: benchmarks/README.md, "The gap in the plan")
OUTPUT_MB = 16.0
#: bytes per row of the basis on every rank (int64 representative and orbit size), and per row
#: of a rank's own slice while the slices are gathered (its pieces and their concatenation)
BASIS_ROW_BYTES, BASIS_SLICE_ROW_BYTES = 16, 32
#: bytes per word of the word table (int32, every rank, while assembling; 4^L <= LOOKUP_MAX_WORDS)
TABLE_WORD_BYTES = 4
#: bytes the assembly's work arrays take per entry of a chunk of ``CHUNK_ROWS`` rows (fitted to
#: the assembly peaks at L = 12 on 1, 4, 8 ranks: ~180 MB for 65,536 rows of 27.8 entries)
ASSEMBLY_WORK_ENTRY_BYTES = 100
#: PETSc AIJ bytes per row beside values and column indices (row starts, lengths, diagonal), and
#: those of the ILU(0) factor (row starts, diagonal, permutations, work vectors): together
#: fitted to L = 14 on 1 and 2 ranks (8,306 and 4,563 MB), where GMRES allocates its whole Krylov
#: basis (at L = 12, 13 the solves end before the restart and allocate fewer vectors)
MATRIX_ROW_BYTES, ILU_ROW_BYTES = 64, 96
#: vectors beside GMRES's (steady state, right-hand side, the probe's three, the refinement's)
OTHER_VECTORS = 6
#: vectors beside the Krylov basis of GMRES(m) in the model
EXTRA_VECTORS = KRYLOV_EXTRA + OTHER_VECTORS
#: bytes per ghost value of the product on several ranks (the value, its index on both sides of
#: the scatter, the off-diagonal block's column map)
GHOST_BYTES = 32
#: ghost values per rank at most, per local nonzero and per row of the whole vector (L = 12, 2, 4
#: and 8 ranks: 137 k, 174 k, 161 k values received per rank and product, 0.39-0.49 of N, 0.03,
#: 0.06, 0.11 of the rank's nonzeros, the fraction growing with the ranks)
GHOST_NNZ_FRACTION, GHOST_ROW_FRACTION = 0.3, 0.5

# ---- the gap's phases (--gap; benchmarks/README.md, "The gap in the plan")
#: vectors of one Krylov-Schur search at most (:func:`lindring.solvers.steady.decide_kernel`):
#: its largest subspace (``ncv_max``, reached only where nothing converges: counted, so that the
#: plan bounds the run), the eigenvectors wanted and a few deflated ones and work vectors
GAP_KRYLOV_VECTORS = Tolerances.ncv_max + Tolerances.nev + 8
#: bytes per row of a gap sector's basis on every rank (:class:`lindring.core.sectors.
#: CharacterBasis`: int64 representative and orbit size)
SECTOR_BASIS_ROW_BYTES = 16
#: bytes per word of a gap sector's lookup table on every rank (int32 index and uint8 group
#: element, :meth:`CharacterBasis.build_lookup`; 4^L <= LOOKUP_MAX_WORDS), while it assembles
SECTOR_TABLE_WORD_BYTES = 5
#: bytes per row of the sparse unitary S and S^+ of :class:`lindring.core.sectors.MirrorRealForm`
#: (complex, up to 2 entries a column, each with its index; every rank)
MIRROR_ROW_BYTES = 2 * 2 * (16 + 8) + 2 * 8
#: entries per row of a complex sector's real matrix over those of the steady state's sector:
#: :class:`RealForm` (twice the rows) at most twice (the real and imaginary parts; measured 1.33
#: at ring L = 8), :class:`MirrorRealForm` (the sector's own rows) measured 1.03-1.27 at ring
#: L = 8 (the +-k sectors), counted 1.5
REAL_FORM_ROW_FACTOR, MIRROR_ROW_FACTOR = 2.0, 1.5
#: entries per row of any other sector over the steady state's (the parity-odd sectors have a
#: few more: 1.06 at ring L = 6, 1.03 at L = 8)
SECTOR_ROW_FACTOR = 1.1
#: the shift-and-invert search of the steady state's sector (where it may factorise, the rows
#: at most SINVERT_MAX_ROWS): matrices beside the solve's: the Liouvillian assembled again
#: (without the trace row) and SLEPc's shifted copy of it, which MUMPS factorises (lu_bytes)
SINVERT_MATRICES = 2

# ---- runtime
#: bytes per second one rank streams in a GMRES iteration (L = 14 on 2 ranks: 1.36 CPU s per
#: iteration of 7.6 GB, 5.6 GB/s; L = 13: 7 GB/s; L = 12: 14 GB/s, its vectors staying in the
#: cache)
BANDWIDTH = 6e9
#: vector reads and writes of an iteration beside the Gram-Schmidt (product, preconditioner,
#: updates)
VECTOR_SWEEPS = 8
#: bytes per second between ranks on a cluster's network (assumed; not measurable here)
NET_BANDWIDTH = 5e9
#: iterations of the solve plus the probe: the most measured (L = 14: 113 + 55 = 168)
PLANNED_ITERATIONS = 170
#: CPU seconds per word of the word table, built whole on every rank (L = 12: ~0.5 s per rank)
TABLE_S_PER_WORD = 3e-8
#: CPU seconds per word scanned by the basis enumeration, per nonzero assembled (with and without
#: the word table) and per nonzero of the ILU(0) set-up
#: (L = 12 and 13, one rank: 2.3e-8 and 2.4e-8 per word, 1.9e-7 and 1.8e-7 per nonzero, 3.0e-7
#: without the table at L = 12, larger for the deeper searches of larger sectors; 6.3e-8 and
#: 8.0e-8 per nonzero of the ILU(0))
ENUMERATION_S_PER_WORD = 2.5e-8
ASSEMBLY_S_PER_NNZ = 2e-7
ASSEMBLY_S_PER_NNZ_NO_TABLE = 4.5e-7
ILU_S_PER_NNZ = 8e-8
#: CPU seconds per nonzero of a sector the gap searches (Krylov-Schur to its tight tolerance;
#: ring L = 12: ~45 s for the k = 0, reflection-odd sector of ~9 M nonzeros, ~115 s for a +-k
#: sector of ~21 M; L = 10: ~26 s for 15 sectors of ~14 M in all: benchmarks/README.md, "Gap
#: over all sectors"), and of the shift-and-invert factorisation of the steady state's sector
#: (the LU of 16,384 rows, full space L = 7: 36 s; growing like rows^2)
GAP_S_PER_NNZ = 6e-6
SINVERT_S_16K_ROWS = 36.0
#: start-up, observables and file per job (seconds; ~1.5 s CPU here)
FIXED_SECONDS = 5.0
#: the job's runtime request over the expected time (other load, slower memory per core on a
#: full node, more iterations than measured)
RUNTIME_FACTOR = 3.0


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
    nnz_exact: bool = False             # nnz counted over every row (else sampled)
    restart: int | None = None          # GMRES restart (iterative)
    expected_min: float | None = None   # the runtime model's expectation (runtime_min: the request)
    #: peak MB of the largest rank by phase ("basis", "assembly", "solve") and part
    memory_parts_mb: dict = dataclasses.field(default_factory=dict)
    #: seconds by part (enumeration, assembly, ilu, iterations, per_iteration, fixed)
    time_parts_s: dict = dataclasses.field(default_factory=dict)
    min_mem_mb_total: float | None = None  # the least memory in all over 1, 2, 4, ... ranks
    mem_per_node_mb: float | None = None   # given: nodes of this size
    ranks_per_node: int | None = None      # ranks of mem_mb_per_task that fit one node
    nodes: int | None = None               # nodes the job needs

    def as_dict(self):
        return dataclasses.asdict(self)


def shown(x, decimals: int = 0) -> str:
    """A count, size (MB) or time of a plan in words: with ``decimals`` below 1e12, else three
    digits in exponent form (a huge point's plan says ``1.17e+50 MB``, not fifty digits)."""
    return f"{x:.{decimals}f}" if abs(x) < 1e12 else f"{float(x):.3g}"


#: nonzeros beyond which no estimate is made (memory and time in floating point would overflow)
MAX_PLANNED_NNZ = 10 ** 250
#: largest L whose words (4^L values) fit the int64 arithmetic of the basis
MAX_WORD_L = 31
#: size at which the nonzeros per row are sampled for larger L and scaled by L / SAMPLE_L
#: (measured: 101.0 per row at L = 20 and 156.0 at L = 31, ring: 5.05 and 5.03 per site)
SAMPLE_L = 24
#: sectors of at most this many rows are counted row by row (exact), larger ones sampled
EXACT_ROWS = 8192
#: rows sampled in a larger sector
SAMPLE_ROWS = 8192


class _OrbitColumns:
    """The sector's rows with each column labelled by its orbit's smallest word instead of its
    basis index (what :func:`rows_block` needs of a basis, without enumerating the sector): the
    same entries as the assembled rows, in a column space of ``4^L`` labels."""

    def __init__(self, L: int, parity: bool, group: SectorBasis | None):
        self.L, self.parity, self.group = L, parity, group
        self.size = 4 ** L

    def words(self, index):
        return np.asarray(index, dtype=np.int64)     # rows are given by their word

    def locate(self, words):
        words = np.asarray(words, dtype=np.int64)
        inside = parity_odd(words) == 0 if self.parity else np.ones(words.shape, bool)
        if self.group is None:
            return words, inside.astype(float)
        coef = np.where(inside, 1.0 / np.sqrt(self.group.orbit_sizes(words)), 0.0)
        return self.group.representative(words), coef

    def row_scale(self, index):
        if self.group is None:
            return np.ones(np.shape(index))
        return np.sqrt(self.group.orbit_sizes(np.asarray(index, dtype=np.int64)))


def _row_lengths(p, terms, cols: _OrbitColumns, words: np.ndarray) -> np.ndarray:
    """Stored entries of the assembled rows of ``words`` (sector representatives): the
    Liouvillian's nonzeros plus the diagonal where it has none (the assembly stores every
    diagonal entry)."""
    out = np.empty(len(words), dtype=np.int64)
    for b in range(0, len(words), 4096):
        w = words[b:b + 4096]
        block = rows_block(p, cols, w, terms)
        has_diag = np.asarray(block[np.arange(len(w)), w]).ravel() != 0
        out[b:b + 4096] = np.diff(block.indptr) + ~has_diag
    return out


def _trace_row_length(p, basis: str, parity: bool, group) -> int:
    """Entries of row 0 of the solved matrix, the trace functional: the identity string alone
    in the Pauli basis; the orbits of the diagonal words |s><s| in the matrix units."""
    if basis == "pauli":
        return 1
    if p.L > 20:      # at most the 2^L diagonal words; one row of many
        return 2 ** p.L
    w = diagonal_words(p.L)
    return len(np.unique(group.representative(w))) if group is not None else len(w)


def count_nonzeros(p: model.Params, symmetry: str = "none", basis: str = "pauli",
                   sample: int = SAMPLE_ROWS, seed: int = 0) -> tuple[int, int, bool, float]:
    """Rows and stored nonzeros of the matrix ``lindring solve`` assembles in a sector.

    Parameters
    ----------
    p : model.Params
    symmetry : str
        A resolved sector name (:func:`lindring.core.basis.resolve_symmetry`).
    basis : {"pauli", "matrix-units"}
        The operator basis.
    sample : int
        Rows sampled where the sector has more than ``EXACT_ROWS``.
    seed : int

    Returns
    -------
    rows : int
        Exact (Burnside).
    nnz : int
        The assembled matrix's entries: the Liouvillian's nonzeros, every diagonal entry, row 0
        the trace functional. Exact (every row built) up to ``EXACT_ROWS`` rows, else the mean
        of ``sample`` random rows times the rows.
    exact : bool
    rel_error : float
        The sample's standard error of the mean row length, relative (0 when exact).
    """
    parts = symmetry.split("+")
    parity, orbits = "parity" in parts, "momentum" in parts or "reflection" in parts
    rows = sector_size(p.L, symmetry, p.bc)
    if p.L > MAX_WORD_L:
        # words of L letters do not fit int64: the nonzeros per row grow like L (each site and
        # bond adds its terms), so sample at SAMPLE_L and scale; the rows are exact (Python ints)
        q = dataclasses.replace(p, L=SAMPLE_L)
        rows_q, nnz_q, _, err = count_nonzeros(q, symmetry, basis, sample, seed)
        return rows, nnz_q * p.L * rows // (rows_q * SAMPLE_L), False, err
    group = SectorBasis(p.L, parity, "momentum" in parts, reflection="reflection" in parts,
                        bc=p.bc, enumerate=False) if orbits else None
    cols = _OrbitColumns(p.L, parity, group)
    terms = pauli_terms(p) if basis == "pauli" else local_terms(p)
    trace = _trace_row_length(p, basis, parity, group)
    if rows <= EXACT_ROWS:
        words = make_basis(p.L, symmetry, bc=p.bc).words(np.arange(rows))
        lengths = _row_lengths(p, terms, cols, words[1:])       # row 0: the trace row
        return rows, int(lengths.sum()) + trace, True, 0.0
    # even words drawn uniformly stand for their orbits with probability ~ orbit size: weight
    # each by 1 / orbit size (the mean over orbits, i.e. over the sector's rows)
    rng = np.random.default_rng(seed)
    words = rng.integers(1, 4 ** p.L, size=2 * sample, dtype=np.int64)
    if parity:
        words = words[parity_odd(words) == 0]
    words = words[:sample]
    weight = 1.0 / group.orbit_sizes(words) if group is not None else np.ones(len(words))
    if group is not None:
        words = group.representative(words)
    lengths = _row_lengths(p, terms, cols, words).astype(float)
    mean = float(np.sum(weight * lengths) / np.sum(weight))
    spread = float(np.sqrt(np.sum(weight * (lengths - mean) ** 2) / np.sum(weight)))
    rel_error = spread / math.sqrt(len(words)) / mean if mean > 0 else 0.0
    return rows, int(round(mean * (rows - 1))) + trace, False, rel_error


def nnz_imbalance(ranks: int) -> float:
    """The most nonzeros of one of ``ranks`` ranks over the mean: PETSc splits the rows evenly,
    and the rows of the sector (in the order of their smallest word) grow longer towards the
    end. Measured at L = 12 (and 10) by splitting the row lengths: 1.09, 1.13, 1.16, 1.19, 1.21,
    1.25, 1.27 on 2, 4, 8, 16, 64, 128, 256 ranks; the assembled matrix on 2, 4, 8 ranks: 1.09,
    1.13, 1.16."""
    return 1.0 if ranks <= 1 else min(1.3, 1.05 + 0.035 * math.log2(ranks))


def _largest_rank(rows: int, nnz: float, ranks: int) -> tuple[int, float, float]:
    """Rows, nonzeros and ghost values of the largest of ``ranks`` ranks."""
    n = -(-rows // ranks)
    z = min(nnz, nnz_imbalance(ranks) * nnz * n / rows)
    ghosts = min(GHOST_ROW_FRACTION * rows, GHOST_NNZ_FRACTION * z) if ranks > 1 else 0.0
    return n, z, ghosts


def rank_memory(L: int, rows: int, nnz: int, ranks: int, restart: int, value_bytes: int,
                orbits: bool) -> dict:
    """Peak memory (MB) of the largest of ``ranks`` ranks by phase, and ``peak`` (the module
    docstring's model): ``basis``, ``assembly``, ``solve`` (each including what stays from
    before: the start-up and the basis), the parts ``base``, ``basis_held``, ``table``,
    ``matrix``, ``ilu``, ``vectors``, ``ghosts``, and ``peak``."""
    n, z, ghosts = _largest_rank(rows, nnz, ranks)
    entry = value_bytes + INDEX_BYTES
    basis_held = BASIS_ROW_BYTES * rows / MB if orbits else 0.0
    basis_peak = (BASIS_ROW_BYTES * rows + BASIS_SLICE_ROW_BYTES * n) / MB if orbits else 0.0
    table = TABLE_WORD_BYTES * 4.0 ** L / MB if orbits and 4 ** L <= LOOKUP_MAX_WORDS else 0.0
    csr = (entry * z + 8 * n) / MB
    work = ASSEMBLY_WORK_ENTRY_BYTES * min(CHUNK_ROWS, n) * nnz / rows / MB
    # filling the rows (the table, the CSR arrays, a chunk's work), then on several ranks
    # PETSc's copy of the CSR arrays (the table already freed)
    assembly = max(table + csr + work, 2 * csr if ranks > 1 else 0.0)
    parts = dict(base=BASE_MB, basis_held=basis_held, table=table,
                 matrix=(entry * z + MATRIX_ROW_BYTES * n) / MB,
                 ilu=(entry * z + ILU_ROW_BYTES * n) / MB,
                 vectors=(restart + EXTRA_VECTORS) * value_bytes * n / MB,
                 ghosts=GHOST_BYTES * ghosts / MB)
    solve = parts["matrix"] + parts["ilu"] + parts["vectors"] + parts["ghosts"]
    phases = dict(basis=BASE_MB + basis_peak, assembly=BASE_MB + basis_held + assembly,
                  solve=BASE_MB + basis_held + solve)
    return dict(parts, **phases, peak=max(phases.values()))


def sector_rows_bound(L: int, bc: str, label: SectorLabel) -> int:
    """Rows of the sector ``label`` at most (exact for the trivial character): the sector of the
    same symmetries with the trivial character (the steady state's kind, counted by Burnside,
    :func:`sector_size`; parity odd: all words less the even ones). A character's sector is never
    larger: its dimension ``|G|^-1 sum_g conj(chi(g)) fix(g)`` is at most ``|G|^-1 sum_g
    fix(g)``, the number of orbits with the trivial character."""
    parts = [name for name, on in (("momentum", label.momentum is not None),
                                    ("reflection", label.reflection != 0)) if on]
    rest = "+".join(parts) or "none"
    even = sector_size(L, "+".join(["parity"] + parts), bc) if label.parity else 0
    if label.parity == 1:
        return even
    whole = sector_size(L, rest, bc)
    return whole - even if label.parity == -1 else whole


@dataclasses.dataclass
class GapSector:
    """A sector the gap over all sectors searches, as the plan counts it: ``rows`` of its basis
    (a bound, :func:`sector_rows_bound`), ``held`` rows of the matrix searched (twice ``rows``
    in :class:`RealForm`), ``nnz`` its entries (a bound), ``form`` (``real``, ``complex``,
    ``pair``: RealForm, ``mirror``: MirrorRealForm)."""
    label: SectorLabel
    rows: int
    held: int
    nnz: float
    form: str


def gap_sectors(p, nnz_per_row: float, real_build: bool) -> list[GapSector]:
    """The sectors of ``p`` that ``--gap`` (``--gap-sectors all``) searches one after the other
    (:func:`lindring.core.sectors.sector_labels`, the steady state's included: a bound), each
    with its rows and nonzeros at most: ``nnz_per_row`` the entries per row of the steady
    state's sector in the Pauli basis (:func:`count_nonzeros`), scaled for the real forms of the
    complex sectors in the real build (:data:`REAL_FORM_ROW_FACTOR`, :data:`MIRROR_ROW_FACTOR`;
    :mod:`lindring.solvers.gap` picks the form)."""
    mirror = symmetries_of(p)["reflection"]
    out = []
    for label in sector_labels(p):
        rows = sector_rows_bound(p.L, p.bc, label)
        form, held, per_row = "real", rows, SECTOR_ROW_FACTOR * nnz_per_row
        if label.is_complex(p.L):
            if not real_build:
                form = "complex"
            elif mirror:
                form, per_row = "mirror", MIRROR_ROW_FACTOR * nnz_per_row
            else:
                form, held, per_row = "pair", 2 * rows, REAL_FORM_ROW_FACTOR * nnz_per_row
        out.append(GapSector(label, rows, held, per_row * held, form))
    return out


def gap_memory(L: int, rows: int, nnz: float, ranks: int, value_bytes: int, sinvert: bool,
               sectors: list[GapSector]) -> dict:
    """Memory (MB) per rank of the gap's phases on ``ranks`` ranks (the largest rank), beside
    :func:`rank_memory`'s (module docstring):

    - ``spectrum_extra``: what the search of the steady state's sector adds to the solve's
      memory (its matrix, factor and vectors are still held): ``GAP_KRYLOV_VECTORS`` vectors of
      the sector and, where it factorises (``sinvert``: the direct solver, or at most
      ``SINVERT_MAX_ROWS`` rows), ``SINVERT_MATRICES`` matrices more and the MUMPS LU
      (:func:`lindring.solvers.steady.lu_bytes`, whole on the largest rank: measured on 2
      ranks, it hardly shrinks);
    - ``sectors``: the largest sector of ``sectors`` (each searched alone, the solve's objects
      freed; ``0`` when none): its basis (``SECTOR_BASIS_ROW_BYTES`` a row on every rank, the
      mirror form's S and S^+), then the larger of its assembly (the lookup table,
      ``SECTOR_TABLE_WORD_BYTES`` a word on every rank while 4^L <= LOOKUP_MAX_WORDS, the rank's
      CSR arrays and a chunk's work; on several ranks PETSc's copy) and its search (the matrix
      and ``GAP_KRYLOV_VECTORS`` vectors, the ghost values), on top of the start-up and the
      steady state's basis (added by the caller)."""
    n, z, _ = _largest_rank(rows, nnz, ranks)
    entry = value_bytes + INDEX_BYTES
    extra = GAP_KRYLOV_VECTORS * value_bytes * n
    if sinvert:
        extra += SINVERT_MATRICES * (entry * z + MATRIX_ROW_BYTES * n)
        # not split by the ranks: the largest of 2 ranks held 0.7-1.0 of the one-rank peak of
        # the factorisation (ring L = 9, open L = 8; benchmarks/README.md)
        extra += lu_bytes(rows, nnz, value_bytes, INDEX_BYTES)
    out = dict(spectrum_extra=extra / MB, sectors=0.0, sector_rows=0)
    table = SECTOR_TABLE_WORD_BYTES * 4.0 ** L if 4 ** L <= LOOKUP_MAX_WORDS else 0.0
    for s in sectors:
        ns, zs, ghosts = _largest_rank(s.held, s.nnz, ranks)
        held = SECTOR_BASIS_ROW_BYTES * s.rows + (MIRROR_ROW_BYTES * s.rows
                                                  if s.form == "mirror" else 0)
        csr = entry * zs + 8 * ns
        work = ASSEMBLY_WORK_ENTRY_BYTES * min(CHUNK_ROWS, ns) * s.nnz / max(s.held, 1)
        assembly = max(table + csr + work, 2 * csr if ranks > 1 else 0.0)
        search = (entry * zs + MATRIX_ROW_BYTES * ns + GAP_KRYLOV_VECTORS * value_bytes * ns
                  + GHOST_BYTES * ghosts)
        mb = (held + max(assembly, search)) / MB
        if mb > out["sectors"]:
            out.update(sectors=mb, sector_rows=s.held)
    return out


def gap_sectors_of(p, sector: str, operator_basis: str, rows: int, nnz: float,
                   real_build: bool) -> list[GapSector]:
    """:func:`gap_sectors` of ``p`` with the entries per row of its steady state's sector in the
    Pauli basis (the gap's sectors are Pauli words): those of the solve (``rows``, ``nnz`` in
    sector ``sector``) where it is that sector and basis, else counted
    (:func:`count_nonzeros`)."""
    auto = resolve_symmetry(p, "auto")
    if operator_basis != "pauli" or sector != auto:
        rows, nnz, _, rel_error = count_nonzeros(p, auto, "pauli")
        nnz *= 1 + 3 * rel_error
    return gap_sectors(p, nnz / max(rows, 1), real_build)


def _with_gap(mem: dict, L: int, rows: int, nnz: float, ranks: int, value_bytes: int,
              orbits: bool, gap: bool, sinvert: bool, searched: list) -> dict:
    """``mem`` (phases of :func:`rank_memory`, or the direct solver's ``solve``) with the
    gap's phases (:func:`gap_memory`): ``spectrum`` (the solve's memory and the search of its
    sector), ``sectors`` (the largest other sector, on the start-up and the steady state's
    basis), ``peak`` the largest phase; unchanged without ``gap``."""
    if not gap:
        return mem
    g = gap_memory(L, rows, nnz, ranks, value_bytes, sinvert, searched)
    out = dict(mem, spectrum=mem["solve"] + g["spectrum_extra"])
    if searched:
        held = BASIS_ROW_BYTES * rows / MB if orbits else 0.0
        out["sectors"] = BASE_MB + held + g["sectors"]
    out["peak"] = max(mem["peak"], out["spectrum"], out.get("sectors", 0.0))
    return out


def sinvert_taken(solver: str, rows: int) -> bool:
    """Whether the spectral search of the steady state's sector (``--gap``) factorises it
    (shift-and-invert, :func:`lindring.solvers.methods._sinvert_refusal`): the direct solver's
    regime, or at most ``SINVERT_MAX_ROWS`` rows (where the LU also fits half the memory the
    job finds; the plan asks for that memory)."""
    return solver == "direct" or rows <= SINVERT_MAX_ROWS


def gap_seconds(rows: int, ranks: int, sinvert: bool, sectors: list[GapSector]) -> float:
    """Expected seconds of the gap's searches on ``ranks`` ranks: ``GAP_S_PER_NNZ`` per
    nonzero of every sector searched (split over the ranks) and the factorisation of the steady
    state's sector (``SINVERT_S_16K_ROWS`` at 16,384 rows, growing like rows^2)."""
    lu = SINVERT_S_16K_ROWS * (rows / 16384) ** 2 if sinvert else 0.0
    return lu + GAP_S_PER_NNZ * sum(s.nnz for s in sectors) / ranks


def runtime(L: int, rows: int, nnz: int, ranks: int, restart: int, value_bytes: int,
            orbits: bool) -> dict:
    """Expected seconds of an iterative solve on ``ranks`` ranks by part (the module docstring's
    model): ``enumeration``, ``assembly``, ``ilu``, ``per_iteration``, ``iterations`` (all of
    them), ``fixed``, and ``total``."""
    n, z, ghosts = _largest_rank(rows, nnz, ranks)
    entry = value_bytes + INDEX_BYTES
    per_it = ((2 * entry * z + value_bytes * n * (restart + 1 + VECTOR_SWEEPS)) / BANDWIDTH
              + value_bytes * ghosts / NET_BANDWIDTH)
    table = orbits and 4 ** L <= LOOKUP_MAX_WORDS
    out = dict(enumeration=ENUMERATION_S_PER_WORD * 4.0 ** L / ranks if orbits else 0.0,
               assembly=(ASSEMBLY_S_PER_NNZ if table or not orbits else
                         ASSEMBLY_S_PER_NNZ_NO_TABLE) * z
               + (TABLE_S_PER_WORD * 4.0 ** L if table else 0.0),
               ilu=ILU_S_PER_NNZ * z, per_iteration=per_it,
               iterations=PLANNED_ITERATIONS * per_it, fixed=FIXED_SECONDS)
    out["total"] = sum(v for k, v in out.items() if k != "per_iteration")
    return out


def plan_ed(p: model.Params, solver: str, mem_per_rank_mb: float, max_tasks: int,
            restart: int | None = None, symmetry: str = "auto", basis: str = "auto",
            ranks: int | None = None, mem_per_node_mb: float | None = None,
            gap: bool = False, gap_sectors: str = OPTIONS["gap_sectors"].default) -> Plan:
    """Resources for one ``ed`` job in its symmetry sector and operator basis (``auto``:
    ``pauli``, as ``lindring solve``; see the module docstring).

    Parameters
    ----------
    p : model.Params
    solver : str
        ``auto``, ``direct`` or ``iterative``.
    mem_per_rank_mb : float
        Budget per MPI rank: ranks double (1, 2, 4, ...) until the peak of the largest rank fits,
        up to ``max_tasks``.
    max_tasks : int
    restart : int, optional
        GMRES restart (default the solve's, by memory).
    symmetry, basis : str
        As for ``lindring solve``.
    ranks : int, optional
        Plan for exactly this many ranks (the job's own, when it checks itself).
    mem_per_node_mb : float, optional
        Nodes of this memory: how many ranks of the plan fit one, and how many nodes it needs.
    gap : bool
        ``--gap``: the gap's phases are counted too (:func:`gap_memory`): ``spectrum`` (the
        steady state's sector searched, factorised where it may be) and, with
        ``gap_sectors = "all"``, ``sectors`` (the largest other sector searched).
    gap_sectors : {"all", "solved"}

    Raises
    ------
    lindring.core.model.ModelError
        Beyond any floating-point estimate.
    """
    operator_basis = "matrix-units" if basis == "matrix-units" else "pauli"
    value_bytes = SCALAR_BYTES[SCALAR_OF_BASIS[operator_basis]]
    sector = resolve_symmetry(p, symmetry)
    check_ed_size(p.L)
    rows, nnz, exact, rel_error = count_nonzeros(p, sector, operator_basis)
    if nnz > MAX_PLANNED_NNZ:
        raise model.ModelError(
            f"L = {p.L}: the Liouvillian in sector {sector} has {_shown_int(rows)} "
            f"rows and {_shown_int(nnz)} nonzeros, beyond the floating-point range of any memory or time estimate; no "
            "machine can hold it")
    solver = resolve_solver(solver, p.L, rows)
    orbits = "momentum" in sector or "reflection" in sector
    # memory from the upper end of the sample's estimate (3 standard errors)
    nnz_mem = nnz * (1 + 3 * rel_error)
    searched = []               # the sectors the gap over all sectors searches
    if gap and gap_sectors == "all":
        searched = gap_sectors_of(p, sector, operator_basis, rows, nnz_mem,
                                  real_build=value_bytes == SCALAR_BYTES["real"])
    sinvert = gap and sinvert_taken(solver, rows)
    if solver == "direct":
        matrix_mb = nnz_mem * (value_bytes + INDEX_BYTES) / MB
        total = matrix_mb + lu_bytes(rows, nnz_mem, value_bytes, INDEX_BYTES) / MB   # steady.py

        def mem_on(r):
            solve = total / r + BASE_MB
            return _with_gap(dict(solve=solve, peak=solve), p.L, rows, nnz_mem, r, value_bytes,
                             orbits, gap, sinvert, searched)
        restart = None
    else:
        if restart is None:
            restart = gmres_restart(rows, int(nnz), value_bytes, INDEX_BYTES)

        def mem_on(r):
            return _with_gap(rank_memory(p.L, rows, nnz_mem, r, restart, value_bytes, orbits),
                             p.L, rows, nnz_mem, r, value_bytes, orbits, gap, sinvert, searched)
    phases = mem_on

    def mem_on(r):          # the phases, then the result written on top of the largest
        mem = phases(r)
        return dict(mem, output=OUTPUT_MB, peak=mem["peak"] + OUTPUT_MB)
    tasks = ranks or 1
    while ranks is None and tasks < max_tasks and mem_on(tasks)["peak"] > mem_per_rank_mb:
        tasks = min(2 * tasks, max_tasks)
    mem = mem_on(tasks)
    per_task = mem["peak"]
    min_total = min(mem_on(2 ** k)["peak"] * 2 ** k for k in range(11))
    if solver == "direct":
        times = dict(total=30 + 2e-6 * rows * rows ** 0.5)
    else:
        times = runtime(p.L, rows, nnz, tasks, restart, value_bytes, orbits)
    if gap:
        # the steady state's sector is searched too (gap_sectors solved: it alone)
        own = [GapSector(SectorLabel(), rows, rows, nnz, "real")] if not searched else searched
        times["gap"] = gap_seconds(rows, tasks, sinvert, own)
        times["total"] += times["gap"]
    seconds = times["total"]
    ranks_per_node = nodes = None
    if mem_per_node_mb:
        ranks_per_node = int(mem_per_node_mb // per_task)
        nodes = -(-tasks // ranks_per_node) if ranks_per_node else None
    return Plan(L=p.L, solver=solver, symmetry=sector, rows=rows, nnz=int(nnz),
                mem_mb_total=round(per_task * tasks, 1), tasks=tasks,
                mem_mb_per_task=round(per_task, 1),
                mem_mb=int(math.ceil(per_task * tasks * 1.2)),
                runtime_min=max(10, int(math.ceil(RUNTIME_FACTOR * seconds / 60))),
                nnz_exact=exact, restart=restart, expected_min=round(seconds / 60, 2),
                memory_parts_mb={k: round(v, 1) for k, v in mem.items()},
                time_parts_s={k: round(v, 3) for k, v in times.items()},
                min_mem_mb_total=round(min_total, 1), mem_per_node_mb=mem_per_node_mb,
                ranks_per_node=ranks_per_node, nodes=nodes)


#: measured MPO throughput: L = 20, chi = 32, fourth order, dt = 0.1 took 184 s (one core)
MPO_SECONDS_L20_CHI32 = 184.0
#: bytes an MPO job takes per unit of ``D_left D_right`` of a site (its tensor of 16 complex
#: numbers per pair, the SVDs of the 4 D x 4 D two-site matrices and their work)
MPO_BYTES_PER_BOND_PAIR = 16 * 16 * 8


def mpo_bond_dimensions(L: int, chi: int) -> list[int]:
    """The bond dimensions an MPO of ``L`` sites may reach with at most ``chi`` states per bond:
    ``min(chi, 4^l, 4^(L - l))`` at the cut after site l = 1 .. L - 1
    (:func:`lindring.solvers.mpo.full_bonds`; at L = 6, chi = 1024: 4, 16, 64, 16, 4)."""
    return [min(int(chi), full) for full in full_bonds(L)]


def _mpo_cost(L: int, chi: int) -> tuple[float, float]:
    """``sum_l D_(l-1) D_l`` over the sites (memory) and ``sum_l D_l^3`` over the bonds (the
    SVDs: time), with the ends ``D_0 = D_L = 1``, of :func:`mpo_bond_dimensions`, in closed
    form: from each end the bonds grow 4, 16, ... below ``chi`` (at most ``MAX_EXPONENT`` of
    them), every other bond is at the cap ``min(chi, 4^MAX_EXPONENT)``; no work per site, so
    that a chain of 10^5 sites is planned (and refused) at once."""
    cap = float(min(chi, 4.0 ** MAX_EXPONENT))
    ramp = []                        # the bonds below the cap from one end: 4, 16, ...
    while len(ramp) < MAX_EXPONENT and 4.0 ** (len(ramp) + 1) < cap:
        ramp.append(4.0 ** (len(ramp) + 1))
    at_cap = (L - 1) - 2 * len(ramp)
    if at_cap < 1:                   # a short chain: its bonds one by one
        bonds = [1.0] + [float(d) for d in mpo_bond_dimensions(L, chi)] + [1.0]
        return (sum(a * b for a, b in zip(bonds, bonds[1:])),
                sum(d ** 3 for d in bonds[1:-1]))
    end = [1.0] + ramp + [cap]       # D_0, the ramp, the first bond at the cap
    pairs = 2 * sum(a * b for a, b in zip(end, end[1:])) + (at_cap - 1) * cap * cap
    cubes = 2 * sum(d ** 3 for d in ramp) + at_cap * cap ** 3
    return pairs, cubes


#: dense copies of the projected Liouvillian of the spectrum step (the matrix and LAPACK's
#: work copy in eigvals, or the matrix and its LU in place with ARPACK's vectors)
MPO_SPECTRUM_COPIES = 2


def mpo_spectrum_unknowns(L: int, chi: int) -> int:
    """The largest projected problem the spectrum step of an MPO run builds
    (:func:`lindring.solvers.mpo_refine.local_spectrum`: the bond with the most unknowns
    ``D_b 16 D_b+2`` up to ``SPECTRUM_MAX_N``), at the bonds the state can reach
    (:func:`mpo_bond_dimensions`) and at those it is padded to (the whole space up to
    ``PAD_WHOLE_MAX_L`` sites, else ``PAD_SPECTRUM`` states per bond: ``mpo.slow_rates``)."""
    def largest(bonds):
        dims = [1] + list(bonds) + [1]
        n = [dims[b] * 16 * dims[b + 2] for b in range(L - 1)]
        fit = [m for m in n if m <= SPECTRUM_MAX_N]
        return max(fit) if fit else min(n)
    full = full_bonds(L)
    padded = full if L <= PAD_WHOLE_MAX_L else [min(PAD_SPECTRUM, f) for f in full]
    return max(largest(mpo_bond_dimensions(L, chi)), largest(padded))


def plan_mpo(L: int, chi: int = OPTIONS["chi"].default) -> Plan:
    """Resources of an ``mpo`` job, at the bond dimensions it can reach
    (:func:`mpo_bond_dimensions`: ``chi`` capped at the exact maximum of each bond): memory
    ``MPO_BYTES_PER_BOND_PAIR`` per unit of ``sum_l D_(l-1) D_l``, plus the dense projected
    Liouvillian of the spectrum step (:func:`mpo_spectrum_unknowns`, ``MPO_SPECTRUM_COPIES``
    real copies: 256 MB from L = 6 on at chi 64, measured peaks 400-460 MB at L = 6-30), on the
    start-up; runtime
    ``sum_l D_l^3`` scaled from the measured point (L = 20, chi = 32).

    Raises
    ------
    lindring.core.model.ModelError
        Beyond the floating-point range of any estimate (a huge chi on a long chain)."""
    pairs, cubes = _mpo_cost(L, chi)
    tensors_mb = pairs * MPO_BYTES_PER_BOND_PAIR / MB
    spectrum_mb = MPO_SPECTRUM_COPIES * mpo_spectrum_unknowns(L, chi) ** 2 * 8 / MB
    seconds = MPO_SECONDS_L20_CHI32 * cubes / _mpo_cost(20, 32)[1]
    if not (math.isfinite(tensors_mb) and math.isfinite(seconds) and tensors_mb < 1e250):
        raise model.ModelError(f"method 'mpo': chi = {chi} on {L} sites is beyond the "
                               "floating-point range of any memory or time estimate; no machine "
                               "can hold it")
    mem = BASE_MB + tensors_mb + spectrum_mb + OUTPUT_MB
    return Plan(L=L, solver="tebd", symmetry="none", rows=0, nnz=0,
                mem_mb_total=round(mem, 1), tasks=1, mem_mb_per_task=round(mem, 1),
                mem_mb=int(math.ceil(mem * 2)),
                runtime_min=max(10, int(math.ceil(3 * seconds / 60))),
                memory_parts_mb=dict(base=BASE_MB, tensors=round(tensors_mb, 1),
                                     spectrum=round(spectrum_mb, 1), output=OUTPUT_MB,
                                     peak=round(mem, 1)),
                time_parts_s=dict(total=round(seconds, 3)))


def plan_point(method: str, p, values: dict, mem_per_rank_mb: float = float("inf"),
               max_tasks: int = 1, ranks: int | None = None,
               mem_per_node_mb: float | None = None) -> Plan | None:
    """The plan of one job: the one function ``lindring plan``, ``lindring solve``'s check that
    the point fits (:func:`check_fits`) and the workflow's resources (ranks, ``mem_mb``,
    runtime of a job) call, so that every option that changes the memory is counted alike.

    Parameters
    ----------
    method : str
        ``ed`` or ``mpo`` (others: ``None``, one small process).
    p : model.Params or modelfile.ModelPoint
    values : dict
        The job's options, resolved (:func:`lindring.core.options.resolve`): ``ed`` uses
        ``solver``, ``symmetry``, ``basis``, ``gap``, ``gap_sectors``; ``mpo`` ``chi``.
    mem_per_rank_mb, max_tasks, ranks, mem_per_node_mb
        As for :func:`plan_ed`.
    """
    if method == "mpo":
        return plan_mpo(p.L, values["chi"])
    if method != "ed":
        return None
    return plan_ed(p, values["solver"], mem_per_rank_mb=mem_per_rank_mb, max_tasks=max_tasks,
                   symmetry=values["symmetry"], basis=values["basis"], ranks=ranks,
                   mem_per_node_mb=mem_per_node_mb, gap=values["gap"],
                   gap_sectors=values["gap_sectors"])


#: dense complex matrices of the whole operator space that bound every phase of an ``ed`` point
#: (:func:`dense_bound_mb`): the matrix, its LU factors, a Krylov basis of at most N vectors,
#: an eigen-solver's work on the largest sector
DENSE_BOUND_MATRICES = 4
#: MB per rank beside them: the vectors and row tables of a tiny space (L <= 3, where the dense
#: matrices are smaller than the plan's rounding to 0.1 MB)
DENSE_BOUND_SLACK_MB = 1.0


def dense_bound_mb(L: int, ranks: int = 1) -> float:
    """An upper bound of the memory (MB, all ranks) of any ``ed`` point of ``L`` sites, in any
    sector, basis and solver, with or without the gap: each rank's start-up (``BASE_MB``) and
    ``DENSE_BOUND_MATRICES`` dense complex matrices of the whole operator space (``4^L`` rows),
    ``DENSE_BOUND_SLACK_MB`` per rank beside.
    Nothing a sparse solve holds (matrix, factors, Krylov vectors, the gap's search of each
    sector) exceeds a dense matrix of its size; the result written at the end (``OUTPUT_MB``)
    is counted as in every plan. Cheap, where :func:`plan_ed` builds the sector's rows: where
    this bound fits, :func:`lindring.api.prepare` needs no plan (0.3 ms against 1.5 ms of a
    10 ms point at L = 5, benchmarks/README.md)."""
    try:
        N = 4.0 ** L
    except OverflowError:            # L > 511: beyond any machine (plan_ed says so in words)
        return math.inf
    return (ranks * (BASE_MB + OUTPUT_MB + DENSE_BOUND_SLACK_MB)
            + DENSE_BOUND_MATRICES * N * N * SCALAR_BYTES["complex"] / MB)


def check_fits(plan: Plan, ranks: int, available_mb: float) -> str | None:
    """``None`` if the plan's memory for ``ranks`` MPI ranks fits ``available_mb``, else the
    reason, naming the plan and how to run the point on a cluster."""
    need = plan.mem_mb_total + BASE_MB * (ranks - plan.tasks)
    if need <= available_mb:
        return None
    what = (f"an MPO of {plan.L} sites" if plan.solver == "tebd" else
            f"{shown(plan.rows)} rows, {shown(plan.nnz)} nonzeros in sector {plan.symmetry}, "
            f"solver {plan.solver}"
            + (", the gap's search (--gap)" if "spectrum" in plan.memory_parts_mb else ""))
    return (f"this point needs about {shown(need)} MB by its plan ({what}) but {shown(available_mb)} MB "
            "are available here; see `lindring plan ... --mem-per-rank-mb N` for the MPI ranks it "
            "needs and run it on a cluster (`snakemake --profile cluster`), or pass --force to "
            "try anyway")


def over_budget(plan: Plan, mem_per_rank_mb: float, max_tasks: int) -> str | None:
    """``None`` if each rank of the plan stays within ``mem_per_rank_mb``, else the reason (the
    plan doubles its ranks up to ``max_tasks`` to get there, :func:`plan_ed`)."""
    if plan.mem_mb_per_task <= mem_per_rank_mb:
        return None
    why = (f"needs {shown(plan.mem_mb_per_task)} MB per rank on {plan.tasks} rank(s), above "
           f"mem_per_rank_mb = {mem_per_rank_mb:g} (max_tasks = {max_tasks})")
    parts = plan.memory_parts_mb
    held = parts.get("base", 0.0) + parts.get("basis_held", 0.0)
    if held > mem_per_rank_mb:
        why += (f"; every rank holds the sector's basis and the start-up ({shown(held)} MB), so "
                "no number of ranks fits (a basis shared per node or distributed over the "
                "ranks would be needed: not implemented)")
    return why


#: most rows the basis enumeration gathers onto every rank (one MPI call, counts are ints)
MAX_GATHERED_ROWS = 2 ** 31 - 1


def beyond_the_code(plan: Plan) -> str | None:
    """``None``, or why today's code cannot run the plan whatever the memory: a sector with
    orbits of more than ``MAX_GATHERED_ROWS`` rows (from L = 19 on the ring's dihedral sector)
    cannot be gathered onto every rank (:func:`lindring.core.basis._allgather_rows`)."""
    orbits = "momentum" in plan.symmetry or "reflection" in plan.symmetry
    if orbits and plan.rows > MAX_GATHERED_ROWS:
        return (f"the sector's {plan.rows} rows exceed the {MAX_GATHERED_ROWS} that the basis "
                "enumeration gathers onto every rank (one MPI call): today's code cannot "
                "enumerate this sector")
    return None


def assess(plan: Plan, mem_per_rank_mb: float, max_tasks: int, available_mb: float) -> Plan:
    """Say whether ``plan`` fits its budget per rank and this machine (``available_mb``, from
    :func:`available_memory_mb`): sets ``fits_budget``, ``fits_here``, ``available_mb`` and
    ``problems`` (each in words, naming the numbers). Returns ``plan``."""
    budget = over_budget(plan, mem_per_rank_mb, max_tasks)
    plan.fits_budget = budget is None
    plan.fits_here = plan.mem_mb_total <= available_mb
    plan.available_mb = None if math.isinf(available_mb) else round(available_mb, 1)
    plan.problems = [f"the budget per rank: {budget}"] if budget else []
    code = beyond_the_code(plan)
    if code:
        plan.fits_budget = False
        plan.problems.append(f"the code: {code}")
    if not plan.fits_here:
        plan.problems.append(
            f"this machine: needs {shown(plan.mem_mb_total)} MB in all on {plan.tasks} "
            f"rank(s), {shown(available_mb)} MB available here; run it on a cluster "
            "(`snakemake --profile cluster`, --mem-per-rank-mb and --max-tasks for its nodes)")
    return plan
