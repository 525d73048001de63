"""The model of ``MODEL.md``: parameters, presets, validation and local operators.

Master equation (paper Eq. 11 with the perturbations of Sec. IV C)::

    d rho/dt = -i[H, rho] + kappa sum_j D[sm_j] rho + sum_b D[f_b] rho
    H   = sum_b ( J sp_b sm_{b+1} + lam sp_b sp_{b+1} + h.c. ) + mu sum_j n_j
          + eps_x sum_j sigma^x_j + eps_zz sum_b sigma^z_b sigma^z_{b+1}
    f_b = alpha sm_b + beta sp_b + gamma sm_{b+r} + delta sp_{b+r}     (Eq. 12, r = `range`)
    J   = J0 exp(i phi / L)                                           (Sec. III, App. B)

Sites are 0..L-1; the local basis is ``|0>`` (down, empty) = index 0 and ``|1>`` (up) = index 1.
This module is the one place where these conventions live: every other module (Liouvillian,
observables, mean field, ground state) takes its operators from here.
"""
from __future__ import annotations

import cmath
import dataclasses
import math
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- local operators
#: sigma^+ = |1><0| (raises: one more excitation)
SP = np.array([[0, 0], [1, 0]], dtype=complex)
#: sigma^- = |0><1|
SM = SP.conj().T.copy()
#: n = sigma^+ sigma^- = (1 + sigma^z)/2
N = SP @ SM
SX = SP + SM
SZ = 2 * N - np.eye(2)
ID2 = np.eye(2, dtype=complex)

BOUNDARIES = ("ring", "open")
#: most sites of a chain: exact diagonalisation ends near L = 16-18 and an MPO of thousands of
#: sites is a long run; 1e5 is the end (an MPO plan of 1e5 sites takes ~20 s; L = 1e20 made
#: the sector counts of 4^L run forever)
MAX_L = 10 ** 5
PRESETS = ("minimal",)
#: complex-valued parameters (J0 with phi, lam, and the jump amplitudes)
COMPLEX_PARAMS = ("J0", "lam", "alpha", "beta", "gamma", "delta")
#: real-valued parameters
REAL_PARAMS = ("phi", "mu", "kappa", "eps_x", "eps_zz")
#: every physical parameter, in the order used in files and on the command line
PHYSICAL_PARAMS = ("J0", "phi", "lam", "mu", "kappa", "eps_x", "eps_zz",
                   "alpha", "beta", "gamma", "delta")


#: largest |value| of a parameter: rates ~ |amplitude|^2 and sums over a row of L stay finite
MAX_MAGNITUDE = 1e100
#: smallest nonzero |value|: its square stays a normal double
MIN_MAGNITUDE = 1e-100


class ModelError(ValueError):
    """An impossible or inconsistent set of model parameters."""


@dataclass(frozen=True)
class Params:
    """All parameters of one point of the model (``MODEL.md``).

    Use :func:`make_params` to build one from user input: it applies presets and validates.
    """
    L: int
    bc: str = "ring"
    J0: complex = 0.0
    phi: float = 0.0
    lam: complex = 0.0
    mu: float = 0.0
    kappa: float = 0.0
    eps_x: float = 0.0
    eps_zz: float = 0.0
    alpha: complex = 0.0
    beta: complex = 0.0
    gamma: complex = 0.0
    delta: complex = 0.0
    range: int = 1
    preset: str | None = None

    # -- derived quantities -------------------------------------------------------------
    @property
    def J(self) -> complex:
        """Hopping with the gauge flux, ``J = J0 exp(i phi / L)`` (Sec. III)."""
        return complex(self.J0) * cmath.exp(1j * self.phi / self.L)

    @property
    def eta(self) -> complex:
        """``eta = alpha conj(gamma) - delta conj(beta)`` (Eq. 7)."""
        return self.alpha * np.conj(self.gamma) - self.delta * np.conj(self.beta)

    @property
    def xi(self) -> complex:
        """``xi = alpha conj(delta) - conj(gamma) beta`` (Eq. 8)."""
        return self.alpha * np.conj(self.delta) - np.conj(self.gamma) * self.beta

    @property
    def n_bonds(self) -> int:
        """Nearest-neighbour bonds (b, b+1): L on a ring, L-1 on an open chain."""
        return self.L if self.bc == "ring" else self.L - 1

    def hamiltonian_bonds(self) -> list[tuple[int, int]]:
        """Site pairs (b, b+1) of the nearest-neighbour Hamiltonian bonds."""
        return [(b, (b + 1) % self.L) for b in range(self.n_bonds)]

    def dissipative_bonds(self) -> list[tuple[int, int]]:
        """Site pairs (b, b+range) that carry a jump operator f_b (Eq. 12, Sec. IV C)."""
        r = self.range
        nb = self.L if self.bc == "ring" else self.L - r
        return [(b, (b + r) % self.L) for b in range(nb)]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------- construction
def _as_complex(name: str, value) -> complex:
    shown = value                     # the user's own text or value, in every message
    if isinstance(value, (bool, np.bool_)):
        # True is 1 to complex(); a flag where a number belongs is a mistake (as in model files)
        raise ModelError(f"parameter {name!r}: {shown!r} is not a number")
    if isinstance(value, str):
        try:
            value = complex(value.replace(" ", ""))
        except ValueError:
            raise ModelError(f"parameter {name!r}: cannot read {shown!r} as a number "
                             "(complex values are written like 1+0.5j)") from None
    try:
        z = complex(value)
    except (TypeError, ValueError):
        raise ModelError(f"parameter {name!r}: {shown!r} is not a number") from None
    if not (math.isfinite(z.real) and math.isfinite(z.imag)):
        raise ModelError(f"parameter {name!r}: {shown!r} is not finite")
    if abs(z) > MAX_MAGNITUDE or 0 < abs(z) < MIN_MAGNITUDE:
        raise ModelError(f"parameter {name!r}: |{shown!r}| is outside [{MIN_MAGNITUDE:g}, "
                         f"{MAX_MAGNITUDE:g}] (or 0): its rates would overflow or underflow double "
                         "precision; choose the unit of time so that the rates are of order 1")
    return z


def _as_real(name: str, value) -> float:
    z = _as_complex(name, value)
    if z.imag != 0:
        raise ModelError(f"parameter {name!r} must be real, got {value!r}")
    return z.real


def _shown_int(n: int) -> str:
    """An integer for a message: its digits below 1e12, else ``~10^k`` (never 400 digits; k
    from the bit length: Python refuses str() of more than 4300 digits)."""
    if abs(n) < 10 ** 12:
        return str(n)
    k = int(abs(n).bit_length() * 0.30102999566398120)      # log10(2)
    return f"~10^{k if 10 ** k <= abs(n) else k - 1}"


def _as_integer(name: str, value) -> int:
    """``value`` as an int: integers (Python or numpy), a float with an integral value (``4.0``,
    as YAML or numpy arithmetic give them) and the text of an integer (``"4"``, as the command
    line gives it); never a bool, a fraction (4.7 is not silently 4), a non-finite float or
    other text. The one reading of an integer for ``L``, ``range`` and every integer option
    (:meth:`lindring.core.options.Option.check`)."""
    if isinstance(value, (bool, np.bool_)):
        raise ModelError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise ModelError(f"{name} must be an integer, got {value!r}")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be an integer, got {value!r}") from None


def check_lattice_size(L: int, bc: str, error=None) -> None:
    """Refuse ``L < 2``, and a ring of fewer than 3 sites (MODEL.md: a ring of 2 would count
    its one bond twice), with ``error`` (default :class:`ModelError`)."""
    error = error or ModelError
    if L < 2:
        raise error(f"--L must be >= 2, got L = {L}")
    if bc == "ring" and L < 3:
        raise error(f"a ring needs L >= 3 (a ring of 2 would count its one bond twice), got "
                    f"L = {L}")


def make_params(L, bc="ring", preset=None, range=1, **values) -> Params:
    """Build and validate a :class:`Params`.

    ``preset='minimal'`` is the minimal model of Sec. IV: ``J0 = lam = kappa = 0``, ``mu = 1``,
    ``gamma = conj(alpha)`` and ``beta = conj(delta)``. With it, only ``alpha`` and ``delta`` are
    needed; ``J0``, ``lam``, ``kappa``, ``mu`` and the perturbations ``eps_x``, ``eps_zz`` may be
    given to perturb it (Sec. IV C), but ``beta`` and ``gamma`` are derived and may not be given.
    Unknown names, impossible values and unsupported combinations raise :class:`ModelError`.
    """
    unknown = sorted(set(values) - set(PHYSICAL_PARAMS))
    if unknown:
        raise ModelError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(PHYSICAL_PARAMS)}")
    values = {k: v for k, v in values.items() if v is not None}
    L = _as_integer("--L", L)
    if bc not in BOUNDARIES:
        raise ModelError(f"--bc must be one of {BOUNDARIES}, got {bc!r}")
    check_lattice_size(L, bc)
    if L > MAX_L:
        raise ModelError(f"--L must be <= {MAX_L}, got L = {_shown_int(L)}: exact "
                         "diagonalisation reaches L ~ 16, an MPO chains of thousands of sites")
    range = _as_integer("--range", range)
    if range not in (1, 2):
        raise ModelError(f"--range must be 1 or 2, got {range}")
    if range == 2 and L < 3:
        raise ModelError(f"range = 2 needs L >= 3, got L = {L}")

    if preset is not None and preset not in PRESETS:
        raise ModelError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    if preset == "minimal":
        given = sorted(set(values) & {"beta", "gamma"})
        if given:
            raise ModelError(f"preset 'minimal' derives beta = conj(delta) and gamma = conj(alpha); "
                             f"do not give {', '.join(given)}")
        for name in ("alpha", "delta"):
            if name not in values:
                raise ModelError(f"preset 'minimal' needs {name!r}")
        base = dict(J0=0.0, lam=0.0, kappa=0.0, mu=1.0)
        base.update(values)
        values = base

    clean = {}
    for name, v in values.items():
        clean[name] = _as_complex(name, v) if name in COMPLEX_PARAMS else _as_real(name, v)
    if preset == "minimal":
        clean["gamma"] = clean["alpha"].conjugate()
        clean["beta"] = clean["delta"].conjugate()
    if clean.get("kappa", 0.0) < 0:
        raise ModelError(f"kappa must be >= 0, got {clean['kappa']}")
    return Params(L=L, bc=bc, range=range, preset=preset, **clean)


def rates(p: Params) -> dict[str, float]:
    """The rate (inverse time, in the units of the parameters) that each nonzero parameter
    brings into the Liouvillian: |amplitude|^2 for jump amplitudes, kappa, and |coupling| for
    the Hamiltonian terms (mu, J0, lam, eps_x, eps_zz)."""
    out = {}
    for name in ("alpha", "beta", "gamma", "delta"):
        out[name] = abs(getattr(p, name)) ** 2
    out["kappa"] = abs(p.kappa)
    for name in ("mu", "J0", "lam", "eps_x", "eps_zz"):
        out[name] = abs(getattr(p, name))
    return {k: v for k, v in out.items() if v > 0}


#: the parameters that are jump rates (the rest are Hamiltonian couplings)
DISSIPATIVE = ("alpha", "beta", "gamma", "delta", "kappa")


def check_dissipative(p: Params) -> None:
    """Raise :class:`ModelError` if no jump operator acts (alpha = beta = gamma = delta = kappa =
    0): then every function of H is stationary and the steady state is never unique."""
    if not any(abs(getattr(p, k)) > 0 for k in DISSIPATIVE):
        raise ModelError("no dissipation (alpha = beta = gamma = delta = kappa = 0): every "
                         "function of H is stationary, so the steady state is not unique; give "
                         "a jump rate (or use --method ground for the closed system)")


#: alpha / delta within this factor of 1: "near balance" (issue 15's regime grid: 0.9 .. 1.1)
NEAR_BALANCE = 1.25


def rates_and_jumps(p) -> tuple[dict[str, float], set]:
    """The rates of ``p`` (:func:`rates`, or a model file's per-term rates,
    ``ModelPoint.rates``) and the names among them that are jump rates."""
    if isinstance(p, Params):
        return rates(p), set(DISSIPATIVE)
    return p.rates(), {t.name for t in p.terms if t.kind == "jumps"}


def coherence_ratio(p: Params) -> float:
    """The largest coherent coupling over the largest jump rate (:func:`rates_and_jumps`): 0
    without a Hamiltonian, ``inf`` without dissipation. Pure; a model-file point included."""
    r, jumps = rates_and_jumps(p)
    jump = max((v for k, v in r.items() if k in jumps), default=0.0)
    coherent = max((v for k, v in r.items() if k not in jumps), default=0.0)
    if coherent == 0:
        return 0.0
    return coherent / jump if jump > 0 else math.inf


def regime(p: Params) -> str:
    """The parameter regime of ``p`` in words, for error messages (issue 15): the ratio of the
    largest coherent coupling to the largest jump rate (:func:`coherence_ratio`), the span
    of the rates and, for the paper's model, local decay only (no engineered two-site jump,
    alpha = delta = 0) and alpha / delta near balance. Pure; never raises for valid
    parameters (a model-file point included)."""
    r, _ = rates_and_jumps(p)
    ratio = coherence_ratio(p)
    words = []
    if 0 < ratio < math.inf:
        kind = ("weak dissipation" if ratio > 10 else "strong dissipation" if ratio < 0.1
                else "coherent and dissipative rates comparable")
        words.append(f"{kind} (largest coupling / largest jump rate = {ratio:.3g})")
    elif ratio == 0:
        words.append("dissipation only (no Hamiltonian)")
    if isinstance(p, Params):
        if not p.alpha and not p.delta:
            words.append("local decay only (alpha = delta = 0)")
        elif p.alpha and p.delta and \
                1 / NEAR_BALANCE <= abs(p.alpha) / abs(p.delta) <= NEAR_BALANCE:
            words.append(f"near balance (|alpha| / |delta| = {abs(p.alpha) / abs(p.delta):.3g})")
    if r and max(r.values()) > 1e4 * min(r.values()):
        words.append(f"rates spanning {max(r.values()) / min(r.values()):.1e}")
    return "; ".join(words) or "rates of one order"


#: rates spanning more than this: what the smallest ones set is resolved to ~1e-6 or worse
RESOLVED_SPAN = 1e10


def precision_note(p) -> str | None:
    """A warning where the rates of ``p`` (:func:`rates_and_jumps`) span more than
    :data:`RESOLVED_SPAN`, else ``None``. Every number is computed in double precision relative to
    the largest rate: an observable of the order of the smallest rates that is a small part of
    large terms (a current -2 Re(eta <sp sm>) with |eta| ~ the largest rate) keeps about
    span x 1e-16 of relative error (ring L = 3, minimal model, delta = 1.5: alpha = 1e4 gives
    the current to 1e-7, alpha = 1e6 to 6e-5, alpha = 1e8 1.10 against 2.00, with every check
    of the state passed, since the state itself is right to 1e-15). Pure."""
    r, _ = rates_and_jumps(p)
    if not r:
        return None
    big, small = max(r, key=r.get), min(r, key=r.get)
    span = r[big] / r[small]
    if span <= RESOLVED_SPAN:
        return None
    return (f"the rates span {span:.1e} (that of {big} {r[big]:.3g}, of {small} "
            f"{r[small]:.3g}): in double precision, what the smaller rates contribute to an observable is resolved "
            f"only to ~{min(span * 1e-16, 1):.0e} of itself; where they alone set it (a current of "
            f"their order beside |eta| ~ {r[big]:.3g}), that is the observable's relative error, "
            "which the checks of the state do not see")


def largest_jump_rate(p: Params) -> float:
    """The largest jump rate of ``p`` (:func:`rates_and_jumps`; 0 without jumps), in the units of
    the parameters: the scale of every relaxation rate of the Liouvillian, whatever the
    Hamiltonian's couplings."""
    r, jumps = rates_and_jumps(p)
    return max((v for k, v in r.items() if k in jumps), default=0.0)


def unresolved_rates(p: Params, resolution: float) -> list[str]:
    """Names of the nonzero parameters (of a model file: its terms) whose rate is below
    ``resolution`` times the largest jump rate: a slow mode they make next to that rate may lie
    below what double precision resolves. (The reference is a jump rate, not a Hamiltonian
    coupling: a large coherent coupling such as mu = 1e4 beside alpha = 1 makes undamped
    coherences, not slow modes.)"""
    r, jumps = rates_and_jumps(p)
    top = max((v for k, v in r.items() if k in jumps), default=0.0)
    return sorted(k for k, v in r.items() if v < resolution * top)


def polar(r: float, theta: float) -> tuple[float, float]:
    """``(alpha, delta) = r (cos theta, sin theta)``, the polar form of Fig. 4 and 6."""
    return r * math.cos(theta), r * math.sin(theta)


# ----------------------------------------------------------------------------- operators
def bond_hamiltonian(p: Params) -> np.ndarray:
    """4x4 Hamiltonian of one nearest-neighbour bond (b, b+1), basis |s_b s_{b+1}>.

    ``J sp_b sm_{b+1} + lam sp_b sp_{b+1} + h.c. + eps_zz sz_b sz_{b+1}``.
    """
    h = p.J * np.kron(SP, SM) + p.lam * np.kron(SP, SP)
    h = h + h.conj().T
    return h + p.eps_zz * np.kron(SZ, SZ)


def site_hamiltonian(p: Params) -> np.ndarray:
    """2x2 one-site Hamiltonian ``mu n + eps_x sigma^x``."""
    return p.mu * N + p.eps_x * SX


def bond_jump(p: Params) -> np.ndarray:
    """4x4 jump operator f_b of Eq. 12 on the pair (b, b+range), basis |s_b s_{b+range}>."""
    return (p.alpha * np.kron(SM, ID2) + p.beta * np.kron(SP, ID2)
            + p.gamma * np.kron(ID2, SM) + p.delta * np.kron(ID2, SP))


def site_jumps(p: Params) -> list[np.ndarray]:
    """One-site jump operators: ``sqrt(kappa) sm`` (local decay), if kappa > 0."""
    return [math.sqrt(p.kappa) * SM] if p.kappa > 0 else []


# Observables as operators on a pair of sites (j-1, j) = (b, b+1); see observables.py.
def current_eta_operator(p: Params) -> np.ndarray:
    """Dissipative current ``I_eta = -eta sp_j sm_{j-1} + h.c.`` (Eq. 14), basis |s_{j-1} s_j>."""
    o = -p.eta * np.kron(SM, SP)
    return o + o.conj().T


def current_J_operator(p: Params) -> np.ndarray:
    """Coherent current ``I_J = 2i (J sm_j sp_{j-1} - h.c.)`` (Eq. 14), basis |s_{j-1} s_j>."""
    o = 2j * p.J * np.kron(SP, SM)
    return o + o.conj().T
