# One job per (study, method, L, point): `lindring solve`, MPI ranks and memory from `lindring plan`.
from lindring.plan import plan_ed, plan_mpo
from lindring import model as _model


_PLANS = {}


def _plan(wildcards):
    """The job's plan, computed once per job (it samples Liouvillian rows)."""
    job = job_of(wildcards)
    if job.path not in _PLANS:
        _PLANS[job.path] = _make_plan(job)
    return _PLANS[job.path]


def _make_plan(job):
    if job.method == "mpo":
        return plan_mpo(job.L, dict(job.mpo).get("chi", 64))
    if job.method != "ed":
        return None
    p = _model.make_params(job.L, bc=job.bc, preset=job.preset, range=job.range, **dict(job.params))
    return plan_ed(p, job.solver, mem_per_rank_mb=config.get("mem_per_rank_mb", 4000),
                   max_tasks=config.get("max_tasks", 2), symmetry=job.symmetry)


def _tasks(wildcards):
    plan = _plan(wildcards)
    return plan.tasks if plan else 1


def _mpi(wildcards):
    """The MPI launcher for multi-rank jobs; empty for one rank (the Slurm plugin rejects an
    MPI job with one task, and its job step then runs the command without an srun wrapper)."""
    return config.get("mpi_launcher", "mpiexec") if _tasks(wildcards) > 1 else ""


def _launcher(wildcards):
    tasks = _tasks(wildcards)
    return f"{_mpi(wildcards)} -n {tasks}" if tasks > 1 else ""


rule solve:
    output:
        "results/{study}/{method}/{bc}/L{L}/{point}.nc",
    log:
        "logs/{study}/{method}/{bc}/L{L}/{point}.log",
    wildcard_constraints:
        method="ed|cmf|ground|mpo",
        L=r"\d+",
    params:
        args=lambda wc: " ".join(job_of(wc).cli_args()),
        launcher=_launcher,
    threads: lambda wc: _tasks(wc)
    resources:
        tasks=_tasks,
        mpi=_mpi,
        mem_mb=lambda wc: getattr(_plan(wc), "mem_mb", 1000),
        runtime=lambda wc: getattr(_plan(wc), "runtime_min", 10),
    shell:
        "{params.launcher} " + LINDRING + " solve {params.args} -o {output} > {log} 2>&1"
