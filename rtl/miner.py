"""N SHA-256d cores on disjoint slices of a nonce range, one result stream, one counter."""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .job_precompute import JobPrecompute
from .sha256d_core import Sha256dCore, check_clocks_per_nonce, core_latency, stage_names, uses_job_precompute

RESULT_LAYOUT = data.StructLayout({"nonce": 32, "job_id": 8})
FIFO_LATENCY = 2      # SyncFIFOBuffered: write, then the registered read


class Miner(wiring.Component):
    """The mining engine: job set-up, ``cores`` cores, result merge and the counter.

    On ``start`` rounds 0..2 are precomputed, the range
    [``first``, ``last``] is split into ``cores`` contiguous slices (the first slices
    one longer when it does not divide evenly) and every core starts on its slice.

    Parameters
    ----------
    cores : int
        Number of :class:`Sha256dCore` instances.
    clocks_per_nonce : int
        Passed to each core (1 = fully pipelined; 64 = smallest, without the job
        precompute).
    fifo_depth : int
        Results buffered before the cores stall. A single core with ``schedule_memory``
        never stalls (see ``Sha256dCore.stall``): its FIFO holds at least twice the
        nonces in flight, and the core stops taking new nonces while that many would
        not fit.
    schedule_memory : bool
        Passed to each core (schedules in RAM where the size allows them).

    Attributes
    ----------
    midstate, tail, target, swap_nonce, first, last, job_id : In
        The job, valid when ``start`` is high and held until the next ``start`` (the
        protocol engine keeps it in its registers; a second copy here would cost ~450
        flip-flops; ``job_id`` is read a clock after ``start``). ``job_id`` alone is
        latched, so results still draining at a new ``start`` keep their own job's id.
    start, abort : In(1)
        New job (replaces the running one); stop.
    results : Out(stream.Signature(RESULT_LAYOUT))
        Qualifying nonces (counter values, see ``Sha256dCore.swap_nonce``) with the
        ``job_id`` they belong to.
    nonces_hashed : Out(64)
        Nonces hashed since power-on, all cores together.
    busy : Out(1)
        Set-up, hashing or results still buffered; a register, one clock behind.
    """

    def __init__(self, cores=1, clocks_per_nonce=1, fifo_depth=16, schedule_memory=True):
        if isinstance(cores, bool) or not isinstance(cores, int):
            raise TypeError(f"cores must be an integer, not {cores!r}")
        if not 1 <= cores <= 64:
            raise ValueError(f"cores must be in 1..64, got {cores}")
        self.cores = cores
        self.clocks_per_nonce = check_clocks_per_nonce(clocks_per_nonce)
        self.schedule_memory = schedule_memory
        # One core on an FPGA never stalls: no clock enable on its pipeline flip-flops
        # (fully pipelined ~50k of them), and no path from the FIFO's level through the
        # stall into every one of them (an iterative 45F build's critical path, 16.8 ns).
        # The deeper FIFO is a block RAM there (for an ASIC it would be flip-flops, so the
        # export keeps the stalling core). Several cores stall: their results can meet.
        self.core_stalls = not (cores == 1 and schedule_memory)
        in_flight = len(stage_names(self.clocks_per_nonce))
        self.fifo_depth = fifo_depth if self.core_stalls else max(fifo_depth, 1 << (2 * in_flight - 1).bit_length())
        # The deepest FIFOs (256 entries: L = 1 and 2): a register between their block-RAM
        # read (5.8 ns clock to output on the ECP5) and the protocol engine's byte mux, the
        # 85F's longest path at 95 MHz. The other sizes' shallower FIFOs never showed on a
        # critical path and are left as their measured builds had them.
        self.results_registered = not self.core_stalls and self.fifo_depth >= 256
        super().__init__({
            "midstate": In(data.ArrayLayout(32, 8)),
            "tail": In(data.ArrayLayout(32, 3)),
            "target": In(32),
            "swap_nonce": In(1),
            "first": In(32),
            "last": In(32),
            "job_id": In(8),
            "start": In(1),
            "abort": In(1),
            "results": Out(stream.Signature(RESULT_LAYOUT)),
            "nonces_hashed": Out(64),
            "busy": Out(1),
        })

    @property
    def nonces_per_clock(self):
        return self.cores / self.clocks_per_nonce

    @property
    def setup_clocks(self):
        """Clock edges from the one taking ``start`` to the one starting the cores: one to
        start the set-up, the precompute and the slice division side by side, one to
        decide which cores start and one to start them."""
        precompute = JobPrecompute.clocks if uses_job_precompute(self.clocks_per_nonce) else 0
        return 3 + max(precompute, self._divide_steps)

    @property
    def _divide_steps(self):
        return 0 if self.cores & (self.cores - 1) == 0 else 34

    @property
    def latency(self):
        """Clock edges from the one taking ``start`` until the range's first nonce, if it
        qualifies, is on ``results`` (two edges through the buffered result FIFO, and one
        more through the register after it when ``results_registered``)."""
        return (self.setup_clocks + core_latency(self.clocks_per_nonce) + FIFO_LATENCY
                + int(self.results_registered))

    def elaborate(self, platform):
        m = Module()
        cores = [Sha256dCore(self.clocks_per_nonce, self.schedule_memory, stall=self.core_stalls)
                 for _ in range(self.cores)]
        self.core_instances = cores     # for probing in simulation
        for i, core in enumerate(cores):
            m.submodules[f"core{i}"] = core

        # The job is held by the driver (see the class docstring); only its id is latched.
        midstate, tail, target = self.midstate, self.tail, self.target
        first, last, swap_nonce = self.first, self.last, self.swap_nonce
        precompute_start = Signal()
        m.d.sync += precompute_start.eq(self.start)
        # Latched a clock after ``start``, when the cores see it (``core_abort`` below): a
        # result a core finished just before still goes out with the old job's id.
        job_id = Signal(8)
        with m.If(precompute_start):
            m.d.sync += job_id.eq(self.job_id)
        if uses_job_precompute(self.clocks_per_nonce):
            m.submodules.precompute = pre = JobPrecompute()
            m.d.comb += [pre.midstate.eq(midstate), pre.tail.eq(tail), pre.start.eq(precompute_start)]
            precompute_ready = pre.ready
        else:
            pre, precompute_ready = None, 1

        chunk, chunk_ready = self._slice_size(m, first, last)

        setting_up = Signal()
        cores_started = Signal()
        with m.If(self.start):
            m.d.sync += setting_up.eq(1)
        launch = Signal()
        m.d.comb += launch.eq(setting_up & precompute_ready & chunk_ready & ~self.start & ~precompute_start)
        with m.If(launch | self.abort):
            m.d.sync += setting_up.eq(0)
        m.d.comb += cores_started.eq(launch & ~self.abort)

        # A register near the cores (the protocol engine's start and abort come from across
        # the die): a core then stops its feed a clock later, and what it feeds in that
        # clock is dropped with the rest in flight. Cores start at least two clocks later.
        core_abort = Signal()
        m.d.sync += core_abort.eq(self.start | self.abort)
        # Registered: the slice comparisons would otherwise run on into each core's
        # phase and RAM addresses in the same clock.
        starting = []
        for i, core in enumerate(cores):
            core_starting = Signal(name=f"core{i}_starting")
            starting.append(core_starting)
            core_first = Signal(34, name=f"core{i}_first")
            core_end = Signal(34, name=f"core{i}_end")     # one past the slice
            m.d.comb += [core_first.eq(first + chunk * i), core_end.eq(core_first + chunk)]
            slice_first = core_first[:32]
            slice_last = Mux(core_end - 1 > last, last, (core_end - 1)[:32])
            if self.clocks_per_nonce == 1:
                # Registered: the slice's ends are four carry chains from the job's range,
                # which a fully pipelined core's counter, spread over the die, compares
                # on. They settle before the set-up ends (the chunk is final a clock
                # before ``launch``, and a core starts a clock after it).
                registered = Signal(64, name=f"core{i}_slice")
                m.d.sync += registered.eq(Cat(slice_first, slice_last))
                slice_first, slice_last = registered[:32], registered[32:]
            m.d.comb += [
                core.midstate.eq(midstate), core.tail.eq(tail),
                core.target.eq(target), core.swap_nonce.eq(swap_nonce),
                core.first.eq(slice_first),
                core.last.eq(slice_last),
                core.start.eq(core_starting),
                core.abort.eq(core_abort),
            ]
            if pre is not None:
                m.d.comb += [core.state3.eq(pre.state3), core.w16.eq(pre.w16), core.w17.eq(pre.w17)]
            m.d.sync += core_starting.eq(cores_started & (core_first <= last) & (chunk != 0))
            with m.If(self.start | self.abort):
                m.d.sync += core_starting.eq(0)

        # Round-robin merge of the cores' results into one FIFO.
        # Buffered: its storage is a block RAM with a registered read, not flip-flops.
        m.submodules.fifo = results_fifo = fifo.SyncFIFOBuffered(width=RESULT_LAYOUT.size, depth=self.fifo_depth)
        turn = Signal(range(self.cores))
        granted = Signal(range(self.cores))
        any_valid = Signal()
        for offset in reversed(range(self.cores)):
            index = (turn + offset) % self.cores if self.cores > 1 else 0
            for i, core in enumerate(cores):
                with m.If((index == i) & core.results.valid):
                    m.d.comb += [granted.eq(i), any_valid.eq(1)]
        entry = Signal(RESULT_LAYOUT)
        for i, core in enumerate(cores):
            with m.If(granted == i):
                m.d.comb += entry.nonce.eq(core.results.payload)
            m.d.comb += core.results.ready.eq(results_fifo.w_rdy & any_valid & (granted == i))
        m.d.comb += [entry.job_id.eq(job_id), results_fifo.w_data.eq(entry),
                     results_fifo.w_en.eq(any_valid)]
        if self.cores > 1:
            with m.If(any_valid & results_fifo.w_rdy):
                m.d.sync += turn.eq(Mux(granted == self.cores - 1, 0, granted + 1))
        if not self.core_stalls:
            # Room for every nonce in flight, the one fed while the registered hold is
            # computed, and the result stage.
            hold_level = self.fifo_depth - len(stage_names(self.clocks_per_nonce)) - 2
            hold = Signal()
            m.d.sync += hold.eq(results_fifo.level >= hold_level)
            m.d.comb += cores[0].hold.eq(hold)
        if self.results_registered:
            # A stream register: takes the FIFO's entry whenever it is empty or its own
            # entry leaves on the same clock, so a ready consumer still gets one per clock.
            held = Signal()
            m.d.comb += [
                self.results.valid.eq(held),
                results_fifo.r_en.eq(~held | self.results.ready),
            ]
            with m.If(~held | self.results.ready):
                m.d.sync += [held.eq(results_fifo.r_rdy), self.results.payload.eq(results_fifo.r_data)]
        else:
            m.d.comb += [
                self.results.valid.eq(results_fifo.r_rdy),
                self.results.payload.eq(results_fifo.r_data),
                results_fifo.r_en.eq(self.results.ready),
            ]

        # Registered before the 64-bit add, whose carry chain is long enough on its own.
        hashed_now = Signal(range(self.cores + 1))
        m.d.sync += [hashed_now.eq(sum(core.hashed for core in cores)),
                     self.nonces_hashed.eq(self.nonces_hashed + hashed_now)]
        # level, not r_rdy: the buffered FIFO shows nothing for a clock while an entry
        # moves to its output register, and busy must not drop then.
        # Registered: on a large core its inputs sit all over the die, and the protocol
        # engine's job-done check and the LED are far away (the 85F L=1 critical path).
        # ``start`` is in the OR so the clock of lag never shows a job as finished
        # before its set-up flags rise.
        busy = self.start | setting_up | precompute_start | (results_fifo.level != 0) | (hashed_now != 0)
        if self.results_registered:
            busy = busy | held
        for core, core_starting in zip(cores, starting):
            busy = busy | core.busy | core_starting
        m.d.sync += self.busy.eq(busy)
        return m

    def _slice_size(self, m, first, last):
        """ceil(range length / cores), by shifting or by long division over 34 clocks."""
        length = Signal(33)
        m.d.comb += length.eq(last - first + 1)
        chunk = Signal(34)
        ready = Signal()
        n = self.cores
        if n & (n - 1) == 0:
            m.d.comb += [chunk.eq((length + n - 1) >> (n.bit_length() - 1)), ready.eq(1)]
            return chunk, ready
        steps = self._divide_steps
        dividend = Signal(steps)
        remainder = Signal(range(2 * n))
        step = Signal(range(steps + 1), init=steps)
        with m.If(step < steps):
            shifted = (remainder << 1) | dividend[steps - 1]
            subtract = shifted >= n
            m.d.sync += [
                remainder.eq(Mux(subtract, shifted - n, shifted)),
                dividend.eq((dividend << 1)[:steps]),
                chunk.eq((chunk << 1)[:34] | subtract),
                step.eq(step + 1),
            ]
        # The division starts one clock after start, as the precompute does.
        started = Signal()
        m.d.sync += started.eq(self.start)
        with m.If(started):
            m.d.sync += [dividend.eq(length + n - 1), remainder.eq(0), chunk.eq(0), step.eq(0)]
        m.d.comb += ready.eq((step == steps) & ~started)
        return chunk, ready
