from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PerformRequest(_message.Message):
    __slots__ = ("instance", "project", "activity", "version", "action", "state", "step", "attempt", "idempotency_key", "input", "context")
    INSTANCE_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    instance: str
    project: str
    activity: str
    version: int
    action: str
    state: str
    step: int
    attempt: int
    idempotency_key: str
    input: _struct_pb2.Struct
    context: _struct_pb2.Struct
    def __init__(self, instance: _Optional[str] = ..., project: _Optional[str] = ..., activity: _Optional[str] = ..., version: _Optional[int] = ..., action: _Optional[str] = ..., state: _Optional[str] = ..., step: _Optional[int] = ..., attempt: _Optional[int] = ..., idempotency_key: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class PerformResponse(_message.Message):
    __slots__ = ("event", "output", "accepted")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    event: str
    output: _struct_pb2.Struct
    accepted: bool
    def __init__(self, event: _Optional[str] = ..., output: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., accepted: _Optional[bool] = ...) -> None: ...
