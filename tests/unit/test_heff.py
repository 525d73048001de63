"""The no-jump inverse behind the effective-Hamiltonian preconditioner (issue 15), against the
independent dense reference: L0 = L - sum_k F_k (x) F_k^* (row-major vec), and L0^-1 from
lindring.solvers.heff must invert it where no pair of H_eff eigenvalues is regularised."""
import numpy as np
import pytest

from dense_reference import dense_hamiltonian, dense_jumps, dense_liouvillian
from lindring.core import model
from lindring.solvers.heff import (REGULARISE, NoJumpInverse, effective_hamiltonian,
                                   effective_hamiltonian_sparse, hilbert_blocks, translation)

GENERAL = dict(J0=1.3, phi=0.4, lam=0.3 + 0.2j, mu=0.7, kappa=0.4, eps_x=0.6, eps_zz=0.25,
               alpha=0.8 + 0.3j, beta=0.2, gamma=0.5j, delta=0.6)


@pytest.mark.parametrize("L,bc,rng", [(3, "ring", 1), (4, "open", 1), (5, "ring", 2)])
def test_no_jump_inverse_inverts_the_dense_no_jump_liouvillian(L, bc, rng):
    p = model.make_params(L, bc=bc, range=rng, **GENERAL)
    kw = dict(GENERAL, range=rng)
    H, F = dense_hamiltonian(L, bc, **kw), dense_jumps(L, bc, **kw)
    np.testing.assert_allclose(effective_hamiltonian(p),
                               H - 0.5j * sum(f.conj().T @ f for f in F), atol=1e-12)
    D = 2 ** L
    L0 = dense_liouvillian(L, bc, **kw) - sum(np.kron(f, f.conj()) for f in F)
    scale = np.abs(L0).max()
    inverse = NoJumpInverse(p, scale)
    # every pair lambda_i - conj(lambda_j) decays here (eps_x mixes the dark vacuum): exact inverse
    assert min(np.abs(1 / inverse.inverse_den(a, b)).min() for a, b in inverse.pairs) > REGULARISE * scale
    B = np.random.default_rng(7).normal(size=(D, D)) + 1j * np.random.default_rng(8).normal(size=(D, D))
    X = inverse(B)
    np.testing.assert_allclose(L0 @ X.reshape(-1), B.reshape(-1), atol=1e-9 * np.abs(B).max())


MINIMAL = dict(alpha=2.0, delta=1.5, beta=1.5, gamma=2.0, mu=1.0)


@pytest.mark.parametrize("L,bc,values,n_blocks", [
    (5, "ring", MINIMAL, 10),                        # parity x 5 momenta
    (6, "ring", dict(MINIMAL, J0=0.7, phi=0.3), 12),
    (5, "open", MINIMAL, 2),                         # parity only
    (4, "ring", GENERAL, 4),                         # eps_x breaks parity: 4 momenta
    (4, "open", GENERAL, 1),                         # neither
])
def test_hilbert_blocks_block_diagonalise_the_dense_effective_hamiltonian(L, bc, values, n_blocks):
    """The blocks are an orthonormal basis of the 2^L states, H_eff (the dense reference's) has
    no element between two of them, and there are as many as its symmetries allow."""
    p = model.make_params(L, bc=bc, **values)
    kw = dict(values, range=1)
    F = dense_jumps(L, bc, **kw)
    Heff = dense_hamiltonian(L, bc, **kw) - 0.5j * sum(f.conj().T @ f for f in F)
    blocks = hilbert_blocks(effective_hamiltonian_sparse(p), L, bc)
    assert len(blocks) == n_blocks
    U = np.hstack([b.toarray() for b in blocks])
    np.testing.assert_allclose(U.conj().T @ U, np.eye(2 ** L), atol=1e-12)
    offsets = np.cumsum([0] + [b.shape[1] for b in blocks])
    Hb = U.conj().T @ Heff @ U
    for a in range(len(blocks)):
        Hb[offsets[a]:offsets[a + 1], offsets[a]:offsets[a + 1]] = 0
    assert np.abs(Hb).max() < 1e-12 * np.abs(Heff).max()


def test_translation_is_the_cyclic_shift():
    """T|s0 s1 s2> = |s1 s2 s0> (site 0 most significant): |100> -> |001>."""
    T = translation(3).toarray()
    assert T[0b001, 0b100] == 1 and T[0b100, 0b010] == 1 and np.trace(T) == 2


@pytest.mark.parametrize("L,bc,values", [(5, "ring", dict(MINIMAL, J0=0.7, phi=0.3)),
                                         (5, "open", MINIMAL)])
def test_block_inverse_equals_the_dense_inverse_in_a_sector(L, bc, values):
    """Restricted to the pairs of blocks a symmetric operator populates (translation invariant,
    commuting with the Z parity), the block inverse is the dense L0^-1 on such operators, with
    a fraction of the pairs."""
    p = model.make_params(L, bc=bc, **values)
    kw = dict(values, range=1)
    F = dense_jumps(L, bc, **kw)
    L0 = dense_liouvillian(L, bc, **kw) - sum(np.kron(f, f.conj()) for f in F)
    rng = np.random.default_rng(3)
    D = 2 ** L
    B = rng.normal(size=(D, D)) + 1j * rng.normal(size=(D, D))
    parity = np.diag([(-1) ** bin(s).count("1") for s in range(D)])
    B = B + parity @ B @ parity                      # commutes with the parity
    if bc == "ring":
        T = translation(L).toarray()
        B = sum(np.linalg.matrix_power(T, n) @ B @ np.linalg.matrix_power(T.T, n) for n in range(L))
    inverse = NoJumpInverse(p, np.abs(L0).max())
    everything = len(inverse.pairs)
    inverse.restrict_to(B)
    assert len(inverse.pairs) == len(inverse.blocks) < everything
    X = inverse(B)
    np.testing.assert_allclose(L0 @ X.reshape(-1), B.reshape(-1), atol=1e-9 * np.abs(B).max())
