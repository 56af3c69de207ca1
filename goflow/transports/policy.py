"""Which worker endpoints an engine may call (SPEC §12): ``python://`` modules and allowed hosts.

A blueprint is untrusted data (SPEC §7) and its ``workerEndpoint`` names what the engine calls:
code to run (``python://``) or a network address the worker proxies connect to *from the engine's
host*. The operator bounds both in the settings:

* ``workers.python_modules`` — the modules ``python://`` may call (default ``goflow.examples``);
  :mod:`.python` says what a callable function is.
* ``workers.allowed_hosts`` — when set, the hosts every other endpoint (``http``, ``https``, a
  plugged-in scheme) may name. Without it a blueprint can point the engine at any address it can
  reach — a metadata service, an admin port on 127.0.0.1, a host of the internal network — and read
  the answer in the instance's context and history: server-side request forgery (SSRF). Entries: a
  host name (``api.example.com``, matched case-insensitively), ``*.example.com`` (any name under
  it, not the name itself), an IP address or an IP network (``10.1.0.0/16``, matching IP literals
  in URLs). Names are compared as written, never resolved: an allowed name is trusted to resolve
  where the operator means.

:class:`EndpointPolicy` applies both when a blueprint is deployed: :meth:`~EndpointPolicy.problems`
(while loading, so each problem has the endpoint's line:column) and
:meth:`~EndpointPolicy.blueprint_problems` (on a :class:`goflow.model.Blueprint`, in the engine,
with ``resolve=True``: the ``python://`` module is imported and the function checked). The
transports check again at every call (a blueprint deployed before the settings changed).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

from ..problems import ERROR, Problem
from .base import safe_endpoint, scheme_of
from .python import DEFAULT_MODULES, refusal as python_refusal, resolve as python_resolve

__all__ = ["EndpointPolicy", "RULE", "HostRule", "parse_hosts", "host_refusal", "policy_from_config"]

#: The validation rule of a refused endpoint (:data:`goflow.validation.RULES`).
RULE = "endpoint-not-allowed"


@dataclass(frozen=True)
class HostRule:
    """One ``workers.allowed_hosts`` entry."""

    text: str
    name: str | None = None            # an exact host name
    suffix: str | None = None          # "*.example.com" -> ".example.com"
    network: Any = None                # ipaddress network (an address is a /32 or /128)

    def matches(self, host: str) -> bool:
        if self.network is not None:
            try:
                return ipaddress.ip_address(host) in self.network
            except ValueError:
                return False
        if self.suffix is not None:
            return host.endswith(self.suffix)
        return host == self.name


def parse_hosts(entries: Iterable[str] | str) -> tuple[HostRule, ...]:
    """The rules of ``workers.allowed_hosts`` entries (a list, or one comma-separated string);
    ValueError names a bad entry."""
    if isinstance(entries, str):
        entries = entries.split(",")
    rules = []
    for raw in entries:
        text = str(raw).strip().lower().rstrip(".")
        if not text:
            continue
        try:
            rules.append(HostRule(text, network=ipaddress.ip_network(text.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        label = text[2:] if text.startswith("*.") else text
        if not label or any(c in label for c in "/:@*?#[] ") or ".." in label:
            raise ValueError(f"{raw!r} is not a host name, *.domain, IP address or IP network")
        rules.append(HostRule(text, suffix="." + label) if text.startswith("*.") else HostRule(text, name=text))
    return tuple(rules)


def host_refusal(url: str, rules: tuple[HostRule, ...] | None) -> str | None:
    """Why ``url``'s host is not allowed by ``rules`` (None: any host), or None."""
    if rules is None:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host:
        return "the endpoint names no host"
    host = host.rstrip(".")
    if any(rule.matches(host) for rule in rules):
        return None
    return (f"host {host!r} is not among workers.allowed_hosts "
            f"({', '.join(r.text for r in rules) or 'none'}); an operator adds it there")


@dataclass(frozen=True)
class EndpointPolicy:
    """The endpoints an engine may call. ``allowed_hosts`` None allows any host; ``resolve`` also
    imports each allowed ``python://`` module and checks the function (the engine's deploy check)."""

    python_modules: tuple[str, ...] = DEFAULT_MODULES
    allowed_hosts: tuple[HostRule, ...] | None = None
    resolve: bool = False

    def refusal(self, endpoint: str) -> str | None:
        """Why a blueprint may not name ``endpoint``, or None."""
        if scheme_of(endpoint) == "python":
            why = python_refusal(endpoint, self.python_modules)
            if why is None and self.resolve:
                try:
                    python_resolve(endpoint, self.python_modules)
                except ValueError as exc:
                    why = str(exc)
            return why
        return host_refusal(endpoint, self.allowed_hosts)

    def _problem(self, endpoint: str, why: str) -> str:
        return f"the worker endpoint {safe_endpoint(endpoint)!r} may not be called: {why}"

    def problems(self, workers: Iterable[Any]) -> list[Problem]:
        """The refused endpoints among the workers of a loading blueprint (``goflow.validation.Item``,
        which carry their source: each problem has the endpoint's line:column)."""
        out = []
        for item in workers:
            endpoint = item.get("workerEndpoint")
            why = self.refusal(endpoint) if isinstance(endpoint, str) else None
            if why is not None:
                out.append(item.src.problem(ERROR, RULE, self._problem(endpoint, why), item.at("workerEndpoint")))
        return out

    def __call__(self, workers: Iterable[Any]) -> list[Problem]:
        return self.problems(workers)

    def blueprint_problems(self, bp) -> list[Problem]:
        """The refused endpoints of a :class:`goflow.model.Blueprint` (paths into its document form)."""
        file = ", ".join(bp.source) if bp.source else None
        out = []
        for n, worker in enumerate(bp.workers):
            why = self.refusal(worker.endpoint)
            if why is not None:
                out.append(Problem(ERROR, RULE, self._problem(worker.endpoint, why), file,
                                   f"/workers/{n}/workerEndpoint"))
        return out


def policy_from_config(settings, *, resolve: bool = False) -> EndpointPolicy:
    """The policy of an engine's settings (a :class:`goflow.config.Config`: ``workers.python_modules``,
    ``workers.allowed_hosts``). ValueError on an ``allowed_hosts`` entry that is no host."""
    hosts = settings.allowed_hosts
    return EndpointPolicy(tuple(settings.python_modules), None if hosts is None else parse_hosts(hosts), resolve)
