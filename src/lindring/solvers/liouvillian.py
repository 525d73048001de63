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
from lindring.core.basis import lookup_table
from lindring.core.pauli import pauli_terms
from lindring.core.terms import local_terms, rows_block  # noqa: F401  (re-exported)


def terms_for(p: model.Params, basis):
    """The local terms of the Liouvillian in the letters of ``basis``: Pauli letters for a
    :class:`lindring.core.pauli.PauliBasis` (a real matrix), else the matrix units."""
    if getattr(basis, "operator_basis", "") == "pauli":
        return pauli_terms(p)
    return local_terms(p)


#: rows per chunk of :func:`assemble` (its work arrays scale with it; lindring.workflow.plan)
CHUNK_ROWS = 1 << 16


def assemble(p: model.Params, basis, comm=None, chunk: int = CHUNK_ROWS,
             trace_row: bool = False):
    """Distributed PETSc AIJ matrix of the Liouvillian, and its scale.

    Each rank builds its own contiguous range of rows in chunks of ``chunk`` rows, written one
    after the other into one local CSR array, sized beforehand by an upper bound of the entries
    per row (:func:`lindring.core.terms.nonzero_bound`; the pages beyond the entries actually
    written are never touched, and the arrays are shrunk in place at the end). On one rank PETSc
    uses these arrays as its matrix (``MatCreateSeqAIJWithArrays``: no second copy); on several,
    PETSc copies them into its diagonal and off-diagonal blocks, and they are freed after. With
    ``trace_row=True`` the first row is replaced by ``scale`` times the trace functional (the
    trace-constrained system ``L' x = scale e_0`` whose solution is the steady state normalised
    to ``Tr rho = 1``; the factor makes ``L'`` homogeneous in the rates, see steady.py). A
    basis with its own ``rows_block(p, rows, terms)`` and ``nonzero_bound(rows, terms)`` (the
    real form of a complex sector, :class:`lindring.core.sectors.RealForm`) gives its rows.

    Returns
    -------
    (A, scale)
        ``A`` a PETSc Mat (basis.size x basis.size) of the loaded build's scalars (real in the
        Pauli basis: :mod:`lindring.solvers.petsc`); ``scale`` the largest |matrix element| of
        L over all rows but the first (a rate, in the units of the parameters), the same on
        every rank.
    """
    from lindring.core.terms import nonzero_bound
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    comm = comm or PETSc.COMM_WORLD
    N = basis.size
    nloc = PETSc.Vec().createMPI(N, comm=comm).getLocalSize()  # PETSc's default layout
    start = comm.tompi4py().exscan(nloc) if comm.getSize() > 1 else 0
    start = start or 0
    terms = terms_for(p, basis)
    starts = range(start, start + nloc, chunk)

    def chunk_rows(c0):
        return np.arange(c0, min(c0 + chunk, start + nloc), dtype=np.int64)

    if hasattr(basis, "nonzero_bound"):        # a basis that builds its own rows (sectors.py)
        bound = sum(int(basis.nonzero_bound(chunk_rows(c0), terms).sum()) for c0 in starts)
    else:
        bound = sum(int(nonzero_bound(basis, chunk_rows(c0), terms, p.L).sum()) for c0 in starts)
    if trace_row and start == 0:
        bound += len(basis.trace_support()[0])
    indptr = np.zeros(nloc + 1, dtype=np.int64)
    indices = np.empty(bound, dtype=np.int64)
    data = np.empty(bound, dtype=PETSc.ScalarType)
    with lookup_table(basis):
        offset, largest = _fill(p, basis, terms, starts, chunk_rows, trace_row, indptr, indices,
                                data, start, bound)
    scale = comm.tompi4py().allreduce(largest, op=_mpi_max())
    if trace_row and start == 0 and nloc > 0:
        data[:indptr[1]] *= scale
    indices.resize(offset, refcheck=False)      # in place: the untouched tail is given back
    data.resize(offset, refcheck=False)
    if comm.getSize() == 1:
        A = PETSc.Mat().createAIJWithArrays(size=(N, N), csr=(indptr, indices, data), comm=comm)
    else:
        A = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)), csr=(indptr, indices, data),
                                  comm=comm)
        del indptr, indices, data
    A.assemble()
    return A, scale


def _fill(p, basis, terms, starts, chunk_rows, trace_row, indptr, indices, data, start, bound):
    """The rows of :func:`assemble`, chunk by chunk, into the local CSR arrays; returns the
    entries written and the largest |element| outside row 0."""
    N = basis.size
    offset, largest = 0, 0.0
    for c0 in starts:
        rows = chunk_rows(c0)
        block = (basis.rows_block(p, rows, terms) if hasattr(basis, "rows_block")
                 else rows_block(p, basis, rows, terms))
        rest = block[1:] if c0 == 0 else block
        if rest.nnz:
            largest = max(largest, float(np.abs(rest.data).max()))
        if trace_row and c0 == 0:
            cols, w = basis.trace_support()
            first = sp.csr_matrix((w, (np.zeros_like(cols), cols)), shape=(1, N))
            block = sp.vstack([first, block[1:]], format="csr")
        block = _with_diagonal(block, c0)
        if np.iscomplexobj(block.data) and not np.iscomplexobj(data):
            raise ValueError("a complex matrix cannot be held in the real PETSc build: use the "
                             "real form of the sector (lindring.core.sectors.RealForm)")
        n = block.nnz
        if offset + n > bound:      # cannot happen (nonzero_bound); a clear message if it does
            raise RuntimeError(f"assembly: {offset + n} entries exceed the bound {bound}")
        lo = c0 - start
        indptr[lo + 1:lo + 1 + len(rows)] = block.indptr[1:] + offset
        indices[offset:offset + n] = block.indices
        data[offset:offset + n] = block.data
        offset += n
        del block, rest
    return offset, largest


def _with_diagonal(block: sp.csr_matrix, first_row: int) -> sp.csr_matrix:
    """``block`` (rows ``first_row, first_row + 1, ...``) with every diagonal entry stored, as an
    explicit zero where L has none: PETSc's ILU (the iterative solver's preconditioner) stops
    with "matrix is missing diagonal entry" otherwise (e.g. at alpha = 0, where rows of the
    dark sector have no diagonal term). Unchanged (no copy) where every diagonal entry is
    nonzero, as in most rows of a dissipative L."""
    n = block.shape[0]
    if np.all(block[:, first_row:first_row + n].diagonal() != 0):
        return block
    coo = block.tocoo()
    rows = np.concatenate([coo.row, np.arange(n)])
    cols = np.concatenate([coo.col, first_row + np.arange(n)])
    values = np.concatenate([coo.data, np.zeros(n, dtype=coo.data.dtype)])
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
        row0 = rows_block(p, basis, np.zeros(1, dtype=np.int64), terms_for(p, basis))
        self.weights = np.asarray(row0.data, dtype=PETSc.ScalarType)
        index = np.asarray(row0.indices).astype(PETSc.IntType)
        x = Ac.createVecRight()
        self.owns_row0 = x.getOwnershipRange()[0] == 0
        self.insert = PETSc.InsertMode.INSERT_VALUES
        self.scatter = None
        if len(index) == 0:      # a zero row (the identity's in the Pauli basis): no scatter
            return
        self.entries = PETSc.Vec().createSeq(len(index), comm=PETSc.COMM_SELF)
        self.scatter = PETSc.Scatter().create(
            x, PETSc.IS().createGeneral(index, comm=PETSc.COMM_SELF), self.entries,
            PETSc.IS().createStride(len(index), 0, 1, comm=PETSc.COMM_SELF))

    def mult(self, mat, x, y):
        self.Ac.mult(x, y)
        value = 0.0
        if self.scatter is not None:    # the same on every rank: the scatter is collective
            self.scatter.scatter(x, self.entries, self.insert)
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
