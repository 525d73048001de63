# lindring workflow: sweeps of `lindring solve` over sizes and parameter grids, gathered per study.
#   snakemake --profile profiles/local          (this machine)
#   snakemake --profile cluster                 (Slurm)
# The studies are in config/config.yaml; `--configfile other.yaml` replaces them.
from snakemake.utils import min_version

min_version("9.0")

if "studies" not in config:
    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/solve.smk"
include: "workflow/rules/gather.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/quicklook.smk"


# The point files are asked for too: a deleted point (or study folder) is recomputed, and its
# gather rerun, even where the gathered file is present and newer.
rule all:
    input:
        [f"results/{study}.nc" for study in JOBS],
        list(JOB_BY_PATH),
        REPORT_TARGETS,  # figures and table of currents, when the config has a figures/scaling section
        QUICKLOOK_TARGETS,  # results/summary.txt and quicklook.html, when the config says quicklook: true
    default_target: True
