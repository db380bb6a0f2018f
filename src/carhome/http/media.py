"""The media type and type prefix of carhome's problems, shared by the server and the wire's client."""

from typing import Final

MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:carhome:problem:"
