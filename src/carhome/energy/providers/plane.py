"""A solar plane, as the solar forecast providers are configured with it.

Where it is, how it is tilted and turned, how big: what forecast.solar and Open-Meteo both
need to say what the plane makes. Each provider's section adds its own fields to these.
"""

from __future__ import annotations

from typing import Annotated

import msgspec


class Plane(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One solar plane: where, how it is tilted and turned, how big."""

    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lon: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    declination: Annotated[float, msgspec.Meta(ge=0, le=90)] = 30.0
    azimuth: Annotated[float, msgspec.Meta(ge=-180, le=180)] = 0.0
    """0 is south, -90 east, 90 west."""
    kwp: Annotated[float, msgspec.Meta(gt=0)]
