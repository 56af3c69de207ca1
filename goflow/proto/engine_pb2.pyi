from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StartInstanceRequest(_message.Message):
    __slots__ = ("blueprint", "input", "id", "version")
    BLUEPRINT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    blueprint: str
    input: _struct_pb2.Struct
    id: str
    version: int
    def __init__(self, blueprint: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class StartInstanceResponse(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class SendEventRequest(_message.Message):
    __slots__ = ("instance_id", "event", "data", "event_id")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    event: str
    data: _struct_pb2.Value
    event_id: str
    def __init__(self, instance_id: _Optional[str] = ..., event: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., event_id: _Optional[str] = ...) -> None: ...

class EventAck(_message.Message):
    __slots__ = ("id", "state", "status", "duplicate")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: str
    status: str
    duplicate: bool
    def __init__(self, id: _Optional[str] = ..., state: _Optional[str] = ..., status: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class InstanceRequest(_message.Message):
    __slots__ = ("instance_id",)
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    def __init__(self, instance_id: _Optional[str] = ...) -> None: ...

class TerminateInstanceRequest(_message.Message):
    __slots__ = ("instance_id", "reason", "force")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    reason: str
    force: bool
    def __init__(self, instance_id: _Optional[str] = ..., reason: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class RewindInstanceRequest(_message.Message):
    __slots__ = ("instance_id", "state")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    state: str
    def __init__(self, instance_id: _Optional[str] = ..., state: _Optional[str] = ...) -> None: ...

class ManageResponse(_message.Message):
    __slots__ = ("id", "result")
    ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    result: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class Instance(_message.Message):
    __slots__ = ("id", "project", "activity", "version", "status", "state", "context", "input", "step", "reason", "created", "updated", "pending", "result", "postponed", "visited", "parent")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    POSTPONED_FIELD_NUMBER: _ClassVar[int]
    VISITED_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    id: str
    project: str
    activity: str
    version: int
    status: str
    state: str
    context: _struct_pb2.Struct
    input: _struct_pb2.Struct
    step: int
    reason: str
    created: float
    updated: float
    pending: _struct_pb2.Struct
    result: str
    postponed: _containers.RepeatedScalarFieldContainer[str]
    visited: _containers.RepeatedScalarFieldContainer[str]
    parent: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., project: _Optional[str] = ..., activity: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[str] = ..., state: _Optional[str] = ..., context: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., input: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., step: _Optional[int] = ..., reason: _Optional[str] = ..., created: _Optional[float] = ..., updated: _Optional[float] = ..., pending: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., result: _Optional[str] = ..., postponed: _Optional[_Iterable[str]] = ..., visited: _Optional[_Iterable[str]] = ..., parent: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListInstancesRequest(_message.Message):
    __slots__ = ("blueprint", "status", "limit", "offset", "end_state", "order", "cursor", "parent")
    BLUEPRINT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    END_STATE_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    blueprint: str
    status: str
    limit: int
    offset: int
    end_state: str
    order: str
    cursor: str
    parent: str
    def __init__(self, blueprint: _Optional[str] = ..., status: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ..., end_state: _Optional[str] = ..., order: _Optional[str] = ..., cursor: _Optional[str] = ..., parent: _Optional[str] = ...) -> None: ...

class ListInstancesResponse(_message.Message):
    __slots__ = ("instances", "limit", "next")
    INSTANCES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    instances: _containers.RepeatedCompositeFieldContainer[Instance]
    limit: int
    next: str
    def __init__(self, instances: _Optional[_Iterable[_Union[Instance, _Mapping]]] = ..., limit: _Optional[int] = ..., next: _Optional[str] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("instance_id", "limit", "order", "cursor")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    limit: int
    order: str
    cursor: str
    def __init__(self, instance_id: _Optional[str] = ..., limit: _Optional[int] = ..., order: _Optional[str] = ..., cursor: _Optional[str] = ...) -> None: ...

class GetHistoryResponse(_message.Message):
    __slots__ = ("id", "history", "limit", "next")
    ID_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    history: _containers.RepeatedCompositeFieldContainer[HistoryRecord]
    limit: int
    next: str
    def __init__(self, id: _Optional[str] = ..., history: _Optional[_Iterable[_Union[HistoryRecord, _Mapping]]] = ..., limit: _Optional[int] = ..., next: _Optional[str] = ...) -> None: ...

class WatchInstanceRequest(_message.Message):
    __slots__ = ("instance_id", "position")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    position: int
    def __init__(self, instance_id: _Optional[str] = ..., position: _Optional[int] = ...) -> None: ...

class HistoryRecord(_message.Message):
    __slots__ = ("position", "time", "state", "event", "action", "next", "step", "attempt", "endpoint", "outcome", "latency", "detail")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    position: int
    time: float
    state: str
    event: str
    action: str
    next: str
    step: int
    attempt: int
    endpoint: str
    outcome: str
    latency: float
    detail: _struct_pb2.Value
    def __init__(self, position: _Optional[int] = ..., time: _Optional[float] = ..., state: _Optional[str] = ..., event: _Optional[str] = ..., action: _Optional[str] = ..., next: _Optional[str] = ..., step: _Optional[int] = ..., attempt: _Optional[int] = ..., endpoint: _Optional[str] = ..., outcome: _Optional[str] = ..., latency: _Optional[float] = ..., detail: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
