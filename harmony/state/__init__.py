"""Layer 5: the world state — accounts and storage over a persistent Merkle Patricia trie, the EVM bridge.

* :mod:`harmony.state.account`: the account record and its RLP (YP §4.1);
* :mod:`harmony.state.trie`: the persistent trie with batch updates;
* :mod:`harmony.state.statedb`: :class:`StateDB`, the :class:`~harmony.chain.state_api.WorldState`;
* :mod:`harmony.state.evm`: messages executed by py-evm's Istanbul VM over a :class:`StateDB`;
* :mod:`harmony.state.validators`: validator wrappers kept in the state.
"""

from __future__ import annotations

from harmony.state.account import EMPTY_ACCOUNT, EMPTY_CODE_HASH, Account
from harmony.state.statedb import StateDB
from harmony.state.trie import MissingTrieNode, Trie, trie_get, trie_update

__all__ = [
    "EMPTY_ACCOUNT",
    "EMPTY_CODE_HASH",
    "Account",
    "MissingTrieNode",
    "StateDB",
    "Trie",
    "trie_get",
    "trie_update",
]
