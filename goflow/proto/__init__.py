"""GoFlow's gRPC protocols (SPEC §9): ``worker.proto`` (package ``goflow.worker.v1``, the service a
worker implements) and ``engine.proto`` (package ``goflow.engine.v1``, the daemon's management
service), shipped as package data for other languages, and the modules generated from them:
:mod:`goflow.proto.worker_pb2`, :mod:`~goflow.proto.worker_pb2_grpc`, :mod:`goflow.proto.engine_pb2`,
:mod:`~goflow.proto.engine_pb2_grpc`.

The generated modules are committed; ``python -m goflow.proto.generate`` writes them again with
grpcio-tools (the ``test`` extra), and ``tests/grpc/test_proto.py`` fails when they differ from a fresh
generation. Importing this package imports nothing of gRPC; the generated modules import grpc and
protobuf.
"""
