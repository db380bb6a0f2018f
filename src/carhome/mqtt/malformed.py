"""``MalformedMessage``: what the MQTT edge raises for input it cannot decode.

It sits in carhome's error tree under ``ConnectorError`` (a peer misbehaves). Every decoder
of this package raises it, and only it, whatever bytes arrive; the connector turns it into
a counted ``InvalidChange`` rejection and carries on with the next message.
"""

from __future__ import annotations

from carhome.errors import ConnectorError


class MalformedMessage(ConnectorError):
    """An MQTT topic or payload that carhome cannot decode.

    ``code`` is a short stable reason used for counting (``bad_topic``,
    ``malformed_payload``, ``too_large``, ``too_deep``, ``bad_ts``, ``future_ts``,
    ``stale_ts``, ``bad_command``, ``bad_ack``, ``bad_event``, ``bad_status``,
    ``bad_reply``); ``reason`` says what was wrong in words.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
