"""Snakemake script of rule gather: results/<study>.nc from the study's job files."""
from lindring.gather import gather
from lindring.results import write_atomic
from lindring.studies import expand_study

study = snakemake.wildcards.study
cfg = snakemake.config["studies"][study]
ds = gather(study, expand_study(study, cfg), cfg)
write_atomic(ds, snakemake.output[0])
