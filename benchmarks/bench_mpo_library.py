#!/usr/bin/env python
"""lindring's numpy/scipy TEBD (``lindring.solvers.mpo``) against tensor-network libraries, same problem.

Issue 4 asks to prefer a well-kept tensor-network library if one fits the non-unitary,
non-Hermitian gates cleanly, and to measure before choosing. This script evolves ONE problem with
each tool and records wall time, peak memory and the deviation of the observables from lindring.

The problem (MODEL.md): open chain, minimal model alpha = 2, delta = 1 (Fig. 5 of the paper),
vectorised density matrix as an MPS with local dimension 4, from the maximally mixed state, to the
final time ``--t-final`` with lindring's CLI defaults: fourth-order Trotter, dt = 0.1, chi = 64,
discarded-weight cutoff 1e-12. Every tool gets the SAME bond generators G_b
(``lindring.solvers.mpo.bond_generators``: the exact bond split of Eq. 11); the gates are exp(tau G_b),
non-Hermitian 16x16, exponentiated by scipy.linalg.expm in every tool (quimb and TeNPy call it too
when handed the "Hamiltonian" H_b = i G_b, since exp(-i tau H_b) = exp(tau G_b)).

Tools (``--tools``):
  lindring      lindring.solvers.mpo.TEBD (the production code).
  quimb-tebd    quimb.tensor.TEBD with LocalHam1D(H2 = i G_b), update_to(T, order=4): the library's
                own driver.
  quimb-sweeps  the same quimb TEBD object, but its public ``sweep`` called with lindring's fused
                layer sequence (``lindring.solvers.mpo.trotter_layers``, Suzuki's fourth order): quimb's
                gate application and truncation, lindring's Trotter scheme.
  tenpy         tenpy.algorithms.tebd.TEBDEngine (order 4, real time) on a NearestNeighborModel
                whose H_bond is i G_b, trunc_params chi_max = chi, trunc_cut = sqrt(cutoff).
                The note column gives TeNPy's own canonical-form check (MPS.norm_test) at the end.
  exact         lindring without truncation (chi = 4^(L/2), cutoff 0), L <= 8: the Trotter
                evolution every tool approximates; then column dexact_max is filled for all tools.

Truncation is the same criterion everywhere: at most chi values, and drop the smallest ones while
their summed relative weight sum s^2 / sum s^2 stays <= cutoff (quimb cutoff_mode 'rsum2';
TeNPy trunc_cut^2). The observables of every final state are computed by the same code
(``lindring.solvers.mpo.measure``, trace-normalised, so the library's norm conventions do not matter), and
so is the residual ||L x|| / ||x|| (``lindring.solvers.mpo.residual``, exact MPO contraction).

Each run is its own subprocess (``--worker``); it reports the evolution's wall time and its peak
resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), plus the resident memory after
imports and set-up (``VmRSS``), so the libraries' import footprints can be told apart. The
evolution's CPU time (``time.process_time``, one thread) is recorded beside its wall time: on a
shared machine it is the fairer number.

Usage:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mpo_library.py \\
        --L 10 20 30 --t-final 10
    .venv/bin/python benchmarks/bench_mpo_library.py --L 6 --t-final 10 --tools lindring tenpy exact
    .venv/bin/python benchmarks/bench_mpo_library.py --order-check    # Trotter order of each tool
    .venv/bin/python benchmarks/bench_mpo_library.py --table          # markdown table of the CSV
Results: ``benchmarks/results/mpo_library.csv`` (one row per tool, L, t_final; reruns replace rows).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CSV = HERE / "results" / "mpo_library.csv"
TOOLS = ("lindring", "quimb-tebd", "quimb-sweeps", "tenpy", "exact")
COLUMNS = ["tool", "L", "t_final", "steps", "chi", "dt", "order", "cutoff", "status", "wall_s",
           "evolve_s", "evolve_cpu_s", "peak_mb", "rss_setup_mb", "chi_reached", "residual",
           "dsz_max",
           "dcurrent_max", "dexact_max", "current_edge", "current_mid", "version", "load1", "note"]


# ----------------------------------------------------------------------------- the problem
def problem(L: int):
    """Parameters and bond generators G_b of the benchmark chain (minimal, alpha=2, delta=1)."""
    from lindring.core.model import make_params
    from lindring.solvers.mpo import bond_generators
    p = make_params(L, bc="open", preset="minimal", alpha=2, delta=1)
    return p, bond_generators(p)


def rss_mb() -> float:
    """Current resident memory of this process (VmRSS), MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- the tools
def run_lindring(p, G, chi, dt, cutoff, order, steps):
    """lindring.solvers.mpo.TEBD. Every runner returns (tensors (D_l, 4, D_r), (wall s, CPU s) of the
    evolution, resident MB after set-up, version string)."""
    import lindring
    from lindring.solvers.mpo import TEBD
    run = TEBD(p, chi=chi, dt=dt, cutoff=cutoff, order=order, initial="mixed")
    setup_rss = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    run.evolve(steps)
    evolve_s = (time.perf_counter() - t0, time.process_time() - c0)
    return run.state.A, evolve_s, setup_rss, f"lindring {lindring.__version__}"


def run_exact(p, G, chi, dt, cutoff, order, steps):
    """lindring.solvers.mpo.TEBD without truncation (chi = 4^(L/2), cutoff 0): the exact Trotter evolution
    every tool approximates; small L only."""
    if p.L > 8:
        raise SystemExit("tool 'exact' is for L <= 8")
    arrays, times, rss, _ = run_lindring(p, G, 4 ** (p.L // 2), dt, 0.0, order, steps)
    return arrays, times, rss, "lindring, no truncation"


def _quimb_tebd(p, G, chi, dt, cutoff):
    import quimb.tensor as qtn

    from lindring.solvers.mpo import IDENTITY_LETTERS
    L = p.L
    # exp(-i t H_b) = exp(t G_b)
    H = qtn.LocalHam1D(L, H2={(b, b + 1): 1j * G[b] for b in range(L - 1)})
    psi0 = qtn.MPS_product_state([IDENTITY_LETTERS / 2] * L)
    return qtn.TEBD(psi0, H, dt=dt, progbar=False,
                    split_opts=dict(max_bond=chi, cutoff=cutoff, cutoff_mode="rsum2"))


def _quimb_arrays(mps, L):
    """quimb MPS -> list of arrays (D_l, 4, D_r) in lindring's layout."""
    out = []
    for i in range(L):
        inds = ([mps.bond(i - 1, i)] if i > 0 else []) + [mps.site_ind(i)] \
            + ([mps.bond(i, i + 1)] if i < L - 1 else [])
        a = mps[i].transpose(*inds).data
        out.append(a.reshape(a.shape[0] if i > 0 else 1, 4, a.shape[-1] if i < L - 1 else 1))
    return out


def run_quimb_tebd(p, G, chi, dt, cutoff, order, steps):
    """quimb's own TEBD driver, ``update_to(steps * dt, order=order)``."""
    import quimb
    tebd = _quimb_tebd(p, G, chi, dt, cutoff)
    setup_rss = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    tebd.update_to(steps * dt, order=order)
    evolve_s = (time.perf_counter() - t0, time.process_time() - c0)
    return _quimb_arrays(tebd.pt, p.L), evolve_s, setup_rss, f"quimb {quimb.__version__}"


def run_quimb_sweeps(p, G, chi, dt, cutoff, order, steps):
    """quimb's gates/truncation (public ``TEBD.sweep``) on lindring's Trotter layer sequence.

    quimb's 'right' sweep applies the even bonds (0,1), (2,3), ... and its 'left' sweep the odd
    bonds, which is lindring's parity 0 and 1; the fused layers alternate parities."""
    import quimb

    from lindring.solvers.mpo import trotter_layers
    tebd = _quimb_tebd(p, G, chi, dt, cutoff)
    setup_rss = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    for parity, tau in trotter_layers(steps, dt, order):
        tebd.sweep("right" if parity == 0 else "left", tau / dt)
    evolve_s = (time.perf_counter() - t0, time.process_time() - c0)
    return _quimb_arrays(tebd.pt, p.L), evolve_s, setup_rss, f"quimb {quimb.__version__}"


def run_tenpy(p, G, chi, dt, cutoff, order, steps):
    """TeNPy's TEBDEngine (real time) with H_bond = i G_b; no charges (trivial legs)."""
    import logging

    import tenpy
    from tenpy.algorithms.tebd import TEBDEngine
    from tenpy.linalg import np_conserved as npc
    from tenpy.linalg.charges import LegCharge
    from tenpy.models.lattice import Chain
    from tenpy.models.model import NearestNeighborModel
    from tenpy.networks.mps import MPS
    from tenpy.networks.site import Site

    from lindring.solvers.mpo import IDENTITY_LETTERS
    logging.getLogger("tenpy").setLevel(logging.WARNING)
    L = p.L
    site = Site(LegCharge.from_trivial(4), ["00", "01", "10", "11"])
    lat = Chain(L, site, bc="open", bc_MPS="finite")
    H_bond = [None] + [npc.Array.from_ndarray_trivial(1j * G[b].reshape(4, 4, 4, 4), dtype=complex,
                                                      labels=["p0", "p1", "p0*", "p1*"])
                       for b in range(L - 1)]                 # H_bond[i] acts on sites (i-1, i)
    model = NearestNeighborModel(lat, H_bond)
    psi = MPS.from_product_state(lat.mps_sites(), [IDENTITY_LETTERS / 2] * L, bc="finite",
                                 dtype=complex)
    eng = TEBDEngine(psi, model, {"order": order, "dt": dt, "N_steps": steps,
                                  "trunc_params": {"chi_max": chi, "svd_min": None,
                                                   "trunc_cut": math.sqrt(cutoff)}})
    setup_rss = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    eng.run()
    evolve_s = (time.perf_counter() - t0, time.process_time() - c0)
    # the represented vector is norm * S[0] B_0 B_1 ... (all stored in 'B' form by update_bond)
    arrays = [psi.get_B(i, form=None).to_ndarray() for i in range(L)]
    labels = [psi.get_B(i, form=None).get_leg_labels() for i in range(L)]
    arrays = [a.transpose([lab.index("vL"), lab.index("p"), lab.index("vR")])
              for a, lab in zip(arrays, labels)]
    arrays[0] = arrays[0] * psi.get_SL(0)[:, None, None] * psi.norm
    canon = float(np.max(psi.norm_test()))    # deviation of the stored tensors from canonical form
    return arrays, evolve_s, setup_rss, f"tenpy {tenpy.__version__}; norm_test max {canon:.1e}"


RUNNERS = {"lindring": run_lindring, "quimb-tebd": run_quimb_tebd,
           "quimb-sweeps": run_quimb_sweeps, "tenpy": run_tenpy, "exact": run_exact}


def worker(args) -> None:
    """One run in this process; prints one JSON line."""
    from lindring.solvers.mpo import VectorisedMPS, measure, residual
    p, G = problem(args.L[0])
    steps = int(round(args.t_final / args.dt))
    arrays, evolve_s, setup_rss, version = RUNNERS[args.worker](
        p, G, args.chi, args.dt, args.cutoff, args.order, steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    state = VectorisedMPS(arrays)
    obs = measure(state, p)
    out = dict(evolve_s=evolve_s[0], evolve_cpu_s=evolve_s[1], peak_mb=peak,
               rss_setup_mb=setup_rss, version=version, steps=steps,
               chi_reached=state.max_bond, residual=residual(state, G),
               sz=obs["sz"].tolist(), current_eta=obs["current_eta"].tolist(),
               current_J=obs["current_J"].tolist(), imag=obs["imag"])
    print("RESULT " + json.dumps(out), flush=True)


# ----------------------------------------------------------------------------- driver
def read_rows() -> list[dict]:
    if not CSV.exists():
        return []
    with open(CSV) as f:
        return list(csv.DictReader(f))


def write_rows(rows: list[dict]) -> None:
    CSV.parent.mkdir(parents=True, exist_ok=True)
    tmp = CSV.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in COLUMNS})
    tmp.replace(CSV)


def run_one(tool: str, L: int, args) -> tuple[dict, dict | None]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", tool, "--L", str(L),
           "--t-final", repr(args.t_final), "--chi", str(args.chi), "--dt", repr(args.dt),
           "--order", str(args.order), "--cutoff", repr(args.cutoff)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    row = dict(tool=tool, L=L, t_final=args.t_final, chi=args.chi, dt=args.dt, order=args.order,
               cutoff=args.cutoff, load1=f"{os.getloadavg()[0]:.2f}")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
    except subprocess.TimeoutExpired:
        row.update(status="timeout", wall_s=f"{time.perf_counter() - t0:.1f}")
        return row, None
    row["wall_s"] = f"{time.perf_counter() - t0:.1f}"
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        row.update(status="failed", note=(proc.stderr.strip().splitlines() or ["?"])[-1][:200])
        return row, None
    res = json.loads(lines[-1][len("RESULT "):])
    cur = res["current_eta"]
    row.update(status="ok", steps=res["steps"], evolve_s=f"{res['evolve_s']:.1f}",
               evolve_cpu_s=f"{res['evolve_cpu_s']:.1f}",
               peak_mb=f"{res['peak_mb']:.0f}", rss_setup_mb=f"{res['rss_setup_mb']:.0f}",
               chi_reached=res["chi_reached"], residual=f"{res['residual']:.2e}",
               current_edge=f"{cur[0]:.6f}", current_mid=f"{cur[len(cur) // 2]:.6f}")
    row["version"], _, row["note"] = res["version"].partition("; ")
    return row, res


def _max_diff(res, ref, names):
    return max(abs(a - b) for n in names for a, b in zip(res[n], ref[n]))


def drive(args) -> None:
    rows = read_rows()
    for L in args.L:
        ref, exact = None, None
        first = ["exact"] if "exact" in args.tools else []
        rest = [t for t in args.tools if t not in ("lindring", "exact")]
        for tool in first + ["lindring"] + rest:
            print(f"[bench] {tool} L={L} t_final={args.t_final} ...", file=sys.stderr, flush=True)
            row, res = run_one(tool, L, args)
            if tool == "exact":
                exact = res
            if tool == "lindring":
                ref = res
            elif res is not None and ref is not None:
                row["dsz_max"] = f"{_max_diff(res, ref, ['sz']):.1e}"
                row["dcurrent_max"] = f"{_max_diff(res, ref, ['current_eta', 'current_J']):.1e}"
            if res is not None and exact is not None and tool != "exact":
                d = _max_diff(res, exact, ["sz", "current_eta", "current_J"])
                row["dexact_max"] = f"{d:.1e}"
            print(f"[bench]   {row}", file=sys.stderr, flush=True)
            key = (row["tool"], str(L), str(args.t_final))
            rows = [r for r in rows if (r["tool"], str(r["L"]), str(r["t_final"])) != key] + [row]
            write_rows(rows)


def table() -> None:
    cols = ["L", "t_final", "tool", "status", "evolve_cpu_s", "evolve_s", "wall_s", "peak_mb",
            "rss_setup_mb", "chi_reached", "residual", "dsz_max", "dcurrent_max", "dexact_max",
            "current_edge", "current_mid", "note"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in sorted(read_rows(), key=lambda r: (float(r["t_final"]), int(r["L"]),
                                                TOOLS.index(r["tool"]))):
        print("| " + " | ".join(str(r.get(c, "")) or "-" for c in cols) + " |")


def order_check(tools) -> None:
    """Convergence order of each tool's fourth-order scheme: L = 4, no truncation, t = 0.4 from the
    mixed state, against scipy's expm of the summed bond generators (the exact evolution)."""
    import scipy.linalg as sla

    from lindring.solvers.mpo import IDENTITY_LETTERS, VectorisedMPS
    L, t = 4, 0.4
    p, G = problem(L)
    Lw = sum(np.kron(np.kron(np.eye(4 ** b), g), np.eye(4 ** (L - b - 2))) for b, g in enumerate(G))
    x0 = VectorisedMPS.product([IDENTITY_LETTERS / 2] * L).to_vector()
    exact = sla.expm(t * Lw) @ x0
    print("| tool | error dt = 0.1 | dt = 0.05 | dt = 0.025 | ratio per halving | observed order |")
    print("|---|---|---|---|---|---|")
    for tool in tools:
        if tool == "exact":
            continue
        errs = []
        for dt in (0.1, 0.05, 0.025):
            arrays = RUNNERS[tool](p, G, 64, dt, 0.0, 4, int(round(t / dt)))[0]
            x = VectorisedMPS(arrays).to_vector()
            x = x / VectorisedMPS(arrays).trace()                # every tool: trace-normalised
            errs.append(float(np.abs(x - exact).max()))
        ratio = errs[1] / errs[2]
        print(f"| {tool} | {errs[0]:.2e} | {errs[1]:.2e} | {errs[2]:.2e} | {ratio:.1f} | "
              f"{math.log2(ratio):.2f} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--L", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--t-final", type=float, default=10.0)
    ap.add_argument("--chi", type=int, default=64)
    ap.add_argument("--dt", type=float, default=0.1)
    ap.add_argument("--order", type=int, default=4, choices=(2, 4))
    ap.add_argument("--cutoff", type=float, default=1e-12)
    ap.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    ap.add_argument("--worker", choices=TOOLS, help=argparse.SUPPRESS)
    ap.add_argument("--table", action="store_true", help="print the CSV as a markdown table")
    ap.add_argument("--order-check", action="store_true",
                    help="convergence order of each tool's order-4 scheme (L = 4, seconds)")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args)
    elif args.table:
        table()
    elif args.order_check:
        order_check(args.tools)
    else:
        drive(args)


if __name__ == "__main__":
    main()
