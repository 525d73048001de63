"""Find and initialise a 64-bit-index PETSc/SLEPc build: real or complex scalars.

Debian installs several PETSc builds side by side (``python3-petsc4py-64-complex`` and
``python3-petsc4py-64-real``, each under its own ``/usr/lib/petscdir/...-<scalar>`` folder), and
one process can load only one of them. lindring uses both (one place for this choice:
:data:`SCALAR_OF_BASIS`): the Liouvillian in the Pauli-string basis is a real matrix
(:mod:`lindring.core.pauli`), solved in the real build (each GMRES iteration 2.3x faster, half the
memory per vector: benchmarks/README.md, issue 14); the matrix units ``|k><b|`` need complex
scalars. :func:`init` loads the build asked for at the first call (``scalar``), puts it first on
``sys.path`` (honouring ``PETSC_DIR``/``SLEPC_DIR`` when they point at a build of that scalar
type), initialises petsc4py/slepc4py with the command line's PETSc options, and refuses a
32-bit-index build. Where the real build is not installed, the complex one serves the Pauli basis
too (the same results, slower). A solve that needs the other build than the one loaded runs in a
child MPI world (:mod:`lindring.solvers.builds`).
"""
from __future__ import annotations

import glob
import os
import sys

#: the scalar type of the PETSc build each operator basis is solved in
SCALAR_OF_BASIS = {"pauli": "real", "matrix-units": "complex"}
#: the build loaded when nothing asks for one (``lindring --version``, option checks): the one
#: of the default operator basis, Pauli strings
DEFAULT_SCALAR = "real"

_CANDIDATES = {
    "petsc": ["/usr/lib/petscdir/petsc64-*/x86_64-linux-gnu-{scalar}",
              "/usr/lib/petscdir/petsc64-{scalar}", "/usr/lib/petscdir/petsc*-{scalar}*"],
    "slepc": ["/usr/lib/slepcdir/slepc64-*/x86_64-linux-gnu-{scalar}",
              "/usr/lib/slepcdir/slepc64-{scalar}", "/usr/lib/slepcdir/slepc*-{scalar}*"],
}


class PetscSetupError(RuntimeError):
    """The PETSc/SLEPc build is missing or unsuitable."""


def _python_dir(kind: str, scalar: str) -> str | None:
    """The ``dist-packages`` folder of ``kind`` (petsc or slepc) in the build of ``scalar``:
    ``PETSC_DIR``/``SLEPC_DIR`` first when set (for the complex build always, as before there was
    a choice; for the real one when the path names it), then Debian's folders."""
    env = os.environ.get(f"{kind.upper()}_DIR")
    use_env = env and (scalar == "complex" or scalar in os.path.basename(env.rstrip("/")))
    patterns = ([env] if use_env else []) + [c.format(scalar=scalar) for c in _CANDIDATES[kind]]
    for pattern in patterns:
        for d in sorted(glob.glob(pattern), reverse=True):
            py = os.path.join(d, "lib", "python3", "dist-packages")
            if os.path.isdir(os.path.join(py, f"{kind}4py")):
                return py
    return None


def available(scalar: str) -> bool:
    """Whether a build with ``scalar`` ("real" or "complex") scalars is installed (petsc4py and
    slepc4py both), without loading it."""
    return all(_python_dir(kind, scalar) for kind in ("petsc", "slepc"))


def _add_paths(scalar: str) -> None:
    for kind in ("slepc", "petsc"):
        py = _python_dir(kind, scalar)
        if py and py not in sys.path:
            sys.path.insert(0, py)


_initialised = False
_options: list[str] = []


def loaded_scalar() -> str | None:
    """The scalar type of the PETSc build this process has loaded ("real" or "complex"), or
    ``None`` before :func:`init`."""
    if "petsc4py.PETSc" not in sys.modules:
        return None
    import numpy as np
    from petsc4py import PETSc
    return "complex" if np.issubdtype(PETSc.ScalarType, np.complexfloating) else "real"


def choose_scalar(wanted: str) -> str:
    """The build a solve that wants ``wanted`` scalars gets in a new process: ``wanted`` if
    installed, else the other (the Pauli basis runs in the complex build too)."""
    if wanted == "real" and not available("real"):
        return "complex"
    return wanted


def initial_options() -> list[str] | None:
    """The PETSc options this process was initialised with (``None``: not initialised yet).
    PETSc reads its options database once; a later call cannot change them."""
    return list(_options) if _initialised else None


def init(petsc_args: list[str] | None = None, scalar: str | None = None):
    """Initialise PETSc and SLEPc (once) with ``petsc_args`` as options; return (PETSc, SLEPc).

    Parameters
    ----------
    petsc_args : list of str
        PETSc-style options such as ``['-ksp_type', 'bcgs', '-log_view']``; they go to PETSc's
        options database, so an expert can tune a run without code changes.
    scalar : {"real", "complex"}, optional
        The build to load if none is loaded yet (default :data:`DEFAULT_SCALAR`; the complex
        one where the real build is not installed). Once loaded, a process keeps its build
        (:func:`loaded_scalar`), whatever is asked later.
    """
    global _initialised, _options
    if "petsc4py" not in sys.modules:
        _add_paths(choose_scalar(scalar or DEFAULT_SCALAR))
    try:
        import petsc4py
        import slepc4py
    except ImportError as err:
        raise PetscSetupError(
            "petsc4py/slepc4py not found. Install Debian's python3-petsc4py-64-complex, "
            "python3-slepc4py-64-complex, python3-petsc4py-64-real and python3-slepc4py-64-real "
            "(run `make setup`), or point PETSC_DIR/SLEPC_DIR at a complex-scalar, "
            f"64-bit-index build ({err})") from err
    if not _initialised:
        argv = [sys.argv[0] if sys.argv else "lindring"] + list(petsc_args or [])
        petsc4py.init(argv)
        slepc4py.init(argv)
        _initialised, _options = True, list(petsc_args or [])
    from petsc4py import PETSc
    from slepc4py import SLEPc
    import numpy as np
    if np.dtype(PETSc.IntType).itemsize != 8:
        raise PetscSetupError("the PETSc build has 32-bit indices; lindring needs 64-bit indices "
                              "(Debian: python3-petsc4py-64-complex; Spack: petsc+int64)")
    return PETSc, SLEPc


def versions(petsc: bool = True) -> dict:
    """Versions of the numerical stack, as text: ``{"lindring", "PETSc", "SLEPc", "PETSc_build",
    "MPI", "mpi4py", "numpy", "python"}`` (PETSc and SLEPc only with ``petsc``; they are
    initialised for that). A build that cannot be loaded is named with the reason."""
    import platform
    import numpy as np
    from lindring.version import __version__
    out = {"lindring": __version__}
    if petsc:
        try:
            PETSc, SLEPc = init([])
            out["PETSc"] = "%d.%d.%d" % PETSc.Sys.getVersion()
            out["SLEPc"] = "%d.%d.%d" % SLEPc.Sys.getVersion()
            out["PETSc_build"] = (f"{np.dtype(PETSc.ScalarType).name} scalars, "
                                  f"{8 * np.dtype(PETSc.IntType).itemsize}-bit indices")
        except PetscSetupError as err:
            out["PETSc"] = out["SLEPc"] = f"unusable ({err})"
    try:
        import mpi4py
        from mpi4py import MPI
        lib = MPI.Get_library_version().strip().splitlines()[0]
        out["MPI"] = lib.split(",")[0].strip()
        out["mpi4py"] = mpi4py.__version__
    except ImportError as err:   # pragma: no cover
        out["MPI"] = f"not found ({err})"
    out["numpy"] = np.__version__
    out["python"] = platform.python_version()
    return out
