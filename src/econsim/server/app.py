"""The FastAPI application: models, jobs, interactive sessions, Ravelin's routes, and the dashboard.

``create_app(settings)`` builds it; ``econsim serve`` runs it with uvicorn. Every error answer is a
``Problem`` (``{"error": ..., "kind": ..., "limit": ...}``): a bad configuration or parameter is a 422
with the message ``econsim run`` prints, a request over a limit a 413 or 422 naming the limit.
Only built-in models run (by name); nothing a request sends is imported or executed.
"""

from __future__ import annotations

import io
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Body, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from econsim import __version__
from econsim.engine.errors import ConfigError, EconsimError, unknown
from econsim.models.registry import get_extras, get_model, model_names
from econsim.server import ravelin
from econsim.server.jobs import Job, JobManager, LimitError, Limits
from econsim.server.schemas import (
    Health,
    Heatmap,
    JobInfo,
    ModelDetail,
    ModelSummary,
    ParamsPatch,
    Problem,
    SessionCreate,
    SessionInfo,
    model_detail,
)
from econsim.server.sessions import Session, SessionManager, json_array

STATIC = Path(__file__).parent / "static"
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": Problem} for code in (401, 404, 409, 413, 422)}


@dataclass
class Settings:
    """Where jobs write and what a request may ask for."""

    data_dir: Path = field(default_factory=lambda: Path("serve-data"))
    #: when set, every request but the dashboard's files needs ``Authorization: Bearer <token>``; the
    #: progress stream ``GET /runs/{id}/events`` also takes it as ``?token=`` (a browser's EventSource
    #: cannot send headers)
    token: str | None = None
    limits: Limits = field(default_factory=Limits)


def problem(status: int, message: str, kind: str = "ConfigError", limit: str | None = None) -> JSONResponse:
    return JSONResponse(Problem(error=message, kind=kind, limit=limit).model_dump(), status_code=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    jobs = JobManager(data_dir, settings.limits)
    sessions = SessionManager(settings.limits)
    app = FastAPI(
        title="econsim",
        version=__version__,
        description="Jobs, live progress and interactive economies for every built-in econsim model.",
        responses=_ERRORS,
    )
    app.state.jobs, app.state.sessions, app.state.settings = jobs, sessions, settings

    @app.middleware("http")
    async def _authorized(request: Request, call_next):
        # the dashboard's files and the API's description are public; they hold no data
        path = request.url.path
        public = path == "/" or path.startswith(("/ui/", "/docs", "/redoc")) or path == "/openapi.json"
        if settings.token is not None and not public:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            ok = scheme.lower() == "bearer" and secrets.compare_digest(
                given.strip().encode(), settings.token.encode()
            )
            if not ok and _is_events(path) and "token" in request.query_params:
                ok = secrets.compare_digest(request.query_params["token"].encode(), settings.token.encode())
            if not ok:
                response = problem(
                    401,
                    "a bearer token is required: Authorization: Bearer <token> (the progress stream "
                    "/runs/{id}/events also takes ?token=<token>)",
                    "Unauthorized",
                )
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
        return await call_next(request)

    @app.exception_handler(LimitError)
    async def _limit(request: Request, exc: LimitError) -> JSONResponse:
        return problem(exc.status, str(exc), "LimitError", exc.limit)

    @app.exception_handler(EconsimError)
    async def _econsim(request: Request, exc: EconsimError) -> JSONResponse:
        return problem(422, str(exc), type(exc).__name__)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {401: "Unauthorized", 404: "NotFound", 409: "Conflict"}.get(exc.status_code, "HTTPError")
        response = problem(exc.status_code, str(exc.detail), kind)
        if exc.status_code == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        lines = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err["loc"] if x not in ("body", "query", "path", "header"))
            if err["type"] == "json_invalid":
                ctx = err.get("ctx") or {}
                lines.append(f"invalid JSON in the request body: {ctx.get('error', err['msg'])}")
            else:
                lines.append(f"{where or '(request body)'}: {err['msg']}")
        return problem(422, "invalid request:\n  " + "\n  ".join(lines), "RequestValidationError")

    # --- the service -------------------------------------------------------------------------------
    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """Whether the server is alive (Ravelin's ``/health`` too)."""
        return Health(
            version=__version__,
            models=model_names(),
            jobs_running=jobs.running(),
            sessions=len(sessions.sessions),
        )

    @app.get("/models", response_model=list[ModelSummary], tags=["models"])
    def models() -> list[ModelSummary]:
        """The built-in models."""
        return [ModelSummary(name=n, doc=get_model(n).doc, url=f"/models/{n}") for n in model_names()]

    @app.get("/models/{name}", response_model=ModelDetail, tags=["models"])
    def model(name: str) -> ModelDetail:
        """A model's parameters as JSON Schema (type, default, bounds, meaning), its recorded columns."""
        if name not in model_names():
            raise HTTPException(404, f"no model '{name}'; valid: {', '.join(model_names())}")
        m = get_model(name)
        return model_detail(m, m.per_batch, get_extras(name))

    # --- jobs --------------------------------------------------------------------------------------
    def job_info(job: Job) -> JobInfo:
        base = f"/runs/{job.id}"
        return JobInfo(
            id=job.id,
            model=job.config.model,
            status=job.status,  # type: ignore[arg-type]
            done=job.done,
            total=job.total,
            fraction=job.done / job.total if job.total else 1.0,
            error=job.error,
            created=job.created,
            finished=job.finished,
            from_store=job.from_store,
            config={
                **job.config.model_dump(mode="json", exclude_none=True),
                **({"optimize": job.optimize.model_dump(mode="json")} if job.optimize else {}),
            },
            result=job.result,
            links={
                "self": base,
                "events": f"{base}/events",
                "results": f"{base}/results",
                "figures": f"{base}/figures",
                "heatmap": f"{base}/heatmap",
            },
        )

    def the_job(run_id: str) -> Job:
        job = jobs.get(run_id) if _safe_id(run_id) else None
        if job is None:
            raise HTTPException(404, f"no run '{run_id}'")
        return job

    @app.post("/runs", status_code=202, response_model=JobInfo, tags=["runs"])
    def submit(
        config: Annotated[
            dict[str, Any],
            Body(
                description="an experiment configuration: the YAML's content as JSON (model, params, "
                "initial_state, sweep, runs, steps, seed, record_every, figures, reports, ...)",
                examples=[{"model": "honey", "runs": 4, "steps": 50, "seed": 1}],
            ),
        ],
    ) -> JSONResponse:
        """Start a job (202, Location /runs/{id}); an identical finished or running job is answered
        as it is (200)."""
        job, started = jobs.submit(config)
        return JSONResponse(
            job_info(job).model_dump(mode="json"),
            status_code=202 if started else 200,
            headers={"Location": f"/runs/{job.id}"},
        )

    @app.get("/runs", response_model=list[JobInfo], tags=["runs"])
    def list_runs() -> list[JobInfo]:
        """The jobs this server knows, newest first."""
        return [job_info(j) for j in sorted(jobs.jobs.values(), key=lambda j: -j.created)]

    @app.get("/runs/{run_id}", response_model=JobInfo, tags=["runs"])
    def get_run(run_id: str) -> JobInfo:
        """A job's status and progress."""
        return job_info(the_job(run_id))

    @app.get(
        "/runs/{run_id}/events",
        tags=["runs"],
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    def events(
        run_id: str,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
        token: Annotated[
            str | None,
            Query(
                max_length=1000,
                description="the server's --token, for clients that cannot send an Authorization "
                "header (a browser's EventSource); this route only",
            ),
        ] = None,
    ) -> StreamingResponse:
        """Progress as server-sent events (``status``, ``progress``, ``end``) with increasing ids; a
        reconnect with ``Last-Event-ID`` continues after that event. With ``--token`` the token goes in
        the ``Authorization`` header or, on this route only, as ``?token=``."""
        job = the_job(run_id)
        try:
            after = int(last_event_id) if last_event_id else 0
        except ValueError:
            raise ConfigError(
                f"Last-Event-ID = {last_event_id!r} must be an event id (a whole number)"
            ) from None
        return StreamingResponse(
            job.stream(after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.delete("/runs/{run_id}", response_model=JobInfo, tags=["runs"])
    def cancel(run_id: str) -> JobInfo:
        """Cancel a running job (within 2 s); its finished batches stay in its folder, and posting the
        same configuration again resumes from them."""
        job = the_job(run_id)
        if not job.active:
            raise HTTPException(409, f"run '{run_id}' is {job.status}; only a running job can be cancelled")
        jobs.cancel(job)
        return job_info(job)

    def job_results(job: Job):
        from econsim.experiment.results import load

        if not (job.folder / "manifest.json").is_file():
            raise HTTPException(409, f"run '{job.id}' has written no results yet")
        try:
            return load(job.folder)
        except ConfigError as exc:  # no finished batch yet
            raise HTTPException(409, str(exc)) from None

    @app.get(
        "/runs/{run_id}/results",
        tags=["runs"],
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "text/csv": {},
                    "application/vnd.apache.parquet": {},
                }
            }
        },
    )
    def results(
        run_id: str,
        format: Literal["json", "csv", "parquet"] = "json",
        page: Annotated[int, Query(ge=1, le=2**31)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    ) -> Response:
        """The tidy results table (one row per run × recorded timestep): Parquet, CSV, or JSON pages."""
        job = the_job(run_id)
        table = job_results(job).to_arrow()
        if format == "parquet":
            import pyarrow.parquet as pq

            sink = io.BytesIO()
            pq.write_table(table, sink)
            return Response(
                sink.getvalue(),
                media_type="application/vnd.apache.parquet",
                headers={"Content-Disposition": f'attachment; filename="{job.id}.parquet"'},
            )
        if format == "csv":
            return Response(
                table.to_pandas().to_csv(index=False),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{job.id}.csv"'},
            )
        pages = max(1, math.ceil(table.num_rows / page_size))
        if page > pages:
            raise ConfigError(f"page = {page} is past the last page ({pages}) of {table.num_rows} rows")
        chunk = table.slice((page - 1) * page_size, page_size)
        columns = {
            name: json_array(np.asarray(chunk[name].to_numpy(zero_copy_only=False)))
            for name in chunk.column_names
        }
        return JSONResponse(
            {
                "page": page,
                "page_size": page_size,
                "pages": pages,
                "rows": table.num_rows,
                "columns": chunk.column_names,
                "data": [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)],
            }
        )

    @app.get("/runs/{run_id}/figures", response_model=list[str], tags=["runs"])
    def figures(run_id: str) -> list[str]:
        """The job's figures (PNG files written beside its results, as ``econsim run`` writes them)."""
        job = the_job(run_id)
        folder = job.folder / "figures"
        return sorted(p.name for p in folder.glob("*.png")) if folder.is_dir() else []

    @app.get(
        "/runs/{run_id}/figures/{name}",
        tags=["runs"],
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}}}},
    )
    def figure(run_id: str, name: str) -> FileResponse:
        """One figure as PNG."""
        if name not in figures(run_id):
            raise HTTPException(404, f"run '{run_id}' has no figure '{name}'")
        return FileResponse(the_job(run_id).folder / "figures" / name, media_type="image/png")

    @app.get(
        "/runs/{run_id}/heatmap",
        tags=["runs"],
        response_model=Heatmap,
        responses={200: {"content": {"application/json": {}, "image/png": {}}}},
    )
    def heatmap(
        run_id: str,
        value: Annotated[str, Query(max_length=200, description="a recorded column")],
        x: Annotated[
            str | None, Query(max_length=200, description="a swept name (default: the first)")
        ] = None,
        y: Annotated[
            str | None, Query(max_length=200, description="another swept name (default: the second)")
        ] = None,
        statistic: Literal["mean", "median"] = "mean",
        format: Literal["json", "png"] = "json",
    ) -> Response:
        """A sweep's heatmap: the statistic over each cell's runs of ``value`` at the last recorded step,
        over two swept names (the runs of the other swept names pooled), as JSON cells or as the PNG
        ``econsim run`` draws for a heatmap figure. Diverged runs are left out of the PNG, as there."""
        from econsim.experiment.figures import figure_png, heatmap_cells

        job = the_job(run_id)
        res = job_results(job)
        swept = list(res.swept)
        x = x or (swept[0] if swept else None)
        y = y or (next((n for n in swept if n != x), None))
        if x is None or y is None:
            raise ConfigError(
                f"a heatmap needs two swept names; run '{job.id}' sweeps {', '.join(swept) or 'nothing'}"
            )
        for axis, name in (("x", x), ("y", y)):
            if name not in swept:
                raise ConfigError(f"{axis} = '{name}' is not swept; swept: {', '.join(swept)}")
        if x == y:
            raise ConfigError(f"x and y must be two different swept names, got '{x}' twice")
        columns = set(res.column_names()) - {"subset", "run", "timestep", *swept}
        if value not in columns:
            raise unknown("recorded column", value, sorted(columns))
        if format == "png":
            spec = {"kind": "heatmap", "x": x, "y": y, "value": value, "options": {"statistic": statistic}}
            return Response(figure_png(res, spec), media_type="image/png")
        xs, ys, grid, count = heatmap_cells(res, x, y, value, statistic)
        body = Heatmap(
            x=x,
            y=y,
            value=value,
            statistic=statistic,
            xs=json_array(xs),
            ys=json_array(ys),
            grid=[json_array(row) for row in grid],
            count=count.tolist(),
            pooled=[n for n in swept if n not in (x, y)],
        )
        return JSONResponse(body.model_dump(mode="json"))

    # --- sessions ----------------------------------------------------------------------------------
    def the_session(session_id: str) -> Session:
        session = sessions.get(session_id)
        if session is None:
            raise HTTPException(404, f"no session '{session_id}'")
        return session

    @app.post("/sessions", status_code=201, response_model=SessionInfo, tags=["sessions"])
    def create_session(body: SessionCreate) -> JSONResponse:
        """Create an economy of a model held in memory: ``runs`` Monte Carlo runs stepped together."""
        session = sessions.create(body.model_dump())
        return JSONResponse(session.info(), status_code=201, headers={"Location": f"/sessions/{session.id}"})

    @app.get("/sessions", response_model=list[SessionInfo], tags=["sessions"])
    def list_sessions() -> list[dict[str, Any]]:
        return [s.info() for s in sessions.sessions.values()]

    @app.get("/sessions/{session_id}", response_model=SessionInfo, tags=["sessions"])
    def get_session(session_id: str) -> dict[str, Any]:
        return the_session(session_id).info()

    @app.post("/sessions/{session_id}/step", response_model=SessionInfo, tags=["sessions"])
    def step(session_id: str, n: Annotated[int, Query(ge=1, le=2**31)] = 1) -> dict[str, Any]:
        """Advance the session ``n`` steps."""
        session = the_session(session_id)
        sessions.step(session, n)
        return session.info()

    @app.get("/sessions/{session_id}/state", tags=["sessions"])
    def state(
        session_id: str,
        population: str | None = None,
        page: Annotated[int, Query(ge=1, le=2**31)] = 1,
        page_size: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> dict[str, Any]:
        """The current step's recorded columns (each run's value and the mean over runs) and, for a
        model with populations, a page of one population's per-agent arrays (run × agent)."""
        session = the_session(session_id)
        with session.lock:
            out: dict[str, Any] = {**session.info(), "aggregates": session.aggregates()}
            pops = [p.name for p in session.model.populations]
            out["populations"] = pops
            if population is not None or pops:
                out["agents"] = session.agents_page(population or pops[0], page, page_size)
            extra = ravelin.balance_sheets(session)
            if extra is not None:
                out["balance_sheets"] = extra
        return out

    @app.get("/sessions/{session_id}/records", tags=["sessions"])
    def records(session_id: str, since: Annotated[int, Query(ge=-1, le=2**62)] = -1) -> dict[str, Any]:
        """The recorded series after timestep ``since``: times and each column as (time, run) lists."""
        session = the_session(session_id)
        with session.lock:
            return session.records(since)

    @app.post("/sessions/{session_id}/reset", response_model=SessionInfo, tags=["sessions"])
    def reset(session_id: str) -> dict[str, Any]:
        """Back to step 0 with the session's original parameters and seed."""
        session = the_session(session_id)
        sessions.reset(session)
        return session.info()

    @app.patch("/sessions/{session_id}/params", response_model=SessionInfo, tags=["sessions"])
    def patch_params(session_id: str, body: ParamsPatch) -> dict[str, Any]:
        """Change per-run parameters between steps (from the next step on)."""
        session = the_session(session_id)
        sessions.patch(session, body.params)
        return session.info()

    @app.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
    def delete_session(session_id: str) -> Response:
        if not sessions.delete(session_id):
            raise HTTPException(404, f"no session '{session_id}'")
        return Response(status_code=204)

    ravelin.add_routes(app, sessions)

    # --- the dashboard -----------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def dashboard(request: Request) -> RedirectResponse:
        # the query carries a shared configuration: it goes along
        query = request.url.query
        return RedirectResponse("/ui/index.html" + (f"?{query}" if query else ""))

    app.mount("/ui", StaticFiles(directory=STATIC, html=True, check_dir=False), name="ui")
    return app


def _is_events(path: str) -> bool:
    """Whether ``path`` is a job's progress stream, the one route that takes ``?token=``."""
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == "" and parts[1] == "runs" and parts[3] == "events"


def _safe_id(run_id: str) -> bool:
    """A job id is a hex digest: anything else cannot name a folder of the store."""
    return 0 < len(run_id) <= 64 and all(c in "0123456789abcdef" for c in run_id)
