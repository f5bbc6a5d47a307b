"""Who a request comes from, believing ``X-Forwarded-For`` only from trusted proxies.

Anyone can send ``X-Forwarded-For``, so taking it at its word would let a client pick any
address, and with it a fresh rate-limit bucket for every request. The header is read only
when the socket's peer is a configured proxy (``trusted_proxies``: addresses and CIDR
networks), and then from the right: each proxy appends the address it saw, so the right-most
entry that is not itself a trusted proxy is the first hop nobody we trust vouches for past —
the client. Entries to its left are whatever the client wrote, and are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in networks
        )

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str) -> bool:
        address = parse_address(host)
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def client_address(self, peer: str | None, forwarded_for: Sequence[str]) -> str:
        """The client's address: the peer, or when the peer is trusted, the right-most
        ``X-Forwarded-For`` entry that is not (``forwarded_for``: every such header, in order).
        """
        if peer is None:
            return "unknown"
        if not self.networks or not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
        client = peer
        for hop in reversed([hop for hop in hops if hop]):
            address = parse_address(hop)
            if address is None:  # not an address: no trusted proxy wrote that
                return client
            client = str(address)
            if not self.trusts(client):
                return client
        return client  # every hop a trusted proxy: the farthest one is all there is


def parse_address(text: str) -> Address | None:
    """An IP address, also as ``[v6]``, ``[v6]:port`` or ``v4:port``; None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
