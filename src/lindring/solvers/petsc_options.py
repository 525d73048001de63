"""Check the PETSc/SLEPc options of a run before any compute: unknown values and unused options.

PETSc reads options lazily: a misspelt option (``-ksp_rtoll``) is never read and silently ignored,
and a bad value (``-ksp_type nonsense``) fails only when the solver is set up, after assembly.
:func:`check_petsc_options` lets every PETSc/SLEPc object lindring's ED uses read the options
database (on small stand-ins: a direct-solver KSP, an iterative KSP, an eigensolver), then asks
PETSc which options nobody read (PETSc's own options-left mechanism, ``PetscOptionsLeftGet``).
"""
from __future__ import annotations

import ctypes
import re

#: options PETSc reads only while solving, viewing or finishing (not in setFromOptions): not
#: checked for use (matrix and vector options, MUMPS controls, viewers, converged reasons, logs)
READ_LATER = re.compile(r"^-(mat_|vec_|(ksp|pc|eps|st|ds|bv|rg|fn|snes)_\w*(view|converged_reason)\w*$"
                        r"|log|malloc|info|options_|help|on_error|error_|mpi_|viewer_|fp_trap|check_)")


class PetscOptionsError(ValueError):
    """A PETSc option is unknown to every solver object, or has a bad value."""


def _libpetsc() -> ctypes.CDLL | None:
    """The PETSc shared library petsc4py loaded in this process (None if not found)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "libpetsc" in line and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.PetscOptionsLeftGet
            return lib
        except (OSError, AttributeError):
            continue
    return None


def unused_options() -> list[str] | None:
    """Options in PETSc's database that no object has read so far (None: cannot tell)."""
    lib = _libpetsc()
    if lib is None:
        return None
    from lindring.solvers.petsc import init
    PETSc, _ = init()
    int_t = ctypes.c_int64 if PETSc.IntType().itemsize == 8 else ctypes.c_int32
    n = int_t(0)
    names = ctypes.POINTER(ctypes.c_char_p)()
    values = ctypes.POINTER(ctypes.c_char_p)()
    if lib.PetscOptionsLeftGet(None, ctypes.byref(n), ctypes.byref(names), ctypes.byref(values)):
        return None
    left = ["-" + names[i].decode() for i in range(n.value)]
    lib.PetscOptionsLeftRestore(None, ctypes.byref(n), ctypes.byref(names), ctypes.byref(values))
    return left


def _is_name(word: str) -> bool:
    """A PETSc option name (``-ksp_type``), not a value (``-1e-05``, ``-inf``)."""
    if not (word.startswith("-") and len(word) > 1 and word[1].isalpha()):
        return False
    try:
        complex(word)
    except ValueError:
        return True
    return False


def repeated_options(petsc_opts: list[str]) -> list[str]:
    """Names of the PETSc options given more than once (``-ksp_type gmres -ksp_type bcgs``)."""
    names = [w for w in petsc_opts if _is_name(w)]
    return sorted({n for n in names if names.count(n) > 1})


def check_petsc_options(petsc_opts: list[str], scalar: str | None = None) -> None:
    """Initialise PETSc with ``petsc_opts`` (the build of ``scalar`` scalars, if none is loaded:
    :func:`lindring.solvers.petsc.init`) and refuse unknown ones before any compute.

    Raises
    ------
    PetscOptionsError
        An option has a value PETSc refuses (e.g. ``-ksp_type nonsense``), no solver object
        reads it (e.g. the misspelt ``-ksp_rtoll``), or it is given twice; the message names it.
    """
    repeated = repeated_options(petsc_opts)
    if repeated:
        raise PetscOptionsError(f"PETSc option(s) {', '.join(repeated)} given twice (PETSc would "
                                "silently keep one); give each once")
    from lindring.solvers.petsc import init
    PETSc, SLEPc = init(petsc_opts, scalar=scalar)
    if not petsc_opts:
        return
    comm = PETSc.COMM_SELF
    A = PETSc.Mat().createAIJ([2, 2], nnz=1, comm=comm)
    for i in range(2):
        A.setValue(i, i, 1.0)
    A.assemble()
    objects = []
    try:
        direct = PETSc.KSP().create(comm=comm)
        direct.setOperators(A)
        direct.setType("preonly")
        direct.getPC().setType("lu")
        direct.getPC().setFactorSolverType("mumps")
        iterative = PETSc.KSP().create(comm=comm)
        iterative.setOperators(A)
        iterative.setType("gmres")
        iterative.getPC().setType("bjacobi")
        eps = SLEPc.EPS().create(comm=comm)
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.NHEP)
        objects = [direct, iterative, eps]
        for obj in objects:
            obj.setFromOptions()
    except PETSc.Error as err:
        raise PetscOptionsError(f"PETSc refuses the options {' '.join(petsc_opts)}: "
                                f"{_petsc_message(err)}") from None
    finally:
        for obj in objects:
            obj.destroy()
        A.destroy()
    left = [name for name in unused_options() or () if not READ_LATER.match(name)]
    if left:
        raise PetscOptionsError(f"PETSc option(s) {', '.join(left)} are not used by any solver "
                                "(misspelt? see -help for the options of -ksp_type, -pc_type, "
                                "-eps_type)")


def _petsc_message(err) -> str:
    text = str(err).strip().splitlines()
    return text[-1] if text else repr(err)
