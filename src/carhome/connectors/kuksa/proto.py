"""The KUKSA wire: the generated protobuf and gRPC modules of ``kuksa.val.v1`` and ``v2``.

They come from the official ``kuksa-client`` package (0.6 ships both versions), so
carhome speaks exactly the messages the official client does, and no generated code is
kept here. They are imported here and nowhere else: the package ships ``.pyi`` stubs but
no ``py.typed`` marker, so to mypy they are untyped (it says so once per package, hence
``unused-ignore`` beside each ignore) and the connector handles their messages as ``Any``."""

from __future__ import annotations

from kuksa.val.v1 import types_pb2 as types_v1  # type: ignore[import-untyped, unused-ignore]
from kuksa.val.v1 import val_pb2 as val_v1  # type: ignore[import-untyped, unused-ignore]
from kuksa.val.v1 import val_pb2_grpc as grpc_v1  # type: ignore[import-untyped, unused-ignore]
from kuksa.val.v2 import types_pb2 as types_v2  # type: ignore[import-untyped, unused-ignore]
from kuksa.val.v2 import val_pb2 as val_v2  # type: ignore[import-untyped, unused-ignore]
from kuksa.val.v2 import val_pb2_grpc as grpc_v2  # type: ignore[import-untyped, unused-ignore]

__all__ = ["grpc_v1", "grpc_v2", "types_v1", "types_v2", "val_v1", "val_v2"]
