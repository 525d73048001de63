"""Snakemake script of rule quicklook: results/summary.txt and results/quicklook.html from the
gathered studies, scalings and figures of the run (:mod:`lindring.report.quicklook`)."""
import os

from lindring.io.results import open_result
from lindring.report.quicklook import provenance_rows, quicklook_html, summary_text

def _load(path):
    with open_result(path) as ds:
        return ds.load()

studies = {n: _load(p) for n, p in zip(snakemake.params.studies, snakemake.input.studies)}
scalings = {n: _load(p) for n, p in zip(snakemake.params.scalings, snakemake.input.scalings)}
page = snakemake.output.page
pngs = [p for p in snakemake.input.figures if p.endswith(".png")]
text = summary_text(studies, scalings, snakemake.params.descriptions,
                    written=[f"{p}, {p[:-4]}.svg" for p in pngs], page=page)
here = os.path.dirname(page)
figures = []
for png in pngs:
    fig = os.path.basename(png)[:-4]
    about = snakemake.params.figures.get(fig, "").replace("``", "").replace("- ", "", 1)
    figures.append((os.path.relpath(png, here), os.path.relpath(png[:-4] + ".svg", here),
                    f"{fig}: {about}"))
with open(page, "w") as fh:
    fh.write(quicklook_html(text, figures, provenance_rows(studies)))
with open(snakemake.output.summary, "w") as fh:
    fh.write(text)
