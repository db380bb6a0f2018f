"""``TeslaTelemetryConnector``: Teslas, read-only, through fleet-telemetry's MQTT output.

Tesla's fleet-telemetry server receives each configured car's stream and its MQTT datastore
publishes it to a broker (``datastore/mqtt``): every field of a record on
``<topic_base>/<VIN>/v/<field>``, JSON-encoded, and the car's connection on
``<topic_base>/<VIN>/connectivity`` (``{"ConnectionId", "Status": "CONNECTED" |
"DISCONNECTED", "CreatedAt"}``). The connector subscribes to those of each configured VIN
and translates at the edge:

- a field ``FIELDS`` maps → its VSS values in their units (``fields``) → ``Hub.report``
  (the hub checks each against the car's spec); a value no car sends, or one larger than
  ``max_payload``, is rejected whole with its reason, counted and logged once per cause
  (``carhome rejections``); ``null`` (the car says the signal is invalid now) sets nothing;
  a field carhome does not map is left alone;
- connectivity → the car's availability; so does any live field, which only a connected
  car sends.

Alerts and errors (``…/alerts/…``, ``…/errors/…``) are not read. Nothing goes the other
way: fleet-telemetry is one-way, and commands need Tesla's vehicle-command protocol, which
carhome does not speak. The connector is the hub's ``Transport`` for devices whose
connector is ``tesla`` only to fail every command at once with that reason, instead of
leaving it to wait for its expiry.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Final, Literal, Self

import msgspec

from carhome.connectors.tesla.config import CONNECTOR, TeslaCar, TeslaConfig
from carhome.connectors.tesla.fields import FieldError, Fields
from carhome.drivers.feeds import CarFeed, FeedStats, check_car
from carhome.hub import Ack, Command, Hub
from carhome.mqtt import Backoff, MqttVersion
from carhome.mqtt.link import MqttLink

log: Final = logging.getLogger(__name__)

SOURCE: Final = "tesla"
NOT_COMMANDABLE: Final = (
    "carhome cannot command a Tesla through fleet-telemetry: it only streams the car's data"
    " one way, and commands need Tesla's vehicle-command protocol, which carhome does not speak"
)


class TeslaStats(FeedStats):
    """What the connector has seen (messages on the configured cars' field and connectivity
    topics) since it was made."""

    invalid: int = 0
    """Fields the car said were invalid (``null``): nothing set."""
    refused: int = 0
    """Commands failed: carhome cannot command a Tesla this way."""


class _Connectivity(msgspec.Struct, frozen=True, rename="pascal"):
    status: Literal["CONNECTED", "DISCONNECTED", "UNKNOWN"]
    connection_id: str = ""
    created_at: str = ""


_connectivity: Final = msgspec.json.Decoder(_Connectivity)


class TeslaTelemetryConnector(CarFeed):
    """Keeps the configured Teslas current from fleet-telemetry's MQTT output; an async
    context manager, made from the hub and the ``tesla`` section."""

    stats: TeslaStats
    _link: MqttLink

    def __init__(
        self,
        hub: Hub,
        config: TeslaConfig,
        *,
        protocol: MqttVersion = 311,
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__(hub)
        self.config = config
        self.stats = TeslaStats()
        self._fields = Fields()
        self._cars: dict[str, TeslaCar] = {}
        for car in config.cars:
            check_car(hub, car.home, car.device, feeds="fleet-telemetry streams a car")
            self._cars[car.vin] = car
        self._base = f"{config.topic_base}/"
        self._link = MqttLink(
            config.url,
            **config.login("tesla"),
            subscriptions=[f"{self._base}{vin}/{t}" for vin in self._cars for t in ("v/+", "connectivity")],
            on_message=self._on_message,
            on_down=self._on_down,
            version=protocol,
            backoff=backoff,
            connect_timeout=connect_timeout,
            clock=hub.clock,
        )

    async def __aenter__(self) -> Self:
        await self._link.__aenter__()
        self._hub.commands.attach(CONNECTOR, self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._hub.commands.detach(CONNECTOR)
        await self._link.__aexit__(et, e, tb)

    async def deliver(self, command: Command) -> None:
        """Fail ``command`` (``Transport``): a Tesla cannot be commanded this way."""
        self.stats.refused += 1
        self._hub.ack(command.home, command.device, Ack(command.id, "failed", error=NOT_COMMANDABLE))

    def _on_down(self) -> None:
        self._unseen(self._cars.values())

    # -- messages in ----------------------------------------------------------------------

    def _on_message(self, raw_topic: str | bytes, payload: bytes, retained: bool) -> None:
        topic = raw_topic.decode(errors="replace") if isinstance(raw_topic, bytes) else raw_topic
        vin, _, rest = topic.removeprefix(self._base).partition("/")
        car = self._cars.get(vin) if topic.startswith(self._base) else None
        if car is None:
            return  # not a configured car's
        self.stats.received += 1
        if len(payload) > self.config.max_payload:
            what = f"field {rest[2:]}" if rest.startswith("v/") else rest
            self._reject(
                car,
                "too_large",
                f"{what}: {len(payload)} bytes, more than the {self.config.max_payload} carhome reads"
                " (tesla.max_payload)",
            )
            return
        if rest == "connectivity":
            self._on_connectivity(car, payload)
        elif rest.startswith("v/"):
            self._on_field(car, rest[2:], payload, retained)

    def _on_field(self, car: TeslaCar, field: str, payload: bytes, retained: bool) -> None:
        if self._fields.find(field) is None:
            self.stats.unmapped += 1
            return
        try:
            values = self._fields.decode(field, payload)
        except FieldError as exc:
            self._reject(car, exc.code, exc.reason)
            return
        # a live value is sent by a connected car; a retained one may be old news
        if not retained and self._hub.available(car.home, car.device) is not True:
            self._hub.set_available(car.home, car.device, True)
        if values is None:
            self.stats.invalid += 1
            return
        self._report(car, values, SOURCE)

    def _on_connectivity(self, car: TeslaCar, payload: bytes) -> None:
        try:
            record = _connectivity.decode(payload)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._reject(
                car,
                "bad_connectivity",
                f"connectivity: {str(exc)[:120]}; expected fleet-telemetry's record",
            )
            return
        if record.status != "UNKNOWN":
            self._hub.set_available(car.home, car.device, record.status == "CONNECTED")
