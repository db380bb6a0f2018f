"""The wire: every request and response struct of the hub's HTTP API, one module per noun.

``api`` decodes requests into these structs and answers with them; ``cli``, the phone's
key client (``carhome.wire.keyclient``) and the web app (``web/src/wire.ts``, generated
from ``docs/openapi.json``) read the same shapes; ``carhome.wire.client`` is the one HTTP
client of the API, and ``carhome.wire.problems`` the one translation of its problems into
carhome errors.

This package sits below both faces and below the parts: it imports ``carhome.hub``,
``carhome.spec``, ``carhome.errors`` and ``carhome.signing`` (whose protocol messages the
key routes carry as they are) only. Where a part keeps a record that crosses the wire (a
history trip, an automation's trace), the record's fields are declared here and the part
re-uses them — as they are, or as a subclass that adds its own checks and behaviour — so
the dependency points down and the API cannot drift from the part.
"""
