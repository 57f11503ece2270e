"""SHA-256 and Bitcoin definitions: the one place they are written down.

Gateware (``hashforge.rtl``), the golden model (``hashforge.sim``) and the host
(``hashforge.host``) all take their constants, round functions and byte orders
from here. Plain Python only (no amaranth, no numpy), so a mining rig that
installs the host alone can import it.

Byte orders, spelled out once:

* A SHA-256 *message word* is 4 bytes read big-endian.
* The 80-byte header is serialized as: version (4, little-endian), prev_hash (32,
  internal order), merkle_root (32, internal order), time (4, LE), bits (4, LE),
  nonce (4, LE).
* The *display hash* is the double SHA-256 digest with its bytes reversed.
* A hash compared with a target is the digest read as a 256-bit little-endian number.
* The header's *nonce* is its 4-byte field read little-endian (what block
  explorers print). The second message block's word ``W3`` is the same 4 bytes read
  big-endian, so ``W3 == bswap32(nonce)``. Icarus devices count ``W3`` upwards.
* The *top hash word* is the last 4 digest bytes read little-endian, i.e.
  ``bswap32(H7)``: the most significant 32 bits of the hash as a number.
"""

import hashlib
import struct
from dataclasses import dataclass

MASK32 = 0xFFFFFFFF

K = (
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
)

H0 = (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)

ROUNDS = 64
HEADER_BYTES = 80
STATE_NAMES = ("a", "b", "c", "d", "e", "f", "g", "h")

# Second block of the header hash: W0..W2 = header bytes 64..75, W3 = nonce,
# then the padding for an 80-byte (640-bit) message. These never change.
BLOCK2_PADDING = {4: 0x80000000, **{i: 0 for i in range(5, 15)}, 15: 640}
# Block of the second hash: W0..W7 = first digest, then padding for 256 bits.
HASH2_PADDING = {8: 0x80000000, **{i: 0 for i in range(9, 15)}, 15: 256}

# The second hash stops here: the top hash word is H0[7] + h after round 63,
# and h after round 63 is e after round 60 (it moves e -> f -> g -> h).
HASH2_ROUNDS_NEEDED = 61
# Rounds 0..2 of the header's second block use only W0..W2: job constants.
JOB_CONSTANT_ROUNDS = 3


def rotr(x, n):
    return ((x >> n) | (x << (32 - n))) & MASK32


def big_sigma0(a):
    return rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)


def big_sigma1(e):
    return rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)


def small_sigma0(w):
    return rotr(w, 7) ^ rotr(w, 18) ^ (w >> 3)


def small_sigma1(w):
    return rotr(w, 17) ^ rotr(w, 19) ^ (w >> 10)


def ch(e, f, g):
    return (e & f) ^ (~e & g & MASK32)


def maj(a, b, c):
    return (a & b) ^ (a & c) ^ (b & c)


def bswap32(x):
    return int.from_bytes((x & MASK32).to_bytes(4, "big"), "little")


def next_w(w):
    """Schedule word W[t] from W[t-16..t-1] (``w`` holds at least those, oldest first)."""
    return (small_sigma1(w[-2]) + w[-7] + small_sigma0(w[-15]) + w[-16]) & MASK32


def schedule(block_words):
    """All 64 schedule words W[0..63] of one 16-word block."""
    if len(block_words) != 16:
        raise ValueError(f"a block is 16 words, got {len(block_words)}")
    w = list(block_words)
    while len(w) < ROUNDS:
        w.append(next_w(w))
    return w


def round_step(state, k, w):
    """One round: returns (new_state, T1, T2), state as (a, b, c, d, e, f, g, h)."""
    a, b, c, d, e, f, g, h = state
    t1 = (h + big_sigma1(e) + ch(e, f, g) + k + w) & MASK32
    t2 = (big_sigma0(a) + maj(a, b, c)) & MASK32
    return ((t1 + t2) & MASK32, a, b, c, (d + t1) & MASK32, e, f, g), t1, t2


def compress(state, block_words, rounds=ROUNDS, first_round=0, add_input=True):
    """Compress one block. With ``first_round`` > 0, ``state`` is the state before that round."""
    w = schedule(block_words)
    s = tuple(state)
    for t in range(first_round, rounds):
        s, _, _ = round_step(s, K[t], w[t])
    if add_input:
        return tuple((x + y) & MASK32 for x, y in zip(state, s))
    return s


def compress_trace(state, block_words, rounds=ROUNDS):
    """Round-by-round record of one compression, named as in the RTL.

    Returns a list of dicts, one per round t: ``t``, ``W``, ``K``, ``T1``, ``T2`` and
    the state *after* the round as ``a`` .. ``h``.
    """
    w = schedule(block_words)
    s = tuple(state)
    trace = []
    for t in range(rounds):
        s, t1, t2 = round_step(s, K[t], w[t])
        trace.append({"t": t, "W": w[t], "K": K[t], "T1": t1, "T2": t2, **dict(zip(STATE_NAMES, s))})
    return trace


def words_from_bytes(data):
    if len(data) % 4:
        raise ValueError(f"need a multiple of 4 bytes, got {len(data)}")
    return list(struct.unpack(f">{len(data) // 4}I", data))


def bytes_from_words(words):
    return struct.pack(f">{len(words)}I", *words)


def pad(message):
    bit_length = len(message) * 8
    padded = message + b"\x80" + b"\x00" * ((55 - len(message)) % 64)
    return padded + bit_length.to_bytes(8, "big")


def sha256(message):
    """Plain SHA-256 built from :func:`compress` (checked against hashlib in the tests)."""
    state = H0
    padded = pad(bytes(message))
    for i in range(0, len(padded), 64):
        state = compress(state, words_from_bytes(padded[i:i + 64]))
    return bytes_from_words(state)


def sha256d(message):
    return hashlib.sha256(hashlib.sha256(message).digest()).digest()


# --- Bitcoin block header ----------------------------------------------------------------

_HEADER = struct.Struct("<I32s32sIII")


@dataclass(frozen=True)
class BlockHeader:
    """An 80-byte block header. ``prev_hash`` and ``merkle_root`` are in internal
    (serialized) byte order, the reverse of how explorers display them."""

    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    @classmethod
    def parse(cls, data):
        data = bytes(data)
        if len(data) != HEADER_BYTES:
            raise ValueError(f"a block header is {HEADER_BYTES} bytes, got {len(data)}")
        return cls(*_HEADER.unpack(data))

    @classmethod
    def from_hex(cls, text):
        return cls.parse(parse_hex(text, "header", HEADER_BYTES))

    def serialize(self):
        return _HEADER.pack(self.version, self.prev_hash, self.merkle_root, self.time, self.bits,
                            self.nonce)

    def with_nonce(self, nonce):
        return BlockHeader(self.version, self.prev_hash, self.merkle_root, self.time, self.bits,
                           nonce & MASK32)

    def hash(self):
        """Double SHA-256 digest (internal order)."""
        return sha256d(self.serialize())

    def display_hash(self):
        return self.hash()[::-1].hex()

    def target(self):
        return bits_to_target(self.bits)

    def meets_target(self):
        return hash_meets_target(self.hash(), self.target())


def parse_hex(text, what, length=None):
    """Bytes from hex text, with an error that names ``what`` was wrong."""
    cleaned = text.strip()
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        bad = next((c for c in cleaned if c not in "0123456789abcdefABCDEF "), "?")
        raise ValueError(f"{what} is not hex (found {bad!r}); expected {2 * (length or 1)} hex digits") from None
    if length is not None and len(data) != length:
        raise ValueError(f"{what} must be {length} bytes ({2 * length} hex digits), got {len(data)} bytes")
    return data


def midstate(header_bytes):
    """SHA-256 state after the first 64 header bytes (8 words)."""
    return compress(H0, words_from_bytes(bytes(header_bytes)[:64]))


def tail_words(header_bytes):
    """W0..W2 of the second block: header bytes 64..75 (merkle tail, time, bits)."""
    return tuple(words_from_bytes(bytes(header_bytes)[64:76]))


def nonce_to_w3(nonce):
    return bswap32(nonce)


def w3_to_nonce(w3):
    return bswap32(w3)


def block2_words(tail, w3):
    words = [*tail, w3] + [BLOCK2_PADDING[i] for i in range(4, 16)]
    return words


def hash2_words(digest1_words):
    return list(digest1_words) + [HASH2_PADDING[i] for i in range(8, 16)]


def sha256d_words(mid, tail, w3):
    """Final digest words H0..H7 of the header hash, from midstate, tail and W3."""
    digest1 = compress(mid, block2_words(tail, w3))
    return compress(H0, hash2_words(digest1))


def top_hash_word(mid, tail, w3):
    """Most significant 32 bits of the hash as a little-endian number: bswap32(H7)."""
    return bswap32(sha256d_words(mid, tail, w3)[7])


def hash_value(digest):
    """The digest (internal order) as the 256-bit number compared with targets."""
    return int.from_bytes(digest, "little")


def hash_meets_target(digest, target):
    return hash_value(digest) <= target


def leading_zero_bits(digest):
    return 256 - hash_value(digest).bit_length()


# --- targets and difficulty ------------------------------------------------------------

# Difficulty 1: the target of nBits 0x1d00ffff.
DIFF1_TARGET = 0xFFFF << 208


def bits_to_target(bits):
    """The target encoded by compact nBits (exponent byte, 23-bit mantissa, sign bit)."""
    if not 0 <= bits <= MASK32:
        raise ValueError(f"nBits must be a 32-bit value, got {bits:#x}")
    exponent = bits >> 24
    mantissa = bits & 0x007FFFFF
    if bits & 0x00800000:
        raise ValueError(f"nBits {bits:#010x} has the sign bit set (negative target)")
    if exponent <= 3:
        return mantissa >> (8 * (3 - exponent))
    return mantissa << (8 * (exponent - 3))


def target_to_bits(target):
    """Compact nBits for a target (rounding down to what nBits can express)."""
    if target < 0:
        raise ValueError(f"target must be non-negative, got {target}")
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        mantissa = target << (8 * (3 - size))
    else:
        mantissa = target >> (8 * (size - 3))
    if mantissa & 0x00800000:
        mantissa >>= 8
        size += 1
    return (size << 24) | mantissa


def difficulty_to_target(difficulty):
    """Pool-style target for a share difficulty (difficulty 1 = DIFF1_TARGET)."""
    if not difficulty > 0:
        raise ValueError(f"difficulty must be positive, got {difficulty}")
    from fractions import Fraction
    return min(int(Fraction(DIFF1_TARGET) / Fraction(difficulty)), (1 << 256) - 1)


def target_to_difficulty(target):
    if target <= 0:
        raise ValueError(f"target must be positive, got {target}")
    return DIFF1_TARGET / target


def hash_difficulty(digest):
    """Difficulty a hash reaches (what a share is worth)."""
    value = hash_value(digest)
    return DIFF1_TARGET / value if value else float("inf")


def zero_bits_to_device_target(zero_bits):
    """Device target on the top hash word meaning "at least ``zero_bits`` leading zeros".

    Beyond 32 bits the device can only test the top word (target 0); the host
    checks the rest.
    """
    if not 0 <= zero_bits <= 256:
        raise ValueError(f"zero bits must be in 0..256, got {zero_bits}")
    if zero_bits >= 32:
        return 0
    return (1 << (32 - zero_bits)) - 1


# --- Icarus work packet --------------------------------------------------------------------

ICARUS_WORK_BYTES = 64
ICARUS_NONCE_BYTES = 4


def icarus_work(mid, tail):
    """The 64-byte Icarus work packet for a midstate and tail words.

    cgminer builds it from byte-swapped words and then reverses whole fields, so
    on the wire each field is its words in *reverse order*, each word big-endian:
    bytes 0..31 are H7..H0 of the midstate, bytes 32..51 zero, bytes 52..63 are
    W2, W1, W0 of the second block. (Checked against cgminer's golden work: its
    reply nonce hashes to a top word of zero only under this reading.)
    """
    return bytes_from_words(tuple(mid)[::-1]) + bytes(20) + bytes_from_words(tuple(tail)[::-1])


def parse_icarus_work(packet):
    """(midstate, tail) from a 64-byte Icarus work packet; see :func:`icarus_work`."""
    packet = bytes(packet)
    if len(packet) != ICARUS_WORK_BYTES:
        raise ValueError(f"Icarus work is {ICARUS_WORK_BYTES} bytes, got {len(packet)}")
    mid = tuple(words_from_bytes(packet[:32])[::-1])
    tail = tuple(words_from_bytes(packet[52:64])[::-1])
    return mid, tail


def icarus_reply(w3):
    """The 4 reply bytes for a found W3: W3 big-endian (the header's nonce field bytes)."""
    return (w3 & MASK32).to_bytes(4, "big")
