"""SHA-256 round and schedule logic as Amaranth expressions, with constant folding.

A word here is one of three kinds, and every function keeps the narrowest kind:

* ``int``: a constant (padding, K, H0). Folded in Python: no logic is built.
* :class:`JobWord`: changes only when a job starts (midstate, tail, the state after
  the job-constant rounds). Built as logic from the job registers, never
  copied into pipeline registers (a fully pipelined core registers each once where
  it meets a per-nonce word: :func:`register_job_words`).
* an Amaranth ``Value``: changes with every nonce; pipeline stages register it.

Every sum is a chain of plain 2-input adds, constants and job words first so the
per-nonce operand comes last (its path through the carry chains is shortest); on an
FPGA whose carry cells can, a constant and two per-nonce words share one chain
(:func:`fuse_constant_adds`).
"""

import contextlib

from amaranth.hdl import Cat, Const, Signal, Value

from . import spec

CONST, JOB, NONCE = 0, 1, 2

# Yosys merges a chain of adds into one multi-operand sum and builds it as carry-save
# full adders in LUTs plus one carry chain: a 4-operand 32-bit sum takes 153 LUT4s and
# 16 CCU2Cs on an ECP5 (155 LUTs and 30 carries on an iCE40) instead of 48 CCU2Cs (96
# LUTs with carries). Marking every add's output "keep", run after reading the design,
# leaves each add (and subtract) its own carry chain, where the FPGA adds for free; the
# carry-save form is faster (one LUT level instead of a carry chain per extra operand).
YOSYS_ADDS_AS_CARRY_CHAINS = "setattr -set keep 1 t:$add t:$sub %u %co:+[Y] w:* %i"


class JobWord:
    """An expression of job registers (a word, or a one-bit flag): constant for a whole job."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = Value.cast(value)


# Set by register_job_words: called with a JobWord where it meets a per-nonce word;
# returns a registered copy.
_job_word_register = None


@contextlib.contextmanager
def register_job_words(m):
    """While active, a job word (a job register, or logic or sums on them) is registered
    (in ``m``'s sync domain, once per expression) where it meets a per-nonce word.

    Fully pipelined, job words are logic on the job registers, not pipeline registers,
    and the job registers sit in one place while their readers span the die. Read
    directly, a sum of them put its carry chains on a per-nonce add's path (four chains
    from a tail word into a schedule partial on the 85F), and a plain job register
    its route across the die (the 85F's target into the check compare: 7.7 ns of
    routing). A copy beside each reader leaves the long route a clock of its own. The
    job's words are loaded well over a clock before its first nonce reaches a round (the
    job precompute alone takes 128), so the clock of lag is unseen.
    """
    global _job_word_register
    cache = {}

    def registered(word):
        if id(word) not in cache:
            reg = Signal(word.value.shape(), name=f"job_word{len(cache)}", reset_less=True)
            m.d.sync += reg.eq(word.value)
            cache[id(word)] = (word, JobWord(reg))     # the word kept: its id stays unique
        return cache[id(word)][1]

    saved, _job_word_register = _job_word_register, registered
    try:
        yield
    finally:
        _job_word_register = saved


def settled(word):
    """``word`` as a per-nonce computation should take it (see register_job_words)."""
    if _job_word_register is not None and kind(word) == JOB:
        return _job_word_register(word)
    return word


def kind(word):
    if isinstance(word, int):
        return CONST
    if isinstance(word, JobWord):
        return JOB
    return NONCE


def lower(word):
    """The Amaranth form of any word (ints stay ints: Amaranth takes them as constants)."""
    return word.value if isinstance(word, JobWord) else word


def _lift(int_fn, value_fn, *words):
    widest = max(kind(w) for w in words)
    if widest == CONST:
        return int_fn(*words) & spec.MASK32
    if widest == NONCE:
        words = [settled(w) for w in words]
    result = value_fn(*(lower(w) for w in words))
    if isinstance(result, int):
        result = result & spec.MASK32
    else:
        result = Value.cast(result)[:32]
    if widest == JOB:
        return JobWord(result)
    return result


# Set by fuse_constant_adds: builds x + y + constant as one carry chain.
_constant_adder = None


@contextlib.contextmanager
def fuse_constant_adds(adder):
    """While active, a sum of a constant and two or more per-nonce words starts with
    ``adder(x, y, constant)``, one carry chain for x + y + constant (an FPGA's carry cells
    with the constant in their LUTs: :func:`ecp5_fused_add.ecp5_constant_add`), instead
    of a chain for each add: h + K + W in one chain where it took two."""
    global _constant_adder
    saved, _constant_adder = _constant_adder, adder
    try:
        yield
    finally:
        _constant_adder = saved


def add(*words):
    """Sum mod 2**32 as a chain of 2-input adds: constants, then job words, then the rest."""
    const = sum(w for w in words if kind(w) == CONST) & spec.MASK32
    jobs = [w for w in words if kind(w) == JOB]
    nonce = [w for w in words if kind(w) == NONCE]
    if not jobs and not nonce:
        return const
    job_part = None
    if jobs:
        job_terms = [w.value for w in jobs] + ([const] if const else [])
        total = Value.cast(job_terms[0])[:32]
        for term in job_terms[1:]:
            total = (total + term)[:32]
        job_part = JobWord(total)
        if not nonce:
            return job_part
    if _constant_adder is not None and const and not job_part and len(nonce) >= 2:
        # Two per-nonce words and a constant in one carry chain (see fuse_constant_adds).
        total = _constant_adder(lower(nonce[0]), lower(nonce[1]), const)
        for term in nonce[2:]:
            total = (total + term)[:32]
        return total
    terms = ([lower(settled(job_part))] if job_part else [const] if const else []) + nonce
    total = Value.cast(terms[0])[:32]
    for term in terms[1:]:
        total = (total + term)[:32]
    return total


def difference(x, y):
    """x - y mod 2**32: one carry chain (a subtract), like a 2-input add."""
    widest = max(kind(x), kind(y))
    if widest == CONST:
        return (x - y) & spec.MASK32
    if widest == NONCE:
        x, y = settled(x), settled(y)
    minuend = Const(x, 32) if isinstance(x, int) else Value.cast(lower(x))
    result = (minuend - lower(y))[:32]
    if widest == JOB:
        return JobWord(result)
    return result


def _rotr(x, n):
    return x.rotate_right(n)


def big_sigma0(a):
    return _lift(spec.big_sigma0, lambda x: _rotr(x, 2) ^ _rotr(x, 13) ^ _rotr(x, 22), a)


def big_sigma1(e):
    return _lift(spec.big_sigma1, lambda x: _rotr(x, 6) ^ _rotr(x, 11) ^ _rotr(x, 25), e)


def small_sigma0(w):
    return _lift(spec.small_sigma0, lambda x: _rotr(x, 7) ^ _rotr(x, 18) ^ (x >> 3), w)


def small_sigma1(w):
    return _lift(spec.small_sigma1, lambda x: _rotr(x, 17) ^ _rotr(x, 19) ^ (x >> 10), w)


def _ch_bits(e, f, g):
    return g ^ (e & (f ^ g))


def _maj_bits(a, b, c):
    return (a & b) | (c & (a | b))


def ch(e, f, g):
    return _lift(spec.ch, _ch_bits, e, f, g)


def maj(a, b, c):
    return _lift(spec.maj, _maj_bits, a, b, c)


# Set by fuse_bitwise_adds: builds x + f(b, c, d) with f inside the adder's own cells.
_fused_adder = None


@contextlib.contextmanager
def fuse_bitwise_adds(adder):
    """While active, a per-nonce ``x + Ch(e, f, g)`` or ``x + Maj(a, b, c)`` is built by
    ``adder(x, (b, c, d), bit_function)`` (an FPGA's carry cells with the function in
    their LUTs: :func:`ecp5_fused_add.ecp5_fused_add`) instead of a LUT per bit and an add."""
    global _fused_adder
    saved, _fused_adder = _fused_adder, adder
    try:
        yield
    finally:
        _fused_adder = saved


def _add_bitwise(x, operands, bit_function, plain_function):
    words = (x, *operands)
    if _fused_adder is None or max(kind(w) for w in words) != NONCE:
        return add(x, plain_function(*operands))
    values = [Const(w, 32) if isinstance(w, int) else Value.cast(lower(settled(w))) for w in words]
    return _fused_adder(values[0], values[1:], bit_function)


def add_ch(x, e, f, g):
    """x + Ch(e, f, g) (see :func:`fuse_bitwise_adds`)."""
    return _add_bitwise(x, (e, f, g), _ch_bits, ch)


def add_maj(x, a, b, c):
    """x + Maj(a, b, c) (see :func:`fuse_bitwise_adds`)."""
    return _add_bitwise(x, (a, b, c), _maj_bits, maj)


def next_w(window):
    """W[t+16] from the window W[t..t+15]."""
    return add(small_sigma1(window[14]), window[9], small_sigma0(window[1]), window[0])


def bswap32(x):
    if isinstance(x, int):
        return spec.bswap32(x)
    x = Value.cast(lower(x))
    return Cat(x[24:32], x[16:24], x[8:16], x[0:8])


def folded_round(state, *kw_next):
    """One round on a state whose ``h`` is already folded: ``hkw = h + K[t] + W[t]``.

    ``state`` maps ``a``..``g`` and ``hkw``; ``kw_next`` is K[t+1] + W[t+1] as one word
    or as its terms (K, W), added to g in one sum (none, or 0, after the last round,
    which leaves ``hkw`` = the plain ``h``). Folding moves the K and W additions off the
    critical path of the next round.
    """
    t1 = _t1(state)
    t2 = add_maj(big_sigma0(state["a"]), state["a"], state["b"], state["c"])
    return {
        "a": add(t1, t2), "b": state["a"], "c": state["b"], "d": state["c"],
        "e": add(state["d"], t1), "f": state["e"], "g": state["f"],
        "hkw": add(state["g"], *kw_next),
    }


def folded_round_e_only(state):
    """Only the ``e`` a round produces: all the last round of the second hash needs."""
    return add(state["d"], _t1(state))


def _t1(state):
    """hkw + Ch(e, f, g) + Sigma1(e): Ch first, so where it is fused into the first
    add (see :func:`fuse_bitwise_adds`) e reaches the carry chain with no LUT between."""
    e = state["e"]
    return add(add_ch(state["hkw"], e, state["f"], state["g"]), big_sigma1(e))


# --- the skewed round ---------------------------------------------------------------
#
# The folded round chains three carry chains: T1 = hkw + Ch + Sigma1(e) (two), then
# a = T1 + T2 (the 85F's critical path at 80 MHz). The state may instead hold a *one
# round behind* e: a, b, c, d of the previous round (``a_prev`` .. ``d_prev``) and
# ``dhkw = d + h + K + W`` instead of ``hkw``. Then
#   e' = (dhkw + Ch(e, f, g)) + Sigma1(e)
#   a  = (e - d_prev) + (Sigma0(a_prev) + Maj(a_prev, b_prev, c_prev))   [e - d_prev = T1]
# and every path is a LUT level and two carry chains. The same eight words; one carry
# chain more per round (dhkw = c + g + K + W against hkw = g + K + W).

SKEWED_STATE = ("a_prev", "b_prev", "c_prev", "d_prev", "e", "f", "g", "dhkw")


def skewed_from_plain(state):
    """The skewed form of a hash's first state (``a``..``g`` and ``dhkw``), whose a has
    no previous round: b, c, d are a, b, c of the previous round, and ``d_prev`` is
    chosen so that the next a comes out as ``a``: e - a + Sigma0(b) + Maj(b, c, d). A
    hash starts from job words or constants, so this is job logic, not per-nonce."""
    b, c, d = state["b"], state["c"], state["d"]
    d_prev = add(difference(state["e"], state["a"]), add(big_sigma0(b), maj(b, c, d)))
    return {"a_prev": b, "b_prev": c, "c_prev": d, "d_prev": d_prev,
            "e": state["e"], "f": state["f"], "g": state["g"], "dhkw": state["dhkw"]}


def current_abcd(state):
    """a, b, c, d of the round a skewed state is at."""
    a_prev, b_prev, c_prev = state["a_prev"], state["b_prev"], state["c_prev"]
    t2 = add_maj(big_sigma0(a_prev), a_prev, b_prev, c_prev)
    return add(difference(state["e"], state["d_prev"]), t2), a_prev, b_prev, c_prev


def skewed_round(state, *kw_next):
    """One round on a skewed state; returns the skewed state of the next round.
    ``kw_next`` is K[t+1] + W[t+1] or its terms (as for :func:`folded_round`), or none
    after the hash's last round."""
    a, b, c, d = current_abcd(state)
    e, f, g = state["e"], state["f"], state["g"]
    return {"a_prev": a, "b_prev": b, "c_prev": c, "d_prev": d, "e": skewed_round_e_only(state), "f": e, "g": f,
            "dhkw": add(c, g, *kw_next)}         # d + h of the next round, plus its K + W


def skewed_round_e_only(state):
    """Only the ``e`` a round produces: all the last round of the second hash needs."""
    e = state["e"]
    return add(add_ch(state["dhkw"], e, state["f"], state["g"]), big_sigma1(e))


def unskewed(state):
    """The plain state (``hkw`` the plain h) after a hash's last skewed round (whose
    K + W was 0, so ``dhkw`` is d + h)."""
    a, b, c, d = current_abcd(state)
    return {"a": a, "b": b, "c": c, "d": d, "e": state["e"], "f": state["f"], "g": state["g"],
            "hkw": difference(state["dhkw"], d)}
