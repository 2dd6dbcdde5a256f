"""The dashboards' refusals, as branches of the collector's error tree (collector/errors.py).

PayloadError (collector)     a request the server refuses; `status` is the HTTP answer
├── BadQuery                 unknown panel, site, period, filter or parameter (400)
├── NotFound                 no such recording or page (404)
├── Unauthorized             no valid session or API token (401; pages redirect to the login)
├── CsrfRejected             a state-changing request without the session's CSRF token (403)
├── Forbidden                the analyst's role on the site does not allow it (403)
├── Conflict                 creating what already exists, such as an analyst name (409)
└── TooManyAttempts          too many failed log-ins for one name, for a while (429)
"""

from __future__ import annotations

from collector.core.errors import PayloadError


class BadQuery(PayloadError):
    status = 400
    reason = "bad_query"


class NotFound(PayloadError):
    status = 404
    reason = "not_found"


class Unauthorized(PayloadError):
    status = 401
    reason = "unauthorized"


class CsrfRejected(PayloadError):
    status = 403
    reason = "csrf"


class Forbidden(PayloadError):
    status = 403
    reason = "forbidden"


class TooManyAttempts(PayloadError):
    status = 429
    reason = "too_many_attempts"


class Conflict(PayloadError):
    status = 409
    reason = "conflict"
