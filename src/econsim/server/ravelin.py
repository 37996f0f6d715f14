"""Ravelin's REST routes, mapped onto a default ``banking`` session (created on first use).

Ravelin (the simulation the banking model reimplements) served ``GET /health``, ``/state``, ``/clear``,
``/make_bank`` and ``/do_tx`` on port 8070. Here:

``GET /state``      the default economy now: step, aggregates (mean over runs) and balance sheets —
                    each sector's and each bank's holdings of every instrument (run 0)
``GET /clear``      the default economy started again at step 0, with the default number of banks
``GET /make_bank``  one more commercial bank (``?count=`` more): the economy is built again at step 0
                    with them (banks are sized into the ledger, so a bank cannot join mid-run); every
                    bank's balance sheet starts from the model's initial economy
``GET /do_tx``      one step of the economy: a month of wages, purchases, loans, interest, taxes and
                    settlement, every payment a double-entry transaction on the ledger
``GET /health``     the server's own ``/health``
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query

from econsim.server.sessions import Session, SessionManager, json_array

DEFAULT_ID = "ravelin"
#: a small economy, so that /make_bank and /clear answer at once
DEFAULT_PARAMS: dict[str, Any] = {"n_households": 200, "n_firms": 20}


def balance_sheets(session: Session) -> dict[str, Any] | None:
    """Each sector's and each bank's holdings by instrument for a banking session (None otherwise)."""
    if session.model.name != "banking":
        return None
    from econsim.models.banking.accounts import INSTRUMENTS, SECTORS

    ledger = session.sim.params["ledger_template"]
    stock = np.asarray(session.sim.state["ledger_stock"])  # (run, holder, instrument)
    offsets = np.asarray(ledger.offsets)
    by_sector = np.add.reduceat(stock, offsets[:-1], axis=1).mean(axis=0)  # (sector, instrument)
    k = SECTORS.index("banks")
    banks = stock[0, offsets[k] : offsets[k + 1]]
    return {
        "instruments": list(INSTRUMENTS),
        "sectors": {
            sector: dict(zip(INSTRUMENTS, json_array(row), strict=True))
            for sector, row in zip(SECTORS, by_sector, strict=True)
        },
        "banks": [dict(zip(INSTRUMENTS, json_array(row), strict=True)) for row in banks],
    }


def add_routes(app: FastAPI, sessions: SessionManager) -> None:
    def default(params: dict[str, Any] | None = None) -> Session:
        session = sessions.get(DEFAULT_ID)
        if session is not None and params is None:
            return session
        spec = {
            "model": "banking",
            "params": params if params is not None else dict(DEFAULT_PARAMS),
            "initial_state": {},
            "runs": 1,
            "seed": 0,
            "record_every": 1,
            "strict": True,
        }
        sessions.delete(DEFAULT_ID)
        return sessions.create(spec, key=DEFAULT_ID)

    def summary(session: Session) -> dict[str, Any]:
        with session.lock:
            return {
                **session.info(),
                "aggregates": {k: v["mean"] for k, v in session.aggregates().items()},
                "balance_sheets": balance_sheets(session),
            }

    @app.get("/state", tags=["ravelin"])
    def state() -> dict[str, Any]:
        """Ravelin: the default banking economy's step, aggregates and balance sheets."""
        return summary(default())

    @app.get("/clear", tags=["ravelin"])
    def clear() -> dict[str, Any]:
        """Ravelin: start the default banking economy again (step 0, the default number of banks)."""
        return summary(default(dict(DEFAULT_PARAMS)))

    @app.get("/make_bank", tags=["ravelin"])
    def make_bank(count: Annotated[int, Query(ge=1, le=49)] = 1) -> dict[str, Any]:
        """Ravelin: add ``count`` commercial banks (the economy starts again at step 0 with them)."""
        session = default()
        params = dict(session.spec["params"])
        n_banks = int(params.get("n_banks", session.model.param("n_banks").default)) + count
        params["n_banks"] = session.model.param("n_banks").validate(n_banks, "make_bank: ")
        return summary(default(params))

    @app.get("/do_tx", tags=["ravelin"])
    def do_tx() -> dict[str, Any]:
        """Ravelin: one step of the default banking economy (a month of transactions on the ledger)."""
        session = default()
        sessions.step(session, 1)
        return summary(session)
