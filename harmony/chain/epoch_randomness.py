"""The epoch randomness a block's validity depends on, read from the stored headers (design §7).

:mod:`harmony.chain.randomness` holds the rules over values; this module applies them to a chain's stored
canonical headers (a :class:`~harmony.chain.view.HeaderReader`), so that the proposer and every validator
compute the same values:

* :func:`epoch_seed_for`: the seed of a beacon epoch, from the VRF outputs of its blocks; ``None`` until
  the epoch's last block is stored.
* :func:`election_assigner` (and :func:`assigner_for_parent`): the seat assignment of the beacon's
  election. Timing (randomness module docstring): the seed of epoch ``e`` is proven during ``e + 1`` (a VDF
  in a beacon header of :func:`~harmony.chain.randomness.vdf_window`) and used by the election at the end
  of ``e + 1``. So the election in the last block ``L`` of epoch ``E`` uses the randomness of seed epoch
  ``E − 1``, resolved (:func:`~harmony.chain.randomness.resolve_epoch_randomness`) over the ``vdf``
  fields of the beacon headers of the window that come **before** ``L``: they are all stored when ``L``
  is proposed or verified. The election at the end of epoch 0 has no earlier seed; it uses
  :func:`genesis_randomness`, ``fallback_randomness(genesis hash, 0)``.
* :func:`check_block_randomness`: the validator's VRF and VDF checks of one header (the VRF alone:
  :func:`check_leader_vrf` with the :func:`leader_keys` of the block's coinbase).

**The VDF difficulty is consensus**: :func:`vdf_iterations_for` is the genesis file's value when it sets
one (:attr:`harmony.chain.rules.ChainRules.vdf_iterations`, passed here as ``iterations``), else
:func:`~harmony.chain.randomness.vdf_iterations` of the epoch in which the VDF runs (``seed epoch + 1``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from harmony.chain import randomness as rnd
from harmony.chain.assignment import cuckoo_assigner, move_fraction_for
from harmony.chain.fenced_assignment import FencedAssignFn, fenced_cuckoo_assigner
from harmony.chain.fences import Fences
from harmony.chain.params import NetworkParams
from harmony.chain.randomness import InvalidRandomness
from harmony.chain.staking.election import AssignFn
from harmony.chain.view import HeaderReader
from harmony.crypto.bls import PublicKey, Signature, batch_verify
from harmony.crypto.vdf import MAX_ITERATIONS
from harmony.errors import HarmonyError
from harmony.types.header import Header
from harmony.types.shard_state import Committee, ShardState, Slot


class RandomnessUnavailable(HarmonyError):
    """The stored chain lacks what an epoch's randomness needs (a header of the seed epoch or the window).

    Never caused by a block under validation: the headers read are the ancestors of the stored head.
    """


# -- seeds and the election's randomness ----------------------------------------------------------------


def epoch_seed_for(view: HeaderReader, params: NetworkParams, shard_id: int, epoch: int) -> bytes | None:
    """The seed of beacon epoch ``epoch`` (design §7, :func:`~harmony.chain.randomness.epoch_seed`): the
    hash of the VRF outputs of the epoch's stored canonical headers in block order (genesis and any block
    without a VRF contribute nothing). ``None`` until the epoch's last block is stored, for a negative
    epoch, and for a shard other than the beacon chain (only the beacon's seeds feed the VDF)."""
    if shard_id != params.beacon_shard_id or epoch < 0:
        return None
    first, last = params.epoch_first_block(epoch), params.epoch_last_block(epoch)
    head = view.head_number()
    if head is None or head < last:
        return None
    headers: list[Header] = []
    for number in range(first, last + 1):
        header = view.get_header_by_number(number)
        if header is None:
            return None
        headers.append(header)
    return rnd.epoch_seed_from_headers(headers)


def vdf_iterations_for(params: NetworkParams, seed_epoch: int, override: int | None = None) -> int:
    """The VDF difficulty for ``seed_epoch``'s seed: ``override`` when given (a network-wide setting, module
    docstring), else :func:`~harmony.chain.randomness.vdf_iterations` of epoch ``seed_epoch + 1``, the one
    the VDF runs in. :class:`ValueError` for an override outside ``1 .. 2^40``."""
    if override is not None:
        if not 1 <= override <= MAX_ITERATIONS:
            raise ValueError(f"VDF iterations override must be in 1 .. 2^40, got {override}")
        return override
    return rnd.vdf_iterations(params, seed_epoch + 1)


def genesis_randomness(genesis_hash: bytes) -> bytes:
    """The randomness of the election at the end of epoch 0 (module docstring): there is no earlier seed,
    so ``fallback_randomness(genesis hash, 0)``."""
    return rnd.fallback_randomness(genesis_hash, 0)


def election_randomness(
    view: HeaderReader, params: NetworkParams, ending_epoch: int, *, iterations: int | None = None
) -> bytes:
    """The randomness the beacon election at the last block of ``ending_epoch`` uses (module docstring):
    for ``ending_epoch`` 0 :func:`genesis_randomness`; else the resolved randomness of seed epoch
    ``ending_epoch − 1`` over the ``vdf`` fields of the window's stored headers before the election block.

    Raises :class:`RandomnessUnavailable` when the seed or a window header is not stored, and
    :class:`InvalidRandomness` if the first stored proof does not verify (a database holding a block no
    validator of this network would have accepted, e.g. under another iterations override).
    """
    if ending_epoch < 0:
        raise RandomnessUnavailable(f"no election ends epoch {ending_epoch}")
    if ending_epoch == 0:
        genesis = view.genesis_hash()
        if genesis is None:
            raise RandomnessUnavailable("the chain database is empty")
        return genesis_randomness(genesis)
    seed_epoch = ending_epoch - 1
    seed = epoch_seed_for(view, params, params.beacon_shard_id, seed_epoch)
    if seed is None:
        raise RandomnessUnavailable(f"the seed of epoch {seed_epoch} is not stored yet")
    first, deadline = rnd.vdf_window(params, seed_epoch)
    stop = min(deadline, params.epoch_last_block(ending_epoch) - 1)
    fields: list[bytes] = []
    for number in range(first, stop + 1):
        header = view.get_header_by_number(number)
        if header is None:
            raise RandomnessUnavailable(f"beacon block {number} of the VDF window is not stored")
        fields.append(header.vdf)
    count = vdf_iterations_for(params, seed_epoch, iterations)
    return rnd.resolve_epoch_randomness(seed, seed_epoch, fields, count)


def election_assigner(
    view: HeaderReader,
    params: NetworkParams,
    ending_epoch: int,
    previous: ShardState | None,
    *,
    iterations: int | None = None,
) -> AssignFn:
    """The seat assignment of the beacon election at the last block of ``ending_epoch`` (which elects the
    committees of ``ending_epoch + 1``): the Cuckoo rule (:func:`~harmony.chain.assignment.cuckoo_assigner`)
    over :func:`election_randomness`, from ``previous`` (the committees of ``ending_epoch``) with the
    preset's move fraction. Depends only on stored canonical headers, so the proposer and every validator
    get the same function. Raises as :func:`election_randomness` does."""
    randomness = election_randomness(view, params, ending_epoch, iterations=iterations)
    return cuckoo_assigner(randomness, previous, move_fraction_for(params.name))


def assigner_for_parent(
    view: HeaderReader, params: NetworkParams, *, iterations: int | None = None
) -> Callable[[Header], AssignFn]:
    """The Cuckoo-rule assignment as a function of the parent of the block being built or verified: an
    assignment that, when the election runs (the block is its epoch's last), is :func:`election_assigner`
    of the block's epoch with the stored committees of that epoch as ``previous``. Lazy: nothing is read
    for the blocks whose transition never calls it, and the result is computed once per call of the hook.
    Beacon chain only (only its transition elects).
    A :class:`RandomnessUnavailable` raised inside the election is a ``HarmonyError``, which the block
    verifier turns into ``InvalidBlock("shard_state")``.
    """

    def for_parent(parent: Header) -> AssignFn:
        ending_epoch = params.epoch_of(parent.number + 1)
        cached: list[AssignFn] = []

        def assign(
            epoch: int, operator_slots: Sequence[Sequence[Slot]], winners: Sequence[Slot], shard_count: int
        ) -> ShardState:
            if not cached:
                previous = view.get_shard_state(ending_epoch)
                cached.append(election_assigner(view, params, ending_epoch, previous, iterations=iterations))
            return cached[0](epoch, operator_slots, winners, shard_count)

        return assign

    return for_parent


def fenced_assigner_for_parent(
    view: HeaderReader, params: NetworkParams, fences: Fences, *, iterations: int | None = None
) -> Callable[[Header], FencedAssignFn]:
    """:func:`assigner_for_parent` for a fenced network: the election's
    :func:`~harmony.chain.fenced_assignment.fenced_cuckoo_assigner` over the same randomness, previous
    committees and move fraction, with ``fences``. Lazy like it: nothing is read unless the election runs."""

    def for_parent(parent: Header) -> FencedAssignFn:
        ending_epoch = params.epoch_of(parent.number + 1)

        def election() -> tuple[bytes, ShardState | None]:
            seed = election_randomness(view, params, ending_epoch, iterations=iterations)
            return seed, view.get_shard_state(ending_epoch)

        return fenced_cuckoo_assigner(election, move_fraction_for(params.name), fences)

    return for_parent


# -- the validator's checks -----------------------------------------------------------------------------


def vdf_published(view: HeaderReader, params: NetworkParams, seed_epoch: int, before: int) -> bool | None:
    """Whether a stored canonical beacon block of ``seed_epoch``'s window numbered below ``before`` carries
    a ``vdf`` field (then no later block may, :func:`~harmony.chain.randomness.check_block_vdf`); ``None``
    when one of those headers is not stored (the answer is unknown)."""
    first, deadline = rnd.vdf_window(params, seed_epoch)
    for number in range(first, min(before, deadline + 1)):
        header = view.get_header_by_number(number)
        if header is None:
            return None
        if header.vdf:
            return True
    return False


def leader_keys(committee: Committee | None, coinbase: bytes) -> list[bytes]:
    """The keys that may have signed a block's VRF (design §7): the BLS keys of ``committee`` (the
    block's epoch's committee of its shard) whose slot address is the block's ``coinbase``; none when the
    committee is not known."""
    if committee is None:
        return []
    return [s.bls_public_key for s in committee.slots if s.ecdsa_address == coinbase]


def check_leader_vrf(header: Header, parent_hash: bytes, leader_keys: Sequence[bytes]) -> None:
    """The per-block VRF rule (design §7): ``header.vrf`` is the VRF of ``parent_hash`` under one of
    ``leader_keys`` (:func:`leader_keys`); with several keys, the error is the last key's. Raises
    :class:`InvalidRandomness` (``vrf_missing``, ``vrf_proof``, ``vrf_output``)."""
    if not leader_keys:
        raise InvalidRandomness("vrf_proof", f"no committee key of coinbase 0x{header.coinbase.hex()}")
    last: InvalidRandomness | None = None
    for key in leader_keys:
        try:
            rnd.check_header_vrf(header, parent_hash, key)
        except InvalidRandomness as exc:
            last = exc
        else:
            return
    assert last is not None
    raise last


def check_leader_vrfs(
    checks: Sequence[tuple[Header, bytes, Sequence[bytes]]], *, seed: bytes
) -> list[InvalidRandomness | None]:
    """:func:`check_leader_vrf` of each ``(header, parent_hash, leader_keys)`` in ``checks``: ``None`` where
    the header's VRF passes, else the very error that function raises for it.

    The proofs' BLS checks are made together (design §7): the headers whose coinbase has one committee
    key and whose VRF passes every other check (:func:`~harmony.chain.randomness.vrf_terms`) join one
    randomized batch (:func:`harmony.crypto.bls.batch_verify`, its coefficients from ``seed``: the
    caller's secret randomness, design §3.3, at least 16 bytes the blocks' authors cannot predict). A
    batch that verifies means every proof in it is its leader's signature of its parent hash (except with
    probability 2^-64); one that does not is checked header by header, as are the headers of a coinbase
    with several keys (the rule tries each), so every error is the header's own.
    """
    if len(seed) < 16:
        raise ValueError("a batch seed is at least 16 bytes of secret randomness")
    verdicts: list[InvalidRandomness | None] = [None] * len(checks)
    batch: list[tuple[int, PublicKey, bytes, Signature]] = []
    alone: list[int] = []
    for index, (header, parent_hash, keys) in enumerate(checks):
        if len(keys) != 1:
            alone.append(index)
            continue
        try:
            batch.append((index, *rnd.vrf_terms(header, parent_hash, keys[0])))
        except InvalidRandomness as exc:
            verdicts[index] = exc
    if len(batch) == 1 or (
        batch
        and not batch_verify(
            [key for _, key, _, _ in batch],
            [message for _, _, message, _ in batch],
            [proof for _, _, _, proof in batch],
            seed=seed,
        )
    ):
        alone.extend(index for index, _, _, _ in batch)
    for index in alone:
        header, parent_hash, keys = checks[index]
        try:
            check_leader_vrf(header, parent_hash, keys)
        except InvalidRandomness as exc:
            verdicts[index] = exc
    return verdicts


def check_block_randomness(
    view: HeaderReader,
    params: NetworkParams,
    header: Header,
    parent_header: Header,
    leader_keys: Sequence[bytes],
    *,
    iterations: int | None = None,
    require_vrf: bool = True,
    vrf_checked: bool = False,
) -> None:
    """The randomness rules of a block (design §7) on any shard, with ``parent_header`` the stored head:

    * VRF (:func:`~harmony.chain.randomness.check_header_vrf`): ``header.vrf`` is the VRF of the parent
      hash under one of ``leader_keys`` (the committee keys whose slot address is the coinbase); with
      several keys, the error is the last key's. With ``require_vrf`` False a header without a VRF passes.
      ``vrf_checked``: the caller already ran :func:`check_leader_vrf` on this header with the parent's
      hash and the keys of the coinbase in the committee of the header's epoch and shard (fast sync does,
      in its worker process, ahead of execution); the VRF is then not checked twice.
    * VDF (:func:`~harmony.chain.randomness.check_block_vdf`): a ``vdf`` field only in a beacon block of
      the window of the previous epoch's seed, before any stored block of the window carried one, and
      then a valid proof of that seed (:func:`epoch_seed_for`) at :func:`vdf_iterations_for`.

    Raises :class:`InvalidRandomness` (an ``InvalidBlock``) naming the check; never anything else for a
    hostile header (a stored chain the checks cannot read raises the storage layer's errors).
    """
    if header.parent_hash != parent_header.hash() or header.number != parent_header.number + 1:
        raise InvalidRandomness("vrf_proof", f"block {header.number} does not extend the given parent")
    if (header.vrf or require_vrf) and not vrf_checked:
        check_leader_vrf(header, parent_header.hash(), leader_keys)
    if not header.vdf:
        return
    seed = bytes(rnd.SEED_SIZE)  # placeholder: check_block_vdf rejects before reading it unless in a window
    published = False
    if params.is_beacon(header.shard_id) and header.epoch >= 1:
        seed_epoch = header.epoch - 1
        first, deadline = rnd.vdf_window(params, seed_epoch)
        if first <= header.number <= deadline:
            stored_seed = epoch_seed_for(view, params, header.shard_id, seed_epoch)
            if stored_seed is None:
                raise InvalidRandomness("vdf_seed", f"the seed of epoch {seed_epoch} is not stored")
            seen = vdf_published(view, params, seed_epoch, header.number)
            if seen is None:
                raise InvalidRandomness("vdf_unexpected", "the earlier blocks of the window are not stored")
            seed, published = stored_seed, seen
    count = vdf_iterations_for(params, header.epoch - 1, iterations) if header.epoch >= 1 else 1
    rnd.check_block_vdf(params, header, seed, count, published)


__all__ = [
    "RandomnessUnavailable",
    "assigner_for_parent",
    "check_block_randomness",
    "check_leader_vrf",
    "check_leader_vrfs",
    "election_assigner",
    "election_randomness",
    "epoch_seed_for",
    "genesis_randomness",
    "leader_keys",
    "vdf_iterations_for",
    "vdf_published",
]
