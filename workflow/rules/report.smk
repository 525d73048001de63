# Figures of the paper, the finite-size scaling and the report (snakemake --report report.html).
#
# Driven by three optional config sections (schema: workflow/schemas/config.schema.yaml); a config
# without them (config/config.yaml) has none of the rules below except the report's front page:
#   cmf_maps: {<name>: {description, L, preset, fixed, grid}}
#       -> results/maps/<name>.nc: a mean-field map computed in one process (rule cmf_map), in the
#          layout of a gathered study (thousands of points; a job per point would mostly start
#          processes)
#   scaling: {<name>: {ring: <study>, open_chain: <study>}}
#       -> results/<name>_scaling.nc (rule scaling, workflow/scripts/scaling.py)
#   figures: {fig2: {flux: <study>, map: <study>}, fig3: {map: <cmf map>}, fig4: {theta: <study>},
#             fig5: {scaling: <name>, open_chain: <study>}, fig6: {eps_x: <study>, eps_zz: <study>},
#             fig7: {ground: <study>}, disorder: {disordered: <study>, clean: <study>}}
#       -> results/figures/<figN>.png and .svg (rule figure_<figN>), in the report with the caption
#          workflow/report/<figN>.rst, which states the parameters of the studies used
# plus results/figures/currents.{csv,html}, the table of extrapolated currents (rule currents_table).
# A figure whose required study is left out by `run:` is skipped (with a note), as is a scaling.
# rule all builds the figures and the table when these sections are present.
import math
import sys

from lindring.report.figures import FIGURE_INPUTS, describe_study
from lindring.workflow.studies import study_axes


report: "../report/workflow.rst"


CMF_MAPS = config.get("cmf_maps") or {}
SCALING = config.get("scaling") or {}
FIGURES_CONFIG = config.get("figures") or {}
_STUDIES = config.get("studies") or {}

if set(CMF_MAPS) & set(_STUDIES):
    raise WorkflowError(f"bad config: {sorted(set(CMF_MAPS) & set(_STUDIES))} are both studies "
                        "and cmf maps")
_CLASH = {f"{n}_scaling" for n in SCALING} & set(_STUDIES)
if _CLASH:
    raise WorkflowError(f"bad config: studies {sorted(_CLASH)} would share their file "
                        "results/<name>.nc with a scaling; rename them")


def _dataset(name, where, maps=True):
    """results/ path of a gathered study or cmf map; None for a study that `run` leaves out."""
    if name in JOBS:
        return f"results/{name}.nc"
    if maps and name in CMF_MAPS:
        return f"results/maps/{name}.nc"
    if name in _STUDIES:
        return None
    kinds = "a study or a cmf map" if maps else "a study"
    raise WorkflowError(f"bad config: {where}: {name!r} is not {kinds}")


def _describe(name):
    if name in _STUDIES:
        return describe_study(name, _STUDIES[name])
    return describe_study(name, CMF_MAPS[name], kind="cmf map, computed in one process")


def _skip(what, why):
    print(f"lindring report: {what} skipped: {why}", file=sys.stderr)


# --------------------------------------------------------------------------- scaling
SCALING_INPUTS = {}          # name -> {"ring": path, "open_chain": path}
for _name, _sc in SCALING.items():
    _ring = _dataset(_sc["ring"], f"scaling.{_name}.ring", maps=False)
    if _ring is None:
        _skip(f"scaling {_name}", f"study {_sc['ring']} is not in `run`")
        continue
    SCALING_INPUTS[_name] = {"ring": _ring}
    if _sc.get("open_chain"):
        _open = _dataset(_sc["open_chain"], f"scaling.{_name}.open_chain", maps=False)
        if _open is not None:
            SCALING_INPUTS[_name]["open_chain"] = _open


def _grid_points_of(study):
    """The grid axes of a study with more than one value, {axis: count} (the disorder
    realisations, averaged by the scaling, aside)."""
    from lindring.workflow.gather import SEED_AXIS
    values = {}
    for job in JOBS[study]:
        for axis, value in job.coords:
            if axis != SEED_AXIS:
                values.setdefault(axis, set()).add(value)
    return {axis: len(v) for axis, v in values.items() if len(v) > 1}


# a scaling fits one parameter point against L: a study with several is refused here, before any
# job (it failed in rule scaling, after every point was computed)
for _name, _paths in SCALING_INPUTS.items():
    for _key in _paths:
        _many = _grid_points_of(SCALING[_name][_key])
        if _many:
            raise WorkflowError(
                f"bad config: scaling.{_name}.{_key}: study {SCALING[_name][_key]!r} has more "
                f"than one parameter point ({', '.join(f'{a}: {n} values' for a, n in _many.items())}); "
                "a finite-size scaling takes one point against L: give it a study with one value "
                "of each parameter (fixed: or one-value grid axes)")
    _sizes = sorted({job.L for job in JOBS[SCALING[_name]["ring"]]})
    for _parity, _which in ((0, "even"), (1, "odd")):
        if sum(1 for n in _sizes if n % 2 == _parity) < 2:
            raise WorkflowError(
                f"bad config: scaling.{_name}.ring: study {SCALING[_name]['ring']!r} has L = "
                f"{', '.join(map(str, _sizes))}: the scaling extrapolates even and odd L apart "
                f"and needs at least two {_which} sizes")


def _describe_scaling(name):
    sc = SCALING[name]
    lines = [f"- ``{name}`` (finite-size scaling, ``results/{name}_scaling.nc``): ring study "
             f"``{sc['ring']}``" + (f", open chain ``{sc['open_chain']}``" if sc.get("open_chain")
                                   else "")]
    lines += [_describe(s) for s in (sc["ring"], sc.get("open_chain")) if s]
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures
FIGURE_JOBS = {}             # figN -> {config key: input path}
FIGURE_SUMMARY = {}          # figN -> reStructuredText bullets stating the parameters
for _fig, _keys in FIGURES_CONFIG.items():
    _inputs, _lines, _left_out = {}, [], []
    for _key, _name in _keys.items():
        if _key == "scaling":
            if _name not in SCALING:
                raise WorkflowError(f"bad config: figures.{_fig}.scaling: {_name!r} is not an "
                                    f"entry of the scaling section")
            if _name in SCALING_INPUTS:
                _inputs[_key] = f"results/{_name}_scaling.nc"
                _lines.append(_describe_scaling(_name))
            else:
                _left_out.append(_key)
            continue
        _path = _dataset(_name, f"figures.{_fig}.{_key}")
        if _path is None:
            _left_out.append(_key)
        else:
            _inputs[_key] = _path
            _lines.append(_describe(_name))
    _required = [k for k, (_, req) in FIGURE_INPUTS[_fig].items() if req]
    _missing = [k for k in _required if k not in _inputs]
    if _missing or not _inputs:
        _skip(_fig, f"its input(s) {', '.join(_missing or _left_out)} are not in `run`")
        continue
    if _left_out:
        _lines.append(f"- not drawn (left out by ``run``): {', '.join(_left_out)}")
    FIGURE_JOBS[_fig] = _inputs
    # one line per study, even where two inputs name it (a scaling and its open chain)
    FIGURE_SUMMARY[_fig] = "\n".join(dict.fromkeys("\n".join(_lines).splitlines()))

CMF_MAPS_USED = sorted({p[len("results/maps/"):-3] for ins in FIGURE_JOBS.values()
                        for p in ins.values() if p.startswith("results/maps/")})

# what rule all adds (Snakefile): the figures and the table of currents
REPORT_TARGETS = [f"results/figures/{fig}.{ext}" for fig in FIGURE_JOBS for ext in ("png", "svg")]
if SCALING_INPUTS:
    REPORT_TARGETS += ["results/figures/currents.csv", "results/figures/currents.html"]


if CMF_MAPS_USED:

    def _map_points(wildcards):
        spec = dict(CMF_MAPS[wildcards.name])
        return math.prod(len(v) for _, v in study_axes(wildcards.name, spec)) or 1

    rule cmf_map:
        output:
            "results/maps/{name}.nc",
        wildcard_constraints:
            name=_alternatives(CMF_MAPS_USED),
        params:
            spec=lambda wc: CMF_MAPS[wc.name],
        threads: 1
        resources:
            mem_mb=1000,
            # measured 0.1-0.3 s per point on a loaded 2-core machine; ask for 3x that
            runtime=lambda wc: max(10, math.ceil(_map_points(wc) * 0.9 / 60)),
        script:
            "../scripts/cmf_map.py"


if SCALING_INPUTS:

    rule scaling:
        input:
            unpack(lambda wc: SCALING_INPUTS[wc.name]),
        output:
            "results/{name}_scaling.nc",
        wildcard_constraints:
            name=_alternatives(SCALING_INPUTS),
        localrule: True
        script:
            "../scripts/scaling.py"

    rule currents_table:
        input:
            **{name: f"results/{name}_scaling.nc" for name in SCALING_INPUTS},
        output:
            csv=report("results/figures/currents.csv", caption="../report/currents.rst",
                       category="Extrapolated currents", labels={"table": "CSV"}),
            html=report("results/figures/currents.html", caption="../report/currents.rst",
                        category="Extrapolated currents", labels={"table": "HTML"}),
        params:
            summary="\n".join(_describe_scaling(n) for n in SCALING_INPUTS),
        localrule: True
        script:
            "../scripts/currents_table.py"


for _fig, _inputs in FIGURE_JOBS.items():

    rule:
        name:
            f"figure_{_fig}"
        input:
            **_inputs,
        output:
            png=report(f"results/figures/{_fig}.png", caption=f"../report/{_fig}.rst",
                       category="Figures",
                       labels={"figure": f"Fig. {_fig[3:]}" if _fig.startswith("fig") else _fig}),
            svg=f"results/figures/{_fig}.svg",
        params:
            figure=_fig,
            summary=FIGURE_SUMMARY[_fig],
        localrule: True
        script:
            "../scripts/figures.py"


# Provenance of the report: the versions of this environment (lindring and its commit, PETSc,
# SLEPc, MPI) and, per study, what its files record (versions, commits, solvers), its uniqueness
# counts and its worst verification figures (lindring.report.quicklook.write_provenance).
if REPORT_TARGETS:
    REPORT_TARGETS.append("results/figures/provenance.html")

    rule provenance:
        input:
            [f"results/{study}.nc" for study in JOBS],
        output:
            report("results/figures/provenance.html", caption="../report/provenance.rst",
                   category="Provenance", labels={"table": "versions and verification"}),
        params:
            studies=list(JOBS),
        localrule: True
        script:
            "../scripts/provenance.py"
