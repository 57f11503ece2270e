"""Numpy golden model of the SHA-256d mining pipeline.

Vectorized over arrays of ``W3`` values (the nonce as the second block's message
word). It computes what the gateware computes and in the same shape:

* rounds 0..2 of the header's second block are job constants, computed once as
  Python ints (:func:`job_constants`);
* words that never change (the padding, the job's W0..W2, and schedule words made
  only from those) stay Python ints, so no array operation is spent on them;
* the second hash stops after round 60, where the top hash word is known.

Names follow the RTL and :mod:`hashforge.rtl.spec`: ``a``..``h``, ``T1``, ``T2``, ``W``.
"""

from dataclasses import dataclass

import numpy as np

from hashforge.rtl import spec

U32 = np.uint32
# numpy scalars made once: converting a Python int on every ufunc call costs
# as much as the operation itself at cache-sized batches.
_SHIFT = {n: np.uint32(n) for n in range(33)}

# Batches of this many nonces balance numpy's per-call cost against the working set
# (a few dozen uint32 arrays) leaving the cache; bench/golden.py measures each size.
DEFAULT_BATCH = 16384


def _rotr(x, n):
    if isinstance(x, int):
        return spec.rotr(x, n)
    return (x >> U32(n)) | (x << U32(32 - n))


def _shr(x, n):
    if isinstance(x, int):
        return x >> n
    return x >> U32(n)


def _add(*terms):
    """Sum mod 2**32; integer terms are folded first so arrays see one constant."""
    const = sum(t for t in terms if isinstance(t, int)) & spec.MASK32
    arrays = [t for t in terms if not isinstance(t, int)]
    if not arrays:
        return const
    total = arrays[0] + U32(const) if const else arrays[0].copy()
    for t in arrays[1:]:
        total += t
    return total


def big_sigma0(a):
    return _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)


def big_sigma1(e):
    return _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)


def small_sigma0(w):
    return _rotr(w, 7) ^ _rotr(w, 18) ^ _shr(w, 3)


def small_sigma1(w):
    return _rotr(w, 17) ^ _rotr(w, 19) ^ _shr(w, 10)


def ch(e, f, g):
    if isinstance(e, int) and isinstance(f, int) and isinstance(g, int):
        return spec.ch(e, f, g)
    return g ^ (e & (f ^ g))


def maj(a, b, c):
    if isinstance(a, int) and isinstance(b, int) and isinstance(c, int):
        return spec.maj(a, b, c)
    return (a & b) | (c & (a | b))


def next_w(w, t):
    """W[t] from the schedule list ``w`` (ints or arrays)."""
    return _add(small_sigma1(w[t - 2]), w[t - 7], small_sigma0(w[t - 15]), w[t - 16])


def run_rounds(state, w, first, last, e_only_last=False):
    """Rounds ``first``..``last`` (inclusive) on ``state`` (a..h, ints or arrays).

    ``w`` is the schedule list; missing words are appended as needed. With
    ``e_only_last`` the last round computes only ``e`` (all the early exit needs).
    """
    a, b, c, d, e, f, g, h = state
    for t in range(first, last + 1):
        while len(w) <= t:
            w.append(next_w(w, len(w)))
        t1 = _add(h, big_sigma1(e), ch(e, f, g), spec.K[t], w[t])
        if e_only_last and t == last:
            return _add(d, t1)
        t2 = _add(big_sigma0(a), maj(a, b, c))
        a, b, c, d, e, f, g, h = _add(t1, t2), a, b, c, _add(d, t1), e, f, g
    return (a, b, c, d, e, f, g, h)


@dataclass(frozen=True)
class JobConstants:
    """What the device computes once per job (the nonce is not involved)."""

    midstate: tuple
    tail: tuple
    state3: tuple       # a..h after rounds 0..2 of the second block
    schedule: tuple     # W0..W17 of the second block, None where W3 (the nonce) is involved


def job_constants(midstate, tail):
    midstate = tuple(int(x) for x in midstate)
    tail = tuple(int(x) for x in tail)
    w = spec.block2_words(tail, 0)
    state3 = midstate
    for t in range(spec.JOB_CONSTANT_ROUNDS):
        state3, _, _ = spec.round_step(state3, spec.K[t], w[t])
    w16 = spec.next_w(w[0:16])
    w17 = spec.next_w(w[1:16] + [w16])
    schedule = tuple(w[:3]) + (None,) + tuple(w[4:16]) + (w16, w17)
    return JobConstants(midstate, tail, state3, schedule)


def top_words(job, w3):
    """Top hash word, bswap32(H7), for every W3 in the uint32 array ``w3``.

    The early-exit form: the second hash stops at round 60. Works in place on a
    fixed set of buffers (see :class:`_InPlaceRounds`); :func:`digests` is the
    plain form and the tests hold the two to each other.
    """
    w3 = np.ascontiguousarray(w3, dtype=U32)
    rounds = _InPlaceRounds(len(w3))
    w = list(job.schedule)
    w[3] = w3
    state = rounds.run(list(job.state3), w, spec.JOB_CONSTANT_ROUNDS, spec.ROUNDS - 1)
    digest1 = [s + U32(m) for m, s in zip(job.midstate, state)]
    e61 = rounds.run(list(spec.H0), spec.hash2_words(digest1), 0, spec.HASH2_ROUNDS_NEEDED - 1,
                     e_only_last=True)
    e61 += U32(spec.H0[7])
    return e61.byteswap()


_K = [np.uint32(k) for k in spec.K]


class _InPlaceRounds:
    """SHA-256 rounds over arrays with no temporaries: each round rewrites the
    buffers of the two state words it retires (``d`` becomes the new ``e``, ``h``
    the new ``a``). Rotations are written as XORs of shifts, which is the same
    thing because the two halves of a rotation share no bits."""

    def __init__(self, n):
        self.tmp = np.empty(n, U32)
        self.acc = np.empty(n, U32)
        self.n = n

    def sigma(self, x, r1, r2, r3, last_is_shift, out):
        tmp = self.tmp
        np.right_shift(x, _SHIFT[r1], out=out)
        for r, rotate in ((r1, True), (r2, True), (r3, not last_is_shift)):
            if r != r1:
                np.right_shift(x, _SHIFT[r], out=tmp)
                out ^= tmp
            if rotate:
                np.left_shift(x, _SHIFT[32 - r], out=tmp)
                out ^= tmp
        return out

    def schedule_word(self, w, t):
        terms = (w[t - 2], w[t - 7], w[t - 15], w[t - 16])
        if all(isinstance(x, int) for x in terms):
            return spec.next_w(w[t - 16:t])
        total = np.zeros(self.n, U32)
        const = 0
        for x, sigma in zip(terms, ((17, 19, 10), None, (7, 18, 3), None)):
            if isinstance(x, int):
                const += (spec.small_sigma1(x) if sigma == (17, 19, 10) else
                          spec.small_sigma0(x) if sigma else x)
            elif sigma:
                total += self.sigma(x, *sigma, True, self.acc)
            else:
                total += x
        total += U32(const & spec.MASK32)
        return total

    def run(self, state, w, first, last, e_only_last=False):
        state = [np.full(self.n, x, U32) if isinstance(x, int) else x.copy() for x in state]
        a, b, c, d, e, f, g, h = state
        acc = self.acc
        for t in range(first, last + 1):
            while len(w) <= t:
                w.append(self.schedule_word(w, len(w)))
            h += self.sigma(e, 6, 11, 25, False, acc)
            np.bitwise_xor(f, g, out=acc)
            acc &= e
            acc ^= g
            h += acc
            if isinstance(w[t], int):
                h += np.uint32((spec.K[t] + w[t]) & spec.MASK32)
            else:
                h += _K[t]
                h += w[t]
            d += h
            if e_only_last and t == last:
                return d
            h += self.sigma(a, 2, 13, 22, False, acc)
            np.bitwise_or(a, b, out=acc)
            acc &= c
            np.bitwise_and(a, b, out=self.tmp)
            acc |= self.tmp
            h += acc
            a, b, c, d, e, f, g, h = h, a, b, c, d, e, f, g
        return (a, b, c, d, e, f, g, h)


def digests(midstate, tail, w3):
    """Full digest words H0..H7 (shape (8, n)) for every W3: no early exit."""
    job = job_constants(midstate, tail)
    w3 = np.asarray(w3, dtype=U32)
    w = list(job.schedule)
    w[3] = w3
    state = run_rounds(job.state3, w, spec.JOB_CONSTANT_ROUNDS, spec.ROUNDS - 1)
    digest1 = [_add(m, s) for m, s in zip(job.midstate, state)]
    final = run_rounds(spec.H0, spec.hash2_words(digest1), 0, spec.ROUNDS - 1)
    return np.stack([np.broadcast_to(_add(h, s), w3.shape) for h, s in zip(spec.H0, final)])


def nonce_order_w3(start, count, header_order=True):
    """W3 values for nonces start..start+count-1.

    ``header_order``: the nonces are header nonce fields (little-endian, as block
    explorers print them), so W3 = bswap32(nonce); otherwise they are W3 itself,
    the order Icarus devices count in.
    """
    nonces = np.arange(start, start + count, dtype=np.uint64).astype(U32)
    return (nonces.byteswap() if header_order else nonces), nonces


def scan_job(midstate, tail, start, count, zero_bits=32, device_target=None, header_order=True,
             batch=DEFAULT_BATCH):
    """Every nonce in [start, start+count) whose top hash word is at or below the target.

    The target is ``device_target`` if given, else the one for ``zero_bits``
    (clipped to 32: callers check deeper zero bits with :func:`leading_zero_bits`).
    Returns a sorted list of nonces in the order asked for (see :func:`nonce_order_w3`).
    """
    _check_range(start, count)
    if device_target is None:
        device_target = spec.zero_bits_to_device_target(min(zero_bits, 32))
    job = job_constants(midstate, tail)
    found = []
    for offset in range(0, count, batch):
        w3, nonces = nonce_order_w3(start + offset, min(batch, count - offset), header_order)
        top = top_words(job, w3)
        found.extend(int(n) for n in nonces[top <= U32(device_target)])
    return found


def scan(header, start, count, zero_bits, batch=DEFAULT_BATCH):
    """Header nonces in [start, start+count) whose hash has >= ``zero_bits`` leading zero bits.

    ``header`` is the 80-byte header; its own nonce field is ignored.
    """
    header = bytes(header)
    mid, tail = spec.midstate(header), spec.tail_words(header)
    candidates = scan_job(mid, tail, start, count, zero_bits=zero_bits, batch=batch)
    if zero_bits <= 32:
        return candidates
    parsed = spec.BlockHeader.parse(header)
    return [n for n in candidates if spec.leading_zero_bits(parsed.with_nonce(n).hash()) >= zero_bits]


def _check_range(start, count):
    if not 0 <= start <= spec.MASK32:
        raise ValueError(f"start nonce must be in 0..{spec.MASK32}, got {start}")
    if count < 0 or start + count > 1 << 32:
        raise ValueError(f"range [{start}, {start}+{count}) leaves the 32-bit nonce space")


def trace_sha256d(midstate, tail, w3):
    """Round-by-round states of both hashes for one W3, named as in the RTL.

    Returns ``{"hash1": [...], "hash2": [...]}`` (see :func:`spec.compress_trace`);
    hash1 starts from the midstate, hash2 from H0 with the first digest as message.
    """
    block = spec.block2_words(tail, w3)
    hash1 = spec.compress_trace(midstate, block)
    digest1 = [(m + x) & spec.MASK32 for m, x in
               zip(midstate, (hash1[-1][n] for n in spec.STATE_NAMES))]
    hash2 = spec.compress_trace(spec.H0, spec.hash2_words(digest1))
    return {"hash1": hash1, "hash2": hash2}


def first_difference(trace, hash_name, observed):
    """First round whose state differs from ``observed``.

    ``observed`` maps round number -> dict of state names (a subset of a..h) seen
    in the RTL after that round. Returns (round, name, expected, seen) or None.
    """
    for t in sorted(observed):
        expected = trace[hash_name][t]
        for name, value in observed[t].items():
            if expected[name] != value:
                return t, name, expected[name], value
    return None


def format_difference(difference, hash_name):
    if difference is None:
        return f"{hash_name}: every observed round matches the golden model"
    t, name, expected, seen = difference
    return f"{hash_name}: first difference after round {t}: {name} = {seen:#010x}, golden model {expected:#010x}"
