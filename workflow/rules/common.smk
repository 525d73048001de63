# Config validation and the job table shared by all rules.
#
# Before any job: every config file is re-read refusing duplicated keys (Snakemake's own loader
# keeps the last of a repeated key), the config is checked against the schema (names that become
# paths, numbers, ranges), and every study is expanded into its points, each checked with the model.
import os
import re
import sys

from lindring.workflow.studies import (StudyError, blocked_paths, expand, load_config,
                                       validate_config)

try:
    for _configfile in workflow.configfiles:
        load_config(_configfile)
    # the schema (../schemas/config.schema.yaml) and the options' defaults (the registry,
    # options.schema.yaml): the one check of a config's values, that of lindring's API too
    validate_config(config)
except StudyError as err:
    raise WorkflowError(f"bad config: {err}")
try:
    JOBS = expand(config)          # {study: [Job, ...]}; every point validated with the model
except StudyError as err:
    raise WorkflowError(f"bad config: {err}")
JOB_BY_PATH = {job.path: job for jobs in JOBS.values() for job in jobs}
# a file where a folder of results/ or logs/ must be (or a folder where a file goes) stops the
# run here, naming it (Snakemake failed each job with a traceback, NotADirectoryError)
_BLOCKED = blocked_paths([p for job in JOB_BY_PATH.values()
                          for p in (job.path, "logs" + job.path[len("results"):-3] + ".log")]
                         + [f"results/{study}.nc" for study in JOBS])
if _BLOCKED:
    raise WorkflowError("cannot write the results here (move these away):\n  "
                        + "\n  ".join(_BLOCKED[:10]) + ("\n  ..." if len(_BLOCKED) > 10 else ""))

# Entry points by absolute path (jobs inherit the submitting shell's PATH) and MPI as root.
BIN = os.path.dirname(sys.executable)
LINDRING = os.path.join(BIN, "lindring")
for var in ("OMPI_ALLOW_RUN_AS_ROOT", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"):
    os.environ.setdefault(var, "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _alternatives(names):
    """A wildcard constraint that matches exactly these names."""
    return "|".join(re.escape(n) for n in names)


def job_of(wildcards):
    path = f"results/{wildcards.study}/{wildcards.method}/{wildcards.bc}/L{wildcards.L}/{wildcards.point}.nc"
    try:
        return JOB_BY_PATH[path]
    except KeyError:
        raise WorkflowError(f"{path} is not a point of any study in the config")
