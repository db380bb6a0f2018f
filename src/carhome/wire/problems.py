"""Problems on the wire (RFC 9457, ``application/problem+json``) and the error a client raises.

Every error the API answers with is a problem: ``type`` (``urn:carhome:problem:<code>``),
``title``, ``status``, ``detail`` (a sentence saying what was wrong and what to do) and
structured fields of its kind (``field``, ``reason``, ``allowed``, ``device`` …).
``ApiError.from_answer`` is the one place a client turns such an answer — or anything else
an HTTP server says instead — into a carhome error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from carhome.errors import CarhomeError
from carhome.http.media import MEDIA_TYPE, TYPE_PREFIX

__all__ = ["MEDIA_TYPE", "TYPE_PREFIX", "ApiError", "ProblemOut"]


class ProblemOut(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every error the API answers with. Besides these four members a
    problem carries structured fields of its kind (``field``, ``reason``, ``allowed``,
    ``device`` …), so the object is open."""

    type: str
    title: str
    status: int
    detail: str


class ApiError(CarhomeError):
    """The hub refused a request: ``status`` is the HTTP status, ``code`` the problem's kind
    (``unknown-device``, ``key-refused``, ``invalid-body`` …, for scripts), ``reason`` its
    short reason when it has one (a device's refusal code, a token's state), ``fields`` the
    rest of the problem. The message is the problem's sentence, for people."""

    def __init__(self, status: int, code: str, detail: str, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields: dict[str, Any] = dict(fields or {})

    @property
    def reason(self) -> str | None:
        """The problem's ``reason`` field, if it has a short one."""
        reason = self.fields.get("reason")
        return reason if isinstance(reason, str) else None

    @classmethod
    def from_answer(cls, status: int, content: bytes, *, url: str, phrase: str = "") -> ApiError:
        """The error an HTTP answer with an error ``status`` means: its problem when it is
        one, else a sentence saying the server at ``url`` is not a carhome hub's API."""
        try:
            body = msgspec.json.decode(content)
        except msgspec.DecodeError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]:
            kind = str(body.get("type", ""))
            code = kind.removeprefix(TYPE_PREFIX) if kind.startswith(TYPE_PREFIX) else f"http-{status}"
            fields = {k: v for k, v in body.items() if k not in ("type", "title", "status", "detail")}
            return cls(status, code, body["detail"], fields)
        said = content[:200].decode(errors="replace").strip() or phrase or "no explanation"
        return cls(
            status,
            f"http-{status}",
            f"{url} answered with an error that is not the carhome API's ({status}: {said});"
            " is this the address of a carhome hub?",
        )
