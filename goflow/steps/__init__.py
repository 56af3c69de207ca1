"""Step runners: many worker steps at once on an asyncio loop, for the worker proxies (SPEC §4, §5).

* :mod:`.pool` — :class:`CallPool`, a loop in a thread of its own (the embedded worker proxy).
* :mod:`.split` — :class:`SplitPool`, ``http``/``grpc`` steps in a child process the embedded engine
  owns (:mod:`.process`, :mod:`.frames`) and the rest in a ``CallPool`` (``workers.call_process``).
* :mod:`.pump` — :class:`LoopPump`, a loop its owner runs a bit at a time in its own thread (the
  daemon's worker proxy, which watches the loop's selector).

Each job (:class:`goflow.jobs.Job`) is one :func:`goflow.calls.perform_step`. The layers, lowest first: :mod:`goflow.transports`
(one attempt), :mod:`goflow.calls` (one step: retries, backoff, fallback), this package (many steps);
``tests/test_layers.py`` holds them with import-linter.
"""
from .pool import CallPool, run_job, step_kwargs
from .process import CallProcess
from .pump import LoopPump
from .split import SplitPool, embedded_pool

__all__ = ["CallPool", "CallProcess", "LoopPump", "SplitPool", "embedded_pool", "run_job", "step_kwargs"]
