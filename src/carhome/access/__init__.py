"""Access: who may command what, decided from one policy table and kept on record.

``members`` (members and guest grants), ``passwords``, ``tokens``, ``logins`` and
``throttle`` say who is asking; ``policy`` is the table; ``gatekeeper`` is the hub's one
access decision (``carhome.hub.Gatekeeper``), each decision written to ``audit``;
``delegates`` holds the hub's delegate keys and the signer that uses them before a
command is submitted; ``service`` builds the lot over a data directory.

The end-to-end signing protocol that phones, the relay and devices share is not here: it
is ``carhome.signing``, which imports no policy.
"""
