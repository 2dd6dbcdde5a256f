"""Refusals of the Reporting API, worded as Matomo words them and answered with Matomo's status codes.

Matomo answers most API errors with 200 and an error body; a missing or wrong token gets 401
(NoAccessException), an unknown method 400 (BadRequestException). Here the body follows the requested
format (render.error_body), never a stack trace.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error of one API call: `message` goes to the client; `status` is Matomo's HTTP status."""

    status = 200

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoAccess(ApiError):
    status = 401


class BadRequest(ApiError):
    status = 400


class Blocked(ApiError):
    """Too many failed token checks from one client, or too many calls: wait (Retry-After)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
