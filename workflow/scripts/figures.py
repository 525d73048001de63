"""Snakemake script of the figure rules (workflow/rules/report.smk): one figure of the paper.

The rule's named inputs are the config keys of the figure (``figures.<figN>`` in the config: a
gathered study, a cmf map or a scaling dataset each); ``params.figure`` names it; the figure is
written next to ``output.png`` as ``<figN>.png`` and ``.svg`` (:mod:`lindring.report.figures`).
"""
import os

import xarray as xr

from lindring.report.figures import draw

datasets = {}
for key, path in snakemake.input.items():
    with xr.open_dataset(path) as ds:
        datasets[key] = ds.load()
paths = draw(snakemake.params.figure, datasets, outdir=os.path.dirname(snakemake.output.png))
for want in (snakemake.output.png, snakemake.output.svg):
    if os.path.abspath(want) not in map(os.path.abspath, paths):
        raise RuntimeError(f"{snakemake.params.figure} wrote {paths}, not {want}")
