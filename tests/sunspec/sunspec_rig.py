"""A SunSpec device for the tests: pymodbus' own server on a loopback port, serving a
register map built with pysunspec2's model objects (``sunspec2.device.Model``: the SunSpec
Alliance's encoder, not carhome's decoder), with values the test controls."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable
from typing import Any

import sunspec2.device as sunspec_device
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from carhome.hub import Device, Home, Hub

HOME = "h1"
SUNS = [0x5375, 0x6E53]
END = [0xFFFF, 0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def registers(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


class SunSpecServer:
    """A Modbus TCP server whose holding registers are a SunSpec map of ``models``.

    ``set(model_id, point=value, ...)`` sets computed values (pysunspec2 applies the scale
    factor), ``set_raw`` register values as they are on the wire; either is served at once.
    Models are pysunspec2 ``Model`` objects: their points start unset, which pysunspec2
    encodes as SunSpec's "not implemented" markers.
    """

    def __init__(
        self,
        model_ids: Iterable[int],
        *,
        base: int = 40000,
        unit: int = 1,
        port: int | None = None,
        extra: dict[int, list[int]] | None = None,
    ) -> None:
        self.base = base
        self.unit = unit
        self.port = port or free_port()
        self.models = [sunspec_device.Model(model_id) for model_id in model_ids]
        # vendor models (no SunSpec definition): id -> its registers after ID and L
        self.extra = extra or {}
        self._server: ModbusTcpServer | None = None
        self._task: asyncio.Task[None] | None = None

    def model(self, model_id: int) -> Any:
        return next(m for m in self.models if m.model_id == model_id)

    def map(self) -> list[int]:
        out = list(SUNS)
        for model in self.models:
            out += registers(model.get_mb())
        for model_id, body in self.extra.items():
            out += [model_id, len(body), *body]
        return out + END

    def address(self, model_id: int) -> int:
        """Where ``model_id``'s ID register is."""
        address = self.base + 2
        for model in self.models:
            if model.model_id == model_id:
                return address
            address += len(model.get_mb()) // 2
        raise KeyError(model_id)

    async def start(self) -> None:
        device = SimDevice(
            id=self.unit, simdata=[SimData(address=self.base, values=self.map(), datatype=DataType.REGISTERS)]
        )
        self._server = ModbusTcpServer(device, address=("127.0.0.1", self.port))
        self._task = asyncio.create_task(self._server.serve_forever(), name="sunspec-test-server")
        for _ in range(200):  # wait until it listens (real loopback, bounded)
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("the SunSpec test server did not start")

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> SunSpecServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def publish(self) -> None:
        """Serve the models' current values."""
        assert self._server is not None
        await self._server.async_setValues(self.unit, 16, self.base, self.map())

    async def set(self, model_id: int, **values: Any) -> None:
        """Set points by computed value (scale factors applied by pysunspec2); scale
        factor points first, since pysunspec2 reads them to encode the others."""
        model = self.model(model_id)
        for name, value in sorted(values.items(), key=lambda kv: not kv[0].endswith("_SF")):
            point = model.points[name]
            if name.endswith("_SF") or point.pdef.get("sf") is None:
                point.value = value
            else:
                point.cvalue = value
        await self.publish()

    async def set_raw(self, model_id: int, **values: Any) -> None:
        """Set points to raw register values (markers, out-of-range scale factors …)."""
        model = self.model(model_id)
        for name, value in values.items():
            model.points[name].value = value
        await self.publish()

    async def read_raw(self, model_id: int, point: str) -> int:
        """A point's register, as the device holds it now (after carhome wrote to it)."""
        assert self._server is not None
        offset = self.model(model_id).points[point].offset
        [value] = await self._server.async_getValues(self.unit, 3, self.address(model_id) + offset, 1)
        return int(value)


async def add_energy_devices(hub: Hub, timezone: str = "UTC") -> None:
    await hub.add_home(Home(id=HOME, name="Yizhuang", lat=39.7953, lon=116.5060, timezone=timezone))
    for device, kind in (("solar", "solar_inverter"), ("grid", "grid_meter"), ("storage", "battery")):
        await hub.add_device(Device(home=HOME, id=device, type=kind, connector="sunspec"))
    await hub.add_device(Device(home=HOME, id="lamp", type="light"))  # an MQTT device
