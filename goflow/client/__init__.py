"""Clients of a running GoFlow daemon's network APIs. :mod:`goflow.client.grpc`: the gRPC Engine
service (``goflow.engine.v1``), typed and blocking. Importing this package imports nothing of gRPC."""
