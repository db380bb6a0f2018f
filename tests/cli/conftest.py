"""One real hub per module, served over loopback, for the CLI to talk to."""

from hub_thread import carhome, hub_thread  # noqa: F401 - the hub in a thread and the command run against it
