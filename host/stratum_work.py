"""Work from a Stratum v1 job: coinbase, merkle root, header, share target.

Byte orders (the ones that trip people up):

* ``prevhash`` in ``mining.notify`` is the header's 32 bytes with every 4-byte
  word reversed; the header wants the internal order back.
* ``version``, ``nbits`` and ``ntime`` are hex of the number (big-endian text);
  the header stores them little-endian.
* merkle branch hashes are hex of internal-order bytes and are folded as they are.
* ``mining.submit`` sends ``ntime`` and ``nonce`` as 8 hex digits of the number,
  ``extranonce2`` as the bytes placed in the coinbase.
"""

import hashlib
import struct
from dataclasses import dataclass, field

from hashforge.rtl import spec

# BIP 320: the version bits a miner may roll.
VERSION_ROLLING_MASK = 0x1FFFE000

_HEADER_PREFIX = struct.Struct("<I32s32sII")


class MalformedMessage(ValueError):
    """A pool message that does not have the shape the Stratum protocol gives it."""


def sha256d(data):
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def swap_words(data):
    """Reverse the bytes of every 4-byte word (Stratum's prevhash <-> header order)."""
    return b"".join(data[i:i + 4][::-1] for i in range(0, len(data), 4))


def coinbase(coinb1, extranonce1, extranonce2, coinb2):
    return coinb1 + extranonce1 + extranonce2 + coinb2


def merkle_root(coinbase_tx, branch):
    """Fold the coinbase's txid with the branch, as the pool built it (internal order)."""
    root = sha256d(coinbase_tx)
    for sibling in branch:
        root = sha256d(root + sibling)
    return root


def share_target(difficulty):
    """The target a share must meet at a pool difficulty (difficulty 1 = nBits 0x1d00ffff)."""
    return spec.difficulty_to_target(difficulty)


def device_target(target):
    """The device compares only the top 32 hash bits: every hash under ``target`` passes."""
    return min(target >> 224, spec.MASK32)


def deposit_bits(counter, mask):
    """Spread the low bits of ``counter`` over the set bits of ``mask`` (lowest first)."""
    out = 0
    while mask and counter:
        low = mask & -mask
        if counter & 1:
            out |= low
        counter >>= 1
        mask ^= low
    return out


def _hex_field(value, what, length=None):
    if not isinstance(value, str):
        raise MalformedMessage(f"{what} should be a hex string, got {type(value).__name__}")
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise MalformedMessage(f"{what} is not hex: {value[:40]!r}") from None
    if length is not None and len(data) != length:
        raise MalformedMessage(f"{what} should be {length} bytes, got {len(data)}")
    return data


def _u32_field(value, what):
    return int.from_bytes(_hex_field(value, what, 4), "big")


@dataclass(frozen=True)
class StratumJob:
    """One ``mining.notify``, decoded and checked."""

    job_id: str
    prev_hash: bytes          # internal order, as in the header
    coinb1: bytes
    coinb2: bytes
    merkle_branch: tuple
    version: int
    bits: int
    time: int
    clean: bool
    difficulty: float = 1.0   # the pool difficulty in force when the job arrived

    @classmethod
    def from_notify(cls, params, difficulty=1.0):
        if not isinstance(params, list) or len(params) < 9:
            raise MalformedMessage("mining.notify needs 9 parameters: job_id, prevhash, coinb1, "
                                   "coinb2, merkle_branch, version, nbits, ntime, clean_jobs")
        job_id, prevhash, coinb1, coinb2, branch, version, bits, ntime, clean = params[:9]
        if not isinstance(job_id, (str, int)) or isinstance(job_id, bool):
            raise MalformedMessage(f"mining.notify job_id should be a string, got {job_id!r}")
        if not isinstance(branch, list):
            raise MalformedMessage("mining.notify merkle_branch should be a list of hashes")
        if not isinstance(clean, bool):
            raise MalformedMessage(f"mining.notify clean_jobs should be true or false, got {clean!r}")
        return cls(
            job_id=str(job_id),
            prev_hash=swap_words(_hex_field(prevhash, "prevhash", 32)),
            coinb1=_hex_field(coinb1, "coinb1"),
            coinb2=_hex_field(coinb2, "coinb2"),
            merkle_branch=tuple(_hex_field(h, f"merkle_branch[{i}]", 32) for i, h in enumerate(branch)),
            version=_u32_field(version, "version"),
            bits=_u32_field(bits, "nbits"),
            time=_u32_field(ntime, "ntime"),
            clean=clean,
            difficulty=difficulty,
        )


@dataclass(frozen=True)
class Work:
    """A header template from a job: everything but the nonce."""

    job: StratumJob
    extranonce1: bytes
    extranonce2: bytes
    version: int
    rolled: bool              # the pool agreed to version rolling: submit the version bits
    version_mask: int = 0
    header_prefix: bytes = field(default=b"", compare=False)

    @classmethod
    def make(cls, job, extranonce1, extranonce2, version, rolled=False, version_mask=0):
        tx = coinbase(job.coinb1, extranonce1, extranonce2, job.coinb2)
        root = merkle_root(tx, job.merkle_branch)
        prefix = _HEADER_PREFIX.pack(version, job.prev_hash, root, job.time, job.bits)
        return cls(job, extranonce1, extranonce2, version, rolled, version_mask, prefix)

    def header(self, nonce):
        return self.header_prefix + struct.pack("<I", nonce & spec.MASK32)

    @property
    def target(self):
        return share_target(self.job.difficulty)

    def submit_params(self, user, nonce):
        """The ``mining.submit`` parameters for a nonce of this work."""
        params = [user, self.job.job_id, self.extranonce2.hex(), f"{self.job.time:08x}",
                  f"{nonce & spec.MASK32:08x}"]
        if self.rolled:
            params.append(f"{self.version & self.version_mask:08x}")
        return params


class WorkGenerator:
    """Header templates for one job, so a fast device never runs out of work.

    Version rolling (when the pool agreed) comes first: it needs no new merkle
    root. Each version covers the whole nonce range; then extranonce2 counts up.
    """

    def __init__(self, job, extranonce1, extranonce2_size, version_mask=None, first_extranonce2=0):
        self.job = job
        self.extranonce1 = extranonce1
        self.extranonce2_size = extranonce2_size
        self.version_mask = version_mask or 0
        self._versions = 1 << bin(self.version_mask).count("1")
        self._extranonce2 = first_extranonce2
        self._roll = 0
        self._work = None

    @property
    def next_extranonce2(self):
        """The first extranonce2 not handed out yet (a new generator for the same job
        starts here, so no header is hashed twice)."""
        return self._extranonce2 + (1 if self._roll else 0)

    @property
    def extranonce2_space(self):
        return 1 << (8 * self.extranonce2_size)

    def __iter__(self):
        return self

    def __next__(self):
        if self._extranonce2 >= self.extranonce2_space:
            raise StopIteration
        extranonce2 = self._extranonce2.to_bytes(self.extranonce2_size, "big")
        version = self.job.version ^ deposit_bits(self._roll, self.version_mask)
        if self._roll == 0:
            self._work = Work.make(self.job, self.extranonce1, extranonce2, version,
                                   rolled=bool(self.version_mask), version_mask=self.version_mask)
            work = self._work
        else:
            base = self._work
            prefix = struct.pack("<I", version) + base.header_prefix[4:]
            work = Work(base.job, base.extranonce1, base.extranonce2, version, base.rolled,
                        base.version_mask, prefix)
        self._roll += 1
        if self._roll >= self._versions:
            self._roll = 0
            self._extranonce2 += 1
        return work


@dataclass(frozen=True)
class Share:
    """A nonce whose full hash meets the pool's target."""

    work: Work
    nonce: int
    digest: bytes
    found: float

    @property
    def difficulty(self):
        return spec.hash_difficulty(self.digest)

    @property
    def job_id(self):
        return self.work.job.job_id
