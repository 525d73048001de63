"""The effective-Hamiltonian preconditioner of the iterative steady-state solve (issue 15).

The Liouvillian splits into the no-jump part and the recycling (jump) part,

    L rho = -i (H_eff rho - rho H_eff^+) + sum_k F_k rho F_k^+,   H_eff = H - (i/2) sum_k F_k^+ F_k,

and the no-jump part ``L0`` is a Kronecker sum: with ``H_eff = V diag(lambda) V^-1`` its inverse is
exact and cheap for small chains,

    L0^-1 B = V [ (V^-1 (i B) V^-+)_ij / (lambda_i - conj(lambda_j)) ] V^+,

four products of 2^L x 2^L matrices (an ``O(8^L)`` application; the eigendecomposition once).
``L0`` carries the whole Hamiltonian, so GMRES preconditioned with ``L0^-1`` does not feel how
strong the coherent couplings are against the rates: the recycling term is what it iterates
on. Measured (benchmarks/README.md, "Parameter regimes"): where ILU(0) needs thousands of
iterations or stagnates (weak dissipation, local decay only, the general model of issue 15), this
converges in tens. Pairs with ``lambda_i ~ conj(lambda_j)`` (dark states of ``H_eff``, where
``L0`` is singular: the steady state's own direction) are regularised to ``REGULARISE x scale``.
The same no-jump splitting underlies the quantum-trajectory method (Dalibard, Castin and
Mølmer, PRL 68, 580 (1992)); its use as a preconditioner for Lindblad steady states is standard
in the iterative solvers of QuTiP (``steadystate``'s ``use_precond``) and QuantumOptics.jl.

It works in any of lindring's bases: a sector vector is expanded to the full operator space
(the sectors are isometric embeddings, :mod:`lindring.core.basis`), turned from Pauli strings
into matrix units where the basis is Pauli (the unitary of :func:`lindring.core.pauli.letter_to_pauli`
on each site), preconditioned, and brought back (``L0`` commutes with the symmetries of the model, so nothing is lost). The dense
work is done on rank 0; the vectors are gathered there and scattered back.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg  # noqa: F401  (sp.linalg.norm)

from lindring.core import model
from lindring.core.basis import rowmajor_to_words
from lindring.core.pauli import letter_to_pauli
from lindring.solvers.ground import embed, hamiltonian

#: largest L for which ``preconditioner = auto`` takes this preconditioner: an application
#: expands a vector to the dense operator space (4^L complex numbers) and back, ~1 s at L = 10,
#: ~20 s at L = 12 on this machine (measured; benchmarks/README.md, "Parameter regimes")
HEFF_MAX_L = 10
#: largest :func:`block_work` (sum of d_a^3 over the blocks of H_eff) for ``auto``: the work of
#: two blocks of 512 states (open L = 10 with parity), ~2.5 s per application on this machine's
#: BLAS (a complex 1024 x 1024 product takes 2 s on one core, benchmarks/README.md)
HEFF_MAX_WORK = 2 * 512 ** 3
#: relative size of the commutator below which H_eff has a symmetry (:func:`hilbert_blocks`)
SYMMETRY_TOL = 1e-12
#: |lambda_i - conj(lambda_j)| below this times the scale is set to it (the dark directions)
REGULARISE = 1e-3


def jump_operators(p: model.Params) -> list:
    """Every jump operator of Eq. 11 as a sparse 2^L x 2^L matrix: f_b (Eq. 12) on each
    dissipative pair and the one-site jumps (``sqrt(kappa) sigma^-``) on each site; for a
    model-file point (:class:`lindring.core.modelfile.ModelPoint`) its jump terms."""
    if hasattr(p, "terms"):
        return [embed(t.operator, t.sites, p.L) for t in p.terms if t.kind == "jumps"]
    out = [embed(model.bond_jump(p), pair, p.L) for pair in p.dissipative_bonds()]
    for F in model.site_jumps(p):
        out += [embed(F, (j,), p.L) for j in range(p.L)]
    return [F for F in out if F.nnz]


def effective_hamiltonian_sparse(p: model.Params) -> sp.csr_matrix:
    """``H_eff = H - (i/2) sum_k F_k^+ F_k`` as a sparse 2^L x 2^L matrix (site 0 most
    significant); :func:`effective_hamiltonian` is its dense form."""
    if hasattr(p, "terms"):        # a model file: its Hamiltonian terms
        D = 2 ** p.L
        H = sp.csr_matrix((D, D), dtype=complex)
        for t in p.terms:
            if t.kind == "hamiltonian":
                H = H + embed(t.operator, t.sites, p.L)
    else:
        H = hamiltonian(p).astype(complex)
    for F in jump_operators(p):
        H = H - 0.5j * (F.conj().T @ F)
    H = sp.csr_matrix(H)
    H.sum_duplicates()
    return H


def effective_hamiltonian(p: model.Params) -> np.ndarray:
    """``H_eff = H - (i/2) sum_k F_k^+ F_k`` as a dense 2^L x 2^L array (site 0 most significant)."""
    return effective_hamiltonian_sparse(p).toarray()


def _commutes(H: sp.csr_matrix, S: sp.spmatrix) -> bool:
    """``||H S - S H|| <= 1e-12 ||H||`` (Frobenius) for a sparse H and a unitary S."""
    norm = sp.linalg.norm(H) if H.nnz else 0.0
    return H.nnz == 0 or sp.linalg.norm(H @ S - S @ H) <= SYMMETRY_TOL * norm


def translate(states: np.ndarray, L: int) -> np.ndarray:
    """The ring's states translated by one site, ``|s_0 ... s_{L-1}> -> |s_1 ... s_0>`` (site 0
    most significant bit; :func:`lindring.core.basis.rotate` is the same for operator words)."""
    top = 2 ** (L - 1)
    return (states % top) * 2 + states // top


def translation(L: int) -> sp.csr_matrix:
    """:func:`translate` as a sparse 2^L x 2^L permutation matrix."""
    s = np.arange(2 ** L, dtype=np.int64)
    return sp.csr_matrix((np.ones(2 ** L), (translate(s, L), s)), shape=(2 ** L, 2 ** L))


def hilbert_blocks(H: sp.csr_matrix, L: int, bc: str) -> list[sp.csc_matrix]:
    """Isometries ``U_a`` (sparse, 2^L x d_a, orthonormal columns, together the whole space) onto
    the blocks in which ``H`` is block diagonal: the Z parity ``prod_j sigma^z_j`` where H
    commutes with it, times the momentum ``k = 2 pi m / L`` of the ring where H commutes with
    the translation (checked on H, never assumed). One block (the identity) without either.

    Source: the momentum states of a ring, ``|r, k> = n_r^-1/2 sum_n e^{-i k n} T^n |r>`` over
    the orbit of a representative r (n_r members), exist where ``k n_r`` is a multiple of 2 pi
    (e.g. Sandvik, AIP Conf. Proc. 1297, 135 (2010), Sec. 4.1)."""
    D = 2 ** L
    s = np.arange(D, dtype=np.int64)
    parity = np.zeros(D, dtype=np.int64)
    for j in range(L):
        parity ^= (s >> j) & 1
    use_parity = _commutes(H, sp.diags(1.0 - 2.0 * parity))
    labels = parity if use_parity else np.zeros(D, dtype=np.int64)
    if bc != "ring" or not _commutes(H, translation(L)):
        return [sp.identity(D, dtype=complex, format="csc")[:, labels == q]
                for q in np.unique(labels)]
    images = [s]                               # T^n s for n = 0 .. L-1
    for _ in range(L - 1):
        images.append(translate(images[-1], L))
    images = np.array(images)                  # (L, D)
    rep = images.min(axis=0)
    period = np.argmax(images[1:] == s[None, :], axis=0) + 1
    period[~(images[1:] == s[None, :]).any(axis=0)] = L
    reps = np.flatnonzero(rep == s)            # the representatives, one per orbit
    blocks = []
    for q in np.unique(labels):
        for m in range(L):
            mine = reps[(labels[reps] == q) & ((m * period[reps]) % L == 0)]
            if not len(mine):
                continue
            n = period[mine]
            rows, cols, vals = [], [], []
            for shift in range(L):
                take = shift < n
                rows.append(images[shift, mine[take]])
                cols.append(np.flatnonzero(take))
                vals.append(np.exp(-2j * np.pi * m * shift / L) / np.sqrt(n[take]))
            blocks.append(sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows),
                                         np.concatenate(cols))), shape=(D, len(mine))))
    return blocks


def block_work(p: model.Params) -> int:
    """The dense work of one application of the no-jump inverse, ``sum_a d_a^3`` over the blocks
    of :func:`hilbert_blocks` (diagonal pairs, as in a symmetry sector): its cost is ~32 times
    this in flops. Raises nothing; builds the sparse H_eff."""
    blocks = hilbert_blocks(effective_hamiltonian_sparse(p), p.L, p.bc)
    return int(sum(U.shape[1] ** 3 for U in blocks))


def affordable(p: model.Params) -> bool:
    """Whether ``preconditioner = auto`` may take heff for ``p``: ``L <= HEFF_MAX_L`` (dense
    operator-space vectors of 4^L entries) and :func:`block_work` within ``HEFF_MAX_WORK``."""
    return p.L <= HEFF_MAX_L and block_work(p) <= HEFF_MAX_WORK


def on_every_site(U: np.ndarray, x: np.ndarray, L: int) -> np.ndarray:
    """``(U x U x ... x U) x`` for a vector over words of L letters (site 0 most significant):
    one pass per site over ``x`` seen as (4^site, 4, 4^(L-site-1)), a stack of 4 x 4 products."""
    for site in range(L):
        t = x.reshape(4 ** site, 4, 4 ** (L - site - 1))
        x = np.matmul(U, t) if t.shape[2] >= 16 else np.einsum("ij,ajm->aim", U, t)
    return x.reshape(-1)


class NoJumpInverse:
    """``B -> L0^-1 B`` for density-matrix-shaped arrays (2^L x 2^L), from the eigendecomposition
    of ``H_eff`` in each of its symmetry blocks (:func:`hilbert_blocks`): with ``U_a`` the blocks,
    ``L0^-1 B = sum_ab U_a L0_ab^-1(U_a^+ B U_b) U_b^+``, the Kronecker-sum inverse of each pair
    of blocks. ``pairs`` (from :meth:`restrict_to`) keeps the pairs a symmetry sector populates
    (k_a = k_b on a ring's momentum-zero sector): ~L^2 less work than the whole space. Raises
    ``numpy.linalg.LinAlgError`` if ``H_eff`` is numerically defective."""

    def __init__(self, p: model.Params, scale: float):
        H = effective_hamiltonian_sparse(p)
        self.blocks = hilbert_blocks(H, p.L, p.bc)
        self.blocks_h = [U.conj().T.tocsr() for U in self.blocks]
        self.blocks_t = [U.T.tocsr() for U in self.blocks]
        self.eig = []
        for U, Uh in zip(self.blocks, self.blocks_h):
            lam, V = np.linalg.eig((Uh @ (H @ U)).toarray())
            Vi = np.linalg.inv(V)
            self.eig.append((lam, V, Vi, V.conj().T, Vi.conj().T))
        self.floor = REGULARISE * scale
        self.pairs = [(a, b) for a in range(len(self.blocks)) for b in range(len(self.blocks))]
        self._inverse_den = {}

    def inverse_den(self, a: int, b: int) -> np.ndarray:
        """``1 / (lambda_i - conj(lambda_j))`` for blocks a, b, regularised to the floor."""
        if (a, b) not in self._inverse_den:
            den = self.eig[a][0][:, None] - self.eig[b][0].conj()[None, :]
            self._inverse_den[a, b] = 1.0 / np.where(np.abs(den) < self.floor, self.floor, den)
        return self._inverse_den[a, b]

    def _block(self, M_a: np.ndarray, b: int) -> np.ndarray:
        """``M_a U_b`` for ``M_a = U_a^+ B`` (d_a x 2^L, C order): (U_b^T M_a^T)^T, a sparse
        product with a C-ordered dense operand (scipy's fast path)."""
        return (self.blocks_t[b] @ np.ascontiguousarray(M_a.T)).T

    def restrict_to(self, B: np.ndarray, rel: float = 1e-10) -> None:
        """Keep only the pairs of blocks in which ``B`` (a generic member of the space the
        inverse will be applied in, e.g. a random vector of a symmetry sector) has weight above
        ``rel`` of its norm; the others are zero there by symmetry."""
        total = np.linalg.norm(B)
        M = [Uh @ B for Uh in self.blocks_h]
        self.pairs = [(a, b) for a, b in self.pairs
                      if np.linalg.norm(self._block(M[a], b)) > rel * total]

    def __call__(self, B: np.ndarray) -> np.ndarray:
        XT = np.zeros(B.shape, dtype=complex)          # X transposed: C-order accumulation
        M = {a: self.blocks_h[a] @ B for a in {a for a, _ in self.pairs}}
        for a, b in self.pairs:
            _, Va, Via, _, _ = self.eig[a]
            _, _, _, Vbh, Vibh = self.eig[b]
            C = Via @ (1j * self._block(M[a], b)) @ Vibh
            Xab = Va @ (C * self.inverse_den(a, b)) @ Vbh
            XT += self.blocks_h[b].T @ np.ascontiguousarray((self.blocks[a] @ Xab).T)
        return XT.T


class EffectiveHamiltonianPC:
    """petsc4py ``python`` preconditioner context: applies ``L0^-1`` in the basis of the solve.

    Parameters
    ----------
    p : model.Params
    basis : FullBasis or SectorBasis
        The basis of the matrix being solved (its ``expand`` and ``locate`` map to and from
        the full operator space).
    scale : float
        The scale of L (regularisation of the dark directions).
    """

    def __init__(self, p: model.Params, basis, scale: float):
        self.p, self.basis, self.scale = p, basis, scale
        self.inverse = None        # rank 0 only, built at set-up
        self.scatter = self.root = None

    def setUp(self, pc):
        from lindring.solvers.petsc import init
        PETSc, _ = init()
        A, _ = pc.getOperators()
        x = A.createVecRight()
        self.scatter, self.root = PETSc.Scatter.toZero(x)
        x.destroy()
        if A.getComm().getRank() == 0 and self.inverse is None:
            L = self.p.L
            self.inverse = NoJumpInverse(self.p, self.scale)
            self.perm = rowmajor_to_words(L)              # x_words = vec_rowmajor[perm]
            index, coef = self.basis.locate(np.arange(4 ** L, dtype=np.int64))
            self.index, self.coef = index, coef           # <index|w>, 0 outside the sector
            self.pauli = getattr(self.basis, "operator_basis", "") == "pauli"
            self.U = letter_to_pauli(1)                   # Pauli letters = U matrix-unit letters
            sample = np.random.default_rng(0).normal(size=A.getSize()[0])
            self.inverse.restrict_to(self._to_matrix(sample))   # the sector's pairs of blocks

    def apply(self, pc, x, y):
        from lindring.solvers.petsc import init
        PETSc, _ = init()
        forward, reverse = PETSc.ScatterMode.FORWARD, PETSc.ScatterMode.REVERSE
        insert = PETSc.InsertMode.INSERT_VALUES
        self.scatter.scatter(x, self.root, insert, forward)
        if x.getComm().getRank() == 0:
            values = self.root.getArray()
            c = self._apply_sector(values)
            if not np.iscomplexobj(values):    # the real build: a Pauli basis, where L0^-1 is
                c = c.real                     # real (it preserves Hermiticity, as L does)
            self.root.getArray()[:] = c
        self.scatter.scatter(self.root, y, insert, reverse)

    def _to_matrix(self, values: np.ndarray) -> np.ndarray:
        """Sector components -> the 2^L x 2^L operator they stand for (rank 0)."""
        L, D = self.p.L, 2 ** self.p.L
        words, full_values = self.basis.expand(np.arange(len(values)), values)
        xw = np.zeros(4 ** L, dtype=complex)
        xw[words] = full_values
        if self.pauli:
            xw = on_every_site(self.U.conj().T, xw, L)
        B = np.empty(4 ** L, dtype=complex)
        B[self.perm] = xw                                  # back to row-major vec(rho)
        return B.reshape(D, D)

    def _apply_sector(self, values: np.ndarray) -> np.ndarray:
        """Sector components -> full space -> L0^-1 -> sector components (rank 0)."""
        X = self.inverse(self._to_matrix(values)).reshape(-1)
        yw = X[self.perm]
        if self.pauli:
            yw = on_every_site(self.U, yw, self.p.L)
        # P^+ y (coefficients are real): sum over the words of each sector component
        weighted = self.coef * yw
        return (np.bincount(self.index, weighted.real, minlength=len(values))
                + 1j * np.bincount(self.index, weighted.imag, minlength=len(values)))

    def destroy(self, pc=None):
        for obj in (self.scatter, self.root):
            if obj is not None:
                obj.destroy()
        self.scatter = self.root = None
