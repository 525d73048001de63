# One job per (study, method, L, point): `lindring solve`, MPI ranks and memory from `lindring plan`.
#
# Reruns follow the physics: the rule's params are the job's `lindring solve` arguments (every
# parameter and every option that changes the result), the physics version of lindring and the
# sha256 of a model file (an edited model file reruns its jobs); the
# launcher, the ranks and the memory are resources, which never trigger a rerun. The command is
# an argument list run without a shell: no text of the config is ever interpreted by a shell.
import shlex
import subprocess

from lindring.workflow.plan import beyond_the_code, over_budget, plan_point
from lindring.core.options import resolve as _resolve_options
from lindring.workflow import warm as _warm
from lindring.io.results import PHYSICS_VERSION
from lindring.core import model as _model
from lindring.core.basis import resolve_symmetry as _resolve_symmetry


_PLANS = {}


def _plan_key(job):
    """Points with the same sizes, options, sector and pattern of nonzero parameters share one
    plan (it counts rows and samples the Liouvillian's nonzeros, which depend on that pattern
    only). The pattern has the real and the imaginary part of each parameter apart, and the key
    the sector the point resolves to: a complex alpha or a flux breaks the reflection, so
    ``alpha: [2, "2+0.5j"]`` are two kinds of point (twice the rows, other nonzeros)."""
    if job.method != "ed":
        return (job.method, job.L, job.mpo)
    p = job.model_params()
    # every option the plan reads (plan_point): the gap's phases too
    options = (job.solver, job.symmetry, job.gap, job.gap_sectors)
    sector = _resolve_symmetry(p, job.symmetry)
    if job.model is not None:      # a model file: its parameters' pattern (and fields) decide
        pattern = (job.model,) + tuple(sorted((k, _parts(v)) for k, v in p.values.items()))
        return (job.method, job.L, job.bc, options, sector, pattern)
    pattern = tuple(_parts(getattr(p, k)) for k in _model.PHYSICAL_PARAMS) + (_parts(p.eta),
                                                                              _parts(p.xi))
    return (job.method, job.L, job.bc, job.range, options, sector, pattern)


def _parts(value):
    """Which parts of a number are nonzero: (real, imaginary)."""
    value = complex(value)
    return (value.real != 0, value.imag != 0)


def _plan_of(job):
    """The job's plan, computed once per kind of point (it samples Liouvillian rows)."""
    key = _plan_key(job)
    if key not in _PLANS:
        _PLANS[key] = _make_plan(job)
    return _PLANS[key]


def _plan(wildcards):
    return _plan_of(job_of(wildcards))


def _make_plan(job):
    """The job's plan by the function lindring plan and lindring solve's fit check call
    (plan_point), from the job's own options (its lindring solve arguments)."""
    if job.method not in ("ed", "mpo"):
        return None
    return plan_point(job.method, job.model_params(), _resolve_options(job.method, job.options()),
                      mem_per_rank_mb=config["mem_per_rank_mb"], max_tasks=config["max_tasks"])


def _check_resources():
    """Every ed/mpo point must fit: per rank within mem_per_rank_mb (with at most max_tasks
    ranks) and, where Snakemake has a memory budget (`resources: mem_mb` of a profile), within it."""
    budget = workflow.global_resources.get("mem_mb")
    budget = getattr(budget, "value", budget)
    problems = []
    for job in JOB_BY_PATH.values():
        if job.method == "ed" and 4 ** job.L >= 2 ** 62:
            problems.append(f"{job.path}: L = {job.L} gives a Liouvillian of 4^{job.L} rows, far "
                            "beyond exact diagonalisation (use mpo on an open chain)")
            continue
        try:
            plan = _plan_of(job)
        except (ValueError, OverflowError, ArithmeticError) as err:
            problems.append(f"{job.path}: cannot be planned ({err})")
            continue
        if plan is None:
            continue
        reason = (over_budget(plan, config["mem_per_rank_mb"], config["max_tasks"])
                  or (beyond_the_code(plan) if job.method == "ed" else None))
        if reason:
            problems.append(f"{job.path}: {reason}")
        elif isinstance(budget, (int, float)) and plan.mem_mb > budget:
            problems.append(f"{job.path}: needs mem_mb = {plan.mem_mb}, above the memory "
                            f"available here (resources: mem_mb = {budget})")
    if problems:
        raise WorkflowError("bad config: point(s) that cannot fit the resources (smaller L, "
                            "more ranks or another profile):\n  " + "\n  ".join(problems[:10])
                            + ("\n  ..." if len(problems) > 10 else ""))


if workflow.is_main_process:
    _check_resources()


_MODEL_SHA = {}


def _physics(job):
    """The physics version of lindring, and for a model-file job the sha256 of its file (the
    file's text is its physics: an edited model file reruns its jobs, as a changed parameter
    does). One value either way, so that the paper's jobs keep their recorded params."""
    if job.model is None:
        return PHYSICS_VERSION
    if job.model not in _MODEL_SHA:
        from lindring.core import modelfile
        _MODEL_SHA[job.model] = modelfile.load(job.model).sha256
    return f"{PHYSICS_VERSION}, model sha256 {_MODEL_SHA[job.model]}"


def _tasks(wildcards):
    plan = _plan(wildcards)
    return plan.tasks if plan else 1


def _mpi(wildcards):
    """The MPI launcher for multi-rank jobs; empty for one rank (the Slurm plugin rejects an
    MPI job with one task, and its job step then runs the command without an srun wrapper)."""
    return config["mpi_launcher"] if _tasks(wildcards) > 1 else ""


def solve_command(args, output, mpi, tasks):
    """The argument list of one job: `[launcher -n tasks] lindring solve args --output=...`."""
    launcher = shlex.split(mpi) + ["-n", str(tasks)] if mpi and tasks > 1 else []
    return launcher + [LINDRING, "solve", *args, f"--output={output}"]


rule solve:
    output:
        "results/{study}/{method}/{bc}/L{L}/{point}.nc",
    log:
        "logs/{study}/{method}/{bc}/L{L}/{point}.log",
    wildcard_constraints:
        method="ed|cmf|ground|mpo",
        L=r"\d+",
    params:
        args=lambda wc: job_of(wc).cli_args(),
        physics_version=lambda wc: _physics(job_of(wc)),
    threads: lambda wc: _tasks(wc)
    resources:
        tasks=_tasks,
        mpi=_mpi,
        mem_mb=lambda wc: getattr(_plan(wc), "mem_mb", 1000),
        runtime=lambda wc: getattr(_plan(wc), "runtime_min", 10),
    run:
        # warm starts (config warm_start): chosen now, from the points finished now; not params,
        # so turning them on or off reruns nothing (lindring.workflow.warm)
        job, args, note = job_of(wildcards), list(params.args), None
        if job.method == "ed" and _warm.enabled(config, job.study):
            extra, note = _warm.warm_arguments(job, JOBS[job.study])
            args += extra
        command = solve_command(args, output[0], resources.mpi, resources.tasks)
        with open(log[0], "w") as fh:
            if note:
                fh.write(f"# {note}\n")
            fh.write("$ " + shlex.join(command) + "\n")
            fh.flush()
            code = subprocess.run(command, stdout=fh, stderr=subprocess.STDOUT).returncode
        if code != 0:
            raise WorkflowError(f"lindring solve exited with status {code}; see {log[0]}")
