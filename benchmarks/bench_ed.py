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
    .venv/bin/python benchmarks/bench_ed.py --L 4 5 6 --tools lindring --ranks 1 --solvers auto \
        --symmetries auto none --default-check --series issue6          # symmetry sectors

Results go to ``benchmarks/results/ed.csv`` (rows of an earlier run with other keys are kept,
so a run for some L merges into the table). ``--table`` prints the Markdown table of README.md,
``--table-sectors`` the sector-vs-full-space table (issue 6).

Symmetry sectors: ``--symmetries`` (``none``, ``auto``, ``parity``, ``momentum``,
``parity+momentum``) is passed to ``lindring solve --symmetry``; the ``symmetry`` column holds it
(QuTiP rows and rows from before the sectors existed: ``none``), ``basis_size`` the number of
rows the run solved in (the ``basis_size`` attribute of the output file). ``--solvers auto``
passes ``--solver auto`` and records the solver lindring chose; ``--default-check`` passes neither
``--check-unique`` nor ``--no-check-unique`` and records whether lindring checked (it does for
basis sizes <= 4^8). ``--series`` labels a measurement campaign and is part of a row's key, so
rerunning a configuration with new code under a new label keeps the old rows (old rows: empty).
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

FIELDS = ["tool", "L", "ranks", "solver", "check_unique", "symmetry", "series", "status", "wall_s",
          "wall_s_internal", "solve_s", "peak_mb", "peak_mb_max_rank", "peak_mb_sampled_tree",
          "residual", "trace_error", "iterations", "basis_size", "nnz", "kernel_dim", "sz0",
          "current_eta0", "dsz0_vs_lindring", "dcurrent_vs_lindring", "dsz0_vs_full",
          "dcurrent_vs_full", "load1", "version", "note", "command"]
SYMMETRIES = ("none", "auto", "parity", "momentum", "parity+momentum")

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
    full = ["/usr/bin/time", "-f", "%e %M %U %S", "-o", str(tfile)] + cmd
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
        e, m, u, s = tfile.read_text().split()[-4:]
        res["wall_s"], res["time_maxrss_mb"] = float(e), float(m) / 1024
        res["cpu_s"] = float(u) + float(s)      # user + system of the process and its children
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


def predict(L: int, symmetry: str, solver: str) -> dict:
    """What ``lindring solve`` will do for this model: resolved sector, its size, the solver that
    ``--solver auto`` picks and whether the uniqueness check runs by default (lindring's own
    functions, so the row's key is known before the run)."""
    from lindring.core import model
    from lindring.core.basis import resolve_symmetry, sector_size
    from lindring.solvers.steady import resolve_solver
    p = model.make_params(L, bc="ring", preset="minimal", alpha=ALPHA, delta=DELTA)
    sector = resolve_symmetry(p, symmetry)
    size = sector_size(L, sector, "ring")
    return dict(sector=sector, basis_size=size, solver=resolve_solver(solver, L, size),
                default_check=1)   # uniqueness is decided at every size (issue 10)


def lindring_run(L, ranks, solver, check, args, work: Path, symmetry: str = "none",
                 solver_arg: str | None = None, series: str = "") -> dict:
    """One ``lindring solve`` run. ``solver`` is the solver it will use (the key), ``solver_arg``
    what is passed (``auto`` or the same); ``check`` None passes no uniqueness flag (default)."""
    solver_arg = solver_arg or solver
    chk = {None: "defchk", True: "chk", False: "nochk"}[check]
    tag = f"_{symmetry.replace('+', '')}" + (f"_{series}" if series else "")
    out = work / f"lindring_L{L}_n{ranks}_{solver_arg}_{chk}{tag}.nc"
    cmd = [str(VENV_BIN / "lindring"), "solve", "--method", "ed", "--bc", "ring", "--L", str(L),
           "--preset", "minimal", "--alpha", str(ALPHA), "--delta", str(DELTA),
           "--solver", solver_arg, "--symmetry", symmetry]
    if check is not None:
        cmd.append("--check-unique" if check else "--no-check-unique")
    cmd += ["-o", str(out)]
    if ranks > 1:
        cmd = [shutil.which("mpiexec") or "mpiexec", "-n", str(ranks)] + cmd
    pred = predict(L, symmetry, solver_arg)
    row = dict(tool="lindring", L=L, ranks=ranks, solver=solver,
               check_unique=int(pred["default_check"] if check is None else check),
               symmetry=symmetry, series=series, basis_size=pred["basis_size"],
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
            if "basis_size" in a:
                row["basis_size"] = int(a["basis_size"])
            # what lindring did must be what the key says (auto solver, default check)
            did = dict(solver=a.get("solver"), check_unique=int(a.get("uniqueness_checked", -1)))
            wrong = [f"{k} {did[k]} (expected {row[k]})" for k in did if did[k] != row[k]]
            if wrong:
                row["note"] = "MISMATCH: lindring used " + ", ".join(wrong)
    else:
        row["note"] = _tail(log)
    return row


def qutip_run(L, method, args, work: Path) -> dict:
    log = work / f"qutip_L{L}_{method}.log"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--qutip-worker", str(L), method]
    row = dict(tool="qutip", L=L, ranks=1, solver=method, check_unique=0, symmetry="none",
               series=args.series, basis_size=4 ** L,
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
    return (row["tool"], int(row["L"]), int(row["ranks"]), row["solver"], int(row["check_unique"]),
            row.get("symmetry") or "none", row.get("series") or "")


def kind(row) -> tuple:
    """The key without L and series: a kind of run that a failure at smaller L rules out."""
    k = key(row)
    return k[:1] + k[2:6]


def load(path: Path) -> dict:
    rows = {}
    if path.exists():
        with open(path) as fh:
            for r in csv.DictReader(fh):
                # rows from before the sectors existed were solved in the full space
                r["symmetry"] = r.get("symmetry") or "none"
                r["series"] = r.get("series") or ""
                if not r.get("basis_size") and r.get("L"):
                    r["basis_size"] = str(4 ** int(r["L"]))
                rows[key(r)] = r
    return rows


def save(rows: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    order = sorted(rows.values(), key=lambda r: (int(r["L"]), r["tool"] != "lindring", r["tool"],
                                                r["solver"], int(r["ranks"]), int(r["check_unique"]),
                                                r.get("series") or "",
                                                SYMMETRIES.index(r.get("symmetry") or "none")))
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
        plain = ("lindring", int(row["ranks"]), row["solver"], 0, row.get("symmetry") or "none")
    for r in rows.values():
        if r["status"].split("(")[0] not in SKIP_AFTER:
            continue
        if (kind(r) == kind(row) and int(r["L"]) < int(row["L"])) or \
                (kind(r) == plain and int(r["L"]) <= int(row["L"])):
            return (f"skipped: {r['tool']} {r['solver']} ranks={r['ranks']} "
                    f"check={r['check_unique']} at L={r['L']} ended with {r['status']}")
    return None


def compare_physics(rows: dict) -> None:
    """Fill in QuTiP's deviation from lindring (sz_0, current on bond 0) where both ran, and
    each sector run's deviation from the full-space lindring run.

    QuTiP is compared with the full-space lindring run of the same L and series with the smallest
    residual. A sector run (symmetry not ``none``) is compared with the full-space lindring run of
    the same L with the smallest residual, from the same series if there is one, else from any."""
    def best(cands):
        return min(cands, key=lambda x: float(x["residual"])) if cands else None

    full = [x for x in rows.values() if x["tool"] == "lindring" and x["status"] == "ok"
            and (x.get("symmetry") or "none") == "none"]
    for r in rows.values():
        if r["status"] != "ok":
            continue
        same_L = [x for x in full if int(x["L"]) == int(r["L"])]
        same_series = [x for x in same_L if x.get("series", "") == r.get("series", "")]
        if r["tool"] == "qutip":
            ref, cols = best(same_series), ("dsz0_vs_lindring", "dcurrent_vs_lindring")
        elif (r.get("symmetry") or "none") != "none":
            ref, cols = best(same_series) or best(same_L), ("dsz0_vs_full", "dcurrent_vs_full")
        else:
            continue
        if ref is None:
            continue
        r[cols[0]] = abs(float(r["sz0"]) - float(ref["sz0"]))
        r[cols[1]] = abs(float(r["current_eta0"]) - float(ref["current_eta0"]))


# ============================================================================ table
def _num(v, fmt):
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return "-"


def table(rows: dict, series: str = "") -> str:
    """The full table of one series (README.md's "Full table": series ""); a symmetry column is
    added when the series has sector runs."""
    rows = {k: r for k, r in rows.items() if (r.get("series") or "") == series}
    with_sym = any((r.get("symmetry") or "none") != "none" for r in rows.values())
    out = ["| L | tool | ranks | solver / method | uniq. check | status | wall s | wall s (inside) "
           "| peak MB | residual | iterations | dsz0 vs lindring |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    if with_sym:
        out = [out[0].replace("| uniq. check |", "| uniq. check | symmetry | rows |"),
               out[1] + "---|---|"]
    order = sorted(rows.values(), key=lambda r: (int(r["L"]), r["tool"] != "lindring", r["solver"],
                                                int(r["ranks"]), int(r["check_unique"]),
                                                SYMMETRIES.index(r.get("symmetry") or "none")))
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
        if with_sym:
            out[-1] = out[-1].replace(
                f"| {'yes' if int(r['check_unique']) else 'no'} | {st} |",
                f"| {'yes' if int(r['check_unique']) else 'no'} | {r.get('symmetry') or 'none'} "
                f"| {_int(r.get('basis_size'))} | {st} |", 1)
    return "\n".join(out)


def _int(v) -> str:
    try:
        return f"{int(float(v)):,}"
    except (TypeError, ValueError):
        return "-"


def table_sectors(rows: dict, series: str) -> str:
    """Sector against full space (issue 6): the lindring runs of ``series`` on one rank, one line
    per (L, symmetry, solver), and per L the speed-up of the default command (``--solver auto``,
    default check) in the sector over the full space, with QuTiP's fastest finished method."""
    sel = [r for r in rows.values() if r["tool"] == "lindring" and (r.get("series") or "") == series]
    sel.sort(key=lambda r: (int(r["L"]), SYMMETRIES.index(r.get("symmetry") or "none"),
                            r["solver"], int(r["ranks"])))
    out = ["| L | symmetry | rows | rows / 4^L | ranks | solver | uniq. check | status | wall s "
           "| wall s (inside) | solve s | peak MB | residual | iterations | kernel dim "
           "| d sz_0, d I_eta vs full space |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sel:
        L = int(r["L"])
        sym = r.get("symmetry") or "none"
        d = "-"
        if r.get("dsz0_vs_full"):
            d = f"{_num(r['dsz0_vs_full'], '.1e')}, {_num(r['dcurrent_vs_full'], '.1e')}"
        frac = float(r["basis_size"]) / 4 ** L if r.get("basis_size") else None
        kd = r.get("kernel_dim") or "-"
        out.append(f"| {L} | {sym} | {_int(r.get('basis_size'))} | "
                   f"{'-' if frac is None else format(frac, '.4f')} | {r['ranks']} | {r['solver']} "
                   f"| {'yes' if int(r['check_unique']) else 'no'} | {r['status'].split(':')[0]} "
                   f"| {_num(r.get('wall_s'), '.1f')} | {_num(r.get('wall_s_internal'), '.2f')} "
                   f"| {_num(r.get('solve_s'), '.2f')} "
                   f"| {_num(r.get('peak_mb') or r.get('peak_mb_sampled_tree'), '.0f')} "
                   f"| {_num(r.get('residual'), '.1e')} | {r.get('iterations') or '-'} "
                   f"| {'-' if kd in ('-', '-1') else kd} | {d} |")

    def default_row(L, sym):
        """The run of the default command: --solver auto, default check (1 rank)."""
        cands = [r for r in sel if int(r["L"]) == L and (r.get("symmetry") or "none") == sym
                 and int(r["ranks"]) == 1 and r["status"] == "ok"
                 and "--solver auto" in r.get("command", "")]
        return cands[0] if cands else None

    out += ["", "| L | rows in sector / 4^L | sector: default command, wall s (whole process) / "
            "inside, peak MB | full space: same | speed-up (whole / inside / solve alone) "
            "| peak memory ratio "
            "| QuTiP fastest (whole process), peak MB |",
            "|---|---|---|---|---|---|---|"]
    for L in sorted({int(r["L"]) for r in sel}):
        a, n = default_row(L, "auto"), default_row(L, "none")
        q = [r for r in rows.values() if r["tool"] == "qutip" and int(r["L"]) == L
             and r["status"] == "ok"]
        q = min(q, key=lambda r: float(r["wall_s"])) if q else None
        qs = "-" if q is None else f"{float(q['wall_s']):.1f} s ({q['solver']}), {float(q['peak_mb']):.0f}"
        if q is None and any(r["tool"] == "qutip" and int(r["L"]) == L for r in rows.values()):
            qs = "none finished"

        def cell(r):
            if r is None:
                return "-"
            return (f"{float(r['wall_s']):.1f} / {float(r['wall_s_internal']):.2f} s, "
                    f"{float(r['peak_mb']):.0f}")
        rows_s = f"{_int(a['basis_size'])} / {4 ** L:,}" if a else f"- / {4 ** L:,}"
        sp = mem = "-"
        if a and n:
            sp = (f"{float(n['wall_s']) / float(a['wall_s']):.1f}x / "
                  f"{float(n['wall_s_internal']) / float(a['wall_s_internal']):.1f}x / "
                  + (f"{float(n['solve_s']) / float(a['solve_s']):.0f}x"
                     if float(n["solve_s"]) >= 0.01 and float(a["solve_s"]) > 0 else "-"))
            mem = f"{float(n['peak_mb']) / float(a['peak_mb']):.1f}x"
        out.append(f"| {L} | {rows_s} | {cell(a)} | {cell(n)} | {sp} | {mem} | {qs} |")
    return "\n".join(out)


def compare_sites(work: Path) -> str:
    """Sector against full space on every site and bond, from the output files of one workdir:
    for each L with a full-space (``_none``) and sector files, the largest |d sz_j| and
    |d I_eta(b)| over sites/bonds and over the sector files, and the spread max - min of each
    full-space observable over the ring (translation invariance, which the sector imposes)."""
    import numpy as np
    import xarray as xr
    files = {}
    for f in sorted(work.glob("lindring_L*_n1_*.nc")):
        L = int(f.name.split("_")[1][1:])
        files.setdefault(L, {"none": [], "sector": []})
        files[L]["none" if "_none" in f.name else "sector"].append(f)
    out = ["| L | full-space files | sector files | max over j of d sz_j | max over b of d I_eta(b) "
           "| full-space spread of sz_j, I_eta(b) over the ring |", "|---|---|---|---|---|---|"]
    for L in sorted(files):
        if not files[L]["none"] or not files[L]["sector"]:
            continue
        def obs(f):
            with xr.open_dataset(f) as ds:
                return np.asarray(ds["sz"]), np.asarray(ds["current_eta"])
        full = [obs(f) for f in files[L]["none"]]
        sect = [obs(f) for f in files[L]["sector"]]
        dsz = max(np.abs(a[0] - b[0]).max() for a in full for b in sect)
        dcu = max(np.abs(a[1] - b[1]).max() for a in full for b in sect)
        spread = max(max(np.ptp(a[0]), np.ptp(a[1])) for a in full)
        out.append(f"| {L} | {len(full)} | {len(sect)} | {dsz:.1e} | {dcu:.1e} | {spread:.1e} |")
    return "\n".join(out)


# ============================================================================ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, nargs="+", default=list(range(4, 11)))
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--solvers", nargs="+", default=["direct", "iterative"],
                    help="direct, iterative, auto (passes --solver auto; the row records the "
                         "solver lindring picks, and a solver already planned is not run twice)")
    ap.add_argument("--symmetries", nargs="+", default=["none"], choices=SYMMETRIES,
                    help="lindring solve --symmetry values (QuTiP always solves the full space)")
    ap.add_argument("--default-check", action="store_true",
                    help="lindring: pass no uniqueness flag (lindring checks when the basis has "
                         "<= 4^8 rows) instead of timing with and without the check")
    ap.add_argument("--series", default="",
                    help="label of this measurement campaign, part of each row's key (old rows: "
                         "empty); --table shows one series")
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
    ap.add_argument("--table-sectors", action="store_true",
                    help="print the sector-vs-full-space tables of --series and exit")
    ap.add_argument("--compare-sites", type=Path, metavar="WORKDIR",
                    help="compare sector and full-space output files of WORKDIR on every site "
                         "and bond, print a table and exit")
    ap.add_argument("--qutip-worker", nargs=2, metavar=("L", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.qutip_worker:
        qutip_worker(int(args.qutip_worker[0]), args.qutip_worker[1])
        return
    if args.compare_sites:
        print(compare_sites(args.compare_sites))
        return
    rows = {} if args.fresh else load(args.csv)
    if args.table:
        print(table(rows, args.series))
        return
    if args.table_sectors:
        print(table_sectors(rows, args.series))
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lindring-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"work dir {work}; results {args.csv}", flush=True)

    plan = []
    for L in sorted(args.L):
        if "lindring" in args.tools:
            for sym in args.symmetries:
                def spec(solver, ranks, check):
                    pred = predict(L, sym, solver)
                    if check is None:
                        check = pred["default_check"]
                    return dict(tool="lindring", L=L, ranks=ranks, solver=pred["solver"],
                                solver_arg=solver, check_unique=check, symmetry=sym,
                                series=args.series, basis_size=pred["basis_size"],
                                default_check=args.default_check)
                if args.default_check:
                    for solver in args.solvers:
                        for ranks in args.ranks:
                            plan.append(spec(solver, ranks, None))
                    continue
                for solver in args.solvers:
                    for ranks in args.ranks:
                        plan.append(spec(solver, ranks, 0))
                if L <= args.check_unique_max_L:
                    for solver in args.solvers:
                        for ranks in args.ranks:
                            plan.append(spec(solver, ranks, 1))
        if "qutip" in args.tools:
            for m in args.qutip_methods:
                if m == "svd" and L > SVD_MAX_L:
                    continue
                plan.append(dict(tool="qutip", L=L, ranks=1, solver=m, check_unique=0,
                                 symmetry="none", series=args.series))
    seen, unique = set(), []
    for s in plan:                       # e.g. auto and iterative resolving to the same run
        if key(s) not in seen:
            seen.add(key(s))
            unique.append(s)
    plan = unique

    if args.missing:
        plan = [s for s in plan if not (key(s) in rows and rows[key(s)]["status"] != "skipped")]
    for spec in plan:
        why = blocked(rows, spec)
        label = f"{spec['tool']} L={spec['L']} ranks={spec['ranks']} {spec['solver']} " \
                f"check={spec['check_unique']} symmetry={spec.get('symmetry', 'none')}"
        if why:
            row = {k: v for k, v in spec.items() if k not in ("solver_arg", "default_check")}
            row.update(status="skipped", note=why)
            print(f"{label}: {why}", flush=True)
        else:
            load1 = os.getloadavg()[0]
            print(f"{label}: running (load {load1:.2f}) ...", flush=True)
            if spec["tool"] == "lindring":
                check = None if spec["default_check"] else bool(spec["check_unique"])
                row = lindring_run(spec["L"], spec["ranks"], spec["solver"], check, args, work,
                                   symmetry=spec["symmetry"], solver_arg=spec["solver_arg"],
                                   series=spec["series"])
            else:
                row = qutip_run(spec["L"], spec["solver"], args, work)
            row["load1"] = load1
            print(f"    {row['status']}  wall {row.get('wall_s', float('nan')):.1f}s  "
                  f"peak {row.get('peak_mb') or row.get('peak_mb_sampled_tree') or 0:.0f} MB  "
                  f"residual {row.get('residual', '-')}  {row.get('note', '')}", flush=True)
        rows[key(row)] = {k: (str(v) if v is not None else "") for k, v in row.items()}
        compare_physics(rows)
        save(rows, args.csv)
    print(table(rows, args.series))


if __name__ == "__main__":
    main()
