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
