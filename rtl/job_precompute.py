"""Per-job constants of the header's second block, computed once per job, bit-serially."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from . import spec
from .sha256_logic import next_w

WORD = 32


class JobPrecompute(wiring.Component):
    """Rounds 0..2 of the header's second block and schedule words W16, W17.

    None of them involves the nonce (W3), so the cores never compute them. They are
    needed once per job, so the rounds run one bit per clock: the eight state words
    are shift registers, the adders one bit wide with a carry flip-flop (the whole
    unit, W16/W17 included: 540 iCE40 LUTs against 945 for a word-wide round). The
    state is shifted in from ``midstate`` (32 clocks), then each round takes 32 clocks:
    ``ready`` rises :attr:`clocks` clocks after ``start``.

    Attributes
    ----------
    midstate : In(ArrayLayout(32, 8))
    tail : In(ArrayLayout(32, 3))
        W0..W2 of the second block. Both are held for the whole job.
    start : In(1)
        Begin with the current ``midstate`` and ``tail``.
    state3 : Out(ArrayLayout(32, 8))
        a..h after round 2, held until the next ``start``.
    w16, w17 : Out(32)
        Schedule words made only of W0..W2 and padding (registered from ``tail``).
    ready : Out(1)
        ``state3`` is valid.
    """

    # Positions: 0..31 load the midstate, then 32 per round; one clock more for the
    # position counter to run a clock ahead (see elaborate).
    positions = WORD * (1 + spec.JOB_CONSTANT_ROUNDS)
    clocks = positions + 1

    def __init__(self):
        super().__init__({
            "midstate": In(data.ArrayLayout(32, 8)),
            "tail": In(data.ArrayLayout(32, 3)),
            "start": In(1),
            "state3": Out(data.ArrayLayout(32, 8)),
            "w16": Out(32),
            "w17": Out(32),
            "ready": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        rounds = spec.JOB_CONSTANT_ROUNDS
        positions = self.positions
        # ``upcoming`` is the position of the next clock (``positions``: none), so that
        # everything that depends only on the position (the bit selects and compares
        # below) is a register loaded from a register: no counter logic, and no
        # ``start``, in front of the selects (with them, it was the longest path of
        # the 45F and 12F builds). ``start`` only restarts it; the clock after a start
        # shifts the state once more, which the 32 loading clocks then overwrite.
        upcoming = Signal(range(positions + 1), init=positions)
        with m.If(self.start):
            m.d.sync += upcoming.eq(0)
        with m.Elif(upcoming != positions):
            m.d.sync += upcoming.eq(upcoming + 1)

        def ahead(value, name):
            """``value`` of the upcoming position, registered: valid at that position."""
            registered = Signal(value.shape(), name=name)
            m.d.sync += registered.eq(value)
            return registered

        bit = upcoming[:5]
        active = ahead(upcoming != positions, "active")
        loading = ahead(upcoming < WORD, "loading")

        def wraps(rotation):
            """Whether bit + rotation is past the word's top (see ``old_bit``)."""
            return ahead(bit >= WORD - rotation, f"wraps_{rotation}")

        a, b, c, d, e, f, g, h = words = [Signal(WORD, name=f"pre_{n}") for n in spec.STATE_NAMES]

        def old_bit(word, next_word, rotation):
            """Bit (bit + rotation) mod 32 of ``word`` as it was when the round began.
            The words shift right one bit per clock and ``word`` flows into
            ``next_word`` (a into b, e into f), so the bits that wrapped round are
            in ``next_word``, at the same position."""
            return Mux(wraps(rotation), next_word[rotation], word[rotation])

        def big_sigma(word, next_word, rotations):
            x, y, z = (old_bit(word, next_word, r) for r in rotations)
            return x ^ y ^ z

        first_bit = ahead(bit == 0, "first_bit")

        def serial_add(x, y):
            """One bit of x + y, least significant first; the carry restarts at bit 0."""
            carry = Signal()
            carry_in = carry & ~first_bit
            m.d.sync += carry.eq((x & y) | (carry_in & (x | y)))
            return x ^ y ^ carry_in

        # K and W of each round, one bit per position (nothing while loading).
        k_bits = Const(sum(spec.K[t] << (WORD * (t + 1)) for t in range(rounds)), positions)
        w_bits = Cat(Const(0, WORD), *(self.tail[t] for t in range(rounds)))
        k = ahead(k_bits.bit_select(upcoming, 1), "k_bit")
        w = ahead(w_bits.bit_select(upcoming, 1), "w_bit")
        ch = (e[0] & f[0]) | (~e[0] & g[0])
        maj = (a[0] & b[0]) | (a[0] & c[0]) | (b[0] & c[0])
        t1 = serial_add(serial_add(serial_add(serial_add(h[0], k), w), big_sigma(e, f, (6, 11, 25))), ch)
        t2 = serial_add(big_sigma(a, b, (2, 13, 22)), maj)
        new_a, new_e = serial_add(t1, t2), serial_add(d[0], t1)

        # What enters each word's top bit: the midstate while loading, else the round.
        round_in = [new_a, a[0], b[0], c[0], new_e, e[0], f[0], g[0]]
        # The midstate bit to load, selected a clock ahead too: a 32-way select on the
        # counter straight into the state registers (which the fully pipelined core
        # reads as job words all over the die) was the 85F's longest path at 86 MHz.
        midstate_bits = [ahead(self.midstate[i].bit_select(bit, 1), f"midstate_bit{i}") for i in range(8)]
        with m.If(active):
            for i, word in enumerate(words):
                entering = Mux(loading, midstate_bits[i], round_in[i])
                m.d.sync += word.eq(Cat(word[1:], entering))

        block = [self.tail[0], self.tail[1], self.tail[2], None] + [spec.BLOCK2_PADDING[i] for i in range(4, 16)]
        w16 = next_w(block)
        w17 = next_w(block[1:] + [w16])
        # Registered: each is two carry chains on the tail, and a fully pipelined core
        # adds them into per-nonce sums (on the 85F, four chains in a row to a schedule
        # partial). Valid a clock after ``tail``; ``ready`` comes far later.
        m.d.sync += [self.w16.eq(w16), self.w17.eq(w17)]
        # ``ready`` is ~active & (upcoming == positions) & ~start. Both compares hold
        # only if the position was idle in the previous clock and no start came then:
        # one register, so that only ``start`` (a register in the miner) is logic in front
        # of the miner's set-up flag (the 85F's longest path at 92 MHz, five LUTs deep).
        idle = Signal(init=1)
        m.d.sync += idle.eq((upcoming == positions) & ~self.start)
        m.d.comb += [
            self.state3.eq(Cat(*words)),
            self.ready.eq(idle & ~self.start),
        ]
        return m
