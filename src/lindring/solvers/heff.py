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

from lindring.core import model
from lindring.core.basis import rowmajor_to_words
from lindring.core.pauli import letter_to_pauli
from lindring.solvers.ground import embed, hamiltonian

#: largest L for which ``preconditioner = auto`` takes this preconditioner (an application
#: costs ~32 x 8^L flops on one rank: ~0.5 s at L = 10)
HEFF_MAX_L = 9
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


def effective_hamiltonian(p: model.Params) -> np.ndarray:
    """``H_eff = H - (i/2) sum_k F_k^+ F_k`` as a dense 2^L x 2^L array (site 0 most significant)."""
    if hasattr(p, "terms"):        # a model file: its Hamiltonian terms
        D = 2 ** p.L
        H = np.zeros((D, D), dtype=complex)
        for t in p.terms:
            if t.kind == "hamiltonian":
                H = H + embed(t.operator, t.sites, p.L).toarray()
    else:
        H = hamiltonian(p).toarray()
    for F in jump_operators(p):
        H = H - 0.5j * (F.conj().T @ F).toarray()
    return H


def on_every_site(U: np.ndarray, x: np.ndarray, L: int) -> np.ndarray:
    """``(U x U x ... x U) x`` for a vector over words of L letters (site 0 most significant)."""
    t = x.reshape((4,) * L)
    for site in range(L):
        t = np.moveaxis(np.tensordot(U, t, axes=([1], [site])), 0, site)
    return t.reshape(-1)


class NoJumpInverse:
    """``B -> L0^-1 B`` for density-matrix-shaped arrays (2^L x 2^L), from the eigendecomposition
    of ``H_eff``. Raises ``numpy.linalg.LinAlgError`` if ``H_eff`` is numerically defective."""

    def __init__(self, p: model.Params, scale: float):
        lam, V = np.linalg.eig(effective_hamiltonian(p))
        self.V, self.Vi = V, np.linalg.inv(V)
        self.Vh, self.Vih = V.conj().T, self.Vi.conj().T
        den = lam[:, None] - lam.conj()[None, :]
        floor = REGULARISE * scale
        self.inverse_den = 1.0 / np.where(np.abs(den) < floor, floor, den)

    def __call__(self, B: np.ndarray) -> np.ndarray:
        C = self.Vi @ (1j * B) @ self.Vih
        return self.V @ (C * self.inverse_den) @ self.Vh


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

    def _apply_sector(self, values: np.ndarray) -> np.ndarray:
        """Sector components -> full space -> L0^-1 -> sector components (rank 0)."""
        L, D = self.p.L, 2 ** self.p.L
        words, full_values = self.basis.expand(np.arange(len(values)), values)
        xw = np.zeros(4 ** L, dtype=complex)
        xw[words] = full_values
        if self.pauli:
            xw = on_every_site(self.U.conj().T, xw, L)
        B = np.empty(4 ** L, dtype=complex)
        B[self.perm] = xw                                  # back to row-major vec(rho)
        X = self.inverse(B.reshape(D, D)).reshape(-1)
        yw = X[self.perm]
        if self.pauli:
            yw = on_every_site(self.U, yw, L)
        out = np.zeros(len(values), dtype=complex)
        np.add.at(out, self.index, self.coef * yw)         # P^+ y (coefficients are real)
        return out

    def destroy(self, pc=None):
        for obj in (self.scatter, self.root):
            if obj is not None:
                obj.destroy()
        self.scatter = self.root = None
