"""Assembly of the Liouvillian of Eq. 11 as a distributed PETSc matrix.

The Liouvillian is a sum of local superoperators (:func:`local_terms`): one-site terms
(``mu n + eps_x sigma^x`` and ``kappa D[sm]``) and two-site terms (the bond Hamiltonian and
``D[f_b]`` of Eq. 12). Each is a small matrix on the letters of its sites (see :mod:`lindring.core.basis`
for the vectorisation). Each MPI rank computes only its own rows, vectorised with numpy, in chunks,
and hands PETSc its local CSR block with exact preallocation: no rank ever holds the global matrix.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from lindring.core import model
from lindring.core.basis import letter
from lindring.core.superoperator import superoperator


def local_terms(p: model.Params) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The Liouvillian of Eq. 11 as a list of ``(sites, superoperator)``; terms on the same sites merged.

    A model-file point (:class:`lindring.core.modelfile.ModelPoint`) gives its own terms.
    """
    if hasattr(p, "local_terms"):
        return p.local_terms()
    terms: dict[tuple[int, ...], np.ndarray] = {}

    def add(sites, S):
        terms[sites] = terms.get(sites, 0) + S

    one_site = superoperator(model.site_hamiltonian(p), model.site_jumps(p), 1)
    for j in range(p.L):
        add((j,), one_site)
    bond_H = superoperator(model.bond_hamiltonian(p), [], 2)
    for pair in p.hamiltonian_bonds():
        add(pair, bond_H)
    bond_D = superoperator(None, [model.bond_jump(p)], 2)
    for pair in p.dissipative_bonds():
        add(pair, bond_D)
    return [(sites, S) for sites, S in terms.items() if np.any(S != 0)]


def rows_block(p: model.Params, basis, rows: np.ndarray, terms=None) -> sp.csr_matrix:
    """CSR block of the Liouvillian for the basis indices ``rows`` (all columns).

    Row ``r`` is the full-space row of its word, each column word ``w`` moved to its basis index
    with the coefficient ``<index|w>`` (``basis.locate``), times ``basis.row_scale`` (1 in the full
    space and the parity sector, ``sqrt(n_R)`` for momentum orbits; see :mod:`lindring.core.basis`).
    """
    terms = local_terms(p) if terms is None else terms
    L = p.L
    words = basis.words(rows)
    out_r, out_c, out_v = [], [], []
    local = np.arange(len(rows), dtype=np.int64)
    for sites, S in terms:
        pattern = np.zeros(len(words), dtype=np.int64)
        for s in sites:
            pattern = 4 * pattern + letter(words, s, L)
        for pat in range(S.shape[0]):
            cols = np.flatnonzero(S[pat])
            if cols.size == 0:
                continue
            sel = pattern == pat
            if not sel.any():
                continue
            w_sel, r_sel = words[sel], local[sel]
            for q in cols:
                shift = 0
                pq, pp = q, pat
                for s in reversed(sites):
                    shift += ((pq % 4) - (pp % 4)) * 4 ** (L - 1 - s)
                    pq //= 4
                    pp //= 4
                col, coef = basis.locate(w_sel + shift)
                keep = coef != 0
                out_r.append(r_sel[keep])
                out_c.append(col[keep])
                out_v.append(S[pat, q] * coef[keep])
    r = np.concatenate(out_r) if out_r else np.zeros(0, np.int64)
    c = np.concatenate(out_c) if out_c else np.zeros(0, np.int64)
    v = np.concatenate(out_v) if out_v else np.zeros(0, complex)
    v = v * basis.row_scale(rows)[r]
    block = sp.coo_matrix((v, (r, c)), shape=(len(rows), basis.size)).tocsr()
    block.sum_duplicates()
    block.eliminate_zeros()
    return block


def assemble(p: model.Params, basis, comm=None, chunk: int = 1 << 17,
             trace_row: bool = False):
    """Distributed PETSc AIJ matrix of the Liouvillian, and its scale.

    Each rank builds its own contiguous range of rows in chunks of ``chunk`` rows. With
    ``trace_row=True`` the first row is replaced by ``scale`` times the trace functional (the
    trace-constrained system ``L' x = scale e_0`` whose solution is the steady state normalised
    to ``Tr rho = 1``; the factor makes ``L'`` homogeneous in the rates, see steady.py).

    Returns
    -------
    (A, scale)
        ``A`` a PETSc Mat (basis.size x basis.size, complex); ``scale`` the largest |matrix
        element| of L over all rows but the first (a rate, in the units of the parameters),
        the same on every rank.
    """
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    comm = comm or PETSc.COMM_WORLD
    N = basis.size
    nloc = PETSc.Vec().createMPI(N, comm=comm).getLocalSize()  # PETSc's default layout
    start = comm.tompi4py().exscan(nloc) if comm.getSize() > 1 else 0
    start = start or 0
    terms = local_terms(p)
    indptr = [np.zeros(1, dtype=np.int64)]
    indices, data = [], []
    offset = 0
    largest = 0.0
    for c0 in range(start, start + nloc, chunk):
        rows = np.arange(c0, min(c0 + chunk, start + nloc), dtype=np.int64)
        block = rows_block(p, basis, rows, terms)
        rest = block[1:] if c0 == 0 else block
        if rest.nnz:
            largest = max(largest, float(np.abs(rest.data).max()))
        if trace_row and c0 == 0:
            cols, w = basis.trace_support()
            first = sp.csr_matrix((w, (np.zeros_like(cols), cols)), shape=(1, N))
            block = sp.vstack([first, block[1:]], format="csr")
        block = _with_diagonal(block, c0)
        indptr.append(block.indptr[1:].astype(np.int64) + offset)
        offset += block.nnz
        indices.append(block.indices.astype(np.int64))
        data.append(block.data.astype(complex))
    scale = comm.tompi4py().allreduce(largest, op=_mpi_max())
    if trace_row and start == 0 and nloc > 0:
        data[0][:indptr[1][0]] *= scale
    indptr = np.concatenate(indptr)
    indices = np.concatenate(indices) if indices else np.zeros(0, np.int64)
    data = np.concatenate(data) if data else np.zeros(0, complex)
    A = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)), csr=(indptr, indices, data), comm=comm)
    A.assemble()
    return A, scale


def _with_diagonal(block: sp.csr_matrix, first_row: int) -> sp.csr_matrix:
    """``block`` (rows ``first_row, first_row + 1, ...``) with every diagonal entry stored, as an
    explicit zero where L has none: PETSc's ILU (the iterative solver's preconditioner) stops
    with "matrix is missing diagonal entry" otherwise (e.g. at alpha = 0, where rows of the
    dark sector have no diagonal term)."""
    n = block.shape[0]
    coo = block.tocoo()
    rows = np.concatenate([coo.row, np.arange(n)])
    cols = np.concatenate([coo.col, first_row + np.arange(n)])
    values = np.concatenate([coo.data, np.zeros(n, dtype=complex)])
    return sp.csr_matrix((values, (rows, cols)), shape=block.shape)   # zeros stay stored


def _mpi_max():
    from mpi4py import MPI
    return MPI.MAX


class _RowZeroRestored:
    """Python context of :func:`liouvillian_from_constrained` (PETSc shell matrix)."""

    def __init__(self, Ac, p: model.Params, basis):
        from lindring.solvers.petsc import init
        PETSc, _ = init()
        self.Ac = Ac
        row0 = rows_block(p, basis, np.zeros(1, dtype=np.int64))
        self.weights = np.asarray(row0.data, dtype=complex)
        index = np.asarray(row0.indices).astype(PETSc.IntType)
        x = Ac.createVecRight()
        self.entries = PETSc.Vec().createSeq(len(index), comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(
            x, PETSc.IS().createGeneral(index, comm=PETSc.COMM_SELF), self.entries,
            PETSc.IS().createStride(len(index), 0, 1, comm=PETSc.COMM_SELF))
        self.owns_row0 = x.getOwnershipRange()[0] == 0
        self.insert = PETSc.InsertMode.INSERT_VALUES

    def mult(self, mat, x, y):
        self.Ac.mult(x, y)
        self.scatter.scatter(x, self.entries, self.insert)   # collective: every rank takes part
        value = np.dot(self.weights, self.entries.getArray())
        if self.owns_row0:
            y.setValue(0, value)
        y.assemble()


def liouvillian_from_constrained(Ac, p: model.Params, basis):
    """The Liouvillian L as a PETSc shell matrix built on the trace-constrained matrix ``Ac``
    (L with row 0 replaced by the trace functional): ``L x = Ac x`` with row 0 rebuilt from the
    model (one row). This keeps a single assembled matrix in memory for the solve, the residual
    and the uniqueness decision. Collective."""
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    A = PETSc.Mat().createPython(Ac.getSizes(), _RowZeroRestored(Ac, p, basis), comm=Ac.getComm())
    A.setUp()
    return A
