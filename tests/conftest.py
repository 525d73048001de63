"""Shared test helpers: running the real command line, under real mpiexec where asked."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
LINDRING = str(VENV_BIN / "lindring")

MPI_ENV = dict(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1")


def workflow_env() -> dict:
    """Environment of the Snakemake runs of the local workflow tests.

    Snakemake imports every installed executor plugin at start-up, and the Slurm plugin runs
    ``scontrol show config`` while it is imported (snakemake-executor-plugin-slurm 2.6:
    ``job_status_query.get_min_job_age``, 10 s timeout). On a machine where Slurm is installed but
    its controller is down (as ``make test-slurm`` leaves it: ``cluster/local-slurm/down.sh``
    stops the daemons and keeps /etc/slurm/slurm.conf) that call waits ~9 s for the controller,
    at every Snakemake start. These runs use the local executor and never Slurm, so ``scontrol``
    is shadowed by ``tests/noslurm/scontrol``, which fails at once (the plugin then takes its
    default). ``make test-slurm`` (tests/test_slurm.py) uses the real one.
    """
    path = os.pathsep.join([str(ROOT / "tests" / "noslurm"), os.environ.get("PATH", "")])
    return dict(os.environ, **MPI_ENV, PATH=path)


def run_cli(args, ranks=None, check=True, timeout=600):
    """Run ``lindring <args>`` (under ``mpiexec -n ranks`` if given); return CompletedProcess."""
    cmd = [LINDRING] + [str(a) for a in args]
    if ranks:
        cmd = ["mpiexec", "-n", str(ranks)] + cmd
    env = dict(os.environ, **MPI_ENV)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def cli():
    return run_cli
