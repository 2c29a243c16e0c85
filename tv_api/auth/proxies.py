"""Which peers may tell tv_api the client's address (X-Real-IP / X-Forwarded-For): nginx only.

TV_API_TRUSTED_PROXIES lists IP addresses, networks (CIDR) or host names; empty (the default)
trusts nobody, so a client on the box cannot rotate X-Forwarded-For to dodge the login throttle.
A host name (``nginx`` in the compose stack, whose address changes when its container is recreated)
is resolved when a request needs it, at most once per RESOLVE_TTL_S, off the event loop.
"""

import ipaddress
import socket
import time

from fastapi.concurrency import run_in_threadpool


class TrustedProxies:
    RESOLVE_TTL_S = 30.0
    MISS_RETRY_S = 1.0

    def __init__(self, spec: str, clock=time.monotonic) -> None:
        entries = [entry.strip() for entry in spec.split(",") if entry.strip()]
        self.names: frozenset[str] = frozenset(entries)
        self.networks = []
        self.hosts = []
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.append(entry)
        self._clock = clock
        self._resolved: frozenset[str] = frozenset()
        self._resolved_at: float | None = None

    def __bool__(self) -> bool:
        return bool(self.names)

    def _in_networks(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    @staticmethod
    def _resolve(hosts: list[str]) -> frozenset[str]:
        found: set[str] = set()
        for host in hosts:
            try:
                found.update(info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP))
            except OSError:  # not resolvable now (e.g. nginx not started yet): trust nothing for it
                continue
        return frozenset(found)

    async def trusts(self, peer: str) -> bool:
        if peer in self.names or self._in_networks(peer):
            return True
        if not self.hosts:
            return False
        now = self._clock()
        age = float("inf") if self._resolved_at is None else now - self._resolved_at
        # A miss re-resolves too (at most once a second), so a recreated nginx is trusted at once.
        if age >= self.RESOLVE_TTL_S or (peer not in self._resolved and age >= self.MISS_RETRY_S):
            self._resolved = await run_in_threadpool(self._resolve, self.hosts)
            self._resolved_at = now
        return peer in self._resolved
