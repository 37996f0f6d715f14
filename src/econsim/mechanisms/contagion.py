"""Contagion on an interbank network: Eisenberg–Noe clearing, DebtRank distress, Furfine sequential defaults.

One convention for the first three: ``liabilities[i, j] = L_ij ≥ 0`` is what bank i owes bank j (so bank
j holds the claim, its interbank asset on i is L_ij; an *exposure* matrix X_ij = "i lent to j" is Lᵀ). The
matrix is dense numpy — (n, n), or (B, n, n) for B runs at once — or a ``scipy.sparse`` (n, n) matrix.
Vectors are (n,) or (B, n) to match. No loop over banks: each round is a matrix–vector product (or a
linear solve), and the number of rounds is at most n.

**Eisenberg–Noe (2001) clearing.** Bank i owes p̄_i = Σ_j L_ij + ℓ_i (interbank plus external, equal
seniority), pays its creditors pro rata, Π_ij = L_ij / p̄_i, and has external assets e_i ≥ 0. The clearing
vector is the greatest fixed point of

    p = min(p̄, e + Πᵀ p)                                            (limited liability, absolute priority)

found exactly by the fictitious default algorithm: assume everyone pays in full; the banks that then
cannot, D = {i : e_i + (Πᵀp)_i < p̄_i}, pay everything they have, which solves the linear system

    p_i − (Πᵀ p)_i = e_i   (i ∈ D),      p_i = p̄_i   (i ∉ D);

repeat with the new p until D stops growing (D only grows, so at most n rounds). A bank's equity after
clearing is e_i + (Πᵀp)_i − p̄_i; the *round* in which it defaulted dates the cascade.

**DebtRank (Battiston et al. 2012).** Relative equity loss h_i ∈ [0, 1]; the impact of j on i is
W_ij = min(1, L_ji / E_i) (i's claim on j over i's equity; 1 when E_i ≤ 0 and the claim is positive).
Starting from the shocked distress h(1), each distressed bank passes on its distress once:

    h_i(t + 1) = min(1, h_i(t) + Σ_{j distressed at t} W_ij h_j(t)),

then becomes inactive; a bank whose h rose becomes distressed. The DebtRank is R = Σ_i v_i (h_i(T) − h_i(1))
with economic weights v (default: equity shares). ``variant="differential"`` propagates every increment
instead (Bardoscia et al. 2015): h(t + 1) = min(1, h(t) + W (h(t) − h(t − 1))).

**Furfine (2003) sequential defaults.** Bank i with capital K_i fails when its losses on failed debtors,
λ Σ_{j failed} L_ji (λ the loss given default), reach K_i; starting from the triggered banks, each round
fails the banks the previous failures push over, until none does.

**Threshold cascades with noise (network model, §6, §9).** Conditional default probabilities and
cascades over a CSR exposure graph:

Agent i holds exposures c_ik ≥ 0 to its counterparties k (edge slots of a CSR graph: slot e = (i → k_e)
with weight c_e; repeated slots to one k add up). Its loss when the set D of agents is stressed is
L_i(D) = Σ_k c_ik·1{k ∈ D}; it defaults when the loss exceeds its buffer θ_i less a normal shock:

    default_i  ⇔  L_i(D) ≥ θ_i − σ_i·z_i,   z_i ~ N(0, 1)    ⇒   P(default_i | D) = 1 − Φ((θ_i − L_i(D))/σ_i)

so for one stressed counterparty j:  P(default_i | stressed_j) = 1 − Φ((θ_i − c_ij)/σ_i)  (= ½ at θ_i = c_ij).

A cascade starts from the stressed set D_0; with each agent's shock z_i drawn once, D_{n+1} = D_n ∪
{i : L_i(D_n) ≥ θ_i − σ_i z_i} until nothing changes (at most N rounds; losses only grow, so it ends).
``cascade`` runs many shock draws at once (rows of z), each round one weighted bincount: O(rounds·E).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from econsim.engine.errors import ConfigError

__all__ = [
    "ClearingResult",
    "DebtRankResult",
    "FurfineResult",
    "cascade",
    "cascade_sizes",
    "conditional_default",
    "debtrank",
    "default_probability",
    "eisenberg_noe",
    "furfine",
    "impact_matrix",
]

# A bank short by less than this (relative to what it owes) is not in default: round-off in the solve
# must not start a cascade.
_TOL = 1e-12


@dataclass(frozen=True)
class ClearingResult:
    """Eisenberg–Noe clearing: payments p, obligations p̄, equity after clearing, default round (0 = solvent)."""

    payments: np.ndarray
    obligations: np.ndarray
    equity: np.ndarray
    default_round: np.ndarray
    rounds: int

    @property
    def defaulted(self) -> np.ndarray:
        return self.default_round > 0

    @property
    def shortfall(self) -> np.ndarray:
        """What each bank fails to pay, p̄ − p (the creditors' losses, summed over creditors)."""
        return self.obligations - self.payments


@dataclass(frozen=True)
class DebtRankResult:
    """Final distress h(T), initial distress h(1), the DebtRank R (per run) and the rounds taken."""

    distress: np.ndarray
    initial: np.ndarray
    debtrank: np.ndarray | float
    rounds: int


@dataclass(frozen=True)
class FurfineResult:
    """Round in which each bank failed (0 = survived, 1 = the trigger), losses on failed debtors, rounds."""

    default_round: np.ndarray
    losses: np.ndarray
    rounds: int

    @property
    def defaulted(self) -> np.ndarray:
        return self.default_round > 0


# --- helpers --------------------------------------------------------------------------------------


def _check_matrix(liabilities: Any) -> tuple[Any, int, bool]:
    """(matrix, n, is_sparse) after checking shape and signs; dense input becomes float64."""
    if sp.issparse(liabilities):
        m = sp.csr_matrix(liabilities, dtype=np.float64)
        if m.shape[0] != m.shape[1]:
            raise ConfigError(f"liabilities must be square, got shape {m.shape}")
        if m.nnz and (not np.all(np.isfinite(m.data)) or m.data.min() < 0):
            raise ConfigError("liabilities must be finite and non-negative (L[i, j] = what bank i owes j)")
        return m, m.shape[0], True
    m = np.asarray(liabilities, dtype=np.float64)
    if m.ndim not in (2, 3) or m.shape[-1] != m.shape[-2]:
        raise ConfigError(
            f"liabilities must be (n, n) or (runs, n, n) or a scipy.sparse (n, n) matrix, got shape {m.shape}"
        )
    if not np.all(np.isfinite(m)) or (m.size and m.min() < 0):
        raise ConfigError("liabilities must be finite and non-negative (L[i, j] = what bank i owes j)")
    return m, m.shape[-1], False


def _vector(x: Any, name: str, lead: tuple[int, ...], n: int, nonneg: bool = False) -> np.ndarray:
    v = np.broadcast_to(np.asarray(x, dtype=np.float64), (*lead, n)) if np.ndim(x) == 0 else None
    if v is None:
        v = np.asarray(x, dtype=np.float64)
        if v.shape != (*lead, n):
            raise ConfigError(f"{name} must have shape {(*lead, n)} to match the liabilities, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ConfigError(f"{name} must be finite")
    if nonneg and v.size and v.min() < 0:
        raise ConfigError(f"{name} must be non-negative, got a minimum of {v.min()}")
    return np.array(v, dtype=np.float64)


def _t_matvec(m: Any, x: np.ndarray, is_sparse: bool) -> np.ndarray:
    """(Mᵀ x)_i = Σ_j M_ji x_j, for a sparse (n, n), a dense (n, n) or a stacked dense (B, n, n) matrix."""
    if is_sparse:
        return np.asarray(m.T @ x)
    if m.ndim == 2:
        return x @ m
    return np.einsum("bj,bji->bi", x, m)


def _matvec(m: Any, x: np.ndarray, is_sparse: bool) -> np.ndarray:
    if is_sparse:
        return np.asarray(m @ x)
    if m.ndim == 2:
        return m @ x
    return np.einsum("bij,bj->bi", m, x)


# --- Eisenberg–Noe --------------------------------------------------------------------------------


def eisenberg_noe(
    liabilities: Any, external_assets: Any, external_liabilities: Any = 0.0, max_rounds: int | None = None
) -> ClearingResult:
    """The Eisenberg–Noe clearing vector by the fictitious default algorithm (see the module docstring).

    ``liabilities[i, j]`` is what bank i owes bank j; ``external_assets`` e_i ≥ 0; ``external_liabilities``
    ℓ_i ≥ 0 are owed outside the network with the same seniority as interbank debt.
    """
    m, n, is_sparse = _check_matrix(liabilities)
    if not is_sparse and m.ndim == 2 and n > 256:
        # One large network: an n × n LU per round costs n³; the iterative sparse path costs a few
        # matrix–vector products (on the nonzeros, dense or not).
        m, is_sparse = sp.csr_matrix(m), True
    lead = () if is_sparse else m.shape[:-2]
    e = _vector(external_assets, "external_assets", lead, n, nonneg=True)
    ext = _vector(external_liabilities, "external_liabilities", lead, n, nonneg=True)
    owed_interbank = np.asarray(m.sum(axis=1)).reshape(*lead, n) if is_sparse else m.sum(axis=-1)
    p_bar = owed_interbank + ext
    inv = np.divide(1.0, p_bar, out=np.zeros_like(p_bar), where=p_bar > 0)
    # Π = diag(1/p̄) L: relative liabilities; a bank that owes nothing has a zero row.
    pi = sp.diags(inv) @ m if is_sparse else m * inv[..., :, None]
    if is_sparse:
        pi = sp.csr_matrix(pi)
    p = p_bar.copy()
    default_round = np.zeros(p_bar.shape, dtype=np.int64)
    limit = n + 1 if max_rounds is None else int(max_rounds)
    rounds = 0
    pi_t = pi.T.tocsr() if is_sparse else None
    for rounds in range(1, limit + 1):
        assets = e + _t_matvec(pi, p, is_sparse)
        new = (assets < p_bar * (1.0 - _TOL) - _TOL) & (default_round == 0)
        if not new.any():
            rounds -= 1
            break
        default_round[new] = rounds
        d = default_round > 0
        p = _solve_sparse(pi_t, e, p_bar, d) if is_sparse else _solve_dense(pi, e, p_bar, d, new, p)
    equity = e + _t_matvec(pi, p, is_sparse) - p_bar
    return ClearingResult(
        payments=p, obligations=p_bar, equity=equity, default_round=default_round, rounds=rounds
    )


def _solve_sparse(pi_t: sp.csr_matrix, e: np.ndarray, p_bar: np.ndarray, d: np.ndarray) -> np.ndarray:
    """p_D from (I − (Πᵀ)_DD) p_D = e_D + (Πᵀ)_DN p̄_N; the solvent pay p̄."""
    idx, keep = np.flatnonzero(d), np.flatnonzero(~d)
    rows = pi_t[idx]
    a = sp.identity(idx.size, format="csc") - rows[:, idx].tocsc()
    rhs = e[idx] + rows[:, keep] @ p_bar[keep]
    p = p_bar.copy()
    p[idx] = _sparse_solve(a, rhs, p_bar[idx])
    # The exact solution lies in [0, p̄]; clipping removes only round-off.
    p[idx] = np.clip(p[idx], 0.0, p_bar[idx])
    return p


def _sparse_solve(a: sp.csc_matrix, rhs: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Solve (I − M) x = rhs, M column-substochastic. A direct sparse LU fills in on random networks
    (minutes at 10⁴ banks), so GMRES from the previous payments comes first; its residual is checked, and
    a system it cannot solve to 1e-12 (a closed cycle of defaulters, ρ(M) near 1) falls back to the LU."""
    if rhs.size <= 200:
        return np.atleast_1d(spla.spsolve(a, rhs))
    x, info = spla.gmres(a, rhs, x0=x0, rtol=1e-13, atol=0.0, restart=50, maxiter=200)
    scale = max(float(np.abs(rhs).max()), 1.0)
    if info == 0 and float(np.abs(a @ x - rhs).max()) <= 1e-10 * scale:
        return x
    return np.atleast_1d(spla.spsolve(a, rhs))


def _solve_dense(
    pi: np.ndarray, e: np.ndarray, p_bar: np.ndarray, d: np.ndarray, new: np.ndarray, p: np.ndarray
) -> np.ndarray:
    """The same system as one n × n solve per run (solvent rows are p_i = p̄_i), only for runs that changed."""
    n = p_bar.shape[-1]
    eye = np.eye(n)
    a = eye - np.swapaxes(pi, -1, -2) * d[..., :, None]
    a = np.where(d[..., :, None], a, eye)
    rhs = np.where(d, e, p_bar)
    if pi.ndim == 2:
        return np.clip(np.linalg.solve(a, rhs), 0.0, p_bar)
    # Runs whose default set did not grow keep their payments untouched: a run's result never depends
    # on which other runs share its batch.
    changed = new.any(axis=-1)
    out = p.copy()
    sol = np.linalg.solve(a[changed], rhs[changed][..., None])[..., 0]
    out[changed] = np.clip(sol, 0.0, p_bar[changed])
    return out


# --- DebtRank -------------------------------------------------------------------------------------


def impact_matrix(liabilities: Any, equity: Any) -> Any:
    """W_ij = min(1, L_ji / E_i): the share of bank i's equity lost if bank j pays nothing (1 if E_i ≤ 0)."""
    m, n, is_sparse = _check_matrix(liabilities)
    lead = () if is_sparse else m.shape[:-2]
    eq = _vector(equity, "equity", lead, n)
    inv = np.where(eq > 0, 1.0 / np.where(eq > 0, eq, 1.0), np.inf)
    if is_sparse:
        w = sp.csr_matrix(m.T)
        w.data = np.minimum(1.0, w.data * np.repeat(inv, np.diff(w.indptr)))
        w.eliminate_zeros()
        return w
    with np.errstate(invalid="ignore"):
        w = np.minimum(1.0, np.swapaxes(m, -1, -2) * inv[..., :, None])
    return np.where(np.swapaxes(m, -1, -2) > 0, w, 0.0)


def debtrank(
    liabilities: Any,
    equity: Any,
    shock: Any,
    weights: Any | None = None,
    variant: str = "original",
    max_rounds: int | None = None,
) -> DebtRankResult:
    """DebtRank of an initial distress ``shock`` h(1) ∈ [0, 1] (see the module docstring).

    ``equity`` E_i is each bank's capital before the shock; ``weights`` v_i (default E⁺ / ΣE⁺) weigh the
    distress into R = Σ v_i (h_i(T) − h_i(1)).
    """
    if variant not in ("original", "differential"):
        raise ConfigError(f"variant must be 'original' or 'differential', got {variant!r}")
    w = impact_matrix(liabilities, equity)
    is_sparse = sp.issparse(w)
    n = w.shape[-1]
    lead = () if is_sparse else w.shape[:-2]
    h0 = _vector(shock, "shock", lead, n, nonneg=True)
    if h0.max(initial=0.0) > 1:
        raise ConfigError(f"shock is a relative equity loss in [0, 1], got a maximum of {h0.max()}")
    if weights is None:
        pos = np.maximum(_vector(equity, "equity", lead, n), 0.0)
        tot = pos.sum(axis=-1, keepdims=True)
        v = np.divide(pos, tot, out=np.full_like(pos, 1.0 / n), where=tot > 0)
    else:
        v = _vector(weights, "weights", lead, n, nonneg=True)
    h = h0.copy()
    limit = (2 * n + 2 if variant == "original" else 100 * n + 100) if max_rounds is None else int(max_rounds)
    rounds = 0
    if variant == "original":
        distressed = h > 0
        inactive = np.zeros_like(distressed)
        for rounds in range(1, limit + 1):
            if not distressed.any():
                rounds -= 1
                break
            push = np.where(distressed, h, 0.0)
            h_new = np.minimum(1.0, h + _matvec(w, push, is_sparse))
            inactive |= distressed
            distressed = (h_new > h) & ~inactive
            h = h_new
    else:
        prev = np.zeros_like(h)
        for rounds in range(1, limit + 1):
            dh = h - prev
            if not (dh > 1e-15).any():
                rounds -= 1
                break
            prev, h = h, np.minimum(1.0, h + _matvec(w, dh, is_sparse))
    dr = ((h - h0) * v).sum(axis=-1)
    return DebtRankResult(
        distress=h, initial=h0, debtrank=float(dr) if np.ndim(dr) == 0 else dr, rounds=rounds
    )


# --- Furfine --------------------------------------------------------------------------------------


def furfine(
    liabilities: Any,
    capital: Any,
    trigger: Any,
    loss_given_default: float = 1.0,
    max_rounds: int | None = None,
) -> FurfineResult:
    """Sequential defaults: bank i fails once λ Σ_{j failed} L_ji ≥ K_i (see the module docstring).

    ``trigger`` is a boolean mask (n,) or (B, n) of the banks failing first (round 1).
    """
    if not 0.0 <= float(loss_given_default) <= 1.0:
        raise ConfigError(f"loss_given_default must be in [0, 1], got {loss_given_default}")
    m, n, is_sparse = _check_matrix(liabilities)
    lead = () if is_sparse else m.shape[:-2]
    k = _vector(capital, "capital", lead, n)
    t = np.asarray(trigger, dtype=bool)
    if t.shape != (*lead, n):
        raise ConfigError(f"trigger must be a boolean mask of shape {(*lead, n)}, got {t.shape}")
    default_round = np.where(t, 1, 0).astype(np.int64)
    losses = np.zeros(default_round.shape)
    limit = n + 1 if max_rounds is None else int(max_rounds)
    rounds = 1 if t.any() else 0
    newly = t.copy()
    for r in range(2, limit + 2):
        if not newly.any():
            break
        # Only the newly failed add losses: each debtor's failure is counted once.
        losses = losses + loss_given_default * _t_matvec(m, newly.astype(np.float64), is_sparse)
        newly = (losses >= k) & (losses > 0) & (default_round == 0)
        if newly.any():
            default_round[newly] = r
            rounds = r
    return FurfineResult(default_round=default_round, losses=losses, rounds=rounds)


# --- threshold cascades with noise (the network model) ---------------------------------------------


def _phi(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def default_probability(theta, sigma, loss) -> np.ndarray:
    """1 − Φ((θ − L)/σ), elementwise."""
    return 1.0 - _phi((np.asarray(theta, float) - np.asarray(loss, float)) / np.asarray(sigma, float))


def conditional_default(indptr, indices, weights, theta_n, sigma_n):
    """(i, j, P(default_i | stressed_j)) for every distinct linked pair (i → j): arrays of one length."""
    indptr = np.asarray(indptr)
    n = indptr.size - 1
    sources = np.repeat(np.arange(n), np.diff(indptr))
    targets = np.asarray(indices)[: indptr[-1]].astype(np.int64)
    key = sources * n + targets
    pairs, inverse = np.unique(key, return_inverse=True)
    exposure = np.bincount(inverse, weights=np.asarray(weights, float)[: indptr[-1]], minlength=pairs.size)
    i, j = pairs // n, pairs % n
    theta, sigma = np.asarray(theta_n, float), np.asarray(sigma_n, float)
    return i, j, default_probability(theta[i], sigma[i], exposure)


def cascade(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn) -> np.ndarray:
    """Final default sets (D, N) bool of the cascades started from ``stressed`` (N,) bool, one per row of
    shocks ``z`` (D, N)."""
    indptr = np.asarray(indptr)
    n = indptr.size - 1
    E = int(indptr[-1])
    sources = np.repeat(np.arange(n), np.diff(indptr))
    targets = np.asarray(indices)[:E].astype(np.int64)
    w = np.asarray(weights, float)[:E]
    z = np.atleast_2d(np.asarray(z_dn, float))
    D = z.shape[0]
    barrier = np.asarray(theta_n, float) - np.asarray(sigma_n, float) * z  # (D, N)
    defaulted = np.broadcast_to(np.asarray(stressed_n, bool), (D, n)).copy()
    offsets = (np.arange(D) * n)[:, None]
    for _ in range(n):
        hit = defaulted[:, targets]  # (D, E): the slot's counterparty is in default
        loss = np.bincount((offsets + sources).ravel(), weights=(hit * w).ravel(), minlength=D * n)
        new = (loss.reshape(D, n) >= barrier) | defaulted
        if np.array_equal(new, defaulted):
            break
        defaulted = new
    return defaulted


def cascade_sizes(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn) -> np.ndarray:
    """Share of agents in default at the end of each cascade (D,), the initially stressed included."""
    return cascade(indptr, indices, weights, theta_n, sigma_n, stressed_n, z_dn).mean(axis=1)
