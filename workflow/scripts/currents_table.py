"""Snakemake script of rule currents_table: the extrapolated currents of every scaling dataset
as CSV and as an HTML table for the report (:func:`lindring.report.figures.write_currents_table`)."""
import xarray as xr

from lindring.report.figures import write_currents_table

scalings = {}
for name, path in snakemake.input.items():
    with xr.open_dataset(path) as ds:
        scalings[name] = ds.load()
write_currents_table(scalings, snakemake.output.csv, snakemake.output.html)
