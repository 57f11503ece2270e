"""A SHA-256 round unit that hashes several nonces interleaved: a building block for small dies.

The rounds of :class:`Sha256dCore`'s area-first sizes run one per clock on one nonce, so
the whole round (a LUT level and the carry chains of T1 and a) is one clock: 37 ns on
an iCE40 UP5K. Here the round is cut into ``stages`` register stages and ``stages``
nonces (*slots*) take turns: each clock the unit issues a round of the next slot, and
that slot's new ``a`` and ``e`` are back when its turn comes again. One round per clock
as before, at the clock of one stage.

Per slot the unit keeps what a round needs besides ``a`` and ``e``: ``b``, ``c`` (the
last two a's), ``f``, ``g`` (the last two e's) and, with d and h folded (see
:func:`sha256_logic.skewed_round`), ``hkw`` = h + K + W and ``dhkw`` = d + h + K + W,
worked out a round ahead off the loop. Each of these is a delay line ``stages`` clocks
long, so a slot's words line up at its next turn with no addressing.

A hash starts with four *injected* rounds: the round's Sigma/Ch/Maj registers are reset
(a synchronous reset, free in iCE40 and ECP5 flip-flops; the one-stage unit, which has no
such registers, gates the terms instead) so the round's ``a`` is its
``hkw`` and its ``e`` its ``dhkw``, which then carry the words given: d, c, b, a of the
initial state for a and h, g, f, e for e. After them the delay lines hold the state,
and the first real round's ``hkw`` and ``dhkw`` come out of the usual sums.

``stages`` is 1 (the whole round in one clock, as the area-first core), 2 (a LUT level
and a carry chain per stage), or 3 with ``half_carries`` (16-bit carry chains: a word's
low half a stage before its high half).
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .sha256_logic import big_sigma0, big_sigma1, ch, maj

INJECTED_ROUNDS = 4
CONFIGURATIONS = ((1, False), (2, False), (3, True))


class InterleavedRoundUnit(wiring.Component):
    """Rounds of ``stages`` nonces in turn, one round per clock.

    Each clock issues the next slot's round (slot = clock number mod ``stages``). Inputs
    at a clock are for the slot whose round is issued then:

    Attributes
    ----------
    kw_next : In(32)
        K + W of the round after this one (0 if there is none).
    inject : In(1)
        This round is an injected one: it makes ``a`` = ``word_a``, ``e`` = ``word_e``
        given at the slot's previous turn.
    inject_next, word_a, word_e : In(1), In(32), In(32)
        The slot's next round is injected, with these words.
    a, e : Out(32)
        The slot's a and e at this clock: the state its issued round starts from.
    """

    def __init__(self, stages, half_carries=False):
        if (stages, half_carries) not in CONFIGURATIONS:
            raise ValueError(f"(stages, half_carries) must be one of {CONFIGURATIONS}, got {(stages, half_carries)}")
        self.stages = stages
        self.half_carries = half_carries
        super().__init__({"kw_next": In(32), "inject": In(1), "inject_next": In(1),
                          "word_a": In(32), "word_e": In(32), "a": Out(32), "e": Out(32)})

    def elaborate(self, platform):
        m = Module()
        n = self.stages
        a, e = Signal(32, name="a_now"), Signal(32, name="e_now")

        def delay_line(source, name, length=n):
            taps = [Signal(32, name=f"{name}_{i}") for i in range(length)]
            m.d.sync += taps[0].eq(source)
            m.d.sync += [later.eq(earlier) for earlier, later in zip(taps, taps[1:])]
            return taps[-1]

        b = delay_line(a, "b")
        c = delay_line(b, "c")
        f = delay_line(e, "f")
        g = delay_line(f, "g")
        # The next round's h + K + W (h = g now) and d + h + K + W (d = c now), or the
        # words of an injected round.
        hkw_next = Mux(self.inject_next, self.word_a, (g + self.kw_next)[:32])
        if n == 1:
            hkw = delay_line(hkw_next, "hkw")
            dhkw = delay_line(Mux(self.inject_next, self.word_e, (c + g + self.kw_next)[:32]), "dhkw")
        else:
            # Two carry chains in a row: the second a clock later, with this slot's c held.
            hkw_first = Signal(32)
            c_held, word_e_held, inject_held = Signal(32), Signal(32), Signal()
            m.d.sync += [hkw_first.eq(hkw_next), c_held.eq(c), word_e_held.eq(self.word_e),
                         inject_held.eq(self.inject_next)]
            hkw = delay_line(hkw_first, "hkw", n - 1)
            dhkw = delay_line(Mux(inject_held, word_e_held, (c_held + hkw_first)[:32]), "dhkw", n - 1)

        build = {1: self._whole_round, 2: self._two_stage_round, 3: self._three_stage_half_carry_round}[n]
        build(m, a, b, c, e, f, g, hkw, dhkw)
        m.d.comb += [self.a.eq(a), self.e.eq(e)]
        return m

    def _whole_round(self, m, a, b, c, e, f, g, hkw, dhkw):
        s1ch = Signal(32)
        t2 = Signal(32)
        # An injected round's terms are zero: here a LUT level of gating, not a reset.
        m.d.comb += [s1ch.eq(Mux(self.inject, 0, big_sigma1(e) + ch(e, f, g))),
                     t2.eq(Mux(self.inject, 0, big_sigma0(a) + maj(a, b, c)))]
        m.d.sync += [a.eq(s1ch + hkw + t2), e.eq(s1ch + dhkw)]

    def _two_stage_round(self, m, a, b, c, e, f, g, hkw, dhkw):
        # Stage 1: Sigma1 + Ch and Sigma0 + Maj (a LUT level, a carry chain each).
        s1ch, t2, hkw1, dhkw1 = (Signal(32, name=n) for n in ("s1ch", "t2", "hkw1", "dhkw1"))
        with m.If(self.inject):
            m.d.sync += [s1ch.eq(0), t2.eq(0)]
        with m.Else():
            m.d.sync += [s1ch.eq(big_sigma1(e) + ch(e, f, g)), t2.eq(big_sigma0(a) + maj(a, b, c))]
        m.d.sync += [hkw1.eq(hkw), dhkw1.eq(dhkw)]
        # Stage 2: a = T1 + T2 (a carry-save level and a chain), e = d + T1.
        m.d.sync += [a.eq(s1ch + hkw1 + t2), e.eq(s1ch + dhkw1)]

    def _three_stage_half_carry_round(self, m, a, b, c, e, f, g, hkw, dhkw):
        lo, hi = slice(0, 16), slice(16, 32)
        # Stage 1: the LUT level, and the low halves of Sigma1 + Ch and Sigma0 + Maj.
        s1, chv, s0, mj = big_sigma1(e), ch(e, f, g), big_sigma0(a), maj(a, b, c)
        s1ch_lo, t2_lo = Signal(17), Signal(17)
        s1_hi, ch_hi, s0_hi, maj_hi = (Signal(16, name=n) for n in ("s1_hi", "ch_hi", "s0_hi", "maj_hi"))
        hkw1, dhkw1 = Signal(32), Signal(32)
        with m.If(self.inject):
            m.d.sync += [s1ch_lo.eq(0), t2_lo.eq(0), s1_hi.eq(0), ch_hi.eq(0), s0_hi.eq(0), maj_hi.eq(0)]
        with m.Else():
            m.d.sync += [s1ch_lo.eq(s1[lo] + chv[lo]), t2_lo.eq(s0[lo] + mj[lo]),
                         s1_hi.eq(s1[hi]), ch_hi.eq(chv[hi]), s0_hi.eq(s0[hi]), maj_hi.eq(mj[hi])]
        m.d.sync += [hkw1.eq(hkw), dhkw1.eq(dhkw)]
        # Stage 2: the high halves of those; the low halves of a and e.
        s1ch_hi, t2_hi = Signal(16), Signal(16)
        a_lo, e_lo = Signal(18), Signal(17)
        hkw2_hi, dhkw2_hi = Signal(16), Signal(16)
        m.d.sync += [s1ch_hi.eq(s1_hi + ch_hi + s1ch_lo[16]), t2_hi.eq(s0_hi + maj_hi + t2_lo[16]),
                     a_lo.eq(s1ch_lo[:16] + hkw1[lo] + t2_lo[:16]), e_lo.eq(s1ch_lo[:16] + dhkw1[lo]),
                     hkw2_hi.eq(hkw1[hi]), dhkw2_hi.eq(dhkw1[hi])]
        # Stage 3: the high halves of a and e, with the low halves' carries.
        m.d.sync += [a.eq(Cat(a_lo[:16], s1ch_hi + hkw2_hi + t2_hi + a_lo[16:])),
                     e.eq(Cat(e_lo[:16], s1ch_hi + dhkw2_hi + e_lo[16]))]

