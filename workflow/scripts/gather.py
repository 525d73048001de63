"""Snakemake script of rule gather: results/<study>.nc from the study's job files (each checked
against its point; a file that does not belong stops the rule with a message naming it)."""
import sys

from lindring.workflow.gather import GatherError, gather, write_gathered
from lindring.workflow.studies import expand_study

study = snakemake.wildcards.study
cfg = snakemake.config["studies"][study]
try:
    ds = gather(study, expand_study(study, cfg), cfg)
except GatherError as err:
    sys.exit(f"lindring: error: {err}")
write_gathered(ds, snakemake.output[0])
