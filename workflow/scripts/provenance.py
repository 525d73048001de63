"""Snakemake script of rule provenance: results/figures/provenance.html for the report."""
from lindring.io.results import git_commit, open_result
from lindring.report.quicklook import write_provenance
from lindring.solvers.petsc import versions

studies = {}
for name, path in zip(snakemake.params.studies, snakemake.input):
    with open_result(path) as ds:
        studies[name] = ds.load()
env = versions()
env["git_commit"] = git_commit()
write_provenance(snakemake.output[0], studies, env)
