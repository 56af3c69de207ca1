"""GoFlow: a workflow engine for orchestrating microservices.

Layering (dependencies run one way, top to bottom; nothing in ``goflow`` imports Thespian):

* ``actors``            — thin Thespian actors (supervisor, dispatcher, hosts, worker proxies, timers)
* ``goflow.cli``        — the ``goflow`` command
* ``goflow.transports`` — how a worker endpoint is called (http, python://), retries and fallback
* ``goflow.store``      — the durable store (SQLite) behind an interface
* ``goflow.snapshot``   — the msgpack codec of an instance's whole state
* ``goflow.fsm``        — the pure FSM core: ``react(blueprint, instance, input, now)``
* ``goflow.loading`` / ``goflow.validation`` / ``goflow.dsl`` — blueprint documents to model, every problem
  at once; ``goflow.dsl`` holds the DSL <-> model field table
* ``goflow.model``, ``goflow.history``, ``goflow.problems``, ``goflow.errors`` — plain data
"""
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .model import Action, Blueprint, Transition, Worker
from .problems import Problem

__version__ = "0.1.0"
__all__ = ["Action", "Blueprint", "Transition", "Worker", "Problem", "__version__", *_errors_all]
