"""carhome as the OCPP central system: a WebSocket server for 1.6J and 2.0.1 chargers.

The handshake decides who may talk (``guard``): the path names the charger
(``/ocpp/{id}`` or ``/{id}``); an unknown id and a missing or wrong HTTP Basic password
(security profile 1: user = charger id) get the same 401, guesses are paced per address
and per id (429), and a second connection claiming a charger that is connected is refused
(409) while the first keeps its session. Each refusal is counted. The subprotocol the
charger offers (``ocpp2.0.1`` or ``ocpp1.6``) picks the version.

The server is the hub's ``Transport`` for devices whose connector is ``ocpp``: commands
become OCPP requests and the charger's answer acknowledges them. A command for a charger
that is not connected, or has not yet booted on this connection, waits in the hub and is
delivered when it has. Transactions live in a ``TransactionStore`` (``store``; memory
without one), so they outlast the connection and the hub process; a command names only a
transaction the charger has reported on since its last boot.

A signed command (one a member's phone signed, ``command.signature``) goes to the charger
first as a ``DataTransfer`` (vendor ``carhome``, message ``signed-command``, the fields the
charger's keeper checks), then as its OCPP call. A charger that verifies refuses a start
without a signed command it accepted just before; one that answers the DataTransfer
``Rejected`` (forged, replayed, expired …) or does not know it (``UnknownVendorId``) gets
no call, and the command fails with the charger's reason. So the hub cannot start a
charging session a member did not sign, any more than it can open the garage. Key
sessions and enrollment reach the charger the same way (``ask``, messages ``session`` and
``enroll``), so ``carhome.access.keyroutes`` manages a charger's keys as an MQTT device's; a charger
that does not know carhome's DataTransfer answers every key ask with a refusal (reason
``no_signatures``) that says how an owner may trust it for charging without signatures.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Final, Self

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from carhome.connectors.ocpp.edge import central
from carhome.connectors.ocpp.guard import Guard
from carhome.connectors.ocpp.session import ChargerLink, Session
from carhome.connectors.ocpp.store import TransactionStore
from carhome.connectors.ocpp.transactions import Transaction, Transactions
from carhome.drivers.execution import Tasks
from carhome.errors import ConnectorError
from carhome.hub import Ack, Command, Hub
from carhome.ocpp.messages import (
    ENROLL_ASK,
    NO_SIGNATURES,
    SESSION_ASK,
    SIGNED_COMMAND,
    SUBPROTOCOLS,
    Outcome,
    SignedCommand,
)
from carhome.signing.relay import KeyAnswer, KeyAsk, KeyOp
from carhome.signing.relay import Session as KeySession

log: Final = logging.getLogger(__name__)

CONNECTOR: Final = "ocpp"
ASK_TIMEOUT: Final = 10.0  # seconds, as the MQTT relay: a phone waits on it
# A charger's answers to carhome's DataTransfer that mean it does not speak it at all.
_UNVERIFYING: Final = frozenset({"UnknownVendorId", "UnknownMessageId", "NotImplemented", "NotSupported"})


class Charger(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A charger carhome knows: the device it is, and its Basic-auth password."""

    home: str
    device: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"Charger(home={self.home!r}, device={self.device!r})"


class OcppStats(msgspec.Struct):
    refused_unknown: int = 0
    refused_auth: int = 0
    refused_duplicate: int = 0
    refused_throttled: int = 0
    sessions: int = 0


def charger_id(path: str) -> str:
    """The charger id at the end of the WebSocket path."""
    return path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


class OcppServer:
    """The central system; an async context manager. ``port=0`` picks a free port."""

    def __init__(
        self,
        hub: Hub,
        host: str = "127.0.0.1",
        port: int = 9000,
        *,
        chargers: Mapping[str, Charger],
        id_tokens: Mapping[str, str] | None = None,
        start_tag: str = "carhome",
        store: TransactionStore | None = None,
    ) -> None:
        self._hub = hub
        self._host = host
        self._port = port
        self._chargers = dict(chargers)
        self._by_device = {(c.home, c.device): cid for cid, c in self._chargers.items()}
        self._id_tokens = dict(id_tokens or {})
        self._start_tag = start_tag
        self.transactions = Transactions(store)
        self.stats = OcppStats()
        self._guard = Guard({cid: c.password for cid, c in self._chargers.items()}, hub.clock)
        self._links: dict[str, ChargerLink] = {}
        self._inflight: set[str] = set()
        # one signed command at a time per charger, so its DataTransfer and its call stay a pair
        self._signed: dict[str, asyncio.Lock] = {}
        self._tasks = Tasks()
        self._server: Server | None = None
        self._changed = asyncio.Condition()

    @property
    def port(self) -> int:
        if self._server is None:
            raise ConnectorError("the OCPP server is not running")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    def connected(self, charger: str) -> bool:
        return charger in self._links

    def link(self, charger: str) -> ChargerLink | None:
        """The session with a connected charger (for diagnostics and tests: it sends OCPP
        calls as they are, with none of the checks ``deliver`` makes)."""
        return self._links.get(charger)

    async def wait_connected(self, charger: str, connected: bool = True, timeout: float = 5.0) -> None:
        """Wait (real seconds) until ``charger`` has a session (or, ``connected=False``, none)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self.connected(charger) is connected), timeout
            )

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def transactions_of(self, charger: str) -> list[Transaction]:
        return self.transactions.of(charger)

    async def __aenter__(self) -> Self:
        await self.transactions.open(self._hub.clock.time())
        try:
            self._server = await serve(
                self._serve,
                self._host,
                self._port,
                subprotocols=[Subprotocol(p) for p in SUBPROTOCOLS],
                process_request=self._handshake,
            )
        except OSError as exc:
            await self.transactions.close()
            raise ConnectorError(f"cannot listen for OCPP on {self._host}:{self._port}: {exc}") from exc
        self._hub.commands.attach(CONNECTOR, self)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._hub.commands.detach(CONNECTOR)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._tasks.cancel()
        await self.transactions.close()

    # -- the handshake --------------------------------------------------------------------

    def _handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        cid = charger_id(request.path)
        peer = connection.remote_address
        address = str(peer[0]) if peer else ""
        answer = self._guard.check(cid, address, request.headers.get("Authorization"))
        if answer.verdict == "throttled":
            self.stats.refused_throttled += 1
            response = connection.respond(HTTPStatus.TOO_MANY_REQUESTS, "too many failed logins; wait\n")
            response.headers["Retry-After"] = str(max(1, round(answer.retry_after)))
            return response
        if answer.verdict == "refused":
            # the same answer whether the id exists or not; only the log tells them apart
            if cid in self._chargers:
                self.stats.refused_auth += 1
                log.warning("OCPP: refused charger %r from %s: missing or wrong password", cid, peer)
            else:
                self.stats.refused_unknown += 1
                log.warning("OCPP: refused unknown charger id %r from %s", cid[:64], peer)
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "authentication required\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="carhome"'
            return response
        if cid in self._links:
            self.stats.refused_duplicate += 1
            log.warning(
                "OCPP: refused a second connection for charger %r from %s: already connected", cid, peer
            )
            return connection.respond(HTTPStatus.CONFLICT, "charger already connected\n")
        return None

    async def _serve(self, connection: ServerConnection) -> None:
        cid = charger_id(connection.request.path if connection.request else "")
        version = SUBPROTOCOLS.get(connection.subprotocol or "")
        charger = self._chargers.get(cid)
        if version is None or charger is None:
            log.warning("OCPP: charger %r offered no supported subprotocol", cid)
            await connection.close(1002, "offer ocpp2.0.1 or ocpp1.6")
            return
        if cid in self._links:  # lost a race with another handshake for the same id
            self.stats.refused_duplicate += 1
            await connection.close(1008, "charger already connected")
            return
        session = Session(
            self._hub,
            charger=cid,
            home=charger.home,
            device=charger.device,
            id_tokens=self._id_tokens,
            transactions=self.transactions,
            on_ready=lambda: self._redeliver_to(charger),
        )
        link = central(version, session, connection)
        self._links[cid] = link
        self.stats.sessions += 1
        await self._notify()
        self._hub.set_available(charger.home, charger.device, True)
        log.info("OCPP: charger %s connected (OCPP %s)", cid, version)
        try:
            await link.serve()
        except ConnectionClosed:
            pass
        finally:
            del self._links[cid]
            self._hub.set_available(charger.home, charger.device, False)
            log.info("OCPP: charger %s disconnected", cid)
            await self._notify()

    # -- commands out (Transport) ---------------------------------------------------------

    async def deliver(self, command: Command) -> None:
        cid = self._by_device.get((command.home, command.device))
        if cid is None:
            raise ConnectorError(f"{command.home}/{command.device} is not an OCPP charger carhome knows")
        link = self._links.get(cid)
        if link is None:
            raise ConnectorError(f"charger {cid} is not connected")
        if not link.session.ready:
            # OCPP: nothing goes to a charger before it has booted; it is sent once it has
            raise ConnectorError(f"charger {cid} has not booted on this connection yet")
        if command.id in self._inflight:
            return  # already on its way; the charger's answer acks it
        self._inflight.add(command.id)
        self._tasks.spawn(self._execute(cid, link, command), f"ocpp-{cid}-{command.id}")

    def _redeliver_to(self, charger: Charger) -> None:
        now = self._hub.clock.time()
        for command in self._hub.commands.pending():
            if command.home == charger.home and command.device == charger.device and command.expires > now:
                self._tasks.spawn(self.deliver(command), f"ocpp-redeliver-{command.id}")

    async def _execute(self, cid: str, link: ChargerLink, command: Command) -> None:
        try:
            if command.expires <= self._hub.clock.time():
                return  # never late: the router expires it
            outcome = await self._request(cid, link, command)
        except ConnectorError as exc:
            log.warning("command %s to charger %s not delivered: %s", command.id, cid, exc)
            return
        finally:
            self._inflight.discard(command.id)
        if outcome.accepted and command.kind == "set":
            self._hub.report(
                command.home, command.device, {command.target: command.args["value"]}, source="ocpp"
            )
        self._hub.ack(
            command.home,
            command.device,
            Ack(command.id, "acked", {"status": outcome.status})
            if outcome.accepted
            else Ack(command.id, "failed", error=outcome.detail or f"charger answered {outcome.status}"),
        )

    async def _request(self, cid: str, link: ChargerLink, command: Command) -> Outcome:
        if command.signature is None:
            return await self._call(cid, link, command)
        lock = self._signed.setdefault(cid, asyncio.Lock())
        async with lock:
            vouched = await self._vouch(link, command, command.signature)
            if not vouched.accepted:
                return vouched
            return await self._call(cid, link, command)

    @staticmethod
    async def _vouch(link: ChargerLink, command: Command, signature: str) -> Outcome:
        """Hand the charger the signed command; only if it accepts does the call follow."""
        signed = msgspec.json.encode(SignedCommand.of(command, signature)).decode()
        answer = await link.data_transfer(SIGNED_COMMAND, signed)
        if answer.accepted:
            return answer
        if answer.status == "Rejected" and answer.detail:
            return answer  # the keeper's reason, code first: "replayed: this command ran already"
        return Outcome(
            False,
            answer.status,
            f"charger answered {answer.status} to the signed command: it does not verify"
            " carhome signatures, so nothing was started; an owner may trust it for charging"
            " alone, without signatures (access.unsigned_charging)",
        )

    async def _call(self, cid: str, link: ChargerLink, command: Command) -> Outcome:
        # only a transaction the charger has reported on since it booted: after a reboot the
        # one before is gone, and a TxProfile or a stop naming it would miss the live one
        active = self.transactions.current(cid, live=True)
        tx_id = None if active is None else active.id
        if command.kind == "set" and command.target == "current_limit":
            return await link.set_current_limit(int(command.args["value"]), tx_id)
        if command.target == "start_charging":
            tag = next((t for t, m in self._id_tokens.items() if m == command.member), self._start_tag)
            return await link.start_charging(tag, secrets.randbelow(2**31 - 2) + 1)
        if command.target == "stop_charging":
            if tx_id is None:
                return Outcome(False, "NoTransaction")
            return await link.stop_charging(tx_id)
        if command.target == "unlock_connector":
            return await link.unlock()
        return Outcome(False, "NotSupported")

    # -- key sessions and enrollment (carhome.signing.relay.KeyRelay) ----------------------

    async def ask(self, home: str, device: str, op: KeyOp, *, timeout: float = ASK_TIMEOUT) -> KeyAnswer:
        """Relay ``op`` to the charger as a ``DataTransfer`` and return its answer
        (``ConnectorError`` if it is offline, silent for ``timeout`` seconds, or does not
        verify signed commands)."""
        self._hub.device(home, device)  # UnknownDevice for a device not in the hub
        cid = self._by_device.get((home, device))
        if cid is None:
            raise ConnectorError(f"{home}/{device} is not an OCPP charger carhome knows")
        link = self._links.get(cid)
        if link is None:
            raise ConnectorError(f"charger {cid} ({home}/{device}) is not connected")
        message = SESSION_ASK if isinstance(op, KeySession) else ENROLL_ASK
        ask = KeyAsk(uuid.uuid4().hex, op)
        try:
            async with asyncio.timeout(timeout):
                answer = await link.data_transfer(message, msgspec.json.encode(ask).decode())
        except TimeoutError:
            raise ConnectorError(
                f"charger {cid} did not answer the {message} ask within {timeout} s"
            ) from None
        if not answer.accepted and answer.status in _UNVERIFYING:
            return KeyAnswer(
                ask.id, False, reason=NO_SIGNATURES, message=_unverifying(home, device, cid, answer)
            )
        if not answer.detail:
            raise ConnectorError(
                f"charger {cid} answered {answer.status} to the {message} ask;"
                " does it verify signed commands?"
            )
        try:
            reply = msgspec.json.decode(answer.detail, type=KeyAnswer)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConnectorError(f"charger {cid} sent a malformed key answer: {str(exc)[:200]}") from None
        if reply.id != ask.id:
            raise ConnectorError(f"charger {cid} answered another ask than the one sent")
        return reply


def _unverifying(home: str, device: str, cid: str, answer: Outcome) -> str:
    return (
        f"charger {cid} ({home}/{device}) cannot verify signatures: it answered {answer.status} to"
        " carhome's signed-command protocol, so it holds no keys and nothing can be enrolled on it."
        " An owner may trust it for charging alone, without signatures (doors and locks keep"
        f" theirs): add `- {{home: {home}, device: {device}, owner: <owner id>}}` under"
        " `access: unsigned_charging:` in the configuration and restart the hub; every unsigned"
        " charging command it then takes is in the audit log"
    )
