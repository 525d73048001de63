"""The Lindblad superoperator of a few sites as a dense matrix (Eq. 11 of the paper, one place).

``rho -> -i [H, rho] + sum_f (f rho f^+ - {f^+ f, rho} / 2)``, in two orders of the vectorised
density matrix: row-major (:func:`lindblad_rowmajor`, ``vec(A rho B) = kron(A, B^T) vec(rho)``,
used by the mean field's 2-site cluster) and the letter order of :mod:`lindring.core.basis`
(:func:`superoperator`, used by the ED assembly and the MPO).
"""
from __future__ import annotations

import numpy as np


def lindblad_rowmajor(H: np.ndarray | None, jumps: list[np.ndarray]) -> np.ndarray:
    """Matrix of ``rho -> -i[H, rho] + sum_f D[f] rho`` on row-major ``vec(rho)``.

    Parameters
    ----------
    H : (d, d) complex array or None
        Hamiltonian (rates; hbar = 1).
    jumps : list of (d, d) complex arrays
        Jump operators f, with their rates inside (D[f] rho = f rho f^+ - {f^+ f, rho} / 2).

    Returns
    -------
    (d^2, d^2) complex array
    """
    d = (H if H is not None else jumps[0]).shape[0]
    eye = np.eye(d)
    S = np.zeros((d * d, d * d), dtype=complex)
    if H is not None:
        S += -1j * (np.kron(H, eye) - np.kron(eye, H.T))
    for f in jumps:
        fdf = f.conj().T @ f
        S += np.kron(f, f.conj()) - 0.5 * np.kron(fdf, eye) - 0.5 * np.kron(eye, fdf.T)
    return S


def superoperator(H: np.ndarray | None, jumps: list[np.ndarray], nsites: int) -> np.ndarray:
    """Matrix of ``rho -> -i[H, rho] + sum_f D[f] rho`` on ``nsites`` sites, in letter order.

    Built first in row-major order, ``vec(A rho B) = kron(A, B^T) vec(rho)``, then permuted so that
    the index is ``(k_0 b_0)(k_1 b_1)...`` with letters ``2 k + b`` (basis.py).
    """
    d = 2 ** nsites
    S = lindblad_rowmajor(H, jumps)
    # axes: out ket bits, out bra bits, in ket bits, in bra bits -> interleave ket/bra per site
    T = S.reshape((2,) * (4 * nsites))
    n = nsites
    order = ([x for j in range(n) for x in (j, n + j)]
             + [2 * n + x for j in range(n) for x in (j, n + j)])
    return T.transpose(order).reshape(d * d, d * d)
