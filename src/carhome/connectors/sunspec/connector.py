"""The hub's SunSpec connector: solar inverters, grid meters and batteries over Modbus TCP.

Each configured endpoint (host, port, unit id) gets a ``SunSpecClient`` and a polling task.
The first poll finds the device's SunSpec map (``SunS`` at 40000, 50000 or 0) and walks its
model chain; every poll then reads the models of the roles the endpoint plays — inverter
(101–103, 111–113, and 123 for its power limit), meter (201–204, 211–214), battery (802,
124, 713) — decodes them with the layouts compiled from pysunspec2's definitions
(``carhome.connectors.sunspec.models``), converts them through the tables in
``carhome.connectors.sunspec.mapping`` and hands them to ``Hub.report``. A poll that fails
marks the endpoint's hub devices offline (the cause logged once, not every poll) and the
next one finds the map again; a good poll marks them online.

What is not an error is not counted: a point the device does not implement (SunSpec's
"not implemented" markers) is simply not reported. What is wrong is rejected, counted in
``carhome rejections`` and logged once per cause: a scale factor outside -10…10
(``bad_scale_factor``), an enumeration value carhome has no word for (``not_mapped``), a
value outside the spec (the hub's own checks). A model in the chain that carhome does not
read is skipped with one warning per endpoint and model.

It is the hub's ``Transport`` for devices whose connector is ``sunspec``. The one command
it runs is setting an inverter's ``power_limit`` (percent), written to model 123's
``WMaxLimPct`` with ``WMaxLim_Ena`` set to enabled; an inverter without model 123 fails
the command saying so. Nothing is written at or after a command's expiry, and an id
already executed is answered from memory, never written twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Final, Self
from zoneinfo import ZoneInfo

from carhome.clock import Clock
from carhome.connectors.sunspec.client import Chain, ModelAt, SunSpecClient, SunSpecError
from carhome.connectors.sunspec.config import CONNECTOR, SunSpecDeviceConfig
from carhome.connectors.sunspec.mapping import (
    BATTERY,
    BATTERY_MODELS,
    COMMON_MODEL,
    CONTROLS_MODEL,
    DEVICE_TYPES,
    ENABLED,
    INVERTER,
    INVERTER_MODELS,
    LIMIT_ENABLE,
    LIMIT_POINT,
    METER,
    METER_MODELS,
    METER_SIGNED,
    METER_SWAPPED,
    MODELS,
    POWER_LIMIT,
    READ_MODELS,
    NotMapped,
    PointMap,
    Role,
)
from carhome.connectors.sunspec.models import BASES, Decoded, layout
from carhome.drivers.checks import check_hub_device
from carhome.drivers.execution import Executor, RunStats, Tasks
from carhome.errors import ConfigError, ConnectorError, InvalidChange, UnknownDevice
from carhome.hub import Ack, Command, Hub
from carhome.hub.runs import CommandRuns

log: Final = logging.getLogger(__name__)

SOURCE: Final = "sunspec"
ENERGY_TODAY: Final = "energy_today"
ENERGY_TOTAL: Final = "energy_total"
_REMEMBERED: Final = 1000  # executed command ids kept per endpoint


class SunSpecStats(RunStats):
    """What the connector has done since it was made."""

    polls: int = 0
    poll_failures: int = 0
    rejected_values: int = 0
    skipped_models: int = 0


class _Endpoint:
    """One endpoint's client, its map, what it has executed and what it has said."""

    def __init__(self, device: SunSpecDeviceConfig, client: SunSpecClient) -> None:
        self.device = device
        self.client = client
        self.roles = device.roles()
        self.lock = asyncio.Lock()
        self.chain: Chain | None = None
        self.identity: dict[str, str] = {}
        self.runs = CommandRuns(_REMEMBERED)
        self.last_error: str | None = None
        self.failure: type[SunSpecError] | None = None
        self.warned: set[object] = set()
        self.today: tuple[dt.date, float] | None = None


class SunSpecConnector:
    """Connects a hub to SunSpec devices over Modbus TCP; an async context manager."""

    def __init__(
        self,
        hub: Hub,
        devices: Sequence[SunSpecDeviceConfig],
        *,
        poll_interval: float = 10.0,
        timeout: float = 3.0,
        clock: Clock | None = None,
    ) -> None:
        if poll_interval <= 0:
            raise ConfigError(f"sunspec poll_interval must be positive, got {poll_interval}")
        self._hub = hub
        self._clock = clock or hub.clock
        self.poll_interval = poll_interval
        self.stats = SunSpecStats()
        self._endpoints: list[_Endpoint] = []
        self._by_device: dict[tuple[str, str], _Endpoint] = {}
        seen: set[tuple[str, int, int]] = set()
        for device in devices:
            endpoint = (device.host, device.port, device.unit)
            if endpoint in seen:
                raise ConfigError(f"sunspec device {device.where} is configured twice")
            seen.add(endpoint)
            if not device.roles():
                raise ConfigError(
                    f"sunspec device {device.where}: name an inverter, meter or battery it feeds"
                )
            entry = _Endpoint(device, SunSpecClient(device.host, device.port, device.unit, timeout=timeout))
            self._endpoints.append(entry)
            for hub_device in entry.roles.values():
                key = (device.home, hub_device)
                if key in self._by_device:
                    raise ConfigError(f"sunspec: {device.home}/{hub_device} is fed by two SunSpec roles")
                self._by_device[key] = entry
        self._tasks = Tasks()
        self._executor = Executor(hub, self.stats, self._tasks, connector=CONNECTOR, name="SunSpec", log=log)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        for entry in self._endpoints:
            for role, device in entry.roles.items():
                self._check_hub_device(entry.device.home, device, role)
        for entry in self._endpoints:
            await entry.client.__aenter__()
        # The first reading of every endpoint at once, before the hub goes on (at most the
        # timeout for one that does not answer); then each polls on its own.
        await asyncio.gather(*(self._poll(entry) for entry in self._endpoints))
        for entry in self._endpoints:
            d = entry.device
            self._tasks.spawn(self._poll_forever(entry), f"sunspec-poll-{d.host}-{d.port}-{d.unit}")
        self._executor.attach(self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._executor.stop()
        for entry in self._endpoints:
            entry.client.close()

    def _check_hub_device(self, home: str, device: str, role: Role) -> None:
        check_hub_device(
            self._hub,
            CONNECTOR,
            home,
            device,
            wanted=DEVICE_TYPES[role],
            where=f"sunspec {role} {home}/{device}",
            feeds=f"a SunSpec {role} feeds a",
        )

    def _entry(self, home: str, device: str) -> _Endpoint:
        entry = self._by_device.get((home, device))
        if entry is None:
            raise UnknownDevice(home, device, [d for h, d in self._by_device if h == home])
        return entry

    def last_error(self, home: str, device: str) -> str | None:
        """Why the last poll or command of the device's endpoint failed (``None`` after a success)."""
        return self._entry(home, device).last_error

    def identity(self, home: str, device: str) -> dict[str, str]:
        """What the endpoint's common model (1) says: manufacturer, model, version, serial."""
        return dict(self._entry(home, device).identity)

    def models(self, home: str, device: str) -> tuple[int, ...]:
        """The model ids in the endpoint's SunSpec map, as last found (empty before)."""
        chain = self._entry(home, device).chain
        return () if chain is None else tuple(m.model_id for m in chain.models)

    # -- polling --------------------------------------------------------------------------

    async def _poll_forever(self, entry: _Endpoint) -> None:
        while True:
            await self._clock.sleep(self.poll_interval)
            try:
                await self._poll(entry)
            except Exception:  # a poll must never end the loop; the cause is logged
                log.exception("SunSpec poll of %s failed", entry.device.where)

    async def poll(self, home: str, device: str) -> bool:
        """Read the device's endpoint now; whether it answered (its values are in the hub then)."""
        return await self._poll(self._entry(home, device))

    async def _poll(self, entry: _Endpoint) -> bool:
        async with entry.lock:
            return await self._poll_locked(entry)

    async def _poll_locked(self, entry: _Endpoint) -> bool:
        self.stats.polls += 1
        try:
            chain = await self._chain(entry)
            decoded = {m.model_id: await self._read(entry, m) for m in self._wanted(entry, chain)}
        except SunSpecError as exc:
            self.stats.poll_failures += 1
            entry.chain = None  # found again on the next poll: the device may have restarted
            self._went_offline(entry, exc)
            return False
        home = entry.device.home
        now = self._clock.time()
        for role, device in entry.roles.items():
            models = [decoded[m] for m in MODELS[role] if m in decoded]
            if not models:
                self._warn_once(
                    entry,
                    ("no-role", role),
                    f"SunSpec device {entry.device.where} is configured as {role} {home}/{device}, but its"
                    f" map has no {role} model ({', '.join(str(m) for m in MODELS[role])}); its models:"
                    f" {', '.join(str(m.model_id) for m in chain.models)}",
                )
                self._hub.set_available(home, device, False)
                continue
            values = self._values(entry, role, device, models, decoded.get(CONTROLS_MODEL))
            report = self._hub.report(home, device, values, ts=now, source=SOURCE)
            self.stats.rejected_values += len(report.rejected)
            self._hub.set_available(home, device, True)
        if entry.last_error is not None:
            log.info("SunSpec device %s answers again", entry.device.where)
        entry.last_error = None
        return True

    async def _chain(self, entry: _Endpoint) -> Chain:
        if entry.chain is not None:
            return entry.chain
        base = entry.device.base
        chain = await entry.client.discover((base,) if base is not None else BASES)
        entry.chain = chain
        common = chain.first((COMMON_MODEL,))
        if common is not None:
            ident = await self._read(entry, common)
            names = {"manufacturer": "Mn", "model": "Md", "version": "Vr", "serial": "SN"}
            entry.identity = {k: str(v) for k, p in names.items() if (v := ident.value(p)) is not None}
        for model in chain.models:
            if model.model_id not in READ_MODELS:
                self._skip(entry, model)
        log.info(
            "SunSpec device %s (%s): map at %d, models %s",
            entry.device.where,
            " ".join(entry.identity.get(k, "") for k in ("manufacturer", "model")).strip() or "unnamed",
            chain.base,
            ", ".join(str(m.model_id) for m in chain.models),
        )
        return chain

    def _skip(self, entry: _Endpoint, model: ModelAt) -> None:
        known = layout(model.model_id)
        what = (
            f"{known.label or known.name}, which carhome does not read"
            if known is not None
            else "not a model the SunSpec Alliance defines (a vendor's own)"
        )
        if self._warn_once(
            entry,
            ("skip", model.model_id),
            f"SunSpec device {entry.device.where}:"
            f" skipping model {model.model_id} at {model.address} ({what})",
        ):
            self.stats.skipped_models += 1

    def _wanted(self, entry: _Endpoint, chain: Chain) -> list[ModelAt]:
        """The models this endpoint's roles read, each once."""
        groups: list[tuple[int, ...]] = []
        if "inverter" in entry.roles:
            groups += [INVERTER_MODELS, (CONTROLS_MODEL,)]
        if "meter" in entry.roles:
            groups.append(METER_MODELS)
        if "battery" in entry.roles:
            groups += [(b,) for b in BATTERY_MODELS]
        return [m for m in (chain.first(ids) for ids in groups) if m is not None]

    async def _read(self, entry: _Endpoint, model: ModelAt) -> Decoded:
        known = layout(model.model_id)
        if known is None:  # never: only models carhome reads are read, and all are defined
            raise ConnectorError(f"no SunSpec definition for model {model.model_id}")
        return known.decode(await entry.client.read(model.address, 2 + model.length))

    def _values(
        self, entry: _Endpoint, role: Role, device: str, models: list[Decoded], controls: Decoded | None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for decoded in models:  # in preference order: a property the first model gives wins
            table = (
                INVERTER
                if role == "inverter"
                else METER
                if role == "meter"
                else BATTERY[decoded.layout.model_id]
            )
            for prop, value in self._convert(entry, device, decoded, table).items():
                values.setdefault(prop, value)
        if role == "meter" and entry.device.meter_reversed:
            values = {
                METER_SWAPPED.get(p, p): (-v if p in METER_SIGNED and isinstance(v, int | float) else v)
                for p, v in values.items()
            }
        if role == "inverter":
            total = values.get(ENERGY_TOTAL)
            if isinstance(total, int | float):
                values[ENERGY_TODAY] = self._today(entry, device, float(total))
            if controls is not None:
                limit = self._limit(controls)
                if limit is not None:
                    values[POWER_LIMIT] = limit
        return values

    def _convert(
        self, entry: _Endpoint, device: str, decoded: Decoded, table: tuple[PointMap, ...]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        bad = dict(decoded.bad)
        for pmap in table:
            if pmap.point in bad:
                self._reject(entry, device, pmap.prop, code="bad_scale_factor", reason=bad[pmap.point])
                continue
            value = decoded.value(pmap.point)
            if value is None:
                continue  # not implemented by this device: nothing to report, nothing wrong
            if pmap.convert is not None:
                try:
                    value = pmap.convert(value)
                except NotMapped as exc:
                    where = f"model {decoded.layout.model_id} point {pmap.point}"
                    reason = f"{where}: {exc.reason}"
                    self._reject(
                        entry, device, pmap.prop, code="not_mapped", reason=reason, allowed=exc.allowed
                    )
                    continue
            out[pmap.prop] = value
        return out

    @staticmethod
    def _limit(controls: Decoded) -> float | None:
        enabled = controls.raw.get(LIMIT_ENABLE)
        if enabled is None:
            return None
        if enabled != ENABLED:
            return 100.0
        value = controls.value(LIMIT_POINT)
        return None if value is None else float(value)

    def _today(self, entry: _Endpoint, device: str, total: float) -> float:
        """Today's energy from the lifetime counter: what it rose since the home's midnight,
        or since carhome first saw it that day (after a restart, the hub's own record of
        today's energy and total tells where the day started)."""
        home = entry.device.home
        zone = ZoneInfo(self._hub.home(home).timezone)
        date = dt.datetime.fromtimestamp(self._clock.time(), zone).date()
        started = entry.today
        if started is None or started[0] != date or total < started[1]:
            started = (date, self._day_start(home, device, zone, date, total))
            entry.today = started
        return round(total - started[1], 6)

    def _day_start(self, home: str, device: str, zone: ZoneInfo, date: dt.date, total: float) -> float:
        states = self._hub.state(home, device)
        today, lifetime = states.get(ENERGY_TODAY), states.get(ENERGY_TOTAL)
        if today is None or lifetime is None:
            return total
        same_day = all(dt.datetime.fromtimestamp(s.ts, zone).date() == date for s in (today, lifetime))
        start = float(lifetime.value) - float(today.value)
        return start if same_day and 0 <= start <= total else total

    def _went_offline(self, entry: _Endpoint, exc: SunSpecError) -> None:
        # Logged once per kind of failure (unreachable, refused, no map) while it lasts,
        # not every poll: the details of the latest are in last_error.
        if entry.last_error is None or entry.failure is not type(exc):
            log.warning("SunSpec device offline: %s", exc)
        entry.failure = type(exc)
        entry.last_error = exc.reason
        for device in entry.roles.values():
            self._hub.set_available(entry.device.home, device, False)

    def _warn_once(self, entry: _Endpoint, key: object, message: str) -> bool:
        if key in entry.warned:
            return False
        entry.warned.add(key)
        log.warning("%s", message)
        return True

    def _reject(
        self, entry: _Endpoint, device: str, prop: str, *, code: str, reason: str, allowed: str | None = None
    ) -> None:
        self.stats.rejected_values += 1
        self._hub.rejections.record(
            InvalidChange(
                home=entry.device.home, device=device, prop=prop, code=code, reason=reason, allowed=allowed
            )
        )

    # -- commands -------------------------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        """Start executing ``command`` on its device (``Transport``); the ack follows."""
        entry = self._by_device.get((command.home, command.device))
        if entry is None:
            raise ConnectorError(f"{command.home}/{command.device} is not a SunSpec device of this connector")
        self._executor.start(entry.runs, command, lambda: self._run_locked(entry, command))

    async def _run_locked(self, entry: _Endpoint, command: Command) -> Ack:
        async with entry.lock:
            return await self._run(entry, command)

    async def _run(self, entry: _Endpoint, command: Command) -> Ack:
        expired = Ack(command.id, "expired", error="expired before it could be written to the device")
        if self._clock.time() >= command.expires:
            return expired
        if (
            command.kind != "set"
            or command.target != POWER_LIMIT
            or entry.roles.get("inverter") != command.device
        ):
            return self._executor.failed(
                command,
                f"SunSpec devices take one command, setting an inverter's {POWER_LIMIT};"
                f" {command.kind} {command.target!r} is not supported",
            )
        try:
            return await self._write_limit(entry, command, float(command.args["value"]))
        except SunSpecError as exc:
            entry.chain = None
            entry.last_error = exc.reason
            return self._executor.failed(command, f"the inverter did not take the limit: {exc.reason}")

    async def _write_limit(self, entry: _Endpoint, command: Command, percent: float) -> Ack:
        """Write ``percent`` to model 123's WMaxLimPct and enable the throttle."""
        chain = await self._chain(entry)
        controls = chain.first((CONTROLS_MODEL,))
        if controls is None:
            return self._executor.failed(
                command,
                f"the inverter at {entry.device.where} has no SunSpec immediate controls (model"
                f" {CONTROLS_MODEL}), so its power cannot be limited over SunSpec",
            )
        decoded = await self._read(entry, controls)
        point = decoded.layout.points[LIMIT_POINT]
        enable = decoded.layout.points[LIMIT_ENABLE]
        sf = decoded.scale_of(point)
        if sf is None:
            return self._executor.failed(
                command, f"the inverter gives no usable scale factor {point.sf} for {LIMIT_POINT}"
            )
        raw = round(percent / 10.0**sf)
        if not 0 <= raw < 0xFFFF:
            return self._executor.failed(
                command, f"{percent} % does not fit {LIMIT_POINT} at scale factor {sf}"
            )
        if self._clock.time() >= command.expires:
            return Ack(command.id, "expired", error="expired before it could be written to the device")
        await entry.client.write(controls.address + point.offset, [raw])
        await entry.client.write(controls.address + enable.offset, [ENABLED])
        self._hub.report(
            entry.device.home, command.device, {POWER_LIMIT: percent}, ts=self._clock.time(), source=SOURCE
        )
        return Ack(command.id, "acked", result={POWER_LIMIT: percent})
