#!/usr/bin/env python
"""Multi-rank behaviour of the ED default path, by simulation on this machine (issue 14, item 6).

``lindring solve --method ed --bc ring --L 12 --preset minimal --alpha 2 --delta 1.5`` (every
default: Pauli strings, parity x momentum zero x reflection-even, real PETSc build, GMRES with the
restart by memory, block Jacobi/ILU(0), probe solve) under real ``mpiexec -n R`` for each R of
``--ranks``, one run at a time, under ``nice``. With more ranks than the 2 cores the ranks are
oversubscribed, so wall times say little; what this measures per rank is what a cluster job
would see per rank:

- rows and nonzeros of each rank's block of the matrix (and of its diagonal block, which the
  ILU(0) of block Jacobi copies);
- memory: the resident set (``VmRSS``) after each phase and the peak so far (``ru_maxrss``) of
  each rank, phase by phase (basis enumeration, assembly, GMRES, probe, end);
- CPU seconds (``time.process_time`` of each rank: user + system) of each phase, and of the
  GMRES iterations alone (the ILU(0) set-up timed apart), so the CPU time per iteration summed
  over ranks. Oversubscribed, a rank waiting in MPI polls (OpenMPI yields the core but the
  polling counts as CPU), so the sum over ranks is an upper bound of the work;
- PETSc's ``-log_view`` (one file per run): the MatMult scatter's messages and bytes.

The worker (``--worker``) runs inside ``mpiexec``: it wraps lindring's phases (the basis, the
assembly, each KSP solve, the probe) with timers and calls the command line itself
(``lindring.cli.main``), so the run is the command's; every rank's record is gathered to rank 0
and written as JSON. ``--no-table`` makes the assembly locate columns without the word table (as
it does from L = 15 on, ``basis.LOOKUP_MAX_WORDS``).

    .venv/bin/python benchmarks/bench_ranks.py --L 12 --ranks 1 2 4 8
    .venv/bin/python benchmarks/bench_ranks.py --L 12 --ranks 1 --no-table --series no-table
    .venv/bin/python benchmarks/bench_ranks.py --table

Results: ``benchmarks/results/ranks.csv`` (one row per run, merged by key L, ranks, series) and
``benchmarks/results/ranks_per_rank.json`` (every rank's record).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from keyed_csv import load_keyed, save_keyed  # noqa: E402
CSV = HERE / "results" / "ranks.csv"
PER_RANK = HERE / "results" / "ranks_per_rank.json"
PHASES = ("basis", "assembly", "ilu_setup", "gmres", "probe", "end")
FIELDS = ["L", "ranks", "series", "status", "rows", "nnz", "restart", "rows_per_rank_max",
          "nnz_per_rank_max", "diag_nnz_per_rank_max",
          "wall_s", "cpu_s_all_ranks", "peak_mb_max_rank", "peak_mb_min_rank", "peak_mb_sum",
          "rss_after_basis_mb_max", "peak_after_basis_mb_max", "peak_after_assembly_mb_max",
          "rss_after_assembly_mb_max", "peak_after_gmres_mb_max",
          "basis_cpu_s_sum", "assembly_cpu_s_sum", "ilu_cpu_s_sum", "gmres_cpu_s_sum",
          "probe_cpu_s_sum", "iterations", "probe_iterations", "gmres_cpu_s_per_it_sum",
          "gmres_wall_s_per_it", "matmult_msgs_per_product", "matmult_kb_per_product",
          "current_eta0", "sz0", "residual", "uniqueness", "load_before", "load_after", "note"]


# ----------------------------------------------------------------------------------- worker
def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024
    return float("nan")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Recorder:
    """Per-rank record of each phase: wall and CPU seconds (summed over calls), RSS and peak RSS
    after it, and what the phase reports (rows, nonzeros, iterations)."""

    def __init__(self):
        self.phases = {}

    def add(self, name, wall, cpu, **extra):
        ph = self.phases.setdefault(name, dict(wall_s=0.0, cpu_s=0.0, calls=0))
        ph["wall_s"] += wall
        ph["cpu_s"] += cpu
        ph["calls"] += 1
        ph.update(rss_mb=_rss_mb(), peak_mb=_maxrss_mb(), **extra)

    def timed(self, name, fn, extra=None):
        def wrapper(*args, **kwargs):
            w0, c0 = time.time(), time.process_time()
            out = fn(*args, **kwargs)
            self.add(name, time.time() - w0, time.process_time() - c0,
                     **(extra(out, args, kwargs) if extra else {}))
            return out
        return wrapper


def worker(argv: list[str], out_json: str, no_table: bool) -> None:
    import lindring.cli
    from lindring.core import basis as basis_mod
    from lindring.solvers import liouvillian, methods, steady
    rec = Recorder()
    if no_table:
        basis_mod.LOOKUP_MAX_WORDS = 0

    def assembly_info(out, args, kwargs):
        A = out[0]
        from petsc4py import PETSc
        lo, hi = A.getOwnershipRange()
        local = int(A.getInfo(PETSc.Mat.InfoType.LOCAL)["nz_used"])
        diag = A.getDiagonalBlock() if A.getComm().getSize() > 1 else A
        return dict(rows=hi - lo, first_row=lo, nnz=local,
                    diag_nnz=int(diag.getInfo(PETSc.Mat.InfoType.LOCAL)["nz_used"]))

    methods.make_basis = rec.timed("basis", methods.make_basis)
    liouvillian.assemble = rec.timed("assembly", liouvillian.assemble, assembly_info)
    ksp_solve = steady._ksp_solve

    def timed_ksp_solve(ksp, b, x, label):
        if "gmres" not in rec.phases:           # the first solve: ILU(0) set-up apart
            w0, c0 = time.time(), time.process_time()
            ksp.setUp()
            ksp.setUpOnBlocks()
            rec.add("ilu_setup", time.time() - w0, time.process_time() - c0)
        w0, c0 = time.time(), time.process_time()
        its = ksp_solve(ksp, b, x, label)
        prev = rec.phases.get("gmres", {}).get("iterations", 0)
        rec.add("gmres", time.time() - w0, time.process_time() - c0, iterations=prev + its,
                restart=restart[0])
        return its

    restart = [-1]
    gmres_restart = steady.gmres_restart

    def recorded_restart(*args, **kwargs):
        restart[0] = gmres_restart(*args, **kwargs)
        return restart[0]

    steady._ksp_solve = timed_ksp_solve
    steady.gmres_restart = recorded_restart
    methods.probe_nonsingular = rec.timed(
        "probe", methods.probe_nonsingular, lambda out, a, k: dict(iterations=out.iterations))
    w0, c0 = time.time(), time.process_time()
    status = "ok"
    try:
        lindring.cli.main(argv)
    except SystemExit as err:
        status = f"exit {err.code}"
    rec.add("end", time.time() - w0, time.process_time() - c0)
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    records = comm.gather(dict(rank=comm.Get_rank(), status=status, phases=rec.phases), root=0)
    if comm.Get_rank() == 0:
        Path(out_json).write_text(json.dumps(records, indent=1))


# ----------------------------------------------------------------------------------- driver
def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _log_view(path: Path) -> dict:
    """MatMult's count and the scatter's messages and bytes from PETSc's -log_view summary."""
    out = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^(MatMult|KSPSolve|KSPGMRESOrthog|PCApply|MatSolve)\s+(\d+)\s", line)
        if m and m.group(1) not in out:
            f = line.split()
            # Event Count(max, ratio) Time(max, ratio) Flop(max, ratio) Mess AvgLen Reduct ...
            out[m.group(1)] = dict(count=int(f[1]), time_max=float(f[3]), messages=float(f[7]),
                                   avg_len=float(f[8]))
    return out


def run(L: int, ranks: int, series: str, work: Path, timeout: float, mem_gb: float,
        no_table: bool, extra: list[str]) -> tuple[dict, list]:
    sys.path.insert(0, str(HERE))
    from bench_ed import ALPHA, DELTA, VENV_BIN, run_measured
    tag = f"L{L}_n{ranks}_{series or 'default'}"
    out, js, lv = work / f"{tag}.nc", work / f"{tag}.json", work / f"{tag}.log_view"
    cmd = ["nice", "-n", "10", shutil.which("mpiexec") or "mpiexec", "-n", str(ranks),
           str(VENV_BIN / "python"), str(Path(__file__).resolve()), "--worker", "--json", str(js)]
    if no_table:
        cmd.append("--no-table")
    cmd += ["--", "solve", "--method", "ed", "--bc", "ring", "--L", str(L), "--preset",
            "minimal", "--alpha", str(ALPHA), "--delta", str(DELTA), "--force", "-o", str(out),
            "-log_view", f":{lv}", *extra]
    row = dict(L=L, ranks=ranks, series=series, load_before=_load())
    res = run_measured(cmd, timeout, mem_gb * 1024, work / f"{tag}.out")
    row.update(status=res["status"], wall_s=round(res["wall_s"], 1), load_after=_load(),
               cpu_s_all_ranks=round(res.get("cpu_s", float("nan")), 1))
    records = json.loads(js.read_text()) if js.exists() else []
    if records:
        def ph(r, name, key):
            return r["phases"].get(name, {}).get(key, float("nan"))

        def mx(name, key):
            return round(max(ph(r, name, key) for r in records), 1)

        def sm(name, key):
            return round(sum(ph(r, name, key) for r in records), 2)
        peaks = [ph(r, "end", "peak_mb") for r in records]
        its = records[0]["phases"].get("gmres", {}).get("iterations", 0)
        row.update(rows_per_rank_max=int(mx("assembly", "rows")),
                   nnz_per_rank_max=int(mx("assembly", "nnz")),
                   diag_nnz_per_rank_max=int(mx("assembly", "diag_nnz")),
                   restart=records[0]["phases"].get("gmres", {}).get("restart"),
                   peak_mb_max_rank=round(max(peaks)), peak_mb_min_rank=round(min(peaks)),
                   peak_mb_sum=round(sum(peaks)),
                   rss_after_basis_mb_max=mx("basis", "rss_mb"),
                   peak_after_basis_mb_max=mx("basis", "peak_mb"),
                   peak_after_assembly_mb_max=mx("assembly", "peak_mb"),
                   rss_after_assembly_mb_max=mx("assembly", "rss_mb"),
                   peak_after_gmres_mb_max=mx("gmres", "peak_mb"),
                   basis_cpu_s_sum=sm("basis", "cpu_s"), assembly_cpu_s_sum=sm("assembly", "cpu_s"),
                   ilu_cpu_s_sum=sm("ilu_setup", "cpu_s"), gmres_cpu_s_sum=sm("gmres", "cpu_s"),
                   probe_cpu_s_sum=sm("probe", "cpu_s"),
                   gmres_cpu_s_per_it_sum=round(sm("gmres", "cpu_s") / its, 4) if its else "",
                   gmres_wall_s_per_it=round(mx("gmres", "wall_s") / its, 4) if its else "")
    lvd = _log_view(lv)
    if "MatMult" in lvd and ranks > 1:
        mm = lvd["MatMult"]
        # -log_view's Mess is the total over ranks of messages sent by the event
        row.update(matmult_msgs_per_product=round(mm["messages"] / mm["count"], 1),
                   matmult_kb_per_product=round(mm["messages"] * mm["avg_len"] / mm["count"] / 1024, 1))
    if res["status"] == "ok" and out.exists():
        import xarray as xr
        with xr.open_dataset(out) as ds:
            a = ds.attrs
            row.update(rows=a.get("basis_size"), nnz=a.get("nnz"),
                       iterations=a.get("solver_iterations"),
                       probe_iterations=a.get("probe_iterations"),
                       uniqueness=f"{a.get('uniqueness_method')} (unique={a.get('unique')})",
                       residual=f"{float(ds['residual']):.2e}",
                       current_eta0=f"{float(ds['current_eta'][0]):.15f}",
                       sz0=f"{float(ds['sz'][0]):.15f}")
    print(row, flush=True)
    return row, records


def load_rows() -> dict:
    return load_keyed(CSV, ("L", "ranks", "series"))


def save(rows: dict) -> None:
    save_keyed(CSV, rows, FIELDS, lambda k: (int(k[0]), k[2], int(k[1])))


def table(rows: dict) -> str:
    cols = [("L", "L"), ("ranks", "ranks"), ("series", "series"), ("rows per rank", "rows_per_rank_max"),
            ("nonzeros per rank", "nnz_per_rank_max"), ("peak MB per rank (max / min)", None),
            ("after basis MB", "peak_after_basis_mb_max"),
            ("after assembly MB", "peak_after_assembly_mb_max"),
            ("after GMRES MB", "peak_after_gmres_mb_max"), ("sum of peaks MB", "peak_mb_sum"),
            ("GMRES its (restart)", None), ("probe its", "probe_iterations"),
            ("CPU s / it, all ranks", "gmres_cpu_s_per_it_sum"),
            ("basis CPU s", "basis_cpu_s_sum"), ("assembly CPU s", "assembly_cpu_s_sum"),
            ("ILU CPU s", "ilu_cpu_s_sum"), ("MatMult kB sent per product", "matmult_kb_per_product"),
            ("wall s", "wall_s"), ("current_eta[0]", "current_eta0"), ("load", None)]
    lines = ["| " + " | ".join(c for c, _ in cols) + " |", "|---" * len(cols) + "|"]
    for k in sorted(rows, key=lambda k: (int(k[0]), k[2], int(k[1]))):
        r = rows[k]
        cells = []
        for name, key in cols:
            if key:
                cells.append(str(r.get(key) or "-"))
            elif name.startswith("peak"):
                cells.append(f"{r.get('peak_mb_max_rank')} / {r.get('peak_mb_min_rank')}")
            elif name.startswith("GMRES"):
                cells.append(f"{r.get('iterations')} ({r.get('restart')})")
            else:
                cells.append(f"{r.get('load_before')} -> {r.get('load_after')}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if "--worker" in sys.argv:
        i = sys.argv.index("--")
        own = sys.argv[1:i]
        ap = argparse.ArgumentParser()
        ap.add_argument("--worker", action="store_true")
        ap.add_argument("--json", required=True)
        ap.add_argument("--no-table", action="store_true")
        a = ap.parse_args(own)
        worker(sys.argv[i + 1:], a.json, a.no_table)
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--L", type=int, nargs="+", default=[12])
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--series", default="")
    ap.add_argument("--no-table", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--mem-limit-gb", type=float, default=12)
    ap.add_argument("--work", default="/tmp/plan-bench-ranks")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("--petsc", nargs=argparse.REMAINDER, default=[])
    args = ap.parse_args()
    rows = load_rows()
    if args.table:
        print(table(rows))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    per_rank = json.loads(PER_RANK.read_text()) if PER_RANK.exists() else {}
    for L in args.L:
        for ranks in args.ranks:
            row, records = run(L, ranks, args.series, work, args.timeout, args.mem_limit_gb,
                               args.no_table, args.petsc)
            rows[(str(L), str(ranks), args.series)] = {k: str(v) for k, v in row.items()}
            per_rank[f"L{L}_n{ranks}_{args.series}"] = records
            save(rows)
            PER_RANK.write_text(json.dumps(per_rank, indent=1))
    print(table(rows))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
