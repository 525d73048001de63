"""Find and initialise the complex-scalar, 64-bit-index PETSc/SLEPc build.

Debian installs several PETSc builds side by side; the petsc4py found on the default path may be a
real-scalar one. lindring needs complex scalars (the Liouvillian is complex) and 64-bit indices
(4^L rows). This module puts the complex 64-bit build first on ``sys.path`` (honouring
``PETSC_DIR``/``SLEPC_DIR`` if a user sets them), initialises petsc4py/slepc4py with the command
line's PETSc options, and refuses a real-scalar build with a clear message.
"""
from __future__ import annotations

import glob
import os
import sys

_CANDIDATES = {
    "petsc": ["/usr/lib/petscdir/petsc64-*/x86_64-linux-gnu-complex",
              "/usr/lib/petscdir/petsc64-complex", "/usr/lib/petscdir/petsc*-complex*"],
    "slepc": ["/usr/lib/slepcdir/slepc64-*/x86_64-linux-gnu-complex",
              "/usr/lib/slepcdir/slepc64-complex", "/usr/lib/slepcdir/slepc*-complex*"],
}


class PetscSetupError(RuntimeError):
    """The PETSc/SLEPc build is missing or unsuitable."""


def _python_dir(kind: str) -> str | None:
    env = os.environ.get(f"{kind.upper()}_DIR")
    patterns = ([env] if env else []) + _CANDIDATES[kind]
    for pattern in patterns:
        for d in sorted(glob.glob(pattern), reverse=True):
            py = os.path.join(d, "lib", "python3", "dist-packages")
            if os.path.isdir(os.path.join(py, f"{kind}4py")):
                return py
    return None


def _add_paths() -> None:
    for kind in ("slepc", "petsc"):
        py = _python_dir(kind)
        if py and py not in sys.path:
            sys.path.insert(0, py)


_initialised = False
_options: list[str] = []


def initial_options() -> list[str] | None:
    """The PETSc options this process was initialised with (``None``: not initialised yet).
    PETSc reads its options database once; a later call cannot change them."""
    return list(_options) if _initialised else None


def init(petsc_args: list[str] | None = None):
    """Initialise PETSc and SLEPc (once) with ``petsc_args`` as options; return (PETSc, SLEPc).

    ``petsc_args`` are PETSc-style options such as ``['-ksp_type', 'bcgs', '-log_view']``; they go to
    PETSc's options database, so an expert can tune a run without code changes.
    """
    global _initialised, _options
    if "petsc4py" not in sys.modules:
        _add_paths()
    try:
        import petsc4py
        import slepc4py
    except ImportError as err:
        raise PetscSetupError(
            "petsc4py/slepc4py not found. Install Debian's python3-petsc4py-64-complex and "
            "python3-slepc4py-64-complex (run `make setup`), or point PETSC_DIR/SLEPC_DIR at a "
            f"complex-scalar, 64-bit-index build ({err})") from err
    if not _initialised:
        argv = [sys.argv[0] if sys.argv else "lindring"] + list(petsc_args or [])
        petsc4py.init(argv)
        slepc4py.init(argv)
        _initialised, _options = True, list(petsc_args or [])
    from petsc4py import PETSc
    from slepc4py import SLEPc
    import numpy as np
    if not np.issubdtype(PETSc.ScalarType, np.complexfloating):
        raise PetscSetupError(
            f"the PETSc build at {os.path.dirname(petsc4py.__file__)} has real scalars "
            f"({np.dtype(PETSc.ScalarType).name}); lindring needs a complex-scalar build "
            "(Debian: python3-petsc4py-64-complex; Spack: petsc+complex+int64)")
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
