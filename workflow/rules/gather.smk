# Merge the job files of a study into results/<study>.nc along its axes.


rule gather:
    input:
        lambda wc: [job.path for job in JOBS[wc.study]],
    output:
        "results/{study}.nc",
    wildcard_constraints:
        study=_alternatives(JOBS),   # only the studies of the config
    localrule: True
    script:
        "../scripts/gather.py"
