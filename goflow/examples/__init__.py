"""Bundled examples: ``inquiry.*.json`` is the seed (fixed, with its defects: it never completes) and
``runnable/`` a correct three-step version of it whose workers are the local ``python://`` functions
of :mod:`goflow.examples.workers` (``goflow run`` runs it by default)."""
__all__: list[str] = []
