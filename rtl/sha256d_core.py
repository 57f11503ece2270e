"""One SHA-256d mining core: a nonce range in, qualifying nonces out."""

import contextlib
import itertools

from amaranth.hdl import Array, Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import spec
from .ecp5_fused_add import ecp5_constant_add, ecp5_fused_add
from .pipelined_schedule import PipelinedSchedule
from .schedule_memory import TAPS as SCHEDULE_TAPS, ScheduleMemory
from .sha256_logic import (CONST, SKEWED_STATE, JobWord, NONCE, add, bswap32, folded_round, folded_round_e_only,
                           fuse_bitwise_adds, fuse_constant_adds, kind, lower, next_w, register_job_words, settled,
                           skewed_from_plain, skewed_round, skewed_round_e_only, unskewed)

STATE = ("a", "b", "c", "d", "e", "f", "g", "hkw")
WINDOW = tuple(f"w{i}" for i in range(16))
ROUND_OUTPUTS = ("a", "e")       # the words a round computes; the others it shifts

# Rounds each hash runs: the header's second block from round 3 (rounds 0..2 are
# job constants, computed once per job by JobPrecompute), the second hash up to
# round 60 (its top word is then known).
HASH1_ROUNDS = tuple(range(spec.JOB_CONSTANT_ROUNDS, spec.ROUNDS))
HASH2_ROUNDS = tuple(range(spec.HASH2_ROUNDS_NEEDED))
HASH1_LAST_W = spec.ROUNDS - 1
HASH2_LAST_W = spec.HASH2_ROUNDS_NEEDED - 1

MAX_PIPELINED_CLOCKS_PER_NONCE = len(HASH1_ROUNDS)
# The smallest configuration: one round unit per hash, the first running all 64 rounds
# itself, so the miner needs no job precompute unit (3 clocks per nonce more, about
# 600 iCE40 logic cells less).
ALL_ROUNDS_CLOCKS_PER_NONCE = spec.ROUNDS
MAX_CLOCKS_PER_NONCE = ALL_ROUNDS_CLOCKS_PER_NONCE


def check_clocks_per_nonce(clocks_per_nonce):
    if isinstance(clocks_per_nonce, bool) or not isinstance(clocks_per_nonce, int):
        raise TypeError(f"clocks_per_nonce must be an integer, not {clocks_per_nonce!r}")
    if not (1 <= clocks_per_nonce <= MAX_PIPELINED_CLOCKS_PER_NONCE
            or clocks_per_nonce == ALL_ROUNDS_CLOCKS_PER_NONCE):
        raise ValueError(f"clocks_per_nonce must be in 1..{MAX_PIPELINED_CLOCKS_PER_NONCE} or "
                         f"{ALL_ROUNDS_CLOCKS_PER_NONCE} (no job precompute), got {clocks_per_nonce}")
    return clocks_per_nonce


def uses_job_precompute(clocks_per_nonce):
    """Whether rounds 0..2 of the header's second block come from :class:`JobPrecompute`
    (every size but the smallest)."""
    return clocks_per_nonce != ALL_ROUNDS_CLOCKS_PER_NONCE


def hash1_rounds(clocks_per_nonce):
    """The rounds of the first hash the core runs for every nonce."""
    return HASH1_ROUNDS if uses_job_precompute(clocks_per_nonce) else tuple(range(spec.ROUNDS))


def runs_whole_hashes(clocks_per_nonce):
    """Each round stage runs a whole hash: the area-first sizes (61, 64)."""
    return all(len(split_rounds(rounds, clocks_per_nonce)) == 1
               for rounds in (hash1_rounds(clocks_per_nonce), HASH2_ROUNDS))


def schedule_in_ram(clocks_per_nonce):
    """The schedule can live in RAM: each round stage runs a whole hash (block RAM,
    :class:`ScheduleMemory`), or the core is fully pipelined and the words wait in
    LUT-RAM delay lines (:class:`PipelinedSchedule`)."""
    return clocks_per_nonce == 1 or runs_whole_hashes(clocks_per_nonce)


def skewed_rounds(clocks_per_nonce):
    """Rounds run skewed, a a round behind e (see :func:`sha256_logic.skewed_round`):
    two carry chains in a row per round instead of three, for a carry chain more per
    round unit and an ``unskew`` stage. Measured: 12F L=31 Fmax 80.1 -> 100.4 MHz, 25F
    L=12 80.1 -> 88.2. Not in the area-first sizes (61, 64): a UP5K has no room for
    it, and there the round is not the longest path. Not fully pipelined either: the
    85F went from 73k to 78k LUTs (93%) and its control paths then routed long (Fmax
    67.2 at an 85 MHz target, against 83.8 at 80 without the skew)."""
    return not runs_whole_hashes(clocks_per_nonce) and clocks_per_nonce != 1


def stage_names(clocks_per_nonce):
    """The core's pipeline stages in order; each holds a nonce for ``clocks_per_nonce`` clocks."""
    hash1 = len(split_rounds(hash1_rounds(clocks_per_nonce), clocks_per_nonce))
    hash2 = len(split_rounds(HASH2_ROUNDS, clocks_per_nonce))
    # Skewed rounds leave the first hash's last a to a stage before the digest.
    unskew = ["unskew"] if skewed_rounds(clocks_per_nonce) else []
    return (["feed"] + [f"hash1_s{i}" for i in range(hash1)] + unskew + ["digest"]
            + [f"hash2_s{i}" for i in range(hash2)] + ["check", "result"])


def core_latency(clocks_per_nonce):
    """Clocks from the clock edge that takes ``start`` to the one that puts the range's
    first nonce in the result stage: one hand-off per stage."""
    return len(stage_names(clocks_per_nonce)) * clocks_per_nonce


def split_rounds(rounds, clocks_per_nonce):
    """Rounds per pipeline stage: each stage runs at most ``clocks_per_nonce`` of them."""
    return [rounds[i:i + clocks_per_nonce] for i in range(0, len(rounds), clocks_per_nonce)]


class Sha256dCore(wiring.Component):
    """SHA-256d over a nonce range, reporting every nonce whose top hash word is at
    or below ``target``.

    The core is a chain of lock-step pipeline stages. Every ``clocks_per_nonce``
    clocks (a *hand-off*) each stage passes its nonce to the next and the first
    stage takes a new one, so the core hashes one nonce per ``clocks_per_nonce``
    clocks. Round stages run up to ``clocks_per_nonce`` rounds each, reusing one
    round unit: ``clocks_per_nonce=1`` is fully pipelined (one round unit per round,
    122 in all), ``clocks_per_nonce=61`` is two round units in all, and 64 is two
    round units with rounds 0..2 run for every nonce instead of once per job
    (``state3``, ``w16`` and ``w17`` are then unused). When a stage runs
    a whole hash (61, 64) its message schedule lives in block RAM
    (:class:`ScheduleMemory`) instead of a 16-word register window; fully pipelined,
    each schedule word is made once and waits in a delay line
    (:class:`PipelinedSchedule`) instead of moving through a window in every stage.

    Parameters
    ----------
    clocks_per_nonce : int
        1 .. 61, or 64. Area falls and hashing time grows with it.
    schedule_memory : bool
        Keep the schedule in RAM where the size allows (see :func:`schedule_in_ram`).
        False gives registers, for ASIC flows, where the RAM would become flip-flops.
    stall : bool
        A result not taken stalls the whole pipeline (the default). False: the pipeline
        never stops (no clock enable on any pipeline register, which fully pipelined is
        tens of thousands of flip-flops on one net); the driver makes room instead
        (see ``results``).

    Attributes
    ----------
    midstate, state3 : In(ArrayLayout(32, 8))
        Job constants: the SHA-256 state after the header's first 64 bytes, and after
        rounds 0..2 of its second block (``state3``; from :class:`JobPrecompute`).
    tail : In(ArrayLayout(32, 3))
        W0..W2 of the second block (the header's last 12 bytes before the nonce).
    w16, w17 : In(32)
        Job-constant schedule words of the second block.
    target : In(32)
        A nonce qualifies when bswap32(H7), the top 32 bits of the hash as a
        little-endian number, is at or below this.
    swap_nonce : In(1)
        0: the counter value is W3 itself (the Icarus order); 1: W3 = bswap32(counter),
        so the counter runs over header nonces as block explorers print them.
    first, last : In(32)
        The range, both ends included, read when ``start`` is high.
    start : In(1)
        Begin the range; whatever is in flight is dropped as it reaches the end (no
        result, not counted in ``hashed``), before the range's first nonce.
    abort : In(1)
        Stop; whatever is in flight is dropped in the same way.
    hold : In(1)
        Take no new nonce from the range at this hand-off (the nonces in flight go on).
    results : Out(stream.Signature(32))
        Counter values (see ``swap_nonce``) of qualifying nonces, in order. With
        ``stall=False`` a result is there for one hand-off only: the driver must take
        it, keeping room for every nonce in flight (``len(stage_names)``) and using
        ``hold`` to stop the feed before its buffer fills.
    hashed : Out(1)
        High for one clock per nonce whose hash is complete (qualifying or not).
    busy : Out(1)
        The range is not finished (nonces left or in flight, dropped ones included).
    """

    def __init__(self, clocks_per_nonce=1, schedule_memory=True, stall=True):
        self.clocks_per_nonce = check_clocks_per_nonce(clocks_per_nonce)
        self._schedule_memory_wanted = bool(schedule_memory)
        self.stall = bool(stall)
        self.hash1_stages = split_rounds(hash1_rounds(clocks_per_nonce), clocks_per_nonce)
        self.hash2_stages = split_rounds(HASH2_ROUNDS, clocks_per_nonce)
        super().__init__({
            "midstate": In(data.ArrayLayout(32, 8)),
            "state3": In(data.ArrayLayout(32, 8)),
            "tail": In(data.ArrayLayout(32, 3)),
            "w16": In(32),
            "w17": In(32),
            "target": In(32),
            "swap_nonce": In(1),
            "first": In(32),
            "last": In(32),
            "start": In(1),
            "abort": In(1),
            "hold": In(1),
            "results": Out(stream.Signature(32)),
            "hashed": Out(1),
            "busy": Out(1),
        })

    @property
    def stage_names(self):
        return stage_names(self.clocks_per_nonce)

    @property
    def phase(self):
        """The hand-off phase counter (None when fully pipelined); valid after elaboration."""
        return self._phase

    @property
    def round_units(self):
        """Round logic instances: one per round stage."""
        return len(self.hash1_stages) + len(self.hash2_stages)

    @property
    def latency(self):
        """See :func:`core_latency`."""
        return core_latency(self.clocks_per_nonce)

    @property
    def schedule_in_ram(self):
        """Whether the round stages keep their schedule in a :class:`ScheduleMemory`."""
        return self._schedule_memory_wanted and schedule_in_ram(self.clocks_per_nonce)

    @property
    def skewed(self):
        """Whether the rounds run skewed (see :func:`skewed_rounds`)."""
        return skewed_rounds(self.clocks_per_nonce)

    @property
    def _state_keys(self):
        return SKEWED_STATE if self.skewed else STATE

    @property
    def nonces_per_clock(self):
        return 1 / self.clocks_per_nonce

    def elaborate(self, platform):
        m = Module()
        L = self.clocks_per_nonce
        self._m = m
        self._valids = []
        # Round stages by name: (rounds, registers, valid), read by the diagnosis in
        # hashforge.sim to show which round first differs from the golden model.
        self.probes = {}

        self._advance = advance = Signal()
        self._handoff = handoff = Signal()
        if L > 1:
            self._phase = phase = Signal(range(L))
            # The phase of the next clock, known a clock early: the K tables are
            # synchronous ROMs (block RAM where the FPGA has it) addressed by it.
            self._phase_next = phase_next = Signal(range(L))
            m.d.comb += phase_next.eq(phase)
            with m.If(advance):
                m.d.comb += phase_next.eq(Mux(phase == L - 1, 0, phase + 1))
            with m.If(self.start | self.abort):
                m.d.comb += phase_next.eq(0)
            m.d.sync += phase.eq(phase_next)
            # The last phase as a register of its own: hand-off reaches every stage and
            # the counters, and the compare in front of it ran into the drop count
            # (25F L=12: 12.4 ns, most of it routing from the phase register).
            last_phase = Signal()
            m.d.sync += last_phase.eq(phase_next == L - 1)
            m.d.comb += handoff.eq(advance & last_phase)
        else:
            self._phase = None
            m.d.comb += handoff.eq(advance)

        # Nonce counter feeding the pipeline.
        counter = Signal(32)
        feeding = Signal()
        feed = Signal()
        m.d.comb += feed.eq(feeding & ~self.hold)
        with m.If(handoff & feed):
            m.d.sync += counter.eq(counter + 1)
            with m.If(counter == self.last):
                m.d.sync += feeding.eq(0)

        # Fully pipelined, job words are logic on the job registers; they get a register
        # where they meet per-nonce words (iterative stages register them anyway).
        with register_job_words(m) if L == 1 else contextlib.nullcontext(), _carry_cell_adds(m, platform, L):
            bundle, valid = self._transform_stage("feed", {"counter": counter}, feed, self._feed_to_hash1)
            bundle, valid = self._hash("hash1", bundle, valid, self.hash1_stages, HASH1_LAST_W)
            if self.skewed:
                bundle, valid = self._transform_stage("unskew", bundle, valid, unskewed)
            bundle, valid = self._transform_stage("digest", self._digest_in(bundle), valid, self._digest_to_hash2)
            bundle, valid = self._hash("hash2", bundle, valid, self.hash2_stages, HASH2_LAST_W)
            bundle, valid = self._transform_stage("check", {"e61": bundle["e"]}, valid, self._hit)
        hit_in, check_valid = bundle["hit"], valid

        # Result stage: the nonce is the range's counter value at the same position in
        # the stream of valid nonces, so no nonce travels down the pipeline.
        out_counter = Signal(32)
        result_valid = Signal()
        result_hit = Signal()
        result_nonce = Signal(32)
        # Nonces between the feed and the result stage, counted as they enter and leave:
        # the same as any stage being valid, without an OR of every stage's valid bit,
        # which fully pipelined spans the die (on an 85F it was the longest path).
        in_flight = Signal(range(len(self._valids) + 1))
        leaving = handoff & check_valid
        # A new job or an abort does not clear the stages' valid bits: that was a net from
        # the protocol engine to every stage across the die (an 85F critical path, 11.7 ns
        # with 10.3 of routing). The nonces then in flight, the one leaving the last stage
        # in that clock included, drain and are dropped here: no result, not counted.
        # (A result waiting in the result stage is cleared: counted, but not sent.)
        # Their number is taken a clock after the stop, from the count register, when
        # nothing has been fed since: taken at the stop, it ran through the feed and
        # the count's add in one clock (25F L=12: 13.2 ns).
        stopping = self.start | self.abort
        stopped = Signal()
        m.d.sync += stopped.eq(stopping)
        stale = Signal.like(in_flight)
        # stale != 0, kept in a register of its own: worked out from the count, it ran
        # from the count's register through its compare's carry chain and across the die
        # into the result stage (the 85F's longest path at 90 MHz, 11.3 ns, 8.6 routing).
        draining = Signal()
        dropping = stopped | draining
        finished = check_valid & ~dropping & ~stopping
        with m.If(self.results.valid & self.results.ready):
            m.d.sync += result_hit.eq(0)
        with m.If(handoff):
            m.d.sync += [result_valid.eq(finished), result_hit.eq(finished & hit_in)]
            with m.If(finished):
                m.d.sync += [result_nonce.eq(out_counter), out_counter.eq(out_counter + 1)]
        with m.If(stopped):
            m.d.sync += [stale.eq(in_flight - leaving), draining.eq(in_flight != leaving)]
        with m.Elif(leaving & draining):
            m.d.sync += [stale.eq(stale - 1), draining.eq(stale != 1)]
        m.d.sync += in_flight.eq(in_flight + (handoff & feed) - leaving)
        m.d.comb += [
            self.results.valid.eq(result_valid & result_hit),
            self.results.payload.eq(result_nonce),
            advance.eq(~(self.results.valid & ~self.results.ready) if self.stall else 1),
            self.hashed.eq(handoff & finished),
            self.busy.eq(feeding | (in_flight != 0) | result_hit),
        ]

        with m.If(stopping):
            m.d.sync += [result_valid.eq(0), result_hit.eq(0)]
            m.d.sync += feeding.eq(self.start)
        with m.If(self.start):
            m.d.sync += [counter.eq(self.first), out_counter.eq(self.first)]
        return m

    # --- stages ---------------------------------------------------------------------------

    def _register(self, name, bundle):
        """Stage registers for ``bundle``, loaded at hand-off.

        Fully pipelined, only per-nonce words get registers: constants and job words
        are the same for every nonce in flight. Iterative stages register everything,
        because their round unit rewrites the registers.
        """
        m, handoff = self._m, self._handoff
        regs = {}
        for key, word in bundle.items():
            if word is None:
                continue
            if self.clocks_per_nonce == 1 and kind(word) != NONCE:
                regs[key] = word
                continue
            value = Value.cast(lower(word))
            # No reset: the stage's valid bit says whether it holds a nonce. A reset on
            # every data flip-flop is a net with tens of thousands of loads when fully
            # pipelined, and pins each ECP5 slice's shared reset input.
            reg = Signal(32 if kind(word) == CONST else value.shape(), name=f"{name}_{key}", reset_less=True)
            regs[key] = reg
            with m.If(handoff):
                m.d.sync += reg.eq(value)
        return regs

    def _valid(self, name, valid_in):
        valid = Signal(name=f"{name}_valid")
        with self._m.If(self._handoff):
            self._m.d.sync += valid.eq(valid_in)
        self._valids.append(valid)
        return valid

    def _transform_stage(self, name, bundle, valid_in, transform):
        """A stage that holds its input and presents ``transform`` of it."""
        regs = self._register(name, bundle)
        return transform(regs), self._valid(name, valid_in)

    def _hash(self, name, bundle, valid, stages, last_w):
        """One SHA-256 pass: its round stages in order."""
        if self.clocks_per_nonce == 1:
            return self._pipelined_hash(name, bundle, valid, stages, last_w)
        for i, rounds in enumerate(stages):
            bundle, valid = self._round_stage(f"{name}_s{i}", bundle, valid, rounds, last_w)
        return bundle, valid

    def _pipelined_hash(self, name, bundle, valid, stages, last_w):
        """One round per stage; the schedule words wait in delay lines, not in a
        16-word window per stage."""
        rounds = [stage[0] for stage in stages]
        schedule = PipelinedSchedule(rounds, last_w, [bundle[key] for key in WINDOW], self._handoff,
                                     in_ram=self.schedule_in_ram)
        # The "_schedule" suffix is what YOSYS_COLLISIONS_DONT_CARE selects.
        self._m.submodules[f"{name}_schedule"] = schedule
        bundle = _state_only(bundle)
        for i, rounds_of_stage in enumerate(stages):
            stage_name = f"{name}_s{i}"
            regs = self._register(stage_name, bundle)
            valid = self._valid(stage_name, valid)
            self.probes[stage_name] = (rounds_of_stage, regs, valid)
            bundle = _pipelined_round(regs, rounds[i], last_w, schedule.w_next(i), self.skewed)
        return bundle, valid

    def _round_stage(self, name, bundle, valid_in, rounds, last_w):
        window = None
        if self.schedule_in_ram:
            window = self._schedule_memory(name, bundle, rounds, last_w)
            bundle = _state_only(bundle)
        regs = self._register(name, bundle)
        valid = self._valid(name, valid_in)
        self.probes[name] = (rounds, regs, valid)
        m, phase = self._m, self._phase
        out = self._iterative_round(name, regs, rounds, last_w, window)
        with m.If(~self._handoff & self._advance & (phase < len(rounds))):
            m.d.sync += [regs[key].eq(out[key]) for key in regs]
        return (out if len(rounds) == self.clocks_per_nonce else regs), valid

    def _schedule_memory(self, name, bundle, rounds, last_w):
        """The stage's schedule in block RAM, preloaded from ``bundle``'s window words,
        which the previous stage holds for the next nonce during this one. Returns
        the taps W[t], W[t+1], W[t+9], W[t+14] as a 16-word window with gaps."""
        m = self._m
        window_words = [bundle[key] for key in WINDOW]
        constants = {j: word for j, word in enumerate(window_words) if kind(word) == CONST}
        # The "_schedule" suffix is what YOSYS_COLLISIONS_DONT_CARE selects.
        m.submodules[f"{name}_schedule"] = schedule = ScheduleMemory(rounds[0], len(rounds), last_w, constants)
        m.d.comb += [
            schedule.phase.eq(self._phase),
            schedule.phase_next.eq(self._phase_next),
            schedule.advance.eq(self._advance),
            schedule.handoff.eq(self._handoff),
        ]
        m.d.comb += [schedule.init[i].eq(lower(window_words[j])) for i, j in enumerate(schedule.variable)]
        window = [None] * len(WINDOW)
        for i, offset in enumerate(SCHEDULE_TAPS):
            window[offset] = schedule.taps[i]
        return window

    def _iterative_round(self, name, regs, rounds, last_w, window=None):
        """One round unit for rounds[phase]: K comes from a ROM, the last-round cases
        from a small table, both indexed by the phase. ``window`` is the schedule
        memory's taps, or None for a register window in ``regs``."""
        pad = self.clocks_per_nonce - len(rounds)
        # K[t+1] of this clock's round t, read at the previous clock edge. Past 16
        # words a LUT table grows fast (61 words: ~250 iCE40 LUTs), so it goes in
        # block RAM; smaller ones stay in LUTs.
        k_table = [spec.K[t + 1] if t + 1 <= last_w else 0 for t in rounds] + [0] * pad
        if len(k_table) <= 16:
            k_next = self._k_from_lut_table(name, k_table)
        else:
            self._m.submodules[f"{name}_k"] = k_rom = Memory(shape=32, depth=len(k_table), init=k_table,
                                                             attrs={"ram_style": "block"})
            k_read = k_rom.read_port()
            if not self.schedule_in_ram:
                k_next = self._k_from_block_ram(name, k_read)
            else:
                self._m.d.comb += k_read.addr.eq(self._phase_next)
                k_next = k_read.data
        in_registers = window is None
        if in_registers:
            window = [regs[key] for key in WINDOW]
        w_next = window[1]
        if any(t + 1 > last_w for t in rounds):
            w_used = Array([Const(t + 1 <= last_w, 1) for t in rounds] + [Const(0, 1)] * pad)
            w_next = Mux(w_used[self._phase], window[1], 0)
        state = {key: regs[key] for key in self._state_keys}
        round_logic = skewed_round if self.skewed else folded_round
        out = round_logic(state, add(k_next, w_next))
        if in_registers:
            for key, word in zip(WINDOW, window[1:] + [next_w(window)]):
                out[key] = word
        return out

    def _k_from_lut_table(self, name, k_table):
        """K for this clock's round from a flip-flop loaded from the LUT table at the
        phase the counter advances to, leaving start and abort (which send the phase to
        0) out of the table's address: read at ``phase_next``, the restart ran through
        the phase mux into the table (25F: core start -> K, 12 ns). In the clock after a
        restart K is then the old phase's, but the stage holds no nonce of the new range
        before its first hand-off, and the rounds then see the K of their phase."""
        m, L, phase = self._m, self.clocks_per_nonce, self._phase
        # A constant mux, not a memory with an asynchronous read: that one stopped
        # Yosys 0.70's ABC9 pass with an internal assertion on the 45F at L=6.
        table = Array(Const(k, 32) for k in k_table)
        k_now = Signal(32, name=f"{name}_k_now")
        m.d.sync += k_now.eq(table[Mux(self._advance, Mux(phase == L - 1, 0, phase + 1), phase)])
        return k_now

    def _k_from_block_ram(self, name, k_read):
        """K for this clock's round from a flip-flop loaded from the block RAM a clock
        ahead: an ECP5 block RAM read without its output register takes 5.6 ns from the
        clock, which was the whole device's critical path (into hkw). The RAM is read at
        the phase after next; the register loads it when the phase advances. After a
        start or an abort (which send the phase to 0) K is wrong for one clock, as in
        :meth:`_k_from_lut_table`, while the stage holds no nonce of the new range.
        Whole-hash stages (the area-first sizes) skip it: there it costs logic cells and
        the round is slower."""
        m, L = self._m, self.clocks_per_nonce
        phase_after_next = Mux(self._phase_next == L - 1, 0, self._phase_next + 1)
        k_now = Signal(32, name=f"{name}_k_now")
        m.d.comb += k_read.addr.eq(phase_after_next)
        with m.If(self._advance):
            m.d.sync += k_now.eq(k_read.data)
        return k_now

    # --- transforms between the hashes ----------------------------------------------------

    def _feed_to_hash1(self, regs):
        """The nonce becomes W3; the hash starts after rounds 0..2 (``state3``) or,
        without the job precompute, from the midstate at round 0."""
        counter = regs["counter"]
        w3 = Mux(lower(settled(JobWord(self.swap_nonce))), bswap32(counter), counter)
        w = {0: JobWord(self.tail[0]), 1: JobWord(self.tail[1]), 2: JobWord(self.tail[2]), 3: w3,
             **spec.BLOCK2_PADDING}
        first = self.hash1_stages[0][0]
        if first == 0:
            state = [JobWord(self.midstate[i]) for i in range(8)]
        else:
            w.update({16: JobWord(self.w16), 17: JobWord(self.w17)})
            w[first + 15] = next_w([w[i] for i in range(first - 1, first + 15)])
            state = [JobWord(self.state3[i]) for i in range(8)]
        bundle = self._state_bundle(state, spec.K[first], w[first])
        for i in range(16):
            bundle[f"w{i}"] = w[first + i]
        return bundle

    def _state_bundle(self, state, k, w):
        """A hash's first state with h folded: ``hkw`` = h + K + W, or for skewed rounds
        the skewed form with ``dhkw`` = d + h + K + W."""
        bundle = dict(zip(STATE[:7], state[:7]))
        if not self.skewed:
            bundle["hkw"] = add(state[7], k, w)
            return bundle
        bundle["dhkw"] = add(state[3], state[7], k, w)
        return skewed_from_plain(bundle)

    def _digest_in(self, bundle):
        """What the digest stage registers: the state after round 63 (``hkw`` is the
        plain h there), the midstate already added to the words the last round only
        shifted. Their adder then shares a logic cell with the register it feeds; ``a``
        and ``e`` leave the round logic, so their add comes after the register, off the
        round's critical path."""
        return {key: bundle[key] if key in ROUND_OUTPUTS else add(JobWord(self.midstate[i]), bundle[key])
                for i, key in enumerate(STATE)}

    def _digest_to_hash2(self, regs):
        """First digest = midstate + state after round 63 (see :meth:`_digest_in`)."""
        digest = [add(JobWord(self.midstate[i]), regs[key]) if key in ROUND_OUTPUTS else regs[key]
                  for i, key in enumerate(STATE)]
        block = digest + [spec.HASH2_PADDING[i] for i in range(8, 16)]
        bundle = self._state_bundle(spec.H0, spec.K[0], block[0])
        for i in range(16):
            bundle[f"w{i}"] = block[i]
        return bundle

    def _hit(self, regs):
        top = bswap32(add(regs["e61"], spec.H0[7]))
        return {"hit": top <= lower(settled(JobWord(self.target)))}


def uses_fused_adds(platform, clocks_per_nonce):
    """Whether the rounds' Ch and Maj go inside their adders' carry cells (see
    :mod:`ecp5_fused_add`): on ECP5, fully pipelined. There every add is its own carry
    chain anyway (``YOSYS_ADDS_AS_CARRY_CHAINS``); the iterative sizes let yosys merge a
    round's sums into carry-save adders, which the fused cells would stop (measured with
    ``bench/core_area.py --ecp5-cells both``: 25F L=12 Fmax 91.2 MHz plain, 80.1 fused;
    12F L=31 103.0 and 101.0). Elsewhere (iCE40, whose carry cell has no LUT of its own,
    simulation, ASIC) they are plain logic. A platform with ``fused_adds`` True or False
    decides for every size (``bench/core_area.py --ecp5-cells both`` compares the two)."""
    if getattr(platform, "family", None) != "ecp5":
        return False
    forced = getattr(platform, "fused_adds", None)
    return clocks_per_nonce == 1 if forced is None else bool(forced)


def _carry_cell_adds(m, platform, clocks_per_nonce):
    """Where :func:`uses_fused_adds`: Ch and Maj inside their adders' carry cells, and
    h + K + W (two per-nonce words and a constant) in one chain; else nothing."""
    if not uses_fused_adds(platform, clocks_per_nonce):
        return contextlib.nullcontext()
    count = itertools.count()
    stack = contextlib.ExitStack()
    stack.enter_context(fuse_bitwise_adds(lambda x, operands, bit_function: ecp5_fused_add(
        m, x, operands, bit_function, name=f"fused_add{next(count)}")))
    stack.enter_context(fuse_constant_adds(lambda x, y, constant: ecp5_constant_add(
        m, x, y, constant, name=f"constant_add{next(count)}")))
    return stack


def _state_only(bundle):
    return {key: word for key, word in bundle.items() if key not in WINDOW}


def _pipelined_round(regs, t, last_w, w_next, skewed):
    """Round ``t`` on a stage's registered state (skewed or not); ``w_next`` is W[t+1]."""
    if t == HASH2_ROUNDS[-1] and last_w == HASH2_LAST_W:
        return {"e": (skewed_round_e_only if skewed else folded_round_e_only)(regs)}
    kw_next = (spec.K[t + 1], w_next) if t + 1 <= last_w else ()
    return (skewed_round if skewed else folded_round)(regs, *kw_next)
