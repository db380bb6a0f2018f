"""Fakes at carhome's public seams, for tests of carhome and of code built on it.

- ``FakeClock`` (and ``settle``): time that moves when the test says, or by itself when
  every task waits on it (``carhome.testing.clock``).
- ``AckingDevice``, ``RecordingTransport``: the hub's ``Transport`` seam, answered as a
  device would or only recorded; ``Recorder``: a device client's command handler
  (``carhome.testing.devices``).
- ``Allow``, ``Refuse``: the command router's ``Gatekeeper`` seam (``carhome.testing.gatekeepers``).
- ``GatedStore``, ``WatchedStore``: the memory store with a hand on its writes
  (``carhome.testing.stores``).
- ``FaultProxy``: a TCP proxy that cuts, stalls and half-opens connections
  (``carhome.testing.proxy``).
- ``Restartable``: the one shape of a fake a test stops and starts again
  (``carhome.testing.restartable``).
- ``SimulatedWallbox`` (``carhome.testing.wallbox``) and the simulated miIO device
  (``carhome.testing.miio_device``) speak the real protocols to the hub's servers.
"""

from carhome.testing.clock import FakeClock, settle
from carhome.testing.devices import AckingDevice, Recorder, RecordingTransport
from carhome.testing.gatekeepers import Allow, Refuse
from carhome.testing.proxy import FaultProxy
from carhome.testing.restartable import Restartable
from carhome.testing.stores import GatedStore, HeldStore, WatchedStore

__all__ = [
    "AckingDevice",
    "Allow",
    "FakeClock",
    "FaultProxy",
    "GatedStore",
    "HeldStore",
    "Recorder",
    "RecordingTransport",
    "Refuse",
    "Restartable",
    "WatchedStore",
    "settle",
]
