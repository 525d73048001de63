#!/usr/bin/env python
"""Benchmark ``lindring solve --method ed`` against QuTiP's ``steadystate`` on the same model.

Model: minimal preset (MODEL.md, Sec. IV), ring, alpha = 2, delta = 1.5
(so gamma = conj(alpha) = 2, beta = conj(delta) = 1.5, mu = 1, J0 = lam = kappa = 0).

Every configuration runs in its own subprocess, under ``/usr/bin/time -f "%e %M"``, while a
sampler thread adds up the resident memory of the whole process tree (all MPI ranks) every
0.2 s and kills the tree (its own process group) if it passes ``--mem-limit-gb``; a timeout does
the same. A crash, an out-of-memory kill or a timeout of one configuration therefore never stops
the others, and once a configuration timed out or ran out of memory, the same kind of run is not
tried for larger L.

    .venv/bin/pip install -r benchmarks/requirements.txt
    .venv/bin/python benchmarks/bench_ed.py                       # L = 4..10, everything
    .venv/bin/python benchmarks/bench_ed.py --L 9 10 --tools lindring --solvers iterative

Results go to ``benchmarks/results/ed.csv`` (rows of an earlier run with other keys are kept,
so a run for some L merges into the table). ``--table`` prints the Markdown table of README.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
VENV_BIN = REPO / ".venv" / "bin"
DEFAULT_CSV = HERE / "results" / "ed.csv"

ALPHA, DELTA, MU = 2.0, 1.5, 1.0
QUTIP_METHODS = ("direct", "power", "eigen", "svd", "iterative-gmres", "iterative-lgmres",
                 "iterative-bicgstab")
#: dense SVD of a 4^L x 4^L complex matrix: 4^7 would need > 12 GB, so small L only
SVD_MAX_L = 6
SKIP_AFTER = ("timeout", "memory")

FIELDS = ["tool", "L", "ranks", "solver", "check_unique", "status", "wall_s", "wall_s_internal",
          "solve_s", "peak_mb", "peak_mb_max_rank", "peak_mb_sampled_tree", "residual",
          "trace_error", "iterations", "nnz", "kernel_dim", "sz0", "current_eta0",
          "dsz0_vs_lindring", "dcurrent_vs_lindring", "load1", "version", "note", "command"]

ENV = dict(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1",
           OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")


# ============================================================================ QuTiP worker
def qutip_model(L: int):
    """H and the collapse operators of the minimal ring model, built from MODEL.md alone.

    The local matrices are written out explicitly in lindring's convention (index 0 = |0> = down,
    index 1 = |1> = up, sp = |1><0|), *not* taken from qutip.sigmap(): QuTiP's sigmap() is
    [[0,1],[0,0]] = |0><1| in index terms, with basis(2,0) as "up" (its sigmaz = diag(1,-1)).
    Using QuTiP's operators with our index convention would swap sp and sm.
    """
    import numpy as np
    import qutip as qt
    sp = qt.Qobj(np.array([[0, 0], [1, 0]], dtype=complex))   # |1><0|
    sm = sp.dag()                                              # |0><1|
    n = sp * sm
    eye = qt.qeye(2)

    def site(op, j):
        ops = [eye] * L
        ops[j % L] = op
        return qt.tensor(ops)

    alpha, delta = complex(ALPHA), complex(DELTA)
    gamma, beta = alpha.conjugate(), delta.conjugate()
    H = MU * sum(site(n, j) for j in range(L))
    c_ops = [alpha * site(sm, b) + beta * site(sp, b) + gamma * site(sm, b + 1)
             + delta * site(sp, b + 1) for b in range(L)]           # ring: L bonds
    eta = alpha * np.conj(gamma) - delta * np.conj(beta)
    sz0 = 2 * site(n, 0) - 1
    # I_eta on bond (0, 1): -eta sp_1 sm_0 + h.c.
    cur = -eta * site(sp, 1) * site(sm, 0)
    cur = cur + cur.dag()
    return H, c_ops, sz0, cur


def qutip_worker(L: int, method: str) -> None:
    """Build the model, time qutip.steadystate(method), print one JSON line of results."""
    import resource
    import warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import qutip as qt
    t0 = time.time()
    H, c_ops, sz0, cur = qutip_model(L)
    Lv = qt.liouvillian(H, c_ops)
    t_build = time.time() - t0
    kw = {}
    if method.startswith("iterative"):
        # ILU preconditioner (scipy spilu, QuTiP's defaults) and the tolerance lindring uses;
        # without a preconditioner GMRES does not converge here beyond the smallest L.
        kw = dict(use_precond=True, rtol=1e-12, atol=0.0)
    if method == "power":
        kw = dict(power_tol=1e-12)
    t1 = time.time()
    rho = qt.steadystate(Lv, method=method, **kw)
    t_solve = time.time() - t1
    v = qt.operator_to_vector(rho).full().ravel()
    Ls = Lv.data.as_scipy() if hasattr(Lv.data, "as_scipy") else Lv.full()
    residual = float(np.linalg.norm(Ls @ v) / np.linalg.norm(v))
    out = dict(status="ok", wall_s_internal=t_build + t_solve, solve_s=t_solve,
               build_s=t_build, residual=residual, trace_error=abs(complex(rho.tr()) - 1),
               sz0=float(np.real(qt.expect(sz0, rho))),
               current_eta0=float(np.real(qt.expect(cur, rho))),
               nnz=int(getattr(Ls, "nnz", 0)),
               peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               qutip_version=qt.__version__)
    print("RESULT " + json.dumps(out), flush=True)


# ============================================================================ running
class Sampler(threading.Thread):
    """Samples the summed RSS of a process tree; kills the tree past a limit."""

    def __init__(self, pid: int, limit_mb: float, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.limit_mb, self.every = pid, limit_mb, every
        self.peak_mb = 0.0
        self.killed_for_memory = False
        self._halt = threading.Event()

    def run(self):
        import psutil
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._halt.is_set():
            total = 0
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.NoSuchProcess:
                break
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2 ** 20)
            if self.peak_mb > self.limit_mb:
                self.killed_for_memory = True
                _kill_group(self.pid)
                break
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)   # the run's own process group (start_new_session)
    except ProcessLookupError:
        pass


def run_measured(cmd: list[str], timeout: float, limit_mb: float, log: Path) -> dict:
    """Run ``cmd`` under /usr/bin/time with a timeout and a memory limit on the whole tree."""
    tfile = log.with_suffix(".time")
    full = ["/usr/bin/time", "-f", "%e %M", "-o", str(tfile)] + cmd
    env = dict(os.environ, **ENV)
    t0 = time.time()
    with open(log, "w") as fh:
        proc = subprocess.Popen(full, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True, cwd=str(log.parent))
        sampler = Sampler(proc.pid, limit_mb)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            rc = proc.wait()
            timed_out = True
        sampler.stop()
        sampler.join()
    wall = time.time() - t0
    res = dict(rc=rc, wall_s=wall, peak_mb_sampled_tree=sampler.peak_mb)
    try:
        e, m = tfile.read_text().split()[-2:]
        res["wall_s"], res["time_maxrss_mb"] = float(e), float(m) / 1024
    except (OSError, ValueError):
        pass
    if timed_out:
        res["status"] = "timeout"
    elif sampler.killed_for_memory:
        res["status"] = "memory"
    elif rc != 0:
        res["status"] = f"failed(rc={rc})"
    else:
        res["status"] = "ok"
    return res


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines()
                 if ln.strip() and "] it " not in ln]
    except OSError:
        return ""
    return " | ".join(lines[-n:])[-300:]


def lindring_run(L, ranks, solver, check, args, work: Path) -> dict:
    out = work / f"lindring_L{L}_n{ranks}_{solver}_{'chk' if check else 'nochk'}.nc"
    cmd = [str(VENV_BIN / "lindring"), "solve", "--method", "ed", "--bc", "ring", "--L", str(L),
           "--preset", "minimal", "--alpha", str(ALPHA), "--delta", str(DELTA),
           "--solver", solver, "--check-unique" if check else "--no-check-unique", "-o", str(out)]
    if ranks > 1:
        cmd = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks)] + cmd
    row = dict(tool="lindring", L=L, ranks=ranks, solver=solver, check_unique=int(check),
               command=" ".join(cmd[:-1] + [out.name]))
    log = out.with_suffix(".log")
    res = run_measured(cmd, args.timeout_lindring, args.mem_limit_gb * 1024, log)
    row.update(status=res["status"], wall_s=res["wall_s"],
               peak_mb_sampled_tree=res["peak_mb_sampled_tree"])
    if res["status"] == "ok" and out.exists():
        import xarray as xr
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            row.update(wall_s_internal=a.get("wall_seconds"), solve_s=a.get("solve_seconds"),
                       peak_mb=a.get("peak_memory_mb_total"),
                       peak_mb_max_rank=a.get("peak_memory_mb_max_rank"),
                       iterations=a.get("solver_iterations"), nnz=a.get("nnz"),
                       residual=float(ds["residual"]), trace_error=float(ds["trace_error"]),
                       kernel_dim=int(ds["kernel_dim"]), sz0=float(ds["sz"][0]),
                       current_eta0=float(ds["current_eta"][0]),
                       version="lindring " + str(a.get("git_commit", "?")))
    else:
        row["note"] = _tail(log)
    return row


def qutip_run(L, method, args, work: Path) -> dict:
    log = work / f"qutip_L{L}_{method}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--qutip-worker", str(L), method]
    row = dict(tool="qutip", L=L, ranks=1, solver=method, check_unique=0,
               command=f"python benchmarks/bench_ed.py --qutip-worker {L} {method}")
    res = run_measured(cmd, args.timeout, args.mem_limit_gb * 1024, log)
    row.update(status=res["status"], wall_s=res["wall_s"],
               peak_mb_sampled_tree=res["peak_mb_sampled_tree"])
    payload = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("RESULT "):
            payload = json.loads(line[7:])
    if res["status"] == "ok" and payload:
        row.update({k: payload[k] for k in ("wall_s_internal", "solve_s", "residual",
                                            "trace_error", "sz0", "current_eta0", "nnz",
                                            "peak_mb")})
        row["peak_mb_max_rank"] = payload["peak_mb"]
        row["version"] = f"qutip {payload['qutip_version']}"
        row["note"] = f"Liouvillian build {payload['build_s']:.2f}s"
    else:
        if res["status"] == "ok":
            row["status"] = "failed(no result)"
        row["note"] = _tail(log)
    return row


# ============================================================================ bookkeeping
def key(row) -> tuple:
    return (row["tool"], int(row["L"]), int(row["ranks"]), row["solver"], int(row["check_unique"]))


def kind(row) -> tuple:
    k = key(row)
    return k[:1] + k[2:]


def load(path: Path) -> dict:
    rows = {}
    if path.exists():
        with open(path) as fh:
            for r in csv.DictReader(fh):
                rows[key(r)] = r
    return rows


def save(rows: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    order = sorted(rows.values(), key=lambda r: (int(r["L"]), r["tool"] != "lindring", r["tool"],
                                                r["solver"], int(r["ranks"]), int(r["check_unique"])))
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in order:
            w.writerow({k: _fmt(r.get(k)) for k in FIELDS})
    os.replace(tmp, path)


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"
    return v


def blocked(rows: dict, row: dict) -> str | None:
    """Why ``row`` is not run: a smaller L of the same kind timed out or ran out of memory.

    A lindring run with the uniqueness check does the same solve plus the check, so it is also
    not run where the same solver without the check failed so at the same L or smaller. (The check
    itself is a Krylov-Schur eigensolve without factorisation, so it is not tied to ``direct``.)"""
    plain = None
    if row["tool"] == "lindring" and int(row["check_unique"]):
        plain = ("lindring", int(row["ranks"]), row["solver"], 0)
    for r in rows.values():
        if r["status"].split("(")[0] not in SKIP_AFTER:
            continue
        if (kind(r) == kind(row) and int(r["L"]) < int(row["L"])) or \
                (kind(r) == plain and int(r["L"]) <= int(row["L"])):
            return (f"skipped: {r['tool']} {r['solver']} ranks={r['ranks']} "
                    f"check={r['check_unique']} at L={r['L']} ended with {r['status']}")
    return None


def compare_physics(rows: dict) -> None:
    """Fill in QuTiP's deviation from lindring (sz_0, current on bond 0) where both ran."""
    for r in rows.values():
        if r["tool"] != "qutip" or r["status"] != "ok":
            continue
        ref = [x for x in rows.values() if x["tool"] == "lindring" and x["status"] == "ok"
               and int(x["L"]) == int(r["L"])]
        if not ref:
            continue
        ref.sort(key=lambda x: float(x["residual"]))
        best = ref[0]
        r["dsz0_vs_lindring"] = abs(float(r["sz0"]) - float(best["sz0"]))
        r["dcurrent_vs_lindring"] = abs(float(r["current_eta0"]) - float(best["current_eta0"]))


# ============================================================================ table
def _num(v, fmt):
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return "-"


def table(rows: dict) -> str:
    out = ["| L | tool | ranks | solver / method | uniq. check | status | wall s | wall s (inside) "
           "| peak MB | residual | iterations | dsz0 vs lindring |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    order = sorted(rows.values(), key=lambda r: (int(r["L"]), r["tool"] != "lindring", r["solver"],
                                                int(r["ranks"]), int(r["check_unique"])))
    for r in order:
        st = r["status"] if r["status"] != "ok" else "ok"
        if st.startswith("skipped"):
            st = "skipped"
        peak = r.get("peak_mb") or r.get("peak_mb_sampled_tree")
        out.append("| {L} | {tool} | {ranks} | {solver} | {chk} | {st} | {w} | {wi} | {pk} | {res} "
                   "| {it} | {d} |".format(
                       L=r["L"], tool=r["tool"], ranks=r["ranks"], solver=r["solver"],
                       chk="yes" if int(r["check_unique"]) else "no", st=st,
                       w=_num(r.get("wall_s"), ".1f"), wi=_num(r.get("wall_s_internal"), ".2f"),
                       pk=(">" if st in SKIP_AFTER else "") + _num(peak, ".0f"),
                       res=_num(r.get("residual"), ".1e"), it=r.get("iterations") or "-",
                       d=_num(r.get("dsz0_vs_lindring"), ".1e")))
    return "\n".join(out)


# ============================================================================ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, nargs="+", default=list(range(4, 11)))
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--solvers", nargs="+", default=["direct", "iterative"])
    ap.add_argument("--qutip-methods", nargs="+", default=list(QUTIP_METHODS))
    ap.add_argument("--tools", nargs="+", default=["lindring", "qutip"])
    ap.add_argument("--check-unique-max-L", type=int, default=8,
                    help="also time lindring with its uniqueness check up to this L")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per QuTiP run")
    ap.add_argument("--timeout-lindring", type=float, default=1500, help="seconds per lindring run")
    ap.add_argument("--mem-limit-gb", type=float, default=12.0,
                    help="kill a run whose process tree passes this resident memory")
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--workdir", type=Path, default=None, help="where .nc and logs go (tmp)")
    ap.add_argument("--fresh", action="store_true", help="drop earlier rows of the CSV")
    ap.add_argument("--missing", action="store_true",
                    help="run only configurations without a result (or only skipped) in the CSV")
    ap.add_argument("--table", action="store_true", help="print the Markdown table and exit")
    ap.add_argument("--qutip-worker", nargs=2, metavar=("L", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.qutip_worker:
        qutip_worker(int(args.qutip_worker[0]), args.qutip_worker[1])
        return
    rows = {} if args.fresh else load(args.csv)
    if args.table:
        print(table(rows))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lindring-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work dir {work}; results {args.csv}", flush=True)

    plan = []
    for L in sorted(args.L):
        if "lindring" in args.tools:
            for solver in args.solvers:
                for ranks in args.ranks:
                    plan.append(dict(tool="lindring", L=L, ranks=ranks, solver=solver, check_unique=0))
            if L <= args.check_unique_max_L:
                for solver in args.solvers:
                    for ranks in args.ranks:
                        plan.append(dict(tool="lindring", L=L, ranks=ranks, solver=solver,
                                         check_unique=1))
        if "qutip" in args.tools:
            for m in args.qutip_methods:
                if m == "svd" and L > SVD_MAX_L:
                    continue
                plan.append(dict(tool="qutip", L=L, ranks=1, solver=m, check_unique=0))

    if args.missing:
        plan = [s for s in plan if not (key(s) in rows and rows[key(s)]["status"] != "skipped")]
    for spec in plan:
        why = blocked(rows, spec)
        label = f"{spec['tool']} L={spec['L']} ranks={spec['ranks']} {spec['solver']} " \
                f"check={spec['check_unique']}"
        if why:
            row = dict(spec, status="skipped", note=why)
            print(f"{label}: {why}", flush=True)
        else:
            load1 = os.getloadavg()[0]
            print(f"{label}: running (load {load1:.2f}) ...", flush=True)
            if spec["tool"] == "lindring":
                row = lindring_run(spec["L"], spec["ranks"], spec["solver"],
                                   bool(spec["check_unique"]), args, work)
            else:
                row = qutip_run(spec["L"], spec["solver"], args, work)
            row["load1"] = load1
            print(f"    {row['status']}  wall {row.get('wall_s', float('nan')):.1f}s  "
                  f"peak {row.get('peak_mb') or row.get('peak_mb_sampled_tree') or 0:.0f} MB  "
                  f"residual {row.get('residual', '-')}  {row.get('note', '')}", flush=True)
        rows[key(row)] = {k: (str(v) if v is not None else "") for k, v in row.items()}
        compare_physics(rows)
        save(rows, args.csv)
    print(table(rows))


if __name__ == "__main__":
    main()
