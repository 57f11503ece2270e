"""The message schedule of a fully pipelined hash: each word made once, then delayed."""

from amaranth.hdl import Elaboratable, Module, Signal
from amaranth.lib.memory import Memory

from .sha256_logic import NONCE, add, kind, lower, register_job_words, small_sigma0, small_sigma1

WINDOW_WORDS = 16
# Ages up to this come from a chain of registers; older ones from a delay-line RAM.
REGISTER_CHAIN_AGES = 2
# Yosys's ram_style for the delay-line RAMs. ECP5 85F, fully pipelined: "block" (173
# DP16KD) left 61k of 320k arcs unrouted after 50 minutes (then with a reset on every
# data flip-flop) and placed with a longer total wire length than "distributed" (1382
# TRELLIS_DPR16X4, +8k LUTs), which routed: the whole build took 35 minutes.
DELAY_LINE_RAM_STYLE = "distributed"


class PipelinedSchedule(Elaboratable):
    """W[t] for every stage of a fully pipelined hash (one round per stage).

    A register window moves 16 words down every stage: about 500 flip-flops per round,
    which is more than an ECP5 85F has for a whole fully pipelined core. Here each
    per-nonce word is made once and registered once (its *age* 0); the stages that
    read it later see it through delay lines: a short register chain for ages 1..2 and,
    for older ages, a 16-word RAM written with the word every hand-off and read
    ``age - 1`` hand-offs back into a register. The RAMs are LUT RAM (ECP5
    TRELLIS_DPR16X4), which sits beside its stage; block RAMs sit in a few rows, and
    two words per stage travel there and back (see ``DELAY_LINE_RAM_STYLE``).

    W[j] = sigma1(W[j-2]) + X[j], where the partial sum X[j] = W[j-16] + sigma0(W[j-15])
    + W[j-7] is made a stage earlier and registered: no stage has more than two carry
    chains in a row. A word made at round t is read at ages 1, 5, 13 and 14: five
    registers and two RAM reads instead of sixteen registers.

    Constant and job words (padding, W16/W17 of the first hash) never enter a delay line.

    Parameters
    ----------
    rounds : sequence of int
        Consecutive rounds, one pipeline stage each (stage 0 runs ``rounds[0]``).
    last_w : int
        The last schedule word the hash uses.
    window : sequence of 16 words
        W[rounds[0]] .. W[rounds[0] + 15] as ints, JobWords or per-nonce values,
        presented to stage 0's registers.
    handoff : Signal
        High at every clock edge where the pipeline moves on.
    in_ram : bool
        Delay lines in RAM (the FPGA build) or all registers (the ASIC export, where a
        RAM would become flip-flops anyway).
    """

    def __init__(self, rounds, last_w, window, handoff, in_ram=True):
        self.rounds = tuple(rounds)
        self.last_w = last_w
        self.handoff = handoff
        self.in_ram = in_ram
        first = self.rounds[0]
        self._words = {first + i: word for i, word in enumerate(window)}
        self._birth = {}            # word -> stage whose register first holds it
        self._ages = {}             # word -> ages at which a stage reads it
        self._made = {}             # word -> stage that makes it from the taps
        for j, word in self._words.items():
            if kind(word) == NONCE:
                self._birth[j] = 0
        for stage, t in enumerate(self.rounds):
            j = t + WINDOW_WORDS
            if j <= last_w:
                self._made[j] = stage
                if any(kind(self._words.get(i, 0)) == NONCE or i in self._birth for i in _ingredients(j)):
                    self._birth[j] = stage + 1
        for stage, t in enumerate(self.rounds):
            for j in self.reads(t):
                if j in self._birth:
                    self._ages.setdefault(j, set()).add(stage - self._birth[j])
        self._taps = {(j, age): Signal(32, name=f"w{j}_age{age}")
                      for j, ages in self._ages.items() for age in ages}
        # X[j], made at the stage before W[j]'s (from the window itself for the first).
        self._partials = {j: Signal(32, name=f"x{j}", reset_less=True) for j in self._made
                          if any(i in self._birth for i in (j - 16, j - 15, j - 7))}

    def reads(self, t):
        """The schedule words round ``t`` reads: W[t+1] for h+K+W; W[t+14] for W[t+16];
        W[t+1], W[t+2], W[t+10] for X[t+17]."""
        words = [t + 1] if t + 1 <= self.last_w else []
        if t + WINDOW_WORDS <= self.last_w:
            words.append(t + 14)
        if t + WINDOW_WORDS + 1 <= self.last_w:
            words += [t + 1, t + 2, t + 10]
        return sorted(set(words))

    def word(self, j, stage):
        """W[j] as the given stage sees it: an int, a JobWord or a register's value.
        Stage -1 is the window as presented to stage 0."""
        if j not in self._birth or stage < 0:
            return self._words[j]
        return self._taps[(j, stage - self._birth[j])]

    def w_next(self, stage):
        """W[t+1] for the round ``t`` of ``stage``, or 0 after the hash's last word."""
        t = self.rounds[stage]
        return self.word(t + 1, stage) if t + 1 <= self.last_w else 0

    @property
    def ram_reads(self):
        """Delay-line RAM read ports (each a LUT RAM copy of the line on an ECP5)."""
        return sum(list(self._delay_plan(ages).values()).count("ram") for ages in self._ages.values())

    def _delay_plan(self, ages):
        """How each register older than age 0 is loaded: from the register one age
        younger ("register") or from the RAM, read at one age younger ("ram")."""
        plan = {}
        for age in sorted(ages):
            if not self.in_ram or age <= REGISTER_CHAIN_AGES:
                plan.update({a: "register" for a in range(1, age + 1)})
            elif age - 1 in plan:
                plan[age] = "register"
            else:
                plan[age] = "ram"
        return plan

    def _partial(self, j):
        """X[j] = W[j-16] + W[j-7] + sigma0(W[j-15]) as the stage before W[j]'s sees them
        (the sigma's LUT level runs beside the first carry chain)."""
        stage = self._made[j] - 1
        return add(self.word(j - 16, stage), self.word(j - 7, stage), small_sigma0(self.word(j - 15, stage)))

    def _value(self, j):
        """The word as made: the window's, or X[j] + sigma1(W[j-2]) at its stage."""
        if j in self._words:
            return lower(self._words[j])
        stage = self._made[j]
        partial = self._partials[j] if j in self._partials else self._partial(j)
        return lower(add(partial, small_sigma1(self.word(j - 2, stage))))

    def elaborate(self, platform):
        m = Module()
        handoff = self.handoff
        # The RAMs' write address: a counter, copied stage to stage one hand-off late
        # (stage s holds the count minus s). Each delay line's RAMs take the copy at
        # their stage, so the address runs beside the pipeline instead of one counter
        # driving every RAM on the die. A RAM only needs its own address consistent.
        pointers = []
        if self.in_ram:
            pointers.append(Signal(4, name="pointer_s0"))
            with m.If(handoff):
                m.d.sync += pointers[0].eq(pointers[0] + 1)
            for stage in range(1, max(self._birth.values(), default=0) + 1):
                pointers.append(Signal(4, name=f"pointer_s{stage}", reset_less=True))
                with m.If(handoff):
                    m.d.sync += pointers[stage].eq(pointers[stage - 1])
        with register_job_words(m):
            self._elaborate_words(m, pointers)
        return m

    def _elaborate_words(self, m, pointers):
        handoff = self.handoff
        for j, partial in self._partials.items():
            with m.If(handoff):
                m.d.sync += partial.eq(lower(self._partial(j)))
        for j in sorted(self._ages):
            ages = self._ages[j]
            # Age 0, then every older age up to the last one read (gaps skipped in RAM).
            registers = {0: Signal(32, name=f"w{j}_r0", reset_less=True)}
            with m.If(handoff):
                m.d.sync += registers[0].eq(self._value(j))
            plan = self._delay_plan(ages)
            ram_reads = [age - 1 for age, source in plan.items() if source == "ram"]
            memory_ports = {}
            if ram_reads:
                pointer = pointers[self._birth[j]]
                # Written with age 0 at every hand-off; during a hand-off period the word
                # of age a sits at pointer - a, and a read port clocked at the hand-off
                # gives the next period's age b from pointer + 1 - b (b >= 2: never the
                # address being written).
                m.submodules[f"w{j}_delay"] = memory = Memory(shape=32, depth=WINDOW_WORDS, init=[],
                                                              attrs={"ram_style": DELAY_LINE_RAM_STYLE})
                write = memory.write_port()
                m.d.comb += [write.addr.eq(pointer), write.data.eq(registers[0]), write.en.eq(handoff)]
                for b in ram_reads:
                    read = memory.read_port()
                    m.d.comb += [read.addr.eq(pointer + 1 - b), read.en.eq(handoff)]
                    memory_ports[b] = read.data
            for age in sorted(plan):
                source = registers[age - 1] if plan[age] == "register" else memory_ports[age - 1]
                registers[age] = Signal(32, name=f"w{j}_r{age}", reset_less=True)
                with m.If(handoff):
                    m.d.sync += registers[age].eq(source)
            for age in ages:
                m.d.comb += self._taps[(j, age)].eq(registers[age])


def _ingredients(j):
    """The words W[j] is made of."""
    return (j - 16, j - 15, j - 7, j - 2)
