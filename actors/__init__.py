"""GoFlow's Thespian layer: thin actors over the ``goflow`` library.

Tree (flat, as Thespian wants it): the root supervisor creates the dispatcher, N instance hosts
(shards) and N worker proxies, and restarts any of them that dies. Clients (``actors.api.Engine``)
talk to the dispatcher, which routes batches of items to hosts by instance id; hosts reply to the
client directly. Dependencies run one way: ``actors -> goflow``.
"""
from .api import Engine

__all__ = ["Engine"]
