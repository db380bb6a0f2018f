"""A simulated OCPP wallbox (1.6J or 2.0.1) on the ``ocpp`` library's charge-point side.

It connects to a central system over a real WebSocket, boots, reports status, authorizes,
runs transactions with meter values, and answers remote start/stop, charging profiles and
unlock. Like a real charger it queues transaction messages while offline and sends them, in
order, when it is back. Time comes from the injected clock. Tests and the demo use it.

By itself it accepts every request (or refuses all, ``accept=False``) and only records
them; give ``on_request`` to decide each one (the demo's wallbox does what it is asked).
The limit of the latest accepted charging profile is ``limit_a`` (either version).

Real chargers differ in what they report, and so can this one: ``phases=3`` reports power
per phase (L1, L2, L3) with no total, ``multiplier`` sends 2.0.1 values scaled by a power of
ten in ``unitOfMeasure``, ``begin_meter=False`` starts a 2.0.1 transaction without a meter
value. ``reboot`` is a charger losing power mid-transaction: the connection drops, its
queue survives, and back up it boots, stops the transaction it lost (``Reboot``) and may
start another. ``sent`` keeps every transaction message delivered, so a test can replay
them; ``frames`` is what arrived from the central system, in order (a request's action,
or ``answer`` for an answer to the charger's own call). ``source`` is the local address
it connects from (any 127.x.y.z on loopback).

With ``keys`` (a ``carhome.signing.keeper.DeviceKeys``) it verifies as the simulated car,
lock and garage do: it answers carhome's ``DataTransfer`` (vendor ``carhome``) — a
``signed-command`` by the keeper's ``check`` (of its ``CommandFields``), ``session`` and
``enroll`` asks by ``carhome.signing.relay.answer`` — and accepts a remote start only
right after a signed ``start_charging`` it accepted and before that command expires, once.
A remote start with no such command (an unsigned one, or a hub calling it directly) is
rejected before ``on_request`` sees it, so nothing starts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Final, Literal, Self

import msgspec
from ocpp.charge_point import ChargePoint  # type: ignore[import-untyped]
from ocpp.v16 import call as call16  # type: ignore[import-untyped]
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201  # type: ignore[import-untyped]
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from carhome.clock import Clock
from carhome.errors import ConnectorError
from carhome.ocpp.messages import ENROLL_ASK, SESSION_ASK, SIGNED_COMMAND, VENDOR_ID, SignedCommand
from carhome.signing.envelope import CommandFields
from carhome.signing.keeper import DeviceKeys
from carhome.signing.relay import KeyAnswer, KeyAsk, answer
from carhome.signing.relay import Session as KeySession

Version = Literal["1.6", "2.0.1"]
TIMEOUT: Final = 5.0

RequestHandler = Callable[[str, dict[str, Any]], Awaitable[bool]]
"""Decides a request from the central system: (action, snake_case payload) → accepted.

It runs while the connection's reader waits for it, so it must not send OCPP calls itself."""


class ChargingProfile(msgspec.Struct, frozen=True):
    """What a charger needs of a ``SetChargingProfile``: purpose, first limit and its unit."""

    purpose: str
    limit: float
    unit: str
    transaction_id: str | None = None


def charging_profile(payload: dict[str, Any]) -> ChargingProfile:
    """Read a ``SetChargingProfile`` payload (snake_case, OCPP 1.6 or 2.0.1)."""
    profile = payload.get("cs_charging_profiles") or payload["charging_profile"]
    schedule = profile["charging_schedule"]
    if isinstance(schedule, list):  # 2.0.1 allows up to three schedules
        schedule = schedule[0]
    period = schedule["charging_schedule_period"][0]
    tx = profile.get("transaction_id")
    return ChargingProfile(
        purpose=profile["charging_profile_purpose"],
        limit=float(period["limit"]),
        unit=schedule["charging_rate_unit"],
        transaction_id=None if tx is None else str(tx),
    )


_REMOTE_START: Final = frozenset({"RemoteStartTransaction", "RequestStartTransaction"})
_ANSWERS: Final = {"UnlockConnector": ("Unlocked", "UnlockFailed")}
"""What a remote action answers, accepted and not, where it is not Accepted and Rejected."""
_CALL: Final = 2  # OCPP-J message type of a request
_LINES: Final = ("L1", "L2", "L3")


class _Armed(msgspec.Struct, frozen=True):
    """A signed start the keeper accepted: it lets the next remote start through, once."""

    id: str
    expires: float


class WallboxRefused(ConnectorError):
    """The central system refused the WebSocket handshake (HTTP ``status``, its ``headers``
    but ``Date``, and its ``body``)."""

    def __init__(self, status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> None:
        super().__init__(f"the central system refused the connection: HTTP {status}")
        self.status = status
        self.headers = headers or {}
        self.body = body


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


class _Peer(ChargePoint):  # type: ignore[misc]
    def __init__(self, box: SimulatedWallbox, connection: ClientConnection) -> None:
        super().__init__(box.id, connection, response_timeout=TIMEOUT)
        self._box = box
        self._ocpp_version = box.version
        self._call_result = result16 if box.version == "1.6" else result201
        self.route_map = {
            action: {"_on_action": handler, "_skip_schema_validation": False}
            for action, handler in box.routes().items()
        }

    async def route_message(self, raw_msg: Any) -> None:
        with contextlib.suppress(ValueError, TypeError, IndexError):
            frame = json.loads(raw_msg)
            self._box.frames.append(str(frame[2]) if frame[0] == _CALL else "answer")
        await super().route_message(raw_msg)


class SimulatedWallbox:
    """One charger with one connector; an async context manager that connects on entry."""

    def __init__(
        self,
        url: str,
        charger_id: str,
        *,
        version: Version = "1.6",
        password: str | None = None,
        clock: Clock,
        accept: bool = True,
        on_request: RequestHandler | None = None,
        keys: DeviceKeys | None = None,
        phases: Literal[1, 3] = 1,
        multiplier: int = 0,
        begin_meter: bool = True,
        source: str | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/" + charger_id
        self.id = charger_id
        self.version = version
        self._password = password
        self._clock = clock
        self.accept = accept
        self.on_request = on_request
        self.keys = keys
        self.phases = phases
        self.multiplier = multiplier
        self.begin_meter = begin_meter
        self.source = source
        self.limit_a: float | None = None
        self.register_wh = 0.0
        self.tx_id: str | None = None
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.answered: list[tuple[str, bool]] = []
        """Each request decided, in order: (action, accepted)."""
        self.signed: list[str] = []
        """Ids of the signed commands the keeper accepted."""
        self._armed: _Armed | None = None
        self.request_seen = asyncio.Event()
        self.queue: list[Any] = []
        self.sent: list[Any] = []
        """Transaction messages the central system answered, in order (to replay)."""
        self.frames: list[str] = []
        self._peer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._seq = itertools.count()
        self._token: dict[str, str] = {}

    # -- connection -----------------------------------------------------------------------

    @property
    def online(self) -> bool:
        return self._peer is not None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.disconnect()

    async def connect(self, *, flush: bool = True) -> None:
        """Open the WebSocket, then (``flush``) send what was queued while offline."""
        headers = {}
        if self._password is not None:
            token = base64.b64encode(f"{self.id}:{self._password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        try:
            connection = await connect(
                self.url,
                subprotocols=[Subprotocol("ocpp1.6" if self.version == "1.6" else "ocpp2.0.1")],
                additional_headers=headers,
                open_timeout=TIMEOUT,
                **self._socket_options(),
            )
        except InvalidStatus as exc:
            response = exc.response
            headers = {k.lower(): v for k, v in response.headers.raw_items() if k.lower() != "date"}
            raise WallboxRefused(response.status_code, headers, response.body or b"") from exc
        except (OSError, TimeoutError) as exc:
            raise ConnectorError(f"wallbox {self.id} cannot reach {self.url}: {exc}") from exc
        self._peer = _Peer(self, connection)
        self._task = asyncio.create_task(self._run(self._peer), name=f"wallbox-{self.id}")
        if flush:
            await self.flush()

    async def flush(self) -> None:
        """Send what was queued while offline, in the queue's order (a test may reorder it)."""
        while self.queue and self._peer is not None:
            payload = self.queue.pop(0)
            try:
                await self._call(payload)
            except ConnectionClosed:
                self.queue.insert(0, payload)
                return
            self.sent.append(payload)

    def _socket_options(self) -> dict[str, Any]:
        return {} if self.source is None else {"local_addr": (self.source, 0)}

    async def _run(self, peer: Any) -> None:
        with contextlib.suppress(ConnectionClosed):
            await peer.start()
        if self._peer is peer:
            self._peer = None

    async def disconnect(self) -> None:
        """Drop the connection (as a charger losing its network would)."""
        peer, self._peer = self._peer, None
        if peer is not None:
            await peer._connection.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def closed(self) -> bool:
        """Whether the central system has closed this connection (after a short wait)."""
        if self._task is None:
            return True
        # Real seconds: a closing socket is real I/O; a fake clock does not move it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), 0.5)
        return self._task.done()

    async def _call(self, payload: Any) -> Any:
        if self._peer is None:
            raise ConnectorError(f"wallbox {self.id} is offline")
        return await self._peer.call(payload)

    async def _call_or_queue(self, payload: Any) -> Any:
        """Send a transaction message now, or keep it for the next connection."""
        if self._peer is None:
            self.queue.append(payload)
            return None
        try:
            answer = await self._call(payload)
        except ConnectionClosed:
            self.queue.append(payload)
            return None
        self.sent.append(payload)
        return answer

    async def call_raw(self, frame: str, unique_id: str) -> list[Any]:
        """Send a hand-made frame and return the central system's reply as a list."""
        if self._peer is None:
            raise ConnectorError(f"wallbox {self.id} is offline")
        async with self._peer._call_lock:
            await self._peer._send(frame)
            reply = await self._peer._get_specific_response(unique_id, TIMEOUT)
        frame_out: list[Any] = json.loads(reply.to_json())
        return frame_out

    # -- what a charger says --------------------------------------------------------------

    def _now(self) -> str:
        return _iso(self._clock.time())

    async def boot(self) -> str:
        if self.version == "1.6":
            r = await self._call(
                call16.BootNotification(charge_point_model="Sim", charge_point_vendor="carhome")
            )
        else:
            r = await self._call(
                call201.BootNotification(
                    charging_station={"model": "Sim", "vendor_name": "carhome"}, reason="PowerUp"
                )
            )
        return str(r.status)

    async def heartbeat(self) -> str:
        r = await self._call(call16.Heartbeat() if self.version == "1.6" else call201.Heartbeat())
        return str(r.current_time)

    async def status(self, status: str) -> None:
        """Report the connector status (``Available``, ``Preparing``, ``Charging`` …)."""
        if self.version == "1.6":
            await self._call(call16.StatusNotification(connector_id=1, error_code="NoError", status=status))
        else:
            await self._call(
                call201.StatusNotification(
                    timestamp=self._now(), connector_status=status, evse_id=1, connector_id=1
                )
            )

    async def authorize(self, tag: str) -> str:
        if self.version == "1.6":
            r = await self._call(call16.Authorize(id_tag=tag))
            return str(r.id_tag_info["status"])
        r = await self._call(call201.Authorize(id_token={"id_token": tag, "type": "ISO14443"}))
        return str(r.id_token_info["status"])

    def _value(self, value: float, measurand: str, unit: str, phase: str | None = None) -> dict[str, Any]:
        """One sampled value as this charger writes it (1.6: text; 2.0.1: a scaled number)."""
        if self.version == "1.6":
            out: dict[str, Any] = {"value": str(value), "measurand": measurand, "unit": unit}
        else:
            scaled = value / 10.0**self.multiplier
            uom: dict[str, Any] = {"unit": unit}
            if self.multiplier:
                uom["multiplier"] = self.multiplier
            out = {"value": scaled, "measurand": measurand, "unit_of_measure": uom}
        if phase is not None:
            out["phase"] = phase
        return out

    def _meter_value(self, power_w: float | None, context: str | None = None) -> dict[str, Any]:
        values = [self._value(self.register_wh, "Energy.Active.Import.Register", "Wh")]
        if context is not None:
            values[0]["context"] = context
        if power_w is not None:
            if self.phases == 1:
                values.append(self._value(power_w, "Power.Active.Import", "W"))
            else:
                values.extend(self._value(power_w / 3, "Power.Active.Import", "W", line) for line in _LINES)
        return {"timestamp": self._now(), "sampled_value": values}

    def _event(self, kind: str, trigger: str, power_w: float | None, **extra: Any) -> Any:
        meter: dict[str, Any] = {}
        if kind != "Started" or self.begin_meter:
            context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}.get(
                kind, "Sample.Periodic"
            )
            meter["meter_value"] = [self._meter_value(power_w, context)]
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=self._now(),
            trigger_reason=trigger,
            seq_no=next(self._seq),
            transaction_info={"transaction_id": self.tx_id, **extra},
            evse={"id": 1, "connector_id": 1},
            **meter,
            **({"id_token": self._token} if kind == "Started" else {}),
        )

    async def start(self, tag: str, *, tx_id: str | None = None) -> str:
        """Start a transaction; returns its id (given by the central system in 1.6, made by
        the charger in 2.0.1: ``tx_id``, or a random one)."""
        if self.version == "1.6":
            payload = call16.StartTransaction(
                connector_id=1, id_tag=tag, meter_start=int(self.register_wh), timestamp=self._now()
            )
            r = await self._call(payload)
            self.sent.append(payload)
            self.tx_id = str(r.transaction_id)
        else:
            self.tx_id = tx_id or uuid.uuid4().hex
            self._token = {"id_token": tag, "type": "ISO14443"}
            await self._call_or_queue(self._event("Started", "Authorized", None, charging_state="Charging"))
        return self.tx_id

    async def meter(self, add_wh: float, power_w: float) -> None:
        """Add ``add_wh`` to the register and send a reading (queued while offline)."""
        self.register_wh += add_wh
        if self.version == "1.6":
            payload = call16.MeterValues(
                connector_id=1,
                transaction_id=None if self.tx_id is None else int(self.tx_id),
                meter_value=[self._meter_value(power_w)],
            )
        else:
            payload = self._event("Updated", "MeterValuePeriodic", power_w, charging_state="Charging")
        await self._call_or_queue(payload)

    async def replay(self, payload: Any) -> None:
        """Send again a message that was answered before (its answer got lost on the way)."""
        await self._call(payload)

    async def idle_meter(self) -> None:
        """Send the register outside a transaction (a clock-aligned reading)."""
        reading = self._meter_value(None, "Sample.Clock")
        if self.version == "1.6":
            await self._call(call16.MeterValues(connector_id=1, meter_value=[reading]))
        else:
            await self._call(call201.MeterValues(evse_id=1, meter_value=[reading]))

    async def stop(self, reason: str = "Local") -> None:
        """End the transaction (queued while offline)."""
        if self.tx_id is None:
            raise ConnectorError(f"wallbox {self.id} has no transaction to stop")
        if self.version == "1.6":
            payload = call16.StopTransaction(
                meter_stop=int(self.register_wh),
                timestamp=self._now(),
                transaction_id=int(self.tx_id),
                **({} if reason == "Local" else {"reason": reason}),
            )
        else:
            trigger = "StopAuthorized" if reason == "Local" else "AbnormalCondition"
            payload = self._event("Ended", trigger, 0.0, stopped_reason=reason)
        await self._call_or_queue(payload)
        self.tx_id = None

    async def reboot(self, *, end_lost: bool = True) -> None:
        """Lose power mid-transaction: drop the link, keep the queue, boot again and (with
        ``end_lost``; not every charger does) end the transaction the reboot lost."""
        await self.disconnect()
        await self.connect(flush=False)
        await self.boot()
        await self.flush()
        if self.tx_id is not None and end_lost:
            await self.stop("Reboot")
        self.tx_id = None

    # -- what a charger answers -----------------------------------------------------------

    def _seen(self, action: str, payload: dict[str, Any]) -> None:
        self.received.append((action, payload))
        self.request_seen.set()

    async def wait_request(self, action: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Wait until the central system has sent ``action``; return its payload."""
        async with asyncio.timeout(timeout):
            while True:
                for name, payload in self.received:
                    if name == action:
                        return payload
                self.request_seen.clear()
                await self.request_seen.wait()

    # -- signed commands and key asks (with keys) -----------------------------------------

    def _transfer(self, keys: DeviceKeys, payload: dict[str, Any]) -> tuple[str, str | None]:
        """Answer a ``DataTransfer``: (status, data)."""
        if payload.get("vendor_id") != VENDOR_ID:
            return "UnknownVendorId", None
        message = payload.get("message_id")
        data = payload.get("data")
        if message not in (SIGNED_COMMAND, SESSION_ASK, ENROLL_ASK):
            return "UnknownMessageId", None
        if not isinstance(data, str):
            return "Rejected", "malformed: the data must be a JSON string"
        if message == SIGNED_COMMAND:
            return self._check_signed(keys, data)
        try:
            ask = msgspec.json.decode(data, type=KeyAsk)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return "Rejected", f"malformed: {str(exc)[:200]}"
        # a session ask only as "session", the others only as "enroll", as on MQTT's topics
        if isinstance(ask.op, KeySession) != (message == SESSION_ASK):
            reply = KeyAnswer(ask.id, False, reason="wrong_topic", message=f"ask sent as {message}")
        else:
            reply = answer(keys, ask)
        return "Accepted" if reply.ok else "Rejected", msgspec.json.encode(reply).decode()

    def _check_signed(self, keys: DeviceKeys, data: str) -> tuple[str, str | None]:
        self._armed = None  # a new signed command replaces (or, refused, withdraws) the last
        try:
            signed = msgspec.json.decode(data, type=SignedCommand)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return "Rejected", f"malformed: {str(exc)[:200]}"
        fields = CommandFields.received(signed, home=keys.home, device=keys.device)
        check = keys.check(fields, signed.signature)
        if not check.accepted:
            return "Rejected", check.error
        self.signed.append(signed.id)
        if signed.kind == "action" and signed.target == "start_charging":
            self._armed = _Armed(signed.id, signed.expires)
        return "Accepted", None

    def _start_signed(self) -> bool:
        """Whether a remote start may run now: a signed start was accepted for it, unexpired."""
        armed, self._armed = self._armed, None
        return armed is not None and self._clock.time() < armed.expires

    def routes(self) -> dict[str, Any]:
        def handler(action: str, result: Callable[[str], Any]) -> Any:
            yes, no = _ANSWERS.get(action, ("Accepted", "Rejected"))

            async def handle(**payload: Any) -> Any:
                if self.keys is not None and action in _REMOTE_START and not self._start_signed():
                    accepted = False  # never reaches on_request: nothing starts
                elif self.on_request is None:
                    accepted = self.accept
                else:
                    accepted = await self.on_request(action, payload)
                if accepted and action == "SetChargingProfile":
                    self.limit_a = charging_profile(payload).limit
                self._seen(action, payload)
                self.answered.append((action, accepted))
                return result(yes if accepted else no)

            return handle

        def transfer(keys: DeviceKeys) -> Any:
            async def handle(**payload: Any) -> Any:
                status, data = self._transfer(keys, payload)
                self._seen("DataTransfer", payload)
                self.answered.append(("DataTransfer", status == "Accepted"))
                if self.version == "1.6":
                    return result16.DataTransfer(status=status, data=data)
                return result201.DataTransfer(status=status, data=data)

            return handle

        results: dict[str, Callable[[str], Any]]
        if self.version == "1.6":
            results = {
                "RemoteStartTransaction": result16.RemoteStartTransaction,
                "RemoteStopTransaction": result16.RemoteStopTransaction,
                "SetChargingProfile": result16.SetChargingProfile,
                "UnlockConnector": result16.UnlockConnector,
            }
        else:
            results = {
                "RequestStartTransaction": result201.RequestStartTransaction,
                "RequestStopTransaction": result201.RequestStopTransaction,
                "SetChargingProfile": result201.SetChargingProfile,
                "UnlockConnector": result201.UnlockConnector,
            }
        routes = {action: handler(action, result) for action, result in results.items()}
        if self.keys is not None:
            routes["DataTransfer"] = transfer(self.keys)
        return routes
