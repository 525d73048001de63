# Merge the job files of a study into results/<study>.nc along its axes.
import re


rule gather:
    input:
        lambda wc: [job.path for job in JOBS[wc.study]],
    output:
        "results/{study}.nc",
    wildcard_constraints:
        study="|".join(re.escape(name) for name in JOBS),   # only the studies of the config
    localrule: True
    script:
        "../scripts/gather.py"
