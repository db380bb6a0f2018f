"""The OCPP vocabulary carhome speaks, version-neutral: typed messages and its vendor DataTransfers.

The hub's central system (``carhome.connectors.ocpp``) and the simulated charge points
(``carhome.sim.chargepoint``) both stand on it, so neither imports the other. The
third-party ``ocpp`` library does the framing; this package holds no connection.
"""
