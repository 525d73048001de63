"""Opt-in (``make test-slurm``): the default study through ``snakemake --profile cluster`` on a
real single-node Slurm cluster brought up on this machine, MPI jobs included."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from conftest import MPI_ENV, ROOT

pytestmark = pytest.mark.slurm
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="module")
def slurm():
    subprocess.run(["bash", str(ROOT / "cluster" / "local-slurm" / "up.sh")], check=True)
    yield
    subprocess.run(["bash", str(ROOT / "cluster" / "local-slurm" / "down.sh")], check=True)


def test_default_study_on_slurm_with_mpi(slurm, tmp_path):
    work = tmp_path / "wf"
    work.mkdir()
    shutil.copytree(ROOT / "cluster", work / "cluster")     # `--profile cluster` reads ./cluster
    # a rank budget of 300 MB gives the L = 9 ring (sector parity+momentum, 14572 rows) two MPI
    # ranks (lindring plan), launched by srun
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config" / "config.yaml"),
           "--profile", "cluster", "--config", "mpi_launcher=srun", "mem_per_rank_mb=300",
           "max_tasks=2"]
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=3600,
                          env=dict(os.environ, **MPI_ENV))
    elapsed = time.time() - t0
    print(f"default study on Slurm: {elapsed:.0f} s")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "slurm" in (proc.stdout + proc.stderr).lower()
    for study in ("ring_vs_L", "theta_scan", "flux_scan"):
        ds = xr.open_dataset(work / "results" / f"{study}.nc")
        assert ds.attrs["missing_points"] == "none", study
    L9 = xr.open_dataset(next((work / "results" / "ring_vs_L" / "ed" / "ring" / "L9").glob("*.nc")))
    assert L9.attrs["mpi_ranks"] == 2
    assert float(L9["residual"]) < 1e-9
