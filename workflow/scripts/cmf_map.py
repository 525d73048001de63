"""Snakemake script of rule cmf_map: a mean-field map (Fig. 3) computed in one process.

``params.spec`` is the entry of the config's ``cmf_maps`` section; the output has the layout of a
gathered study (:func:`lindring.workflow.cmf_maps.cmf_map_dataset`).
"""
from lindring.workflow.cmf_maps import cmf_map_dataset
from lindring.io.results import write_atomic

ds = cmf_map_dataset(snakemake.wildcards.name, dict(snakemake.params.spec))
write_atomic(ds, snakemake.output[0])
