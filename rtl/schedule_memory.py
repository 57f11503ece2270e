"""The message schedule of a round stage that runs a whole hash, kept in block RAM."""

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .sha256_logic import next_w

WINDOW_WORDS = 16
# The schedule taps of round t: W[t], W[t+1], W[t+9], W[t+14] make W[t+16]; W[t+1] also
# feeds the folded h+K+W of the next round.
TAPS = (0, 1, 9, 14)
BANK_WORDS = 64

# A read never meets the write to its own address (the write is a word ahead of every
# tap, or in the other bank), but Amaranth's RTLIL asks for the old word on a collision,
# and yosys builds a bypass (about 140 LUTs and 70 flip-flops per schedule) to provide
# it. This yosys command, run after reading the design, says collisions are don't-care
# for the read ports of every ScheduleMemory (modules named ``*_schedule``).
YOSYS_COLLISIONS_DONT_CARE = "setparam -set COLLISION_X_MASK 1 *_schedule/t:$memrd_v2"


class ScheduleMemory(wiring.Component):
    """W[first..last_w] of one nonce at a time, one word written per round.

    A register window costs 512 flip-flops and as many multiplexers per round unit,
    each its own logic cell on an iCE40. Here every word the schedule makes is written
    once to a block RAM and read back through four synchronous read ports (yosys
    gives each its own copy of the RAM). The RAM has two banks: the nonce being hashed
    uses one while the next nonce's first 16 words are made ready in the other, in the
    rounds whose schedule words are no longer needed, so the stage never copies a
    window at hand-off. Constant words (padding) are the RAM's initial contents and
    are never written: only the words that change are preloaded.

    Parameters
    ----------
    first : int
        The stage's first round (W[first] is the window's first word).
    rounds : int
        Rounds per nonce, one per phase (the stage's clocks per nonce).
    last_w : int
        The last schedule word the hash uses; W[t+16] is made only up to it.
    constants : dict of int to int
        Window positions ``j`` whose word W[first + j] is the same for every nonce.

    Attributes
    ----------
    phase, phase_next : In(range(rounds))
        The round (``first + phase``) running this clock and the next.
    advance : In(1)
        The round runs this clock (low while the core stalls).
    handoff : In(1)
        This clock ends the nonce: the next clock starts the preloaded one.
    init : In(ArrayLayout(32, len(variable)))
        The next nonce's words at the window positions :attr:`variable` (those not in
        ``constants``), held for the whole hand-off period.
    taps : Out(ArrayLayout(32, 4))
        W[t], W[t+1], W[t+9], W[t+14] of the round running this clock.
    """

    def __init__(self, first, rounds, last_w, constants):
        made = last_w - WINDOW_WORDS - first + 1
        self.constants = dict(constants)
        self.variable = [j for j in range(WINDOW_WORDS) if j not in self.constants]
        if rounds - made < len(self.variable):
            raise ValueError(f"{rounds} rounds from round {first} leave {rounds - made} free write slots; "
                             f"preloading the next nonce needs {len(self.variable)}")
        if last_w >= BANK_WORDS:
            raise ValueError(f"W[{last_w}] does not fit a {BANK_WORDS}-word bank")
        self.first, self.rounds, self.last_w = first, rounds, last_w
        self.computing_phases = made          # phases that write W[t+16]
        super().__init__({
            "phase": In(range(rounds)),
            "phase_next": In(range(rounds)),
            "advance": In(1),
            "handoff": In(1),
            "init": In(data.ArrayLayout(32, len(self.variable))),
            "taps": Out(data.ArrayLayout(32, len(TAPS))),
        })

    def elaborate(self, platform):
        m = Module()
        contents = [0] * (2 * BANK_WORDS)
        for j, word in self.constants.items():
            contents[self.first + j] = contents[BANK_WORDS + self.first + j] = word
        m.submodules.words = words = Memory(shape=32, depth=2 * BANK_WORDS, init=contents)

        bank = Signal()
        bank_next = Signal()
        m.d.comb += bank_next.eq(bank ^ self.handoff)
        m.d.sync += bank.eq(bank_next)

        round_next = self.first + self.phase_next
        for i, offset in enumerate(TAPS):
            port = words.read_port()
            m.d.comb += [
                port.addr.eq(_address(m, round_next + offset, bank_next)),
                self.taps[i].eq(port.data),
            ]

        # Rounds that make a schedule word write W[t+16]; the phases after them preload
        # the next nonce's variable words into the other bank.
        write = words.write_port()
        preload_start = self.computing_phases
        preloading = (self.phase >= preload_start) & (self.phase < preload_start + len(self.variable))
        index = Signal(range(len(self.variable)))
        m.d.comb += index.eq(self.phase - preload_start)
        position = Array(self.first + j for j in self.variable)[index]
        window = [None] * WINDOW_WORDS
        for i, offset in enumerate(TAPS):
            window[offset] = self.taps[i]
        made = next_w(window)
        m.d.comb += [
            write.en.eq(self.advance & (preloading | (self.phase < self.computing_phases))),
            write.addr.eq(Mux(preloading,
                              _address(m, position, ~bank),
                              _address(m, self.first + self.phase + WINDOW_WORDS, bank))),
            write.data.eq(Mux(preloading, Array(self.init)[index], made)),
        ]
        return m


def _address(m, word, bank):
    """RAM address of schedule word ``word`` (mod 64: words past the bank are never used)."""
    offset = Signal(range(BANK_WORDS))
    m.d.comb += offset.eq(word)
    return Cat(offset, bank)
