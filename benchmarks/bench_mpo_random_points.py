"""MPO against the dense reference at random points (L = 3-5): written within its claim, NaN
where the dense kernel is degenerate, or refused; never wrong (benchmarks/README, "MPO faults").

Usage: ``python benchmarks/bench_mpo_random_points.py SEED N [LOG10_MIN LOG10_MAX]`` from the
repository root; each parameter is on with probability 1/2, magnitudes 10^U(min, max). Prints
one line per point: OK, WRONG (observables beyond the claim), CRASH, REFUSED (with the reason),
or the dense and MPO kernel decisions where the dense kernel is not 1. The claim is that of
tests/integration/test_mpo_cli.py: max(10 start_difference, 2^(L/2) sqrt(purity)
error_estimate, 1e-8), each observable divided by its operator-norm bound.
"""
import os
import sys, time, numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from dense_reference import dense_liouvillian, dense_observables, dense_steady_state
from lindring.core.model import make_params, ModelError
from lindring.solvers.mpo import mpo_observables, MPOFailure
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
names = ["J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz", "alpha", "beta", "gamma", "delta"]
LO, HI = (float(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else (-2.5, 1.5)
N = int(sys.argv[2]) if len(sys.argv) > 2 else 20
for i in range(N):
    L = int(rng.choice([3, 4, 5]))
    m = {}
    for n in names:
        if rng.random() < 0.5:
            continue
        mag = 10 ** rng.uniform(LO, HI)
        if n == "phi":
            m[n] = float(rng.uniform(-4, 4))
        elif n in ("mu", "eps_x", "eps_zz"):
            m[n] = float(mag * rng.choice([-1, 1]))
        elif n == "kappa":
            m[n] = float(mag)
        else:
            m[n] = complex(mag * np.exp(1j * rng.uniform(0, 2 * np.pi))) if rng.random() < 0.5 else float(mag * rng.choice([-1, 1]))
    try:
        p = make_params(L, bc="open", **m)
    except ModelError as e:
        print(i, "MODELERR", str(e)[:80]); continue
    t0 = time.time()
    rho, kdim = dense_steady_state(dense_liouvillian(L, "open", **m), tol=1e-12)
    try:
        data, attrs = mpo_observables(p, progress=False)
    except (MPOFailure, ModelError) as e:
        print(i, L, "REFUSED", type(e).__name__, str(e)[:150], "dense kdim", kdim, m); continue
    except Exception as e:
        print(i, L, "CRASH", repr(e)[:300], m); continue
    u = attrs["unique"]
    if kdim != 1:
        print(i, L, "dense kdim", kdim, "mpo unique", u, m if u == 1 else ""); continue
    if u != 1:
        print(i, L, "MPO says non-unique, dense unique!", m); continue
    ref = dense_observables(rho, L, "open", **m)
    est = float(data["error_estimate"][1]); pur = float(data["purity"][1])
    claim = max(10 * float(data["start_difference"][1]), 2 ** (L / 2) * np.sqrt(pur) * est, 1e-8)
    bad = []
    for k, sc in (("sz", 1), ("current_eta", abs(p.eta) or 1), ("current_J", 2 * abs(p.J) or 1)):
        d = np.abs(np.asarray(data[k][1]) - ref[k]).max() / sc
        if d > claim:
            bad.append(f"{k} off {d:.2e} > claim {claim:.2e}")
    print(i, L, "OK" if not bad else "WRONG " + "; ".join(bad), f"est {est:.1e} {time.time()-t0:.1f}s", "" if not bad else m)
