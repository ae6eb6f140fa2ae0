"""The CallScope HTTP API: ``create_app()`` for uvicorn (``--factory``) and for tests.

One Runtime per process, built in the lifespan (never at import), shared by every request; the
routes are sync ``def`` so FastAPI runs the model-bound work in its threadpool. Every error,
ours or the framework's, leaves as ``{"error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.docs import add_docs
from app.api.limits import AuthFailureLimit, BodySizeLimit, WatchedSend
from app.api.responses import errors
from app.api.routes import (
    ask,
    calls,
    classify,
    health,
    imports,
    insights,
    jobs,
    label_runs,
    labels,
    llm,
    rules,
    search,
    summary,
    topics,
)
from app.api.security import require_api_key
from app.core.config import Settings, load_settings
from app.core.errors import (
    AudioError,
    CallScopeError,
    CollectionMismatchError,
    ConfigError,
    EmbeddingError,
    InputError,
    LLMError,
    StateError,
    StoreError,
    TranscriptionError,
)
from app.jobs import job_runner
from app.runtime import Runtime
from app.services.alerts import resume_alerts
from app.services.status import warm_up

log = logging.getLogger("callscope.api")

#: Most specific first: the first matching class decides status and code.
ERROR_STATUS: list[tuple[type[CallScopeError], int, str]] = [
    (InputError, 400, "invalid_input"),
    (AudioError, 422, "audio_error"),
    (CollectionMismatchError, 409, "collection_mismatch"),
    (StoreError, 503, "store_unavailable"),
    (StateError, 503, "state_damaged"),
    (LLMError, 502, "llm_error"),
    (ConfigError, 500, "config_error"),
    (EmbeddingError, 500, "embedding_error"),
    (TranscriptionError, 500, "transcription_error"),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The API over one Runtime: the injected one (owned by the caller) or one built here."""
    settings = settings or (runtime.settings if runtime is not None else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime if runtime is not None else Runtime(settings)
        app.state.runtime = rt
        rt.long_lived = True
        try:
            # Load models and open the store before the first request; a failure here is not
            # fatal (the store may come up later) and /ready keeps reporting it until it works.
            warm_up(rt)
        except CallScopeError as exc:
            log.warning("not ready at startup: %s", exc)
        # The job queue lives beside the ledger; jobs a previous process left running resume.
        jobs = job_runner(rt)
        app.state.jobs = jobs
        jobs.start()
        resume_alerts(rt)  # webhook events a previous process left pending
        try:
            yield
        finally:
            if jobs.stop():
                jobs.store.close()
                if runtime is None:  # an injected Runtime is closed by whoever made it
                    rt.close()
            else:
                # Closing the store and the tables under a job still writing would crash it
                # half way; left alone, the process exits and the next start resumes the job.
                log.warning("a job is still running at shutdown; it resumes at the next start")

    # /docs is served from local assets (app.api.docs), never from a CDN.
    app = FastAPI(
        title="CallScope API", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    # Refuse an oversized body from its Content-Length (or as it streams in), before any of
    # it is parsed or written; the per-file limit is checked again while files are copied.
    app.add_middleware(BodySizeLimit, max_bytes=int(settings.api.max_request_mb * 2**20))
    app.add_middleware(
        AuthFailureLimit,
        max_failures=settings.api.max_auth_failures,
        window=settings.api.auth_failure_window_s,
    )
    _add_error_handlers(app)
    # Innermost of our middleware: any exception no handler took becomes the one 500 answer,
    # logged here once (an exception handler for Exception would log it and then re-raise it
    # to the server, which logs it a second time).
    app.add_middleware(CatchAll)
    app.include_router(health.router)
    add_docs(app, home="/ui/" if settings.api.ui else "/docs")
    protected = [Depends(require_api_key)]
    # Every protected route can answer these; routes declare their own 404/409/413/415.
    common = errors(400, 401, 409, 413, 422, 429, 503)
    for router in (
        search,
        ask,
        classify,
        calls,
        summary,
        label_runs,
        labels,
        imports,
        jobs,
        topics,
        insights,
        llm,
        rules,
    ):
        app.include_router(router.router, dependencies=protected, responses=common)
    app.include_router(rules.calls_router, dependencies=protected, responses=common)
    app.include_router(rules.scorecards_router, dependencies=protected, responses=common)
    if settings.api.ui:
        from ui import mount_ui  # the web UI at /ui, over the same Runtime and job queue

        app = mount_ui(app, settings)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CallScopeError)
    async def callscope_error(request: Request, exc: CallScopeError) -> JSONResponse:
        status, code = next(
            ((status, code) for cls, status, code in ERROR_STATUS if isinstance(exc, cls)),
            (500, "callscope_error"),
        )
        if status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        return error_response(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            # Drop the "body"/"query" prefix: the client knows where it put the field.
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header")]
            problems.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid')}")
        return error_response(422, "validation_error", "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict) and {"code", "message"} <= exc.detail.keys():
            code, message = exc.detail["code"], exc.detail["message"]
        else:
            code, message = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}"), exc.detail
        response = error_response(exc.status_code, code, str(message))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response


class CatchAll:
    """Unexpected exceptions: logged once with the traceback (server log only: it can hold
    paths, settings and call text), answered 500 in the error shape, never re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.error("%s %s crashed", scope.get("method"), scope.get("path"), exc_info=exc)
            # Once the response has started the client sees the stream end; nothing more can go.
            if watched.status is None:
                response = error_response(
                    500, "internal_error", "internal server error (see the server log)"
                )
                await response(scope, receive, send)
