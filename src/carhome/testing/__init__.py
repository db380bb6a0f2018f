"""Fakes at carhome's public seams, for tests of carhome and of code built on it."""

from carhome.testing.clock import FakeClock
from carhome.testing.proxy import FaultProxy

__all__ = ["FakeClock", "FaultProxy"]
