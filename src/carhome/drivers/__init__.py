"""What the connectors that drive devices share, below the parts.

``execution``: running a command once per id and acking it, for the connectors that run
commands by requests of their own (miIO, SunSpec, Shelly), and the named tasks a connector
owns. ``checks``: that a configured device is one the hub has, of the right type and
connector. ``signals``: a device's telemetry to VSS signals, as a table's targets, with the
unit conversions (OVMS, Tesla). ``feeds``: the connector of cars a telematics service
feeds through an MQTT broker (OVMS, Tesla): its counts, its cars unavailable while the
link is down, a message rejected whole.
"""
