"""A double-entry ledger of balance sheets per run: the Godley–Lavoie balance-sheet matrix and the
transactions-flow matrix of a stock-flow consistent model.

Holders and sectors. The ledger keeps one balance sheet per *holder*; holders are grouped into named
sectors (``{"households": 1000, "banks": 3, "government": 1}``: household 17 is holder
``offset["households"] + 17``). The matrices are reported by sector; the balance sheets stay per holder.

Stocks and the sign convention (per run b, holder h, instrument i):

    stock[b, h, i] > 0   an asset of h          stock[b, h, i] < 0   a liability of h
    financial instrument i:   Σ_h stock[b, h, i] = 0          (every claim is an asset of one holder and
                                                             a liability of another)
    real asset i (capital, inventories): held without a counterpart, Σ_h stock[b, h, i] ≥ 0
    net worth NW[b, h] = Σ_i stock[b, h, i]  (assets − liabilities, real assets beside the financial ones)
    Σ_h NW[b, h] = Σ_h Σ_{i real} stock[b, h, i]            (financial claims cancel in the aggregate)

Booking. A transaction is a set of legs (holder, account, d); d > 0 is a debit, d < 0 a credit. An
account is an instrument (a stock) or a flow (a row of the transactions-flow matrix, TFM):

    instrument:  Δstock[h, i] = d           (a debit raises an asset or lowers a liability)
    flow f:      TFM[f, sector(h)] += −d    (credits are sources of funds +, debits uses −, as in G–L)
    real asset i bought at cost:  TFM[link(i), sector(h)] += −d   (the purchase is a use in its linked row,
                                                                   e.g. capital → "investment")

``book`` refuses (``UnbalancedTransactionError``, naming the account or holder) any transaction that
breaks, in some run and transaction, one of

    (i)   each holder's own books balance:                 Σ_{legs of h} d = 0
    (ii)  each financial instrument balances:              Σ_{legs on i} d = 0
    (iii) each flow row, with the real assets linked to it: Σ_{legs on f or link⁻¹(f)} d = 0

(tolerance 10⁻⁹ of Σ|d|). Every payment so touches two balance sheets twice (quadruple entry): household
h pays firm f the amount x by deposit for consumption:

    h: debit consumption x (TFM −x), credit deposits x (asset −x)
    f: debit deposits x (asset +x),  credit consumption x (TFM +x)
    if their banks differ (``pay(..., issuers=(bank_h, bank_f), settle="reserves")``):
    bank_h: debit deposits x (liability −x smaller), credit reserves x;  bank_f: the mirror image

Consequences, verified by ``check``: every financial row of the balance-sheet matrix sums to zero; each
holder's net worth ties out, Σ_i stock[h, i] = NW₀[h] + Σ_t saving_t[h] + revaluations[h], where saving
is the sum of h's flow legs (−d) — the tracked NW is booked separately from the stocks, so the tie-out
catches a stock changed outside ``book``; the TFM of the step — rows: the flows, then the changes of the
financial instruments, −Δstock (an asset acquired is a use of funds) — has every row and every column
summing to zero (column: saving = net acquisition of financial assets + real assets bought at cost).
Revaluations of real assets (``revalue``, e.g. depreciation or a price change) change NW but not the
TFM, as in Godley–Lavoie's revaluation matrix. Over a long run the tie-out drifts by rounding wherever
one transaction's legs differ in amount (a deposit debit x + y against flows x and y): the drift grows
with the volume booked, so ``track_volume=True`` keeps each holder's cumulative Σ|d| and measures the
tie-out against it (``residuals``).

Vectorized booking: amounts are (B,) — one transaction per run — or (B, n), n transactions per run at
once, and members are ints, (n,) arrays shared by every run, or (B, n) arrays; one ``book`` call applies
all of them (``np.add.at`` over flat indices, in transaction order), with no Python loop over holders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from econsim.engine.errors import ConfigError, EconsimError, unknown
from econsim.engine.kernels import jit

__all__ = [
    "Ledger",
    "LedgerImbalanceError",
    "SectorMatrix",
    "UnbalancedTransactionError",
]

RTOL = 1e-9
_EPS = float(np.finfo(np.float64).eps)


class UnbalancedTransactionError(EconsimError, ValueError):
    """A transaction whose debits and credits do not cancel (per holder, per instrument or per flow)."""


class LedgerImbalanceError(EconsimError, ArithmeticError):
    """A row or column of the ledger's matrices does not sum to zero, or a net worth does not tie out."""


class SectorMatrix(NamedTuple):
    """A matrix per run by sector: ``values`` (B, rows, sectors) with its row and column names."""

    values: np.ndarray
    rows: tuple[str, ...]
    columns: tuple[str, ...]

    def row_sums(self) -> np.ndarray:
        """(B, rows): the Σ column."""
        return self.values.sum(axis=2)

    def column_sums(self) -> np.ndarray:
        """(B, sectors): the Σ row."""
        return self.values.sum(axis=1)

    def frame(self, run: int = 0) -> Any:
        """Run ``run`` as a pandas DataFrame with a Σ column and a Σ row (for printing)."""
        import pandas as pd

        table = pd.DataFrame(self.values[run], index=list(self.rows), columns=list(self.columns))
        table["Σ"] = table.sum(axis=1)
        table.loc["Σ"] = table.sum(axis=0)
        return table


# Leg kinds of the booking kernels
_FINANCIAL, _REAL, _FLOW, _REVALUE = 0, 1, 2, 3


class _Leg(NamedTuple):
    sector: int
    kind: int  # _FINANCIAL, _REAL or _FLOW
    account: int  # instrument index (stocks) or flow index
    row: int  # TFM row: the flow, the real asset's linked flow, or F + index among financial instruments
    holder: np.ndarray  # global holder index, (1 | B, 1 | n) int64
    amount: np.ndarray  # (1 | B, 1 | n) float64
    sign: float  # +1 debit, −1 credit


class Ledger:
    """Balance sheets of every holder in every run, booked by balanced transactions.

    ``Ledger(sectors={"households": 2, "banks": 2}, instruments=("deposits", "loans"),
    flows=("interest",), n_runs=B)``; ``real={"capital": "investment"}`` names the real assets and the
    flow row a purchase at cost appears in. Arrays: ``stock`` (B, H, I), ``net_worth`` (B, H), ``flow``
    (B, F, K) — the TFM's flow rows of the current step by sector —, ``opening`` (B, K, I), the
    sectors' stocks when the step began, ``turnover`` (B, F + I_financial, K), the step's gross amounts,
    and with ``track_volume`` ``volume`` (B, H), each holder's gross amount booked since the start.
    """

    def __init__(
        self,
        sectors: Mapping[str, int] | Sequence[str],
        instruments: Sequence[str],
        flows: Sequence[str] = (),
        real: Mapping[str, str] | None = None,
        n_runs: int = 1,
        track_volume: bool = False,
    ) -> None:
        sizes = dict(sectors) if isinstance(sectors, Mapping) else dict.fromkeys(sectors, 1)
        if not sizes:
            raise ConfigError("a ledger needs at least one sector")
        for name, size in sizes.items():
            if int(size) != size or size < 1:
                raise ConfigError(f"sector '{name}' has {size} members; it must have a whole number ≥ 1")
        self.sectors: tuple[str, ...] = tuple(sizes)
        self.sizes = np.array([int(v) for v in sizes.values()], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.instruments: tuple[str, ...] = tuple(instruments)
        self.flows: tuple[str, ...] = tuple(flows)
        self.real: dict[str, str] = dict(real or {})
        names = [*self.instruments, *self.flows]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"account names must be unique across instruments and flows; repeated: {twice}")
        for inst, row in self.real.items():
            if inst not in self.instruments:
                raise unknown("real instrument", inst, self.instruments)
            if row not in self.flows:
                raise unknown(f"flow row linked to real instrument '{inst}'", row, self.flows)
        if int(n_runs) < 1:
            raise ConfigError(f"n_runs = {n_runs} must be 1 or more")
        self._sector_index = {name: k for k, name in enumerate(self.sectors)}
        self._instrument_index = {name: i for i, name in enumerate(self.instruments)}
        self._flow_index = {name: f for f, name in enumerate(self.flows)}
        self.financial = np.array([i not in self.real for i in self.instruments], dtype=bool)
        B, H, F, K = int(n_runs), self.n_holders, len(self.flows), len(self.sectors)
        n_inst = len(self.instruments)
        self.stock = np.zeros((B, H, n_inst))
        self.net_worth = np.zeros((B, H))
        self.flow = np.zeros((B, F, K))
        self.opening = np.zeros((B, K, n_inst))
        self.turnover = np.zeros((B, F + int(self.financial.sum()), K))
        #: Σ|d| booked by each holder since the start (B, H), or None when not tracked
        self.volume: np.ndarray | None = np.zeros((B, H)) if track_volume else None

    # --- shape and names ---------------------------------------------------------------------------
    @property
    def n_runs(self) -> int:
        return self.stock.shape[0]

    @property
    def n_holders(self) -> int:
        return int(self.offsets[-1])

    def holders(self, sector: str, member: Any = None) -> np.ndarray:
        """Global holder indices of ``sector``'s members (all of them when ``member`` is None)."""
        k = self._sector(sector)
        if member is None:
            return np.arange(self.offsets[k], self.offsets[k + 1])
        return self.offsets[k] + self._member(k, member)

    def stock_of(self, sector: str, instrument: str) -> np.ndarray:
        """(B, members) view of one instrument in one sector's balance sheets."""
        k = self._sector(sector)
        return self.stock[:, self.offsets[k] : self.offsets[k + 1], self._instrument(instrument)]

    def _sector(self, name: str) -> int:
        try:
            return self._sector_index[name]
        except KeyError:
            raise unknown("sector", name, self.sectors, where=" of the ledger") from None

    def _instrument(self, name: str) -> int:
        try:
            return self._instrument_index[name]
        except KeyError:
            raise unknown("instrument", name, self.instruments, where=" of the ledger") from None

    def _account(self, name: str) -> tuple[int, int, int]:
        """(kind, index, TFM row) of an account name."""
        if name in self._instrument_index:
            i = self._instrument_index[name]
            if name in self.real:
                return _REAL, i, self._flow_index[self.real[name]]
            return _FINANCIAL, i, len(self.flows) + int(self.financial[:i].sum())
        if name in self._flow_index:
            f = self._flow_index[name]
            return _FLOW, f, f
        raise unknown("account", name, [*self.instruments, *self.flows], where=" of the ledger")

    @property
    def transaction_rows(self) -> tuple[str, ...]:
        """Rows of the TFM: the flows, then Δ of each financial instrument."""
        return (
            *self.flows,
            *(f"Δ{n}" for n, fin in zip(self.instruments, self.financial, strict=True) if fin),
        )

    def _member(self, k: int, member: Any) -> np.ndarray:
        m = np.asarray(member)
        if m.dtype.kind not in "iu":
            raise ConfigError(f"members of sector '{self.sectors[k]}' must be integers, got {m.dtype}")
        if m.size and (m.min() < 0 or m.max() >= self.sizes[k]):
            raise ConfigError(
                f"member {int(m.max() if m.max() >= self.sizes[k] else m.min())} is out of range for "
                f"sector '{self.sectors[k]}' (members 0 … {self.sizes[k] - 1})"
            )
        return m.astype(np.int64, copy=False)

    # --- booking -----------------------------------------------------------------------------------
    def _per_run(self, a: Any, what: str) -> np.ndarray:
        """Scalar → (1, 1); (n,) member arrays → (1, n); (B,) amounts → (B, 1); (B|1, n) as is."""
        arr = np.asarray(a)
        if arr.ndim == 0:
            return arr.reshape(1, 1)
        if arr.ndim == 1:
            if what == "amount":
                if arr.shape[0] != self.n_runs:
                    raise ConfigError(
                        f"a 1-d amount has one value per run: expected {self.n_runs}, got {arr.shape[0]}"
                    )
                return arr[:, None]
            return arr[None, :]
        if arr.ndim == 2 and arr.shape[0] in (1, self.n_runs):
            return arr
        raise ConfigError(
            f"{what} of shape {arr.shape}: use a scalar, (B,) per run, (n,) per transaction or (B, n)"
        )

    def _leg(self, leg: Sequence[Any], sign: float, amount: Any) -> _Leg:
        if isinstance(leg, str) or not 2 <= len(leg) <= 4:
            raise ConfigError(
                f"a leg is (sector, account[, member[, amount]]), got {leg!r}; e.g. ('households', 'deposits', h_n)"
            )
        sector, account = leg[0], leg[1]
        member = leg[2] if len(leg) > 2 else None
        value = leg[3] if len(leg) > 3 else amount
        k = self._sector(sector)
        kind, index, row = self._account(account)
        if value is None:
            raise ConfigError(f"leg {sector}/{account} has no amount: pass amount= or a 4th entry")
        if member is None:
            if self.sizes[k] != 1:
                raise ConfigError(
                    f"sector '{sector}' has {self.sizes[k]} members: say which, e.g. "
                    f"('{sector}', '{account}', member_n)"
                )
            member = 0
        holder = self._holders(k, member)
        value = np.require(
            self._per_run(np.asarray(value, dtype=np.float64), "amount"), requirements=("C", "W")
        )
        return _Leg(k, kind, index, row, holder, value, sign)

    def _holders(self, k: int, member: Any) -> np.ndarray:
        """Global holder indices (1 | B, 1 | n) of sector k's ``member``: a large member array is checked
        and offset in one compiled pass (a min, a max and a sum are three over 10⁶ households); anything
        else, and any member out of range, goes the general way, which names the problem."""
        m = np.asarray(member)
        batched = m.ndim == 2 and m.shape[0] in (1, self.n_runs)
        if m.dtype.kind == "i" and m.size >= 4096 and (m.ndim == 1 or batched):
            view = m[None, :] if m.ndim == 1 else m
            out = np.empty(view.shape, dtype=np.int64)
            lo, hi = _offset_members(view, int(self.offsets[k]), out)
            if lo >= 0 and hi < self.sizes[k]:
                return out
        return np.ascontiguousarray(self.offsets[k] + self._per_run(self._member(k, member), "member"))

    def book(
        self,
        debit: Sequence[Any] | Sequence[Sequence[Any]],
        credit: Sequence[Any] | Sequence[Sequence[Any]],
        amount: Any = None,
    ) -> None:
        """Book balanced transactions: every debit leg gets +amount, every credit leg −amount.

        A leg is ``(sector, account)``, ``(sector, account, member)`` or ``(sector, account, member,
        amount)`` (its own amount instead of ``amount``); ``debit`` and ``credit`` are one leg or a list.
        Transactions run along the last axis: leg k of transaction n is entry n of every leg's arrays.
        Nothing is booked if any transaction is unbalanced.

            ledger.book(debit=[("households", "consumption", h_n), ("firms", "deposits", f_n)],
                        credit=[("households", "deposits", h_n), ("firms", "consumption", f_n)],
                        amount=spend_bn)
        """
        legs = [self._leg(leg, 1.0, amount) for leg in _leg_list(debit)]
        legs += [self._leg(leg, -1.0, amount) for leg in _leg_list(credit)]
        shapes = [leg.amount.shape for leg in legs] + [leg.holder.shape for leg in legs]
        n_tx = np.broadcast_shapes(*shapes)[1]
        holders = tuple(leg.holder for leg in legs)
        amounts = tuple(leg.amount for leg in legs)
        sign = np.array([leg.sign for leg in legs])
        sector = np.array([leg.sector for leg in legs], dtype=np.int64)
        account = np.array([leg.account for leg in legs], dtype=np.int64)
        kind = np.array([leg.kind for leg in legs], dtype=np.int64)
        row = np.array([leg.row for leg in legs], dtype=np.int64)
        status, b, t, leg_n = _balance_kernel(
            self.n_runs, n_tx, holders, amounts, sign, sector, row, self.turnover.shape[1], RTOL
        )
        if status:
            raise self._unbalanced(legs, status, b, t, leg_n)
        _apply_kernel(
            self.stock, self.net_worth, self.flow, self.turnover, self._volume(), n_tx,
            holders, amounts, sign, sector, account, kind, row,
        )  # fmt: skip

    def book_net(
        self,
        debit: Sequence[Any] | Sequence[Sequence[Any]],
        credit: Sequence[Any] | Sequence[Sequence[Any]],
        amount: Any = None,
    ) -> None:
        """Book many payments by their net effect on each balance sheet, as a deferred net settlement
        system settles a day's payments: legs as in ``book``, but each leg may list its own members and
        amounts — a leg ``("banks", "deposits", bank_n, x_n)`` adds x_n to bank bank_n for every n, so
        one leg per buyer and one per seller book a whole market.

        What is checked is the batch as a whole, per run (10⁻⁹ of the gross amounts): each holder's own
        legs, each financial instrument and each flow row (with its linked real assets) balance. Stocks,
        net worth, TFM, turnover and volume end as ``book`` leaves them, up to rounding; the additions run
        leg by leg, run by run, member by member, so a run's books never depend on its batch. Nothing is
        booked if the batch is unbalanced."""
        specs = [(spec, 1.0) for spec in _leg_list(debit)] + [(spec, -1.0) for spec in _leg_list(credit)]
        values = [spec[3] if not isinstance(spec, str) and len(spec) > 3 else amount for spec, _ in specs]
        if all(isinstance(v, np.ndarray) and v.dtype.kind == "f" and not v.any() for v in values):
            return  # nothing to book (a step without write-offs): skip the passes over the members
        # a debit and a credit leg of one holder set with the very same amount array cancel in that
        # holder's books by construction (a payer's flow and deposit legs): only the others are summed
        # per holder to check them
        keys = [_pair_key(spec, amount) for spec, _ in specs]
        unmatched = np.ones(len(specs), dtype=bool)
        open_: dict[Any, list[int]] = {}
        for n, ((_, sign), key) in enumerate(zip(specs, keys, strict=True)):
            if key is None:
                continue
            waiting = open_.setdefault((key, -sign), [])
            if waiting:
                unmatched[waiting.pop()] = unmatched[n] = False
            else:
                open_.setdefault((key, sign), []).append(n)
        legs = [self._leg(spec, sign, amount) for spec, sign in specs]
        holders = tuple(leg.holder for leg in legs)
        amounts = tuple(leg.amount for leg in legs)
        signs = np.array([leg.sign for leg in legs])
        row = np.array([leg.row for leg in legs], dtype=np.int64)
        B, H = self.n_runs, self.n_holders
        own = (B, H) if unmatched.any() else (0, 0)
        status, where, b, t = _net_balance_kernel(
            B,
            holders,
            amounts,
            signs,
            row,
            self.turnover.shape[1],
            unmatched,
            np.zeros(own),
            np.zeros(own),
            RTOL,
        )
        if status == 1:
            raise UnbalancedTransactionError(
                f"unbalanced payments: account '{self.transaction_rows[where].removeprefix('Δ')}' does not "
                f"sum to zero over the batch (run {b}); every instrument, flow row and holder must balance"
            )
        if status == 2:
            h = int(holders[where][min(b, holders[where].shape[0] - 1), min(t, holders[where].shape[1] - 1)])
            k = int(np.searchsorted(self.offsets, h, side="right") - 1)
            raise UnbalancedTransactionError(
                f"unbalanced payments: holder {self.sectors[k]}[{h - self.offsets[k]}]'s own books do not "
                f"balance over the batch (run {b}); every instrument, flow row and holder must balance"
            )
        _net_apply_kernel(
            self.stock, self.net_worth, self.flow, self.turnover, self._volume(), holders, amounts, signs,
            np.array([leg.sector for leg in legs], dtype=np.int64),
            np.array([leg.account for leg in legs], dtype=np.int64),
            np.array([leg.kind for leg in legs], dtype=np.int64), row,
        )  # fmt: skip

    def _volume(self) -> np.ndarray:
        """The volume array for the kernel: (B, H), or an empty one when volume is not tracked."""
        return self.volume if self.volume is not None else np.zeros((0, 0))

    def _unbalanced(
        self, legs: list[_Leg], status: int, b: int, t: int, n: int
    ) -> UnbalancedTransactionError:
        def value(leg: _Leg) -> float:
            return leg.sign * float(
                leg.amount[min(b, leg.amount.shape[0] - 1), min(t, leg.amount.shape[1] - 1)]
            )

        def holder(leg: _Leg) -> int:
            return int(leg.holder[min(b, leg.holder.shape[0] - 1), min(t, leg.holder.shape[1] - 1)])

        if status == 1:
            group = [leg for leg in legs if leg.row == legs[n].row]
            kind = legs[n].kind
            name = self.flows[legs[n].row] if kind in (_FLOW, _REAL) else self.instruments[legs[n].account]
            linked = [r for r, f in self.real.items() if f == name]
            what = f"account '{name}'" + (f" (with its real assets {linked})" if linked else "")
        else:
            group = [leg for leg in legs if holder(leg) == holder(legs[n])]
            k = legs[n].sector
            what = f"holder {self.sectors[k]}[{holder(legs[n]) - self.offsets[k]}]'s own books"
        debits = sum(max(value(leg), 0.0) for leg in group)
        credits = sum(max(-value(leg), 0.0) for leg in group)
        return UnbalancedTransactionError(
            f"unbalanced transaction: {what} has debits {debits:.12g} ≠ credits {credits:.12g} "
            f"(run {b}, transaction {t}); every instrument, flow row and holder must balance"
        )

    def pay(
        self,
        flow: str,
        payer: str | tuple[str, Any],
        payee: str | tuple[str, Any],
        amount: Any,
        *,
        via: str,
        issuers: tuple[str | tuple[str, Any], str | tuple[str, Any]] | None = None,
        settle: str | None = None,
    ) -> None:
        """``payer`` pays ``payee`` the ``amount`` for ``flow`` with instrument ``via`` (e.g. deposits).

        With ``issuers=(payer's bank, payee's bank)`` the claim moves between issuers too, and they settle
        with ``settle`` (e.g. reserves); where both have the same issuer its legs are booked as zero.
        Holders are ``"sector"`` or ``("sector", member)``.
        """
        p, q = _holder_spec(payer), _holder_spec(payee)
        debit: list[tuple[Any, ...]] = [(p[0], flow, p[1]), (q[0], via, q[1])]
        credit: list[tuple[Any, ...]] = [(p[0], via, p[1]), (q[0], flow, q[1])]
        if issuers is None:
            if settle is not None:
                raise ConfigError("settle= needs issuers=(payer's issuer, payee's issuer)")
            self.book(debit, credit, amount)
            return
        if settle is None:
            raise ConfigError(f"issuers= needs settle=, the instrument the issuers of '{via}' settle in")
        bp, bq = _holder_spec(issuers[0]), _holder_spec(issuers[1])
        hp = self.holders(bp[0], bp[1] if bp[1] is not None else 0)
        hq = self.holders(bq[0], bq[1] if bq[1] is not None else 0)
        moved = np.where(self._per_run(hp, "member") == self._per_run(hq, "member"), 0.0, 1.0)
        between = moved * self._per_run(np.asarray(amount, dtype=np.float64), "amount")
        debit += [(bp[0], via, bp[1], between), (bq[0], settle, bq[1], between)]
        credit += [(bp[0], settle, bp[1], between), (bq[0], via, bq[1], between)]
        self.book(debit, credit, amount)

    def revalue(self, sector: str, instrument: str, amount: Any, member: Any = None) -> None:
        """Change a real asset's value without a transaction (depreciation, a price change): stock and
        net worth move together; the TFM does not."""
        if instrument not in self.real:
            raise ConfigError(
                f"only real assets are revalued alone; '{instrument}' is financial (real: {list(self.real)})"
            )
        leg = self._leg((sector, instrument, member), 1.0, amount)
        n_tx = np.broadcast_shapes(leg.amount.shape, leg.holder.shape)[1]
        _apply_kernel(
            self.stock, self.net_worth, self.flow, self.turnover, self._volume(), n_tx, (leg.holder,), (leg.amount,),
            np.ones(1), np.array([leg.sector]), np.array([leg.account]), np.array([_REVALUE]), np.array([0]),
        )  # fmt: skip

    # --- matrices and checks -----------------------------------------------------------------------
    def sector_stock(self) -> np.ndarray:
        """(B, K, I): each sector's balance sheet, summed over its members."""
        return np.add.reduceat(self.stock, self.offsets[:-1], axis=1)

    def sector_net_worth(self) -> np.ndarray:
        """(B, K): tracked net worth by sector."""
        return np.add.reduceat(self.net_worth, self.offsets[:-1], axis=1)

    def balance_sheet(self) -> SectorMatrix:
        """Instruments × sectors, then the net-worth row entered as −NW, so every column sums to zero and
        every financial row sums to zero (G–L's balance-sheet matrix)."""
        values = np.concatenate(
            [self.sector_stock().transpose(0, 2, 1), -self.sector_net_worth()[:, None, :]], axis=1
        )
        return SectorMatrix(values, (*self.instruments, "net worth"), self.sectors)

    def transactions_flow(self) -> SectorMatrix:
        """This step's TFM: the flow rows (sources +, uses −), then −Δ of each financial instrument."""
        change = (self.sector_stock() - self.opening)[:, :, self.financial].transpose(0, 2, 1)
        return SectorMatrix(np.concatenate([self.flow, -change], axis=1), self.transaction_rows, self.sectors)

    def new_step(self) -> SectorMatrix:
        """Close the step: return its TFM, then start a new one from the current stocks."""
        tfm = self.transactions_flow()
        self.opening = self.sector_stock()
        self.flow = np.zeros_like(self.flow)
        self.turnover = np.zeros_like(self.turnover)
        return tfm

    def residuals(self) -> dict[str, np.ndarray]:
        """Relative residuals of the ledger's identities, each |sum| / scale (``check`` compares them with
        rtol): ``balance_rows`` (B, I_financial), ``net_worth`` (B, H), ``tfm_rows`` (B, rows),
        ``tfm_columns`` (B, K).

        Scales: a balance-sheet row, Σ_h |stock_hi|; a net worth, Σ_i |stock_hi| + |NW_h|; a TFM row or
        column, the step's turnover Σ|d| in it, plus for the Δ rows, which are differences of sums over a
        sector's members, the rounding bound (members + 2)·ε/10⁻⁹ of their stocks. With
        ``track_volume`` the cumulative volume booked joins the balance-sheet scales: over a long run,
        legs of different amounts (a payment split into consumption and tax) round differently in the
        stocks and in the booked net worth, a drift ∝ the volume, not the current stock."""
        fin = self.stock[:, :, self.financial]
        extra_h = self.volume if self.volume is not None else np.zeros(self.net_worth.shape)
        rows = np.abs(fin.sum(axis=1)) / _positive(np.abs(fin).sum(axis=1) + extra_h.sum(axis=1)[:, None])
        worth = np.abs(self.stock.sum(axis=2) - self.net_worth) / _positive(
            np.abs(self.stock).sum(axis=2) + np.abs(self.net_worth) + extra_h
        )
        tfm = self.transactions_flow()
        held = np.add.reduceat(np.abs(self.stock), self.offsets[:-1], axis=1)[:, :, self.financial]
        slack = (
            (self.sizes[None, :, None] + 2) * _EPS * (2 * held + np.abs(self.opening[:, :, self.financial]))
        )
        slack = np.concatenate([np.zeros_like(self.flow), slack.transpose(0, 2, 1)], axis=1) / RTOL
        scale = self.turnover + slack
        return {
            "balance_rows": rows,
            "net_worth": worth,
            "tfm_rows": np.abs(tfm.row_sums()) / _positive(scale.sum(axis=2)),
            "tfm_columns": np.abs(tfm.column_sums()) / _positive(scale.sum(axis=1)),
        }

    def check(self, rtol: float = RTOL) -> None:
        """Raise ``LedgerImbalanceError`` unless every financial row of the balance sheet sums to zero,
        every holder's net worth ties out, and every row and column of the step's TFM sums to zero, each
        within ``rtol`` of its scale (``residuals``)."""
        res = self.residuals()
        fin_names = [n for n, f in zip(self.instruments, self.financial, strict=True) if f]
        fin = self.stock[:, :, self.financial].sum(axis=1)
        _zero(res["balance_rows"], rtol, fin, "balance-sheet row", fin_names)
        bad = res["net_worth"] > rtol
        if bad.any():
            b, h = (int(v) for v in np.argwhere(bad)[0])
            k = int(np.searchsorted(self.offsets, h, side="right") - 1)
            raise LedgerImbalanceError(
                f"net worth of {self.sectors[k]}[{h - self.offsets[k]}] does not tie out in run {b}: "
                f"assets − liabilities = {self.stock[b, h].sum():.12g}, booked net worth "
                f"{self.net_worth[b, h]:.12g}"
            )
        tfm = self.transactions_flow()
        _zero(res["tfm_rows"], rtol, tfm.row_sums(), "transactions-flow row", tfm.rows)
        _zero(res["tfm_columns"], rtol, tfm.column_sums(), "transactions-flow column", tfm.columns)

    # --- carrying the ledger in a model's state ----------------------------------------------------
    _ARRAYS = ("stock", "net_worth", "flow", "opening", "turnover")

    def _names(self) -> tuple[str, ...]:
        return (*self._ARRAYS, "volume") if self.volume is not None else self._ARRAYS

    def arrays(self, prefix: str = "ledger") -> dict[str, np.ndarray]:
        """The ledger's arrays under state names: ``{prefix}_stock`` (B, H, I), ``_net_worth`` (B, H),
        ``_flow`` (B, F, K), ``_opening`` (B, K, I), ``_turnover`` (B, F + I_financial, K), and with
        ``track_volume`` ``_volume`` (B, H)."""
        return {f"{prefix}_{name}": getattr(self, name) for name in self._names()}

    def variables(self, prefix: str = "ledger") -> list[Any]:
        """Engine ``Var`` declarations of the arrays of ``arrays(prefix)``."""
        from econsim.engine.model import Var

        H, F, K, n_inst = self.n_holders, len(self.flows), len(self.sectors), len(self.instruments)
        doc = {
            "stock": ("balance sheets: holder × instrument (+ asset, − liability)", (H, n_inst)),
            "net_worth": ("net worth booked by holder (opening + saving + revaluation)", (H,)),
            "flow": ("this step's transactions-flow rows by sector (sources +, uses −)", (F, K)),
            "opening": ("sector stocks at the start of the step", (K, n_inst)),
            "turnover": ("this step's gross amounts booked, by TFM row and sector", self.turnover.shape[1:]),
            "volume": ("gross amount booked by each holder since the start", (H,)),
        }
        return [Var(f"{prefix}_{name}", 0.0, doc[name][0], doc[name][1]) for name in self._names()]

    def load(self, state: Mapping[str, np.ndarray], prefix: str = "ledger", copy: bool = True) -> Ledger:
        """A ledger of the same structure holding the arrays ``state[prefix_*]`` (copied unless told)."""
        out = Ledger.__new__(Ledger)
        out.__dict__.update(self.__dict__)
        for name in self._names():
            key = f"{prefix}_{name}"
            if key not in state:
                raise ConfigError(
                    f"the state has no '{key}' for the ledger (it tracks: {list(self._names())})"
                )
            value = state[key]
            setattr(out, name, np.array(value, dtype=np.float64) if copy else value)
        return out


def _leg_list(legs: Any) -> list[Sequence[Any]]:
    """One leg or a list of legs → a list of legs."""
    if isinstance(legs, tuple) and legs and isinstance(legs[0], str):
        return [legs]
    return list(legs)


def _holder_spec(spec: str | tuple[str, Any]) -> tuple[str, Any]:
    return (spec, None) if isinstance(spec, str) else (spec[0], spec[1])


def _pair_key(spec: Any, amount: Any) -> tuple[Any, ...] | None:
    """(sector, members, amounts) of a leg, by identity of its arrays: a debit and a credit leg with the
    same key cancel in every holder's books; None where the leg's amounts are not an array."""
    if isinstance(spec, str) or not 2 <= len(spec) <= 4:
        return None
    value = spec[3] if len(spec) > 3 else amount
    if not isinstance(value, np.ndarray):
        return None
    member = spec[2] if len(spec) > 2 else None
    return (spec[0], id(member) if member is not None else None, id(value))


def _positive(scale: np.ndarray) -> np.ndarray:
    """A scale to divide by: where it is 0 every residual is 0 too, so 1 gives 0."""
    return np.where(scale > 0, scale, 1.0)


def _zero(residual: np.ndarray, rtol: float, sums: np.ndarray, what: str, names: Sequence[str]) -> None:
    bad = residual > rtol
    if bad.any():
        b, j = (int(v) for v in np.argwhere(bad)[0])
        raise LedgerImbalanceError(f"{what} '{names[j]}' sums to {sums[b, j]:.12g}, not zero (run {b})")


# --- compiled booking ------------------------------------------------------------------------------
# Legs arrive as tuples of (1 | B, 1 | n) arrays: an axis of length 1 is shared by every run or every
# transaction, so nothing is broadcast into memory. Transactions are visited run by run, transaction by
# transaction, leg by leg: booking n transactions at once adds in the same order as n calls of one.


@jit(cache=True)
def _offset_members(member_bn, offset, out_bn):
    """out = offset + member, and (min, max) of the members."""
    lo, hi = member_bn[0, 0], member_bn[0, 0]
    for b in range(member_bn.shape[0]):
        for t in range(member_bn.shape[1]):
            m = member_bn[b, t]
            lo = min(lo, m)
            hi = max(hi, m)
            out_bn[b, t] = offset + m
    return lo, hi


@jit(cache=True)
def _balance_kernel(n_runs, n_tx, holders, amounts, sign, sector, row, n_rows, rtol):
    """(0, 0, 0, 0) if every transaction balances, else (1 = row | 2 = holder, run, transaction, leg)."""
    n_legs = len(amounts)
    residual = np.zeros(n_rows)
    d = np.empty(n_legs)
    h = np.empty(n_legs, np.int64)
    for b in range(n_runs):
        for t in range(n_tx):
            scale = 0.0
            for k in range(n_legs):
                a = amounts[k]
                d[k] = sign[k] * a[b if a.shape[0] > 1 else 0, t if a.shape[1] > 1 else 0]
                m = holders[k]
                h[k] = m[b if m.shape[0] > 1 else 0, t if m.shape[1] > 1 else 0]
                scale += abs(d[k])
                residual[row[k]] += d[k]
            tol = rtol * scale
            for k in range(n_legs):
                if abs(residual[row[k]]) > tol:
                    return 1, b, t, k
            for k in range(n_legs):
                residual[row[k]] = 0.0
            for k in range(n_legs):
                own = 0.0
                for j in range(n_legs):
                    if h[j] == h[k]:
                        own += d[j]
                if abs(own) > tol:
                    return 2, b, t, k
    return 0, 0, 0, 0


@jit(cache=True)
def _apply_kernel(
    stock, net_worth, flow, turnover, volume, n_tx, holders, amounts, sign, sector, account, kind, row
):
    """stock += d (instruments), NW −= d (flow legs), TFM row −= d (flows and real assets at cost);
    volume += |d| where tracked."""
    track = volume.shape[0] > 0
    for b in range(stock.shape[0]):
        for t in range(n_tx):
            for k in range(len(amounts)):
                a = amounts[k]
                d = sign[k] * a[b if a.shape[0] > 1 else 0, t if a.shape[1] > 1 else 0]
                m = holders[k]
                h = m[b if m.shape[0] > 1 else 0, t if m.shape[1] > 1 else 0]
                c = kind[k]
                if track:
                    volume[b, h] += abs(d)
                if c == _FLOW:
                    net_worth[b, h] -= d
                else:
                    stock[b, h, account[k]] += d
                if c == _REVALUE:
                    net_worth[b, h] += d
                else:
                    turnover[b, row[k], sector[k]] += abs(d)
                    if c != _FINANCIAL:
                        flow[b, row[k], sector[k]] -= d


@jit(cache=True)
def _net_balance_kernel(n_runs, holders, amounts, sign, row, n_rows, per_holder, gross, own, rtol):
    """(0, 0, 0, 0) if the batch balances per run — every TFM row (flows with their real assets, Δ of
    each instrument) and every holder's own legs, within rtol of the gross amounts —, else (1, row, run,
    0) or (2, leg, run, member); holders are summed only over the legs marked ``per_holder``."""
    row_sum = np.zeros((n_runs, n_rows))
    row_abs = np.zeros((n_runs, n_rows))
    for k in range(len(amounts)):
        a, m = amounts[k], holders[k]
        n = max(a.shape[1], m.shape[1])
        r = row[k]
        for b in range(n_runs):
            ba, bm = (b if a.shape[0] > 1 else 0), (b if m.shape[0] > 1 else 0)
            total, size = 0.0, 0.0
            for t in range(n):
                d = sign[k] * a[ba, t if a.shape[1] > 1 else 0]
                total += d
                size += abs(d)
                if per_holder[k]:
                    h = m[bm, t if m.shape[1] > 1 else 0]
                    gross[b, h] += abs(d)
                    own[b, h] += d
            row_sum[b, r] += total
            row_abs[b, r] += size
    for b in range(n_runs):
        for r in range(n_rows):
            if abs(row_sum[b, r]) > rtol * row_abs[b, r]:
                return 1, r, b, 0
    for k in range(len(amounts)):
        if not per_holder[k]:
            continue
        a, m = amounts[k], holders[k]
        n = max(a.shape[1], m.shape[1])
        for b in range(n_runs):
            bm = b if m.shape[0] > 1 else 0
            for t in range(n):
                h = m[bm, t if m.shape[1] > 1 else 0]
                if abs(own[b, h]) > rtol * gross[b, h]:
                    return 2, k, b, t
    return 0, 0, 0, 0


@jit(cache=True)
def _net_apply_kernel(
    stock, net_worth, flow, turnover, volume, holders, amounts, sign, sector, account, kind, row
):
    """``_apply_kernel`` leg by leg, each leg over its own members. A leg's turnover and flow cell is
    one cell, summed in a register over the leg's members (the same additions in the same order, without
    a store and a load of the cell between one member and the next)."""
    track = volume.shape[0] > 0
    for k in range(len(amounts)):
        a, m = amounts[k], holders[k]
        n = max(a.shape[1], m.shape[1])
        c, i, r, z = kind[k], account[k], row[k], sector[k]
        sk = sign[k]
        step_a, step_m = (1 if a.shape[1] > 1 else 0), (1 if m.shape[1] > 1 else 0)
        for b in range(stock.shape[0]):
            ba, bm = (b if a.shape[0] > 1 else 0), (b if m.shape[0] > 1 else 0)
            gross, net = turnover[b, r, z], flow[b, r, z]
            for t in range(n):
                d = sk * a[ba, t * step_a]
                h = m[bm, t * step_m]
                if track:
                    volume[b, h] += abs(d)
                if c == _FLOW:
                    net_worth[b, h] -= d
                else:
                    stock[b, h, i] += d
                gross += abs(d)
                if c != _FINANCIAL:
                    net -= d
            turnover[b, r, z] = gross
            if c != _FINANCIAL:
                flow[b, r, z] = net
