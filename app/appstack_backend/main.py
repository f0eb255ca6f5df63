"""The FastAPI application: /health, a small /api, CORS on every response including errors.

Middleware order matters for CORS on errors: Starlette's outermost ServerErrorMiddleware turns an
unhandled exception into a 500 *outside* CORSMiddleware, so that 500 would lack the CORS header.
`catch_unhandled_errors` sits inside CORSMiddleware and answers the 500 itself.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from appstack_backend.health import run_checks
from appstack_backend.models import Meeting
from appstack_backend.settings import Settings

logger = logging.getLogger("appstack_backend")


def create_engine_for(settings: Settings) -> Engine:
    """A pooled engine that notices dead connections and fails fast when the database is away."""
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=5,
        connect_args={"connect_timeout": 3, "application_name": "appstack-backend"},
    )


def _meeting_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": str(meeting.id),
        "project_id": str(meeting.project_id) if meeting.project_id else None,
        "title": meeting.title,
        "status": meeting.status,
        "scheduled_at": meeting.scheduled_at.isoformat() if meeting.scheduled_at else None,
        "created_at": meeting.created_at.isoformat(),
    }


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from `settings` (default: the environment)."""
    settings = settings or Settings.from_env()
    engine = create_engine_for(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(title="appstack backend", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine

    @app.middleware("http")
    async def catch_unhandled_errors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        try:
            return await call_next(request)
        except OperationalError as err:
            logger.error(
                "database unavailable: %s %s: %s", request.method, request.url.path, err.orig
            )
            return JSONResponse({"detail": "database unavailable"}, status_code=503)
        except Exception:
            logger.exception("unhandled error: %s %s", request.method, request.url.path)
            return JSONResponse({"detail": "internal server error"}, status_code=500)

    # Added last, so it is outside the error handler above and decorates its responses too.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        allow_credentials=False,
    )

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 only when the database, Redis and the object store all answer now."""
        results = await run_checks(settings)
        failing = [result.name for result in results if not result.ok]
        body = {
            "status": "ok" if not failing else "unavailable",
            "failing": failing,
            "checks": {result.name: result.detail for result in results},
        }
        return JSONResponse(body, status_code=200 if not failing else 503)

    @app.get("/api/meetings")
    def list_meetings(limit: int = Query(default=50, ge=1, le=500)) -> dict[str, Any]:
        with Session(engine) as session:
            meetings = session.scalars(
                select(Meeting).order_by(Meeting.created_at.desc()).limit(limit)
            ).all()
        return {"items": [_meeting_json(meeting) for meeting in meetings]}

    @app.get("/api/meetings/{meeting_id}")
    def get_meeting(meeting_id: uuid.UUID) -> dict[str, Any]:
        with Session(engine) as session:
            meeting = session.get(Meeting, meeting_id)
        if meeting is None:
            raise HTTPException(status_code=404, detail="meeting not found")
        return _meeting_json(meeting)

    @app.get("/api/schema-revision")
    def schema_revision() -> dict[str, Any]:
        """The alembic revision the database is at (null before the first migration)."""
        with engine.connect() as conn:
            try:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
            except ProgrammingError:
                return {"revision": None}
        revisions = sorted(str(row[0]) for row in rows)
        return {"revision": revisions[0] if len(revisions) == 1 else (revisions or None)}

    return app
