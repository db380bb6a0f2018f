"""Where carhome meets the ``ocpp`` library (which ships no types), with ``meter`` for meter values.

``Central16`` and ``Central201`` are the library's central-system ``ChargePoint`` for one
WebSocket, with routes set as data (no untyped decorators). Each handler decodes its
payload into typed values and calls the ``Session``, and answers once the session has
kept what it was told (a transaction is saved before the charger hears it is taken).
Incoming calls are checked against the version's JSON schema here first, so a bad one
gets the right OCPP error code for its version (1.6 says ``FormationViolation`` and
``OccurenceConstraintViolation``, 2.0.1 ``FormatViolation`` and
``OccurrenceConstraintViolation``); the connection carries on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from typing import Any, Final

import msgspec
from ocpp.charge_point import ChargePoint  # type: ignore[import-untyped]
from ocpp.messages import Call, CallError, MessageType, get_validator, unpack  # type: ignore[import-untyped]
from ocpp.v16 import call as call16  # type: ignore[import-untyped]
from ocpp.v16 import call_result as result16
from ocpp.v201 import call as call201  # type: ignore[import-untyped]
from ocpp.v201 import call_result as result201

from carhome.connectors.ocpp.meter import begin_register, epoch, samples
from carhome.connectors.ocpp.session import Session
from carhome.errors import ConnectorError
from carhome.ocpp.messages import VENDOR_ID, OcppVersion, Outcome, Sample
from ocpp import exceptions as oe  # type: ignore[import-untyped]

log: Final = logging.getLogger(__name__)

RESPONSE_TIMEOUT: Final = 30.0

_PROPERTY: Final = frozenset(
    {"enum", "maxLength", "minLength", "minimum", "maximum", "pattern", "multipleOf", "format"}
)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def _code(version: OcppVersion, kind: str) -> Any:
    """The version's exception class for a kind of schema violation."""
    table: dict[str, tuple[Any, Any]] = {
        "format": (oe.FormationViolationError, oe.FormatViolationError),
        "occurrence": (oe.OccurenceConstraintViolationError, oe.OccurrenceConstraintViolationError),
        "type": (oe.TypeConstraintViolationError, oe.TypeConstraintViolationError),
        "property": (oe.PropertyConstraintViolationError, oe.PropertyConstraintViolationError),
    }
    return table[kind][0 if version == "1.6" else 1]


def _outcome(status: Any) -> Outcome:
    text = str(getattr(status, "value", status))
    return Outcome(text in ("Accepted", "Unlocked"), text)


def _transferred(r: Any) -> Outcome:
    """A ``DataTransfer`` answer: its status, and its data if the charger sent text."""
    if isinstance(r, Outcome):
        return r
    data = r.data
    return msgspec.structs.replace(_outcome(r.status), detail=data if isinstance(data, str) else "")


class _Central(ChargePoint):  # type: ignore[misc]
    version: OcppVersion

    def __init__(self, session: Session, connection: Any) -> None:
        super().__init__(session.charger, connection, response_timeout=RESPONSE_TIMEOUT)
        self.session = session
        self._ocpp_version = self.version
        self._call_result = result16 if self.version == "1.6" else result201
        self.route_map = {
            action: {"_on_action": handler, "_skip_schema_validation": False}
            for action, handler in self._routes().items()
        }

    def _routes(self) -> dict[str, Any]:
        """The actions a charger calls, each with its handler: those of every version, and
        the version's own (``_own_routes``)."""
        return {
            "BootNotification": self._boot,
            "Heartbeat": self._heartbeat,
            "StatusNotification": self._status,
            "Authorize": self._authorize,
            "MeterValues": self._meter,
            **self._own_routes(),
        }

    def _own_routes(self) -> dict[str, Any]:
        raise NotImplementedError

    async def serve(self) -> None:
        await self.start()

    async def route_message(self, raw_msg: Any) -> None:
        try:
            msg = unpack(raw_msg)
        except oe.OCPPError as exc:
            await self._reply_unparsable(raw_msg, exc)
            return
        if msg.message_type_id != MessageType.Call:
            self._response_queue.put_nowait(msg)
            return
        try:
            self._check(msg)
            await self._handle_call(msg)
            self.session.answered()
        except oe.OCPPError as exc:
            log.warning("charger %s: %s %s refused: %s", self.id, msg.action, msg.unique_id, exc)
            await self._send(msg.create_call_error(exc).to_json())
        except Exception as exc:  # a bug of ours must not end the charger's session
            log.exception("charger %s: %s %s failed", self.id, msg.action, msg.unique_id)
            await self._send(msg.create_call_error(exc).to_json())

    def _check(self, msg: Any) -> None:
        if msg.action not in self.route_map:
            return  # the library answers NotImplemented / NotSupported
        errors = sorted(
            get_validator(MessageType.Call, msg.action, self._ocpp_version).iter_errors(msg.payload),
            key=lambda e: e.path,
        )
        if not errors:
            return
        err = errors[0]
        kind = {"type": "type", "required": "occurrence", "additionalProperties": "format"}.get(
            err.validator, "property" if err.validator in _PROPERTY else "format"
        )
        raise _code(self.version, kind)(details={"cause": err.message})

    async def _reply_unparsable(self, raw: Any, exc: Any) -> None:
        try:
            frame = json.loads(raw)
            unique_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else None
        except (ValueError, TypeError):
            unique_id = None
        if not isinstance(unique_id, str):
            log.warning("charger %s: unparsable message dropped: %s", self.id, exc)
            return
        if isinstance(exc, oe.FormatViolationError):
            exc = _code(self.version, "format")(details={"cause": "not valid OCPP-J"})
        error = CallError(unique_id, exc.code, exc.description, exc.details)
        await self._send(error.to_json())

    async def _ask(self, payload: Any) -> Any:
        try:
            response = await self.call(payload, suppress=False)
        except oe.OCPPError as exc:
            return Outcome(False, exc.code)
        except (TimeoutError, OSError) as exc:
            raise ConnectorError(f"charger {self.id} did not answer {type(payload).__name__}: {exc}") from exc
        return response

    async def _status_of(self, payload: Any) -> Outcome:
        """The outcome of a request the charger answers with a status alone."""
        r = await self._ask(payload)
        return r if isinstance(r, Outcome) else _outcome(r.status)


class Central16(_Central):
    """OCPP 1.6J."""

    version: OcppVersion = "1.6"

    def _own_routes(self) -> dict[str, Any]:
        return {"StartTransaction": self._start, "StopTransaction": self._stop}

    def _tag_info(self, id_tag: str | None) -> dict[str, str]:
        return {"status": "Accepted" if self.session.member_of(id_tag) else "Invalid"}

    async def _boot(self, **p: Any) -> Any:
        await self.session.boot(p["charge_point_vendor"], p["charge_point_model"])
        return result16.BootNotification(
            current_time=iso(self.session.now()), interval=300, status="Accepted"
        )

    def _heartbeat(self, **p: Any) -> Any:
        return result16.Heartbeat(current_time=iso(self.session.now()))

    async def _status(self, **p: Any) -> Any:
        if p["connector_id"] != 0:
            await self.session.status(p["status"], connector=p["connector_id"])
        return result16.StatusNotification()

    def _authorize(self, **p: Any) -> Any:
        return result16.Authorize(id_tag_info=self._tag_info(p["id_tag"]))

    async def _start(self, **p: Any) -> Any:
        tx = await self.session.begin(
            connector=p["connector_id"],
            id_tag=p["id_tag"],
            started=epoch(p["timestamp"]),
            start_wh=float(p["meter_start"]),
        )
        return result16.StartTransaction(transaction_id=int(tx.id), id_tag_info=self._tag_info(p["id_tag"]))

    async def _tx(self, tx_id: int, connector: int, readings: list[Sample], at: float) -> Any:
        """The transaction a message names; one the hub has no record of is adopted."""
        tx = self.session.find(str(tx_id))
        if tx is None:
            first = min((s.ts for s in readings), default=at)
            tx = await self.session.adopt(str(tx_id), connector=connector, started=min(first, at))
        return tx

    async def _meter(self, **p: Any) -> Any:
        readings = samples(p["meter_value"])
        tx_id = p.get("transaction_id")
        connector = p["connector_id"]
        if tx_id is None:
            await self.session.meter(None, readings, connector=connector)
        else:
            tx = await self._tx(tx_id, connector, readings, self.session.now())
            await self.session.meter(tx, readings)
        return result16.MeterValues()

    async def _stop(self, **p: Any) -> Any:
        readings = samples(p.get("transaction_data"))
        stopped = epoch(p["timestamp"])
        tx = await self._tx(p["transaction_id"], 1, readings, stopped)
        await self.session.meter(tx, readings)
        await self.session.end(tx, stopped=stopped, stop_wh=float(p["meter_stop"]))
        return result16.StopTransaction(id_tag_info=self._tag_info(p.get("id_tag") or tx.id_tag))

    async def start_charging(self, id_tag: str, remote_id: int) -> Outcome:
        return await self._status_of(call16.RemoteStartTransaction(id_tag=id_tag, connector_id=1))

    async def stop_charging(self, tx_id: str) -> Outcome:
        return await self._status_of(call16.RemoteStopTransaction(transaction_id=int(tx_id)))

    async def set_current_limit(self, amps: int, tx_id: str | None) -> Outcome:
        profile: dict[str, Any] = {
            "chargingProfileId": secrets.randbelow(2**31 - 2) + 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile" if tx_id else "TxDefaultProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": float(amps)}],
            },
        }
        if tx_id:
            profile["transactionId"] = int(tx_id)
        return await self._status_of(call16.SetChargingProfile(connector_id=1, cs_charging_profiles=profile))

    async def unlock(self) -> Outcome:
        return await self._status_of(call16.UnlockConnector(connector_id=1))

    async def data_transfer(self, message_id: str, data: str) -> Outcome:
        return _transferred(
            await self._ask(call16.DataTransfer(vendor_id=VENDOR_ID, message_id=message_id, data=data))
        )


class Central201(_Central):
    """OCPP 2.0.1. The charging station names its transactions; carhome keys on them."""

    version: OcppVersion = "2.0.1"

    def _own_routes(self) -> dict[str, Any]:
        return {"TransactionEvent": self._transaction}

    def _token_info(self, token: dict[str, Any] | None) -> dict[str, str]:
        tag = None if token is None else token.get("id_token")
        return {"status": "Accepted" if self.session.member_of(tag) else "Invalid"}

    async def _boot(self, **p: Any) -> Any:
        station = p["charging_station"]
        await self.session.boot(station.get("vendor_name", ""), station.get("model", ""))
        return result201.BootNotification(
            current_time=iso(self.session.now()), interval=300, status="Accepted"
        )

    def _heartbeat(self, **p: Any) -> Any:
        return result201.Heartbeat(current_time=iso(self.session.now()))

    async def _status(self, **p: Any) -> Any:
        await self.session.status(p["connector_status"], connector=p["evse_id"])
        return result201.StatusNotification()

    def _authorize(self, **p: Any) -> Any:
        return result201.Authorize(id_token_info=self._token_info(p["id_token"]))

    async def _transaction(self, **p: Any) -> Any:
        info = p["transaction_info"]
        ts = epoch(p["timestamp"])
        meter_values = p.get("meter_value")
        readings = samples(meter_values)
        token = p.get("id_token")
        tx = self.session.find(info["transaction_id"])
        if tx is not None and p["event_type"] == "Started":
            # the start came after the transaction's other messages: it has the begin
            await self.session.began(
                tx,
                started=ts,
                start_wh=_begin(meter_values, readings),
                id_tag=None if token is None else token.get("id_token"),
            )
        if tx is None:
            # Started, or an Updated/Ended whose Started was lost: open it all the same.
            start_wh = (
                _begin(meter_values, readings)
                if p["event_type"] == "Started"
                else begin_register(meter_values)
            )
            tx = await self.session.begin(
                connector=(p.get("evse") or {}).get("id", 1),
                id_tag=None if token is None else token.get("id_token"),
                started=ts if p["event_type"] == "Started" else min([ts, *(s.ts for s in readings)]),
                start_wh=start_wh,
                tx_id=info["transaction_id"],
            )
        await self.session.meter(tx, readings)
        state = info.get("charging_state")
        if state is not None and tx.active and self.session.transactions.current(self.id) is tx:
            await self.session.status(state)
        if p["event_type"] == "Ended":
            stop_wh = max((s.energy_wh for s in readings if s.energy_wh is not None), default=None)
            await self.session.end(tx, stopped=ts, stop_wh=stop_wh)
        return result201.TransactionEvent(id_token_info=None if token is None else self._token_info(token))

    async def _meter(self, **p: Any) -> Any:
        readings = samples(p["meter_value"])
        evse = p["evse_id"]
        current = self.session.transactions.current(self.id)
        if current is not None and current.connector != evse:
            current = None  # another EVSE's meter, or the station's own (EVSE 0)
        await self.session.meter(current, readings, connector=evse)
        return result201.MeterValues()

    async def start_charging(self, id_tag: str, remote_id: int) -> Outcome:
        return await self._status_of(
            call201.RequestStartTransaction(
                id_token={"id_token": id_tag, "type": "Central"}, remote_start_id=remote_id, evse_id=1
            )
        )

    async def stop_charging(self, tx_id: str) -> Outcome:
        return await self._status_of(call201.RequestStopTransaction(transaction_id=tx_id))

    async def set_current_limit(self, amps: int, tx_id: str | None) -> Outcome:
        profile: dict[str, Any] = {
            "id": secrets.randbelow(2**31 - 2) + 1,
            "stack_level": 0,
            "charging_profile_purpose": "TxProfile" if tx_id else "TxDefaultProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": [
                {
                    "id": 1,
                    "charging_rate_unit": "A",
                    "charging_schedule_period": [{"start_period": 0, "limit": float(amps)}],
                }
            ],
        }
        if tx_id:
            profile["transaction_id"] = tx_id
        return await self._status_of(call201.SetChargingProfile(evse_id=1, charging_profile=profile))

    async def unlock(self) -> Outcome:
        return await self._status_of(call201.UnlockConnector(evse_id=1, connector_id=1))

    async def data_transfer(self, message_id: str, data: str) -> Outcome:
        return _transferred(
            await self._ask(call201.DataTransfer(vendor_id=VENDOR_ID, message_id=message_id, data=data))
        )


def _begin(meter_values: list[dict[str, Any]] | None, readings: list[Sample]) -> float | None:
    """The register a ``Started`` event gives: its begin reading, else its own readings'."""
    begin = begin_register(meter_values)
    if begin is None:  # the Started event's readings are taken as it began
        begin = min((s.energy_wh for s in readings if s.energy_wh is not None), default=None)
    return begin


def central(version: OcppVersion, session: Session, connection: Any) -> Central16 | Central201:
    return Central16(session, connection) if version == "1.6" else Central201(session, connection)


__all__ = ["Call", "Central16", "Central201", "central"]
