#!/usr/bin/env python
"""Does the numbering of the sector rows matter for the product with the Liouvillian (issue 14)?

The Pauli sector matrix of the minimal ring (alpha = 2, delta = 1.5; parity x momentum zero x
reflection-even, as ``lindring solve`` assembles it) is built once with numpy, then its rows and
columns are renumbered symmetrically: ``representative`` (today: the representatives in
increasing word order), ``rcm`` (reverse Cuthill-McKee of the symmetrised pattern, scipy: a
local order), ``random`` (a random permutation: the worst case). For each order the script times
the product A x in the complex PETSc build (as lindring holds it; mean of 30) and scipy's CSR
product on real values, and prints the mean distance |i - j| of the nonzeros from the diagonal.

    .venv/bin/python benchmarks/bench_order.py --L 12
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee


def build(L: int) -> sp.csr_matrix:
    from lindring.core import model
    from lindring.core.basis import make_basis, resolve_symmetry
    from lindring.core.pauli import PauliBasis, pauli_terms
    from lindring.core.terms import rows_block
    p = model.make_params(L, bc="ring", preset="minimal", alpha=2.0, delta=1.5)
    basis = PauliBasis(make_basis(L, resolve_symmetry(p, "auto"), bc="ring"))
    terms = pauli_terms(p)
    return sp.vstack([rows_block(p, basis, np.arange(c, min(c + (1 << 17), basis.size)), terms)
                      for c in range(0, basis.size, 1 << 17)], format="csr")


def timed_products(A: sp.csr_matrix, repeat: int = 30) -> tuple[float, float]:
    from lindring.solvers.petsc import init
    PETSc, _ = init([])
    M = PETSc.Mat().createAIJ(size=A.shape, csr=(A.indptr.astype(np.int64),
                                                 A.indices.astype(np.int64),
                                                 A.data.astype(complex)), comm=PETSc.COMM_SELF)
    M.assemble()
    x, y = M.createVecs()
    x.set(1.0)
    M.mult(x, y)
    t0 = time.perf_counter()
    for _ in range(repeat):
        M.mult(x, y)
    petsc_ms = (time.perf_counter() - t0) / repeat * 1e3
    M.destroy()
    v = np.ones(A.shape[0])
    A @ v
    t0 = time.perf_counter()
    for _ in range(repeat):
        A @ v
    return petsc_ms, (time.perf_counter() - t0) / repeat * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, default=12)
    args = ap.parse_args()
    A = build(args.L)
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    print(f"L = {args.L}: {A.shape[0]} rows, {A.nnz} nonzeros; load {load}")
    orders = {"representative": np.arange(A.shape[0]),
              "rcm": reverse_cuthill_mckee((A + A.T).tocsr(), symmetric_mode=True),
              "random": np.random.default_rng(0).permutation(A.shape[0])}
    for name, perm in orders.items():
        B = A[perm][:, perm].tocsr()
        coo = B.tocoo()
        spread = float(np.mean(np.abs(coo.row - coo.col)))
        petsc_ms, scipy_ms = timed_products(B)
        print(f"{name:15s} mean |i-j| {spread:12.0f}   PETSc (complex) {petsc_ms:7.1f} ms   "
              f"scipy (real) {scipy_ms:7.1f} ms")


if __name__ == "__main__":
    main()
