"""Hypothesis over the two small parsers of this area: whose address an X-Forwarded-For
names, and a URL with its password hidden."""

from __future__ import annotations

import ipaddress
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st

from carhome.api.auth import TrustedProxies
from carhome.compose.config import redacted

PROXY = "10.0.0.1"
TRUSTED = (ipaddress.ip_network(PROXY), ipaddress.ip_network("192.168.0.0/16"))
proxies = TrustedProxies([PROXY, "192.168.0.0/16"])
hops = st.one_of(
    st.ip_addresses().map(str),
    st.text(alphabet=" ,[]:.abcdef0123456789x", max_size=30),
)


@settings(max_examples=300)
@given(
    peer=st.one_of(st.ip_addresses().map(str), st.just(PROXY)),
    headers=st.lists(st.lists(hops, max_size=6).map(", ".join), max_size=3),
)
def test_the_client_is_the_peer_or_an_address_a_trusted_proxy_wrote(peer: str, headers: list[str]) -> None:
    client = proxies.client(peer, headers)
    ip = ipaddress.ip_address(peer)
    if not any(ip in net for net in TRUSTED):
        assert client == peer  # nobody else's header is believed
        return
    if client != peer:
        ipaddress.ip_address(client.strip("[]"))  # an address, never the header's garbage
        assert any(client in h for h in headers)


@settings(max_examples=300)
@given(
    user=st.text(alphabet="abcxyz0123456789-_.%", min_size=1, max_size=12),
    password=st.text(min_size=6, max_size=24).filter(lambda p: p.strip() == p),
    port=st.integers(1, 65535),
)
def test_a_redacted_url_never_holds_its_password(user: str, password: str, port: int) -> None:
    url = f"mqtt://{user}:{urllib.parse.quote(password, safe='')}@broker.example:{port}"
    shown = redacted(url)
    assert (
        urllib.parse.quote(password, safe="") not in shown.split("@", 1)[0].split(":", 2)[-1]
        or password == "***"
    )
    assert shown == f"mqtt://{user}:***@broker.example:{port}"
