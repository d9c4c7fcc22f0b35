"""Typed errors of the p2p layer (design.md §3 rule 5: every byte from a peer is hostile)."""

from __future__ import annotations

from harmony.errors import HarmonyError


class P2PError(HarmonyError):
    """Base of every error raised on purpose by :mod:`harmony.p2p`."""


class P2PConfigError(P2PError):
    """A p2p setting (bootnode address, listen address, key file) is unusable."""


class P2PTooLarge(P2PError):
    """A message or request is above the size this side or the peer accepts."""


class P2PTimeout(P2PError):
    """A peer did not answer within the allotted time."""


class P2PConnectionError(P2PError):
    """A stream to a peer could not be opened, or broke before the exchange ended."""


class P2PStreamNotOpened(P2PConnectionError):
    """A stream could not be opened (nothing was sent on it, so trying again sends nothing twice)."""


class P2PProtocolUnsupported(P2PStreamNotOpened):
    """The peer does not serve the protocol (it answered ``na``): a node of another shard, an older build."""


class P2PRemoteError(P2PError):
    """The peer answered with an error frame (its handler failed or refused our request)."""


class P2PBadResponse(P2PError):
    """The peer's answer is malformed, oversized or of the wrong shape; the peer has been penalized."""


class P2PBadRequest(P2PError):
    """Raised by a request handler when the request is garbage; the requesting peer gets penalized."""


class P2PPeerBanned(P2PError):
    """The peer is banned for bad behaviour; nothing is sent to it or accepted from it."""
