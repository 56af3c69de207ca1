"""Log levels inside daemon actor processes.

Thespian replaces each actor process's root logger with a forwarder that ships every record at or
above its level to the logger process as a message; it does not always take that level from the
``logDefs`` it was given, so DEBUG records of the hot paths (one per worker attempt) would each cost a
message between processes. Every daemon actor therefore sets the levels itself from its settings
on its first message. Embedded (simpleSystemBase) engines run in the user's process and leave the
user's logging alone.
"""
from __future__ import annotations

import logging
import sys

from goflow.config import Config

__all__ = ["apply_levels"]


def apply_levels(settings: Config) -> None:
    if not settings.in_daemon:            # embedded: the user's process, the user's logging
        return
    level = logging.getLevelName(settings.logging.level)
    logging.getLogger("goflow").setLevel(level)
    logging.getLogger().setLevel(max(level, logging.WARNING))
    # Thespian swaps the logging manager after the fork: loggers made at import time, before it,
    # no longer inherit from the new hierarchy, so they get the level themselves.
    for module in list(sys.modules.values()):
        for value in list(getattr(module, "__dict__", {}).values()):
            if isinstance(value, logging.Logger) and value.name.startswith(("goflow", "asyncio")):
                value.setLevel(level if value.name.startswith("goflow") else max(level, logging.WARNING))
