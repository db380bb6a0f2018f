"""Why a KUKSA request was refused, as a gRPC status and a message that says what to do.

``SignalError`` is the connector's one error: everything that refuses a request (an unknown
path, a value of the wrong type, an access denial, an offline car) is raised as one, with
the status the KUKSA API prescribes for it. The v2 service aborts the call with it; the
v1 service, whose calls report per-entry errors in the response, turns it into an
HTTP-like code (404, 400, 403, 503) as the KUKSA databroker does.
"""

from __future__ import annotations

from typing import Final

import grpc

from carhome.errors import ConnectorError

# kuksa.val.v1 reports errors per entry with HTTP-like codes and a short reason.
_V1_CODES: Final[dict[grpc.StatusCode, tuple[int, str]]] = {
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_argument"),
    grpc.StatusCode.FAILED_PRECONDITION: (400, "failed_precondition"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "forbidden"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthorized"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
}


class SignalError(ConnectorError):
    """A KUKSA request refused with ``status``; the message names the signal and the fix."""

    def __init__(self, status: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def v1_code(self) -> tuple[int, str]:
        """The (code, reason) kuksa.val.v1 uses for this status."""
        return _V1_CODES.get(self.status, (500, "internal_error"))
