"""Snakemake script of the finite-size-scaling rule: results/<study>_scaling.nc.

Inputs: ``snakemake.input.ring`` (a gathered ring study, one parameter point, techniques ed and
optionally cmf) and, optionally, ``snakemake.input.open_chain`` (one or several gathered
open-chain studies, MPO and/or ED).  Output: ``snakemake.output[0]``.  Prints a short table of the
extrapolated currents to stdout.
"""
import xarray as xr

from lindring.analysis.scaling import scaling_dataset, write_scaling


def _paths(x):
    if x is None:
        return []
    if isinstance(x, str):
        return [x]
    return [str(p) for p in x]


def _table(ds: xr.Dataset) -> str:
    def row(label, v, e=None, note=""):
        v = float(v)
        es = "" if e is None else f" +- {float(e):.2g}"
        return f"  {label:<34s} {v:.6g}{es}  {note}".rstrip()

    lines = [f"finite-size scaling, study {ds.attrs.get('study')}: {ds.attrs.get('ring_parameters')}"]
    lines.append("  ring current (ED): " + ", ".join(
        f"L={int(L)}: {float(v):.5g}" for L, v in zip(ds["L"].values, ds["current_ring"].values)))
    for par in ("even", "odd"):
        a = ds[f"current_inf_{par}"]
        lines.append(row(f"L -> inf, {par} L", a, ds[f"current_inf_{par}_err"],
                         f"({a.attrs['fit_model']}: {a.attrs['fit_formula']}, n = {a.attrs['n_points']})"))
    lines.append(row("L -> inf, combined", ds["current_inf"], ds["current_inf_err"]))
    lines.append(row("mean field (cmf), stable branch", ds["current_cmf"],
                     note="broken parity" if float(ds["cmf_broken_branch"]) == 1 else ""))
    lines.append(row("mean field (cmf), symmetric branch", ds["current_cmf_symmetric"]))
    if "current_bulk_open" in ds:
        tech = ds["current_bulk_open"].attrs.get("technique")
        lines.append(row(f"open chain bulk ({tech}), L = {int(ds['L_open_largest'])}",
                         ds["current_bulk_open_largest"],
                         note=f"[{ds.attrs.get('open_chain_parameters')}]"))
        if ds.attrs.get("open_chain_same_parameters") == "no":
            lines.append("  note: the open chain has other parameters than the ring")
    return "\n".join(lines)


ring = xr.open_dataset(snakemake.input.ring).load()
opens = [xr.open_dataset(p).load() for p in _paths(getattr(snakemake.input, "open_chain", None))]
ds = scaling_dataset(ring, opens or None)
ds.attrs["scaling_name"] = snakemake.wildcards.name      # results/<name>_scaling.nc
write_scaling(ds, snakemake.output[0])
print(_table(ds))
