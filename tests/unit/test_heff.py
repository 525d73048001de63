"""The no-jump inverse behind the effective-Hamiltonian preconditioner (issue 15), against the
independent dense reference: L0 = L - sum_k F_k (x) F_k^* (row-major vec), and L0^-1 from
lindring.solvers.heff must invert it where no pair of H_eff eigenvalues is regularised."""
import numpy as np
import pytest

from dense_reference import dense_hamiltonian, dense_jumps, dense_liouvillian
from lindring.core import model
from lindring.solvers.heff import REGULARISE, NoJumpInverse, effective_hamiltonian

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
    assert np.abs(1 / inverse.inverse_den).min() > REGULARISE * scale
    B = np.random.default_rng(7).normal(size=(D, D)) + 1j * np.random.default_rng(8).normal(size=(D, D))
    X = inverse(B)
    np.testing.assert_allclose(L0 @ X.reshape(-1), B.reshape(-1), atol=1e-9 * np.abs(B).max())
