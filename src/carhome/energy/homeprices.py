"""The fixed price per kWh an owner chose for a home in the setup step, kept in the data
directory (``home-prices.json``, mode 0600) for homes the configuration file does not hold.

A home in the configuration file takes its tariff from the file's charging section; a
home made in the setup step has no section, so its price lives here. The runtime reads it
at start to price that home's charges (``carhome.compose.runtime``): a price chosen while the hub
runs takes effect at the next start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final

import msgspec

from carhome.errors import CarhomeError

FILE: Final = "home-prices.json"


class HomePricesError(CarhomeError):
    """The chosen prices cannot be read or written."""


class HomePrices:
    """Home id → its fixed price per kWh, in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside(cls, directory: Path) -> HomePrices:
        return cls(directory / FILE)

    def all(self) -> dict[str, float]:
        try:
            return msgspec.json.decode(self.path.read_bytes(), type=dict[str, float])
        except FileNotFoundError:
            return {}
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise HomePricesError(f"cannot read {self.path}: {exc}; fix or delete it") from exc

    def get(self, home: str) -> float | None:
        return self.all().get(home)

    def put(self, home: str, price: float | None) -> None:
        prices = self.all()
        if price is None:
            prices.pop(home, None)
        else:
            prices[home] = price
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
            with os.fdopen(fd, "wb") as out:
                out.write(msgspec.json.encode(prices))
            tmp.replace(self.path)
        except OSError as exc:
            raise HomePricesError(f"cannot write {self.path}: {exc.strerror}") from exc
