"""The error responses each route can give, declared for the OpenAPI document: clients (and
schema fuzzers) see every status a route really answers, all in the one error shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """``{"error": {"code": ..., "message": ...}}``: every error, ours or the framework's."""

    error: ErrorDetail


_WHY = {
    400: "The input cannot be used as given (the message says why)",
    401: "Missing or wrong API key (X-API-Key or Authorization: Bearer)",
    404: "No such call, job, run or file",
    409: "Conflicts with the current state (a finished job, a collection of another model)",
    413: "The request or a file is over the size limit",
    415: "A file type the API does not accept",
    422: "The request does not match the schema, or a file is empty or undecodable",
    429: "Too many failed API-key attempts from this client; retry after Retry-After seconds",
    503: "The store or the state dir is unavailable or damaged (the message says what to do)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route or router: each status with the error body and why."""
    return {code: {"model": ErrorBody, "description": _WHY[code]} for code in codes}
