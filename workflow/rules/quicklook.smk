# What a run computed, at a glance (config key `quicklook: true`, set in config/config.yaml):
#   results/summary.txt   the table `make run` prints at the end (per study: current vs L with the
#                         extrapolation, scan extremes, non-unique/unchecked/missing points)
#   results/quicklook.html  that table, the figures of the config (results/figures/*.png, .svg)
#                         and the provenance of every study, one page to open in a browser
# Both from the gathered studies, scalings and figures of this run (lindring.report.quicklook).

QUICKLOOK_TARGETS = ["results/summary.txt", "results/quicklook.html"] if config.get("quicklook") else []

if QUICKLOOK_TARGETS:

    rule quicklook:
        input:
            studies=[f"results/{study}.nc" for study in JOBS],
            scalings=[f"results/{name}_scaling.nc" for name in SCALING_INPUTS],
            figures=[t for t in REPORT_TARGETS if t.endswith((".png", ".svg"))],
        output:
            summary="results/summary.txt",
            page="results/quicklook.html",
        params:
            studies=list(JOBS),
            scalings=list(SCALING_INPUTS),
            descriptions={s: (config["studies"][s].get("description") or "") for s in JOBS},
            figures={fig: FIGURE_SUMMARY[fig] for fig in FIGURE_JOBS},
        localrule: True
        script:
            "../scripts/quicklook.py"
