"""One SunSpec device over Modbus TCP: pymodbus's asyncio client, its errors made ours.

``SunSpecClient`` connects on first use and again after a failure, reads holding
registers in requests of at most 125 (Modbus' limit), writes them, and finds a device's
SunSpec map with ``discover``: the ``SunS`` marker at 40000, 50000 or 0, then the chain of
models (id, length) up to the end marker.

What a failure means, as the errors say:

    SunSpecError (ConnectorError)
    ├── SunSpecUnreachable   no TCP connection, no answer in time, or a gateway's "no answer"
    ├── SunSpecRefused       the device answered with a Modbus exception (address, function …)
    └── SunSpecNotFound      the device answers, but no SunSpec map starts at any base
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final, Self

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from carhome.connectors.sunspec.models import BASES, END, SUNS
from carhome.errors import ConnectorError

log: Final = logging.getLogger(__name__)

MAX_READ: Final = 125  # registers in one Read Holding Registers request
MAX_MODELS: Final = 200  # a chain longer than this is not a SunSpec map
PORT: Final = 502

# Modbus exception codes, in words for errors.
EXCEPTIONS: Final = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
_GATEWAY_NO_ANSWER: Final = frozenset({10, 11})


class SunSpecError(ConnectorError):
    """A SunSpec device could not be reached, refused a request, or has no SunSpec map."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"SunSpec device {where}: {reason}")
        self.where = where
        self.reason = reason


class SunSpecUnreachable(SunSpecError):
    """No connection, no answer in time, or a gateway says the device behind it is silent."""


class SunSpecRefused(SunSpecError):
    """The device answered with a Modbus exception."""

    def __init__(self, where: str, reason: str, code: int) -> None:
        super().__init__(where, reason)
        self.code = code


class SunSpecNotFound(SunSpecError):
    """The device answers, but no SunSpec map starts at any of the bases tried."""


@dataclass(frozen=True, slots=True)
class ModelAt:
    """One model in a device's chain: its id, the address of its ID register, its length L."""

    model_id: int
    address: int
    length: int


@dataclass(frozen=True, slots=True)
class Chain:
    """A device's SunSpec map: where it starts and its models in order."""

    base: int
    models: tuple[ModelAt, ...]

    def first(self, model_ids: Sequence[int]) -> ModelAt | None:
        """The first model in the chain whose id is one of ``model_ids``."""
        return next((m for m in self.models if m.model_id in model_ids), None)


class SunSpecClient:
    """Modbus TCP to one unit id of one host; an async context manager."""

    def __init__(self, host: str, port: int = PORT, unit: int = 1, *, timeout: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.unit = unit
        self.timeout = timeout
        self.where = f"{host}:{port} unit {unit}"
        self._client: AsyncModbusTcpClient | None = None

    async def __aenter__(self) -> Self:
        # pymodbus logs each failed connect as a warning; the connector logs each cause once.
        pymodbus_log = logging.getLogger("pymodbus")
        if pymodbus_log.level == logging.NOTSET:
            pymodbus_log.setLevel(logging.CRITICAL)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def _connected(self) -> AsyncModbusTcpClient:
        client = self._client
        if client is not None and client.connected:
            return client
        self.close()
        # Reconnecting is ours (reconnect_delay 0 turns pymodbus' own off), and so are retries:
        # a poll that fails marks the device offline and the next one tries again.
        client = AsyncModbusTcpClient(
            self.host, port=self.port, timeout=self.timeout, retries=0, reconnect_delay=0
        )
        try:
            up = await client.connect()
        except (OSError, ModbusException) as exc:
            client.close()
            raise SunSpecUnreachable(self.where, f"cannot connect: {exc}") from exc
        if not up:
            client.close()
            raise SunSpecUnreachable(
                self.where,
                "cannot connect; check that it is on, the address and port, and that Modbus TCP is enabled",
            )
        self._client = client
        return client

    async def read(self, address: int, count: int) -> list[int]:
        """``count`` holding registers from ``address`` (split into requests of at most 125)."""
        out: list[int] = []
        while count > 0:
            step = min(count, MAX_READ)
            out.extend(await self._read(address, step))
            address += step
            count -= step
        return out

    async def _read(self, address: int, count: int) -> list[int]:
        client = await self._connected()
        try:
            response = await client.read_holding_registers(address, count=count, device_id=self.unit)
        except (OSError, TimeoutError, ModbusException) as exc:
            self.close()
            raise SunSpecUnreachable(
                self.where, f"no answer reading {count} registers at {address}: {exc}"
            ) from exc
        if response.isError():
            raise self._refused(
                getattr(response, "exception_code", 0), f"reading {count} registers at {address}"
            )
        registers = list(response.registers)
        if len(registers) != count:
            raise SunSpecRefused(
                self.where, f"asked for {count} registers at {address}, got {len(registers)}", code=0
            )
        return registers

    async def write(self, address: int, values: Sequence[int]) -> None:
        """Write ``values`` to the holding registers from ``address`` (one request)."""
        client = await self._connected()
        try:
            response = await client.write_registers(address, list(values), device_id=self.unit)
        except (OSError, TimeoutError, ModbusException) as exc:
            self.close()
            raise SunSpecUnreachable(self.where, f"no answer writing at {address}: {exc}") from exc
        if response.isError():
            raise self._refused(getattr(response, "exception_code", 0), f"writing at {address}")

    def _refused(self, code: int, doing: str) -> SunSpecError:
        words = EXCEPTIONS.get(code, "unknown exception")
        if code in _GATEWAY_NO_ANSWER:
            return SunSpecUnreachable(
                self.where, f"{doing}: Modbus exception {code} ({words}); is the unit id right?"
            )
        return SunSpecRefused(self.where, f"{doing}: Modbus exception {code} ({words})", code)

    async def discover(self, bases: Sequence[int] = BASES) -> Chain:
        """Find the ``SunS`` marker and walk the model chain."""
        for base in bases:
            try:
                marker = await self.read(base, 2)
            except SunSpecRefused:
                continue
            if tuple(marker) == SUNS:
                return Chain(base, await self._walk(base + 2))
        tried = ", ".join(str(b) for b in bases)
        raise SunSpecNotFound(
            self.where,
            f"no SunSpec map ('SunS') at {tried}; check that the device speaks SunSpec and the unit id",
        )

    async def _walk(self, address: int) -> tuple[ModelAt, ...]:
        models: list[ModelAt] = []
        while len(models) < MAX_MODELS:
            try:
                model_id, length = await self.read(address, 2)
            except SunSpecRefused:
                break  # a chain without its end marker ends where the registers do
            if model_id == END or (model_id == 0 and length == 0):
                return tuple(models)
            if address + 2 + length > 0xFFFF:
                break
            models.append(ModelAt(model_id, address, length))
            address += 2 + length
        if not models:
            raise SunSpecNotFound(self.where, "the SunSpec map holds no model")
        log.warning(
            "SunSpec device %s: the model chain has no end marker after %d models", self.where, len(models)
        )
        return tuple(models)
