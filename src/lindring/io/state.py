"""Saved steady states: the vector of one ED solve, to start a neighbouring point's solve from.

``lindring solve --save-state FILE`` writes the steady state ``x`` of the trace-constrained
system ``L' x = scale e_0`` (:mod:`lindring.solvers.steady`; ``Tr rho = 1``) as a small NetCDF
file; ``--initial-guess FILE`` starts the next solve's GMRES from it (``KSPSetInitialGuessNonzero``).
The file describes itself::

    variables   state (row)              the components x, real part
                state_imag (row)         imaginary part (complex builds only)
    attributes  format = "lindring-steady-state", format_version
                L, bc, operator_basis (pauli / matrix-units), symmetry (the sector solved in),
                rows, basis_fingerprint (of the words of the rows, in order:
                :func:`lindring.core.basis.basis_fingerprint`), data_sha256
                (of the values as little-endian float64), the point's parameters
                (:func:`lindring.io.results.parameter_attrs`), lindring_version, git_commit,
                created, complete = 1

A guess is used only where it is a vector of the same space, row by row: the same L, boundary,
operator basis, sector, row count and fingerprint (:func:`mismatches`). There is no mapping
between bases or sectors: the points of a sweep solve in the same space, except where a
scanned parameter breaks a symmetry (``eps_x`` on or off), and the workflow takes its
neighbours in the same sector only (:mod:`lindring.workflow.warm`).
The guess changes only where GMRES starts: the solve still converges to its own tolerance and
is verified as any other, so a guess from another point can cost iterations, never accuracy.

Files are written atomically (a temporary file and a rename, :func:`lindring.io.results.write_atomic`):
a reader sees a complete file or none. A truncated or altered file fails to open or fails
its ``data_sha256``: :class:`StateError` naming the file and the problem.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import os

import numpy as np

from lindring.core.diagnostics import get_logger

log = get_logger(__name__)

#: the ``format`` attribute of a state file, and its version
FORMAT, FORMAT_VERSION = "lindring-steady-state", 1
#: what must agree between a state file and the solve that starts from it, in the order checked
MATCHED = ("L", "bc", "operator_basis", "symmetry", "rows", "basis_fingerprint")
#: real parameters of the paper's model shown by :func:`describe` (and every ``*_re``, ``*_im``)
_REAL_SHOWN = ("phi", "mu", "kappa", "eps_x", "eps_zz")


class StateError(ValueError):
    """A state file is missing, unreadable, incomplete, or does not fit the solve; the message
    names the file and the problem."""


def data_sha256(values: np.ndarray) -> str:
    """The sha256 of ``values`` (real, then imaginary parts if complex) as little-endian float64."""
    values = np.asarray(values)
    digest = hashlib.sha256(np.ascontiguousarray(values.real, dtype="<f8").tobytes())
    if np.iscomplexobj(values):
        digest.update(np.ascontiguousarray(values.imag, dtype="<f8").tobytes())
    return digest.hexdigest()


def write_state(path, values: np.ndarray, header: dict, params_attrs: dict) -> None:
    """Write a state file (atomically; called on one rank).

    Parameters
    ----------
    path : str or path-like
    values : numpy.ndarray, shape (rows,)
        The steady state's components in the basis of ``header`` (real or complex).
    header : dict
        Every key of :data:`MATCHED` (``rows`` must be ``len(values)``).
    params_attrs : dict
        The point's parameters (:func:`lindring.io.results.parameter_attrs`).
    """
    import xarray as xr
    from lindring.io.results import git_commit, write_atomic
    from lindring.version import __version__
    values = np.asarray(values)
    if int(header["rows"]) != len(values):
        raise ValueError(f"state of {len(values)} rows, header says {header['rows']}")
    data = {"state": ("row", np.ascontiguousarray(values.real, dtype=np.float64))}
    if np.iscomplexobj(values):
        data["state_imag"] = ("row", np.ascontiguousarray(values.imag, dtype=np.float64))
    ds = xr.Dataset(data)
    ds["state"].attrs = dict(long_name="steady-state components x (real part): the solution of "
                             "L' x = scale e_0, Tr rho = 1", units="1")
    ds.attrs.update({k: v for k, v in params_attrs.items()
                     if k not in MATCHED and k != "model_text"})
    ds.attrs.update({k: header[k] for k in MATCHED})
    ds.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, method="ed",
                    data_sha256=data_sha256(values), lindring_version=__version__,
                    git_commit=git_commit(), created=datetime.datetime.now(
                        datetime.timezone.utc).isoformat(timespec="seconds"), complete=1)
    ds.attrs["rows"] = int(ds.attrs["rows"])
    write_atomic(ds, path)


def read_header(path) -> dict:
    """The attributes of a state file, checked to be one (format, version, complete).

    Raises
    ------
    StateError
        Missing, not a file, not NetCDF (truncated), not a state file, another format version,
        incomplete, without its variable.
    """
    import xarray as xr
    text = os.fspath(path)
    if not os.path.exists(text):
        raise StateError(f"state file {text}: not found")
    if not os.path.isfile(text):
        raise StateError(f"state file {text}: not a regular file")
    try:
        with xr.open_dataset(text, engine="netcdf4") as ds:
            attrs = dict(ds.attrs)
            variables = set(ds.data_vars)
            length = ds.sizes.get("row", -1)
    except Exception as err:           # netCDF4/HDF5 raise OSError, RuntimeError, ValueError...
        raise StateError(f"state file {text}: cannot be read as NetCDF ({type(err).__name__}: "
                         f"{err}); a truncated or partial file?") from None
    if attrs.get("format") != FORMAT:
        raise StateError(f"state file {text}: not a lindring steady state (format "
                         f"{attrs.get('format', 'none')!r}; written by lindring solve "
                         "--save-state)")
    if attrs.get("format_version") != FORMAT_VERSION:
        raise StateError(f"state file {text}: format version {attrs.get('format_version')}, "
                         f"this lindring reads {FORMAT_VERSION}")
    missing = [k for k in MATCHED + ("data_sha256", "complete") if k not in attrs]
    if missing or "state" not in variables:
        raise StateError(f"state file {text}: incomplete (missing "
                         f"{', '.join(missing + ([] if 'state' in variables else ['state']))})")
    if attrs["complete"] != 1 or int(attrs["rows"]) != length:
        raise StateError(f"state file {text}: incomplete ({length} of {attrs['rows']} rows)")
    attrs["path"] = text
    return attrs


def mismatches(header: dict, expected: dict) -> list[str]:
    """What differs between a state file's ``header`` and the ``expected`` values of the solve
    (keys among :data:`MATCHED`; those not in ``expected`` are not checked), in words."""
    out = []
    for key in MATCHED:
        if key in expected and str(header.get(key)) != str(expected[key]):
            out.append(f"{key} {header.get(key)} in the file, {expected[key]} here")
    return out


def check_header(header: dict, expected: dict) -> None:
    """Raise :class:`StateError` naming every mismatch (:func:`mismatches`)."""
    bad = mismatches(header, expected)
    if bad:
        raise StateError(f"initial guess {header['path']} does not fit this solve: "
                         + "; ".join(bad) + " (a guess must come from the same L, boundary, "
                         "operator basis and symmetry sector)")


def read_values(header: dict) -> np.ndarray:
    """The components of the state file of ``header`` (:func:`read_header`), checked against
    its ``data_sha256``: float64, or complex128 where the file has an imaginary part.

    Raises
    ------
    StateError
        Unreadable data, a wrong length, a checksum that differs, non-finite values.
    """
    import xarray as xr
    path = header["path"]
    try:
        with xr.open_dataset(path, engine="netcdf4") as ds:
            values = np.asarray(ds["state"].values, dtype=np.float64)
            if "state_imag" in ds:
                values = values + 1j * np.asarray(ds["state_imag"].values, dtype=np.float64)
    except Exception as err:
        raise StateError(f"state file {path}: data cannot be read ({type(err).__name__}: "
                         f"{err})") from None
    if len(values) != int(header["rows"]):
        raise StateError(f"state file {path}: {len(values)} values, header says {header['rows']}")
    if data_sha256(values) != header["data_sha256"]:
        raise StateError(f"state file {path}: its data do not match their checksum "
                         "(data_sha256): altered or corrupt")
    if not np.all(np.isfinite(values)):
        raise StateError(f"state file {path}: non-finite values")
    return values


def describe(header: dict) -> str:
    """The state file and the point it was saved at, in words (the ``initial_guess``
    attribute of a warm-started result): ``path (L=8 ring, pauli, parity+momentum; alpha_re=2,
    delta_re=1.5)``."""
    shown = [f"{k}={header[k]:g}" for k in header
             if (k in _REAL_SHOWN or k.endswith(("_re", "_im"))) and not k.startswith("eta_")
             and isinstance(header[k], (int, float, np.number)) and header[k] != 0]
    if header.get("model"):
        shown.insert(0, f"model {header['model']}")
    return (f"{header['path']} (L={header['L']} {header['bc']}, {header['operator_basis']}, "
            f"{header['symmetry']}; {', '.join(shown) or 'all parameters 0'})")


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """Where an ED solve starts from, and where it saves its steady state: what
    :func:`lindring.solvers.methods.run_ed` calls (:meth:`load`, :meth:`store`) to read and
    write state files.

    Attributes
    ----------
    path : str or None
        A state file to start the iterative solve from (``--initial-guess``).
    fallback : bool
        A guess that cannot be used (missing, corrupt, partial, of another space) gives a
        warning and a cold start (``--initial-guess-fallback``; the workflow's warm starts);
        without it, a :class:`lindring.core.model.ModelError` naming the problem.
    save : str or None
        A file to write the verified steady state to (``--save-state``).
    """
    path: str | None = None
    fallback: bool = False
    save: str | None = None

    def load(self, space: dict, solver: str, comm):
        """The guess for a solve in ``space`` (:func:`lindring.solvers.methods.state_space`).
        Collective: rank 0 reads and checks the file (:func:`read_header`,
        :func:`check_header`, :func:`read_values`), every rank gets its verdict.

        Returns
        -------
        (values, source, note)
            ``values``: the components on rank 0 (``None`` elsewhere and on a cold start);
            ``source``: :func:`describe` of the file, every rank (``None``: a cold start);
            ``note``: why a given guess was not used (empty if it was).

        Raises
        ------
        lindring.core.model.ModelError
            The guess cannot be used and ``fallback`` is off.
        """
        from lindring.core.model import ModelError
        from lindring.solvers.petsc import loaded_scalar
        if solver == "direct":
            note = f"initial guess {self.path} not used: the direct solver (LU) does not iterate"
            log.info(f"[warm start] {note}")
            return None, None, note
        values, source, error = None, None, None
        if comm.Get_rank() == 0:
            try:
                header = read_header(self.path)
                check_header(header, space)
                values = read_values(header)
                if np.iscomplexobj(values) and loaded_scalar() == "real":
                    if np.any(values.imag != 0):
                        raise StateError(f"initial guess {self.path}: complex values, the real "
                                         "PETSc build solves this basis")
                    values = values.real
                source = describe(header)
            except StateError as err:
                values, source, error = None, None, str(err)
        source, error = comm.bcast((source, error), root=0)
        if error:
            error = f"--initial-guess: {error}"      # the option it is about, as at the check
            if not self.fallback:
                raise ModelError(error)
            log.warning(f"[warm start] {error}; cold start")
            return None, None, f"{error}; cold start"
        return values, source, ""

    def store(self, values, space: dict, p, comm) -> str:
        """Write a verified steady state (``values``, whole on rank 0) to :attr:`save`
        (:func:`write_state`, atomically). Returns the path, or ``"none"`` with a warning if it
        cannot be written (the result itself stands). Collective."""
        from lindring.io.results import parameter_attrs
        error = None
        if comm.Get_rank() == 0:
            try:
                write_state(self.save, values, space, parameter_attrs(p))
            except OSError as err:
                error = f"{self.save}: {err.strerror or err}"
        error = comm.bcast(error, root=0)
        if error:
            log.warning(f"[warm start] the steady state could not be saved ({error})")
            return "none"
        log.info(f"[warm start] steady state saved to {self.save}")
        return self.save
