"""Local ``python://goflow.examples.workers:<function>`` workers of the runnable example
(``goflow/examples/runnable/``). Each takes the step request (``input``, ``context``, ...) and returns
plausible JSON, deterministic for a given input, so ``goflow run`` needs no server."""
from __future__ import annotations

import zlib

__all__ = ["calculate_balance", "get_product", "calculate_voucher", "notify_done"]

_PRODUCTS = ("savings", "current", "gold-card", "mortgage")


def _customer(request: dict) -> str:
    return str((request.get("input") or {}).get("customer", request.get("instance", "anonymous")))


def calculate_balance(request: dict) -> dict:
    """The customer's balance, derived from the customer id (cents, so integers)."""
    seed = zlib.crc32(_customer(request).encode())
    return {"customer": _customer(request), "balance_cents": 10_000 + seed % 990_000, "currency": "EUR"}


def get_product(request: dict) -> dict:
    """A product that suits the balance computed by the previous step."""
    balance = (request.get("context") or {}).get("calculate_balance", {}).get("balance_cents", 0)
    tier = min(len(_PRODUCTS) - 1, balance // 250_000)
    return {"product": _PRODUCTS[tier], "tier": tier}


def calculate_voucher(request: dict) -> dict:
    """A voucher worth 1% of the balance, for the chosen product."""
    ctx = request.get("context") or {}
    balance = ctx.get("calculate_balance", {}).get("balance_cents", 0)
    product = ctx.get("get_product", {}).get("product", "savings")
    return {"voucher": f"{product.upper()}-{balance % 10_000:04d}", "value_cents": balance // 100}


def notify_done(request: dict) -> dict:
    """The completion hook (a worker named ``done``): called once with the final context."""
    return {"notified": True}
