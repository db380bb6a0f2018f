"""``carhome keys …``: this machine as a member's phone — its key, enrollment, revocation.

The key and the device keys pinned at enrollment live in a key directory (``--keys``,
``CARHOME_KEYS``, default ``~/.config/carhome/keys``). Everything reaches the device through
the hub (``carhome.access.keyroutes``), which only relays: the device checks the owner's
signature, the code on its screen and, for commands, the signature ``carhome call`` adds
by itself for actions in a safety-critical domain once this key is enrolled there.

    carhome keys new
    carhome keys enroll garage_door --member ana            # first owner: the code only
    carhome keys enroll garage_door --member bob --role family --approver ~/ana-keys
    carhome keys enroll garage_door --member bob --role family   # waits for an owner:
    carhome keys pending garage_door                        #   on the owner's machine
    carhome keys approve garage_door REQUEST_ID             #   signs with the owner's key
    carhome keys list garage_door
    carhome keys remove garage_door KEY_ID
    carhome keys show-code garage_door                      # the hub's local screen
    carhome keys delegate garage_door garage                # let automations open it

``carhome call`` finds the key through ``CARHOME_KEYS`` (or the default directory).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, TypeVar

import click

from carhome.access.policy import SAFETY_DOMAINS
from carhome.cli.client import HubClient
from carhome.cli.names import resolve_device
from carhome.cli.options import hub_options, with_hub
from carhome.cli.output import echo_json, echo_result, table
from carhome.cli.session import TOKEN_ENV
from carhome.hub import Command
from carhome.ocpp.messages import NO_SIGNATURES
from carhome.signing.enrollment import EnrollmentChallenge
from carhome.signing.keys import EnrolledKey, InvalidKey
from carhome.signing.pending import Pending
from carhome.signing.relay import KeyRefused
from carhome.wire.keyclient import HubKeys, KeyRing, Phone
from carhome.wire.members import Role
from carhome.wire.problems import ApiError

KEYS_ENV: Final = "CARHOME_KEYS"

_T = TypeVar("_T")
_F = TypeVar("_F", bound=Callable[..., Any])


def default_key_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "carhome" / "keys"


def key_dir(given: Path | None) -> Path:
    """Where this machine's phone key lives (see the module docstring)."""
    return given or Path(os.environ.get(KEYS_ENV) or default_key_dir())


_keys_option = click.option(
    "--keys",
    "keys_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"The key directory [env {KEYS_ENV}; default ~/.config/carhome/keys].",
)


def phone_of(client: HubClient, directory: Path) -> Phone:
    """A ``Phone`` for the key in ``directory``, talking to the hub ``client`` talks to."""
    token = os.environ.get(TOKEN_ENV) or None
    saved = client.saved()
    if token is None and saved is not None:
        token = saved.access
    headers = {"authorization": f"Bearer {token}"} if token else None
    return Phone(KeyRing(directory), HubKeys(client.url, headers=headers))


def _phone_options(fn: _F) -> _F:
    """``--keys`` and the hub options of a command this machine runs as a phone."""
    return _keys_option(hub_options(fn))


def _with_phone(
    hub: str | None, keys_dir: Path | None, device: str, work: Callable[[Phone, str, str], Awaitable[_T]]
) -> _T:
    async def run(client: HubClient) -> _T:
        home, dev = resolve_device(device, [] if "/" in device else await client.devices())
        phone = phone_of(client, key_dir(keys_dir))
        async with phone.hub:
            return await work(phone, home, dev)

    return with_hub(hub, run)


def _read_code(phone: Phone, challenge: EnrollmentChallenge, from_hub: bool) -> Awaitable[str]:
    async def read() -> str:
        if from_hub:
            return await phone.hub.code(challenge.home, challenge.device)
        return str(click.prompt(f"The code {challenge.device} shows on its screen", type=str)).strip()

    return read()


@click.group()
def keys() -> None:
    """This machine as a phone: its key, and enrolling it on devices."""


@keys.command()
@_keys_option
def new(*, keys_dir: Path | None) -> None:
    """Make this machine's key (never replaces one)."""
    ring = KeyRing(key_dir(keys_dir))
    try:
        key = ring.create()
    except InvalidKey as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"key {key.public.key_id.hex()} in {ring.key_path}")


@keys.command()
@click.argument("device", metavar="DEVICE")
@click.option("--member", required=True, help="Whose key this is (a member id).")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), default=Role.OWNER.value, show_default=True
)
@click.option(
    "--approver",
    type=click.Path(file_okay=False, path_type=Path),
    help="An enrolled owner's key directory, to approve (not needed for a device's first owner).",
)
@click.option("--code-from-hub", is_flag=True, help="Read the code off the hub's local screen.")
@click.option(
    "--no-wait",
    is_flag=True,
    help="On a device with keys: leave the request for an owner and return (see `keys wait`).",
)
@_phone_options
def enroll(
    *,
    device: str,
    member: str,
    role: str,
    approver: Path | None,
    code_from_hub: bool,
    no_wait: bool,
    keys_dir: Path | None,
    hub: str | None,
    as_json: bool,
) -> None:
    """Enroll this machine's key on DEVICE: it shows a code, you type it here.

    On a device that holds keys already, an owner must approve: with --approver (an owner's
    key directory on this machine), or else from the owner's own client — this command then
    leaves the request at the hub and waits until an owner runs `carhome keys approve`
    (or presses Approve on the web app's Keys page), or the code expires.
    """

    async def work(phone: Phone, home: str, dev: str) -> EnrolledKey | Pending:
        try:
            listed = await phone.hub.keys(home, dev) if approver is None else ()
        except ApiError as exc:
            if exc.reason == NO_SIGNATURES:
                raise click.ClickException(_cannot_verify(home, dev, exc.detail)) from None
            raise
        has_keys = bool(listed)
        challenge = await phone.begin(home, dev)
        code = await _read_code(phone, challenge, code_from_hub)
        if not has_keys:
            owner = Phone(KeyRing(approver), phone.hub) if approver is not None else None
            return await phone.enroll(challenge, code=code, role=Role(role), member=member, approver=owner)
        asked = await phone.ask(challenge, code=code, role=Role(role), member=member)
        if no_wait or as_json:
            click.echo(f"asked: request {asked.id}", err=True)
        if no_wait:
            return asked
        click.echo(
            f"waiting for an owner's approval (request {asked.id}, key {asked.key_id.hex()[:12]});"
            f" an owner runs: carhome keys approve {device} {asked.id}",
            err=as_json,
        )
        return _settled(await phone.outcome(asked))

    result = _with_phone(hub, keys_dir, device, work)
    if as_json:
        echo_json(result)
    elif isinstance(result, Pending):
        click.echo(
            f"request {result.id}: {result.status}; an owner runs: carhome keys approve {device} {result.id}"
        )
    else:
        click.echo(f"enrolled {result.key_id.hex()} for {result.member} ({result.role}) on {device}")


def _cannot_verify(home: str, device: str, said: str) -> str:
    """What to do about a charger that cannot verify signatures (it holds no keys)."""
    return (
        f"{home}/{device} cannot verify signatures, so no key can be enrolled on it ({said}).\n"
        "To let carhome start and stop charging on it without signatures, an owner trusts it"
        " for charging alone (doors, locks, the garage and every other charger keep needing"
        " signatures) in the hub's configuration, then restarts the hub:\n\n"
        "  access:\n"
        "    unsigned_charging:\n"
        f"      - {{home: {home}, device: {device}, owner: <owner member id>}}\n\n"
        "Every unsigned charging command it then takes is in the audit log (/api/audit)."
    )


def _settled(outcome: Pending) -> EnrolledKey:
    """The enrolled key of a settled request, or why there is none."""
    if outcome.status == "enrolled" and outcome.key is not None:
        key = outcome.key
        return EnrolledKey(key.point, key.role, key.member, key.enabled)  # its point checked here
    why = {
        "declined": f"an owner ({outcome.decided_by}) declined it",
        "expired": "no owner approved it before the code expired; enroll again",
        "refused": f"the device refused it ({outcome.reason})",
    }.get(outcome.status, outcome.status)
    raise click.ClickException(f"request {outcome.id} was not enrolled: {why}")


@keys.command("wait")
@click.argument("device", metavar="DEVICE")
@click.argument("request_id", metavar="REQUEST_ID")
@_phone_options
def wait_(*, device: str, request_id: str, keys_dir: Path | None, hub: str | None, as_json: bool) -> None:
    """Wait for an owner's answer to this machine's REQUEST_ID on DEVICE (after
    `keys enroll --no-wait`); pins the device's key once enrolled."""

    async def work(phone: Phone, home: str, dev: str) -> EnrolledKey:
        asked = await phone.hub.pending_one(home, dev, request_id)
        if asked.new_key != phone.ring.key().public.point:
            raise click.ClickException(f"request {request_id} is not for this machine's key")
        return _settled(await phone.outcome(asked))

    enrolled = _with_phone(hub, keys_dir, device, work)
    echo_result(
        enrolled,
        f"enrolled {enrolled.key_id.hex()} for {enrolled.member} ({enrolled.role}) on {device}",
        as_json=as_json,
    )


@keys.command()
@click.argument("device", metavar="DEVICE")
@_phone_options
def pending(*, device: str, keys_dir: Path | None, hub: str | None, as_json: bool) -> None:
    """Enrollment requests on DEVICE waiting for an owner's approval."""

    async def work(phone: Phone, home: str, dev: str) -> list[Pending]:
        return await phone.hub.pending(home, dev)

    found = _with_phone(hub, keys_dir, device, work)
    if as_json:
        echo_json(found)
        return
    rows = [[p.id, p.member, str(p.role), p.key_id.hex()[:12], p.asked_by] for p in found]
    click.echo(
        table(["REQUEST", "MEMBER", "ROLE", "KEY ID", "ASKED BY"], rows) if rows else "no requests waiting"
    )


@keys.command()
@click.argument("device", metavar="DEVICE")
@click.argument("request_id", metavar="REQUEST_ID")
@click.option("--decline", is_flag=True, help="Decline the request instead.")
@_phone_options
def approve(
    *, device: str, request_id: str, decline: bool, keys_dir: Path | None, hub: str | None, as_json: bool
) -> None:
    """Approve (sign with this machine's owner key) REQUEST_ID on DEVICE, after checking the
    device key it answers is the one this machine pinned; the device checks the rest."""

    async def work(phone: Phone, home: str, dev: str) -> Pending:
        if decline:
            return await phone.hub.decline_pending(home, dev, request_id)
        asked = await phone.hub.pending_one(home, dev, request_id)
        if asked.status != "pending":
            raise click.ClickException(f"request {request_id} is {asked.status} already")
        try:
            return await phone.approve_request(asked)
        except KeyRefused as exc:  # this machine's own check, before the hub is asked
            raise click.ClickException(exc.detail) from exc

    settled = _with_phone(hub, keys_dir, device, work)
    if as_json:
        echo_json(settled)
    elif settled.status == "enrolled":
        click.echo(
            f"approved: {settled.member}'s key {settled.key_id.hex()[:12]} ({settled.role}) on {device}"
        )
    else:
        click.echo(f"request {settled.id}: {settled.status}")


@keys.command("list")
@click.argument("device", metavar="DEVICE")
@_phone_options
def list_(*, device: str, keys_dir: Path | None, hub: str | None, as_json: bool) -> None:
    """The keys enrolled on DEVICE."""

    async def work(phone: Phone, home: str, dev: str) -> tuple[EnrolledKey, ...]:
        return await phone.hub.keys(home, dev)

    found = _with_phone(hub, keys_dir, device, work)
    if as_json:
        echo_json(found)
        return
    rows = [[k.key_id.hex(), k.member, str(k.role), "yes" if k.enabled else "revoked"] for k in found]
    click.echo(table(["KEY ID", "MEMBER", "ROLE", "ENABLED"], rows) if rows else "no keys enrolled")


@keys.command()
@click.argument("device", metavar="DEVICE")
@click.argument("key_id", metavar="KEY_ID")
@_phone_options
def remove(*, device: str, key_id: str, keys_dir: Path | None, hub: str | None, as_json: bool) -> None:
    """Revoke KEY_ID (or a unique start of it) on DEVICE; needs an owner's key here."""

    async def work(phone: Phone, home: str, dev: str) -> EnrolledKey:
        enrolled = await phone.hub.keys(home, dev)
        matches = [k for k in enrolled if k.key_id.hex().startswith(key_id.lower())]
        if len(matches) != 1:
            known = ", ".join(k.key_id.hex()[:12] for k in enrolled) or "none"
            raise click.ClickException(f"{key_id!r} names {len(matches)} keys on {dev}; enrolled: {known}")
        return await phone.revoke(home, dev, matches[0].point)

    revoked = _with_phone(hub, keys_dir, device, work)
    echo_result(revoked, f"revoked {revoked.key_id.hex()} ({revoked.member}) on {device}", as_json=as_json)


@keys.command("show-code")
@click.argument("device", metavar="DEVICE")
@_phone_options
def show_code(*, device: str, keys_dir: Path | None, hub: str | None, as_json: bool) -> None:
    """The enrollment code DEVICE shows, from the hub's local screen (on the hub's machine)."""

    async def work(phone: Phone, home: str, dev: str) -> str:
        return await phone.hub.code(home, dev)

    code = _with_phone(hub, keys_dir, device, work)
    echo_result({"code": code}, code, as_json=as_json)


@keys.command()
@click.argument("device", metavar="DEVICE")
@click.argument("domains", nargs=-1, required=True, type=click.Choice(SAFETY_DOMAINS))
@click.option("--code-from-hub", is_flag=True, help="Read the code off the hub's local screen.")
@_phone_options
def delegate(
    *,
    device: str,
    domains: tuple[str, ...],
    code_from_hub: bool,
    keys_dir: Path | None,
    hub: str | None,
    as_json: bool,
) -> None:
    """Let the hub's automations sign DOMAINS on DEVICE (this machine holds an owner key).

    The hub gets a key of its own for this device, limited to DOMAINS: it can then act
    there without a phone, and nowhere else. Revoke it with `carhome keys remove`.
    """

    async def work(phone: Phone, home: str, dev: str) -> EnrolledKey:
        challenge = await phone.begin(home, dev)
        code = await _read_code(phone, challenge, code_from_hub)
        return await phone.delegate(challenge, domains=domains, code=code)

    enrolled = _with_phone(hub, keys_dir, device, work)
    echo_result(
        enrolled,
        f"delegated {', '.join(domains)} on {device} to the hub's automations ({enrolled.member})",
        as_json=as_json,
    )


async def signed_call(
    client: HubClient, home: str, device: str, action: str, args: dict[str, object], *, ttl: float, wait: bool
) -> Command | None:
    """``carhome call`` for an action in a safety-critical domain on a device this
    machine's key is enrolled on: signed and sent; ``None`` when it needs no signature or
    there is no key for it here (the hub then decides, and the device refuses it unsigned)."""
    ring = KeyRing(key_dir(None))
    if ring.pinned(home, device) is None or not ring.key_path.exists():
        return None
    spec = (await client.device(home, device)).spec
    found = next((a for a in spec.actions if a.name == action), None)
    if found is None or found.domain is None:
        return None
    phone = phone_of(client, ring.directory)
    async with phone.hub:
        return await phone.send(
            home, device, "action", action, dict(args), ttl=ttl, wait=min(ttl + 30.0, 300.0) if wait else None
        )
