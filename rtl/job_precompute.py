"""Per-job constants of the header's second block, computed once per job."""

from amaranth.hdl import Array, Cat, Const, Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from . import spec
from .sha256_logic import add, folded_round, next_w


class JobPrecompute(wiring.Component):
    """Rounds 0..2 of the header's second block and schedule words W16, W17.

    None of them involves the nonce (W3), so the cores never compute them. One
    round unit, one round per clock: ``ready`` rises 3 clocks after ``start``.

    Attributes
    ----------
    midstate : In(ArrayLayout(32, 8))
    tail : In(ArrayLayout(32, 3))
        W0..W2 of the second block. Both are held for the whole job.
    start : In(1)
        Begin with the current ``midstate`` and ``tail``.
    state3 : Out(ArrayLayout(32, 8))
        a..h after round 2.
    w16, w17 : Out(32)
        Schedule words made only of W0..W2 and padding (combinational from ``tail``).
    ready : Out(1)
        ``state3`` is valid.
    """

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
        step = Signal(range(rounds + 1), init=rounds)
        state = [Signal(32, name=f"pre_{n}") for n in spec.STATE_NAMES]

        k = Array(Const(spec.K[t], 32) for t in range(rounds))[step]
        w = Array(self.tail[t] for t in range(rounds))[step]
        folded = dict(zip(("a", "b", "c", "d", "e", "f", "g"), state[:7]))
        folded["hkw"] = add(state[7], k, w)
        after = folded_round(folded, 0)     # kw_next = 0 leaves hkw = plain h
        with m.If(step < rounds):
            m.d.sync += [s.eq(after[n]) for s, n in zip(state, ("a", "b", "c", "d", "e", "f", "g", "hkw"))]
            m.d.sync += step.eq(step + 1)
        with m.If(self.start):
            m.d.sync += [s.eq(self.midstate[i]) for i, s in enumerate(state)]
            m.d.sync += step.eq(0)

        block = [self.tail[0], self.tail[1], self.tail[2], None] + [spec.BLOCK2_PADDING[i] for i in range(4, 16)]
        w16 = next_w(block)
        w17 = next_w(block[1:] + [w16])
        m.d.comb += [
            self.state3.eq(Cat(*state)),
            self.w16.eq(w16),
            self.w17.eq(w17),
            self.ready.eq((step == rounds) & ~self.start),
        ]
        return m
