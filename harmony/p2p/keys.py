"""The node's persistent libp2p identity (Ed25519), kept in the data directory.

File format (ours): one line ``harmony-p2p-ed25519-v1 <64 hex digits of the 32-byte seed>``. The file is
written atomically (temporary file, fsync, rename, directory fsync) with mode 0600, so the same file always
gives the same peer ID after a restart.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from harmony.durable import atomic_write
from harmony.p2p.errors import P2PConfigError

KEY_FILE_TAG = "harmony-p2p-ed25519-v1"
"""First word of a peer key file; a file without it is refused rather than overwritten."""

_MAX_KEY_FILE_BYTES = 4096


def peer_id_of(key_pair: KeyPair) -> str:
    """The base58 peer ID (``12D3KooW…``) of a key pair."""
    return ID.from_pubkey(key_pair.public_key).to_base58()


def _parse(path: Path, text: str) -> KeyPair:
    parts = text.strip().split()
    hint = "restore the file from a backup, or delete it to create a new identity (the peer ID will change)"
    if len(parts) != 2 or parts[0] != KEY_FILE_TAG:
        raise P2PConfigError(f"{path}: not a harmony p2p key file (expected '{KEY_FILE_TAG} <hex>'); {hint}")
    try:
        seed = bytes.fromhex(parts[1])
    except ValueError:
        raise P2PConfigError(f"{path}: the key is not hexadecimal; {hint}") from None
    if len(seed) != 32:
        raise P2PConfigError(f"{path}: the key must be 32 bytes, found {len(seed)}; {hint}")
    return create_new_key_pair(seed)


def load_or_create_peer_key(path: Path) -> KeyPair:
    """Load the node's libp2p identity from ``path``, creating it (mode 0600, atomic write) when absent.

    A file that exists but is not a valid key raises :class:`P2PConfigError` naming the path and what to do;
    it is never overwritten, since that would silently change the node's peer ID.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raw = None
    except OSError as exc:
        raise P2PConfigError(f"{path}: cannot read the p2p key file: {exc}") from exc
    if raw is not None:
        if len(raw) > _MAX_KEY_FILE_BYTES:
            raise P2PConfigError(f"{path}: too large for a p2p key file; is this the right path?")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise P2PConfigError(
                f"{path}: not a harmony p2p key file (binary content); restore it from a backup, "
                "or delete it to create a new identity (the peer ID will change)"
            ) from None
        return _parse(path, text)
    seed = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, f"{KEY_FILE_TAG} {seed.hex()}\n".encode("ascii"))
    except OSError as exc:
        raise P2PConfigError(f"{path}: cannot write the p2p key file: {exc}") from exc
    return create_new_key_pair(seed)
