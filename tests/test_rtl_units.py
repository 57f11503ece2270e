"""Small parts of the gateware in amaranth.sim: fast, no external simulator."""

import random

import pytest
from amaranth.hdl import ClockDomain, Module, Signal, Value
from amaranth.hdl._ast import Concat, Operator, Slice
from amaranth.sim import Simulator

from hashforge.rtl import spec
from hashforge.rtl import sha256_logic as logic
from hashforge.rtl.job_precompute import JobPrecompute
from hashforge.rtl.miner import Miner
from hashforge.rtl.pipelined_schedule import PipelinedSchedule
from hashforge.rtl.schedule_memory import ScheduleMemory
from hashforge.rtl.sha256_logic import SKEWED_STATE
from hashforge.rtl.sha256d_core import Sha256dCore, core_latency, split_rounds, stage_names
from hashforge.sim import golden
from hashforge.sim.diagnose import observe_rounds


def run_comb(build, inputs):
    """Evaluate combinational logic: ``build(m, signals)`` returns the outputs to read."""
    m = Module()
    signals = {name: Signal(32, name=name) for name in inputs}
    outputs = build(m, signals)
    probes = {}
    for name, value in outputs.items():
        probes[name] = Signal(32, name=f"out_{name}")
        m.d.comb += probes[name].eq(value)
    sim = Simulator(m)
    got = {}

    async def testbench(ctx):
        for name, value in inputs.items():
            ctx.set(signals[name], value)
        for name, probe in probes.items():
            got[name] = ctx.get(probe)
    sim.add_testbench(testbench)
    sim.run()
    return got


@pytest.mark.parametrize("seed", range(5))
def test_folded_round_matches_spec_round(seed):
    rng = random.Random(seed)
    state = [rng.getrandbits(32) for _ in range(8)]
    t = rng.randrange(63)
    w_t, w_next = rng.getrandbits(32), rng.getrandbits(32)
    names = ("a", "b", "c", "d", "e", "f", "g")
    inputs = dict(zip(names, state[:7]))
    inputs["hkw"] = (state[7] + spec.K[t] + w_t) & spec.MASK32
    inputs["w_next"] = w_next

    def build(m, s):
        regs = {n: s[n] for n in (*names, "hkw")}
        return logic.folded_round(regs, logic.add(spec.K[t + 1], s["w_next"]))
    got = run_comb(build, inputs)
    expected, _, _ = spec.round_step(tuple(state), spec.K[t], w_t)
    assert [got[n] for n in names] == list(expected[:7])
    assert got["hkw"] == (expected[7] + spec.K[t + 1] + w_next) & spec.MASK32


def carry_chains_in_a_row(value):
    """The most adds/subtracts on any path from a signal to ``value`` (the Amaranth
    expression tree: what the FPGA builds as carry chains in a row)."""
    if isinstance(value, int):
        return 0
    value = Value.cast(value)
    if isinstance(value, Operator):
        inner = max(carry_chains_in_a_row(op) for op in value.operands)
        return inner + (value.operator in ("+", "-") and len(value.operands) == 2)
    if isinstance(value, Slice):
        return carry_chains_in_a_row(value.value)
    if isinstance(value, Concat):
        return max(carry_chains_in_a_row(part) for part in value.parts)
    return 0


@pytest.mark.parametrize("seed", range(5))
def test_skewed_rounds_match_spec_rounds(seed):
    """Five skewed rounds in a row (a a round behind e, dhkw = d + h + K + W) from a
    plain state, as a hash starts, give the spec's state."""
    rng = random.Random(seed)
    state = tuple(rng.getrandbits(32) for _ in range(8))
    t0 = rng.randrange(58)
    w = [rng.getrandbits(32) for _ in range(6)]
    names = ("a", "b", "c", "d", "e", "f", "g")

    def build(m, s):
        plain = {n: s[n] for n in names}
        plain["dhkw"] = logic.add(s["d"], s["h"], spec.K[t0], s["w0"])
        regs = logic.skewed_from_plain(plain)
        for i in range(5):
            kw_next = 0 if i == 4 else logic.add(spec.K[t0 + i + 1], s[f"w{i + 1}"])
            regs = logic.skewed_round(regs, kw_next)
            # Each round's words in a signal, as a stage's registers would hold them (a
            # five-round expression tree is slow to simulate).
            for key, word in regs.items():
                regs[key] = Signal(32, name=f"r{i}_{key}")
                m.d.comb += regs[key].eq(logic.lower(word))
        return logic.unskewed(regs)
    got = run_comb(build, {**dict(zip(names, state[:7])), "h": state[7], **{f"w{i}": x for i, x in enumerate(w)}})
    expected = state
    for i in range(5):
        expected, _, _ = spec.round_step(expected, spec.K[t0 + i], w[i])
    assert [got[n] for n in names] + [got["hkw"]] == list(expected)


def test_skewed_round_chains_two_carry_chains_where_the_folded_round_chains_three():
    """The point of the skew: from a stage's registers to the next stage's, no path
    crosses more than two carry chains (the folded round's a crosses three)."""
    regs = {n: Signal(32, name=n) for n in (*SKEWED_STATE, "w_next")}
    out = logic.skewed_round(regs, logic.add(spec.K[5], regs["w_next"]))
    assert set(out) == set(SKEWED_STATE)
    assert max(carry_chains_in_a_row(word) for word in out.values()) == 2
    plain = {n: Signal(32, name=n) for n in ("a", "b", "c", "d", "e", "f", "g", "hkw", "w_next")}
    folded = logic.folded_round(plain, logic.add(spec.K[5], plain["w_next"]))
    assert carry_chains_in_a_row(folded["a"]) == 3


def test_schedule_word_matches_spec():
    rng = random.Random(3)
    window = [rng.getrandbits(32) for _ in range(16)]
    got = run_comb(lambda m, s: {"w16": logic.next_w([s[f"w{i}"] for i in range(16)])},
                   {f"w{i}": w for i, w in enumerate(window)})
    assert got["w16"] == spec.next_w(window)


def test_constants_fold_to_ints_and_job_words_stay_job_words():
    assert logic.add(1, 2, spec.MASK32) == 2
    assert logic.small_sigma0(0x80000000) == spec.small_sigma0(0x80000000)
    job = logic.JobWord(Signal(32))
    assert logic.kind(logic.add(job, 5)) == logic.JOB
    assert logic.kind(logic.add(job, Signal(32))) == logic.NONCE
    assert logic.kind(logic.big_sigma1(job)) == logic.JOB


def test_job_words_meet_per_nonce_words_through_a_register():
    """Under register_job_words a job word, plain or a sum, reaches a per-nonce add (and
    a per-nonce LUT function) from a register: the output keeps the old job's value for
    one clock after a job word changes, then follows. Job logic alone is not delayed."""
    m = Module()
    m.domains.sync = ClockDomain()
    job_a, job_b, nonce = Signal(32), Signal(32), Signal(32)
    out_sum, out_ch, out_plain, out_job = Signal(32), Signal(32), Signal(32), Signal(32)
    with logic.register_job_words(m):
        job_sum = logic.add(logic.JobWord(job_a), logic.JobWord(job_b))
        assert logic.kind(job_sum) == logic.JOB
        m.d.comb += [out_sum.eq(logic.add(job_sum, nonce)),
                     out_ch.eq(logic.ch(nonce, job_sum, 0)),
                     out_plain.eq(logic.add(logic.JobWord(job_a), nonce)),
                     out_job.eq(logic.lower(job_sum))]
    sim = Simulator(m)
    sim.add_clock(1e-6)

    async def testbench(ctx):
        ctx.set(job_a, 10), ctx.set(job_b, 20), ctx.set(nonce, 0xF0F0F0F0)
        await ctx.tick()
        assert ctx.get(out_sum) == (30 + 0xF0F0F0F0) & spec.MASK32
        assert ctx.get(out_ch) == spec.ch(0xF0F0F0F0, 30, 0)
        ctx.set(job_a, 11)
        assert ctx.get(out_sum) == (30 + 0xF0F0F0F0) & spec.MASK32, "the job sum is not registered"
        assert ctx.get(out_plain) == 10 + 0xF0F0F0F0, "the plain job word is not registered"
        assert ctx.get(out_job) == 31, "job logic alone should not be delayed"
        await ctx.tick()
        assert ctx.get(out_sum) == (31 + 0xF0F0F0F0) & spec.MASK32
        assert ctx.get(out_plain) == 11 + 0xF0F0F0F0
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize("restart_after", [None, 1, 40, 100])
def test_job_precompute_matches_golden_job_constants(restart_after):
    """Two jobs in a row: the second must not inherit anything from the first, also
    when it starts while the first is still running (``restart_after`` clocks in)."""
    rng = random.Random(11)
    jobs = [([rng.getrandbits(32) for _ in range(8)], [rng.getrandbits(32) for _ in range(3)])
            for _ in range(2)]
    dut = JobPrecompute()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    results = []

    async def testbench(ctx):
        if restart_after is not None:
            abandoned = [rng.getrandbits(32) for _ in range(8)], [rng.getrandbits(32) for _ in range(3)]
            ctx.set(dut.midstate, abandoned[0])
            ctx.set(dut.tail, abandoned[1])
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await ctx.tick().repeat(restart_after)
            assert not ctx.get(dut.ready)
        for midstate, tail in jobs:
            ctx.set(dut.midstate, midstate)
            ctx.set(dut.tail, tail)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            clocks = 0
            while not ctx.get(dut.ready):
                await ctx.tick()
                clocks += 1
            results.append({"clocks": clocks, "state3": [ctx.get(dut.state3[i]) for i in range(8)],
                            "w16": ctx.get(dut.w16), "w17": ctx.get(dut.w17)})
    sim.add_testbench(testbench)
    sim.run()
    for (midstate, tail), got in zip(jobs, results):
        job = golden.job_constants(midstate, tail)
        assert got["state3"] == list(job.state3)
        assert (got["w16"], got["w17"]) == job.schedule[16:18]
        assert got["clocks"] == JobPrecompute.clocks


@pytest.mark.parametrize("bad, error", [(0, ValueError), (62, ValueError), (63, ValueError), (65, ValueError),
                                        ("4", TypeError), (True, TypeError)])
def test_core_rejects_bad_clocks_per_nonce(bad, error):
    with pytest.raises(error, match="clocks_per_nonce"):
        Sha256dCore(bad)


def test_miner_rejects_bad_core_count():
    with pytest.raises(ValueError, match="cores must be in 1..64, got 0"):
        Miner(cores=0)


@pytest.mark.parametrize("clocks_per_nonce", [1, 2, 7, 16, 61, 64])
def test_stages_cover_every_round_once(clocks_per_nonce):
    core = Sha256dCore(clocks_per_nonce)
    hash1 = [t for stage in core.hash1_stages for t in stage]
    hash2 = [t for stage in core.hash2_stages for t in stage]
    first = 0 if clocks_per_nonce == 64 else 3      # 64: no job precompute
    assert hash1 == list(range(first, 64)) and hash2 == list(range(0, 61))
    assert core.schedule_in_ram == (clocks_per_nonce in (1, 61, 64))
    assert all(len(stage) <= clocks_per_nonce for stage in core.hash1_stages + core.hash2_stages)
    assert core.latency == core_latency(clocks_per_nonce) == len(core.stage_names) * clocks_per_nonce
    assert core.round_units == 2 * len(split_rounds(tuple(range(61)), clocks_per_nonce))


def mine_in_amaranth_sim(cores, clocks_per_nonce, midstate, tail, first, last, target, schedule_memory=True,
                         ready_every=1):
    """Run one job; the consumer is ready one clock in every ``ready_every``."""
    dut = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce, schedule_memory=schedule_memory)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    results = []

    async def testbench(ctx):
        ctx.set(dut.midstate, list(midstate))
        ctx.set(dut.tail, list(tail))
        ctx.set(dut.target, target)
        ctx.set(dut.swap_nonce, 1)
        ctx.set(dut.first, first)
        ctx.set(dut.last, last)
        ctx.set(dut.results.ready, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        # The protocol engine's job-done check reads busy on the very next clock.
        assert ctx.get(dut.busy), "busy is not set on the clock after start"
        clocks = 0
        while True:
            # A result is taken at the clock edge where valid and ready are both high.
            ready = clocks % ready_every == 0
            ctx.set(dut.results.ready, ready)
            if ready and ctx.get(dut.results.valid):
                results.append(ctx.get(dut.results.payload).nonce)
            await ctx.tick()
            clocks += 1
            if not ctx.get(dut.busy):
                break
        results.append(("hashed", ctx.get(dut.nonces_hashed)))
    sim.add_testbench(testbench)
    sim.run()
    return results


# 1, 61 and 64 keep the schedule in block RAM unless told not to (the ASIC export).
@pytest.mark.parametrize("cores, clocks_per_nonce, schedule_memory",
                         [(1, 30, True), (3, 12, True), (1, 61, True), (2, 64, True), (1, 64, False),
                          (1, 1, True), (1, 1, False), (2, 1, True)])
def test_miner_recall_in_amaranth_sim(cores, clocks_per_nonce, schedule_memory):
    rng = random.Random(cores)
    header = bytes(rng.getrandbits(8) for _ in range(80))
    midstate, tail = spec.midstate(header), spec.tail_words(header)
    first, last, target = 5000, 5079, spec.zero_bits_to_device_target(3)
    results = mine_in_amaranth_sim(cores, clocks_per_nonce, midstate, tail, first, last, target, schedule_memory)
    assert results[-1] == ("hashed", 80)
    expected = golden.scan_job(midstate, tail, first, 80, device_target=target)
    assert sorted(results[:-1]) == expected and len(expected) > 0


@pytest.mark.parametrize("clocks_per_nonce", [1, 16])
def test_busy_covers_a_single_nonce_all_the_way_to_its_result(clocks_per_nonce):
    """The core's busy counts nonces in flight; with one nonce, a count a clock late
    would drop busy while the nonce is in the first stage and end the job early."""
    rng = random.Random(clocks_per_nonce)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    every_nonce = 0xFFFFFFFF
    results = mine_in_amaranth_sim(1, clocks_per_nonce, midstate, tail, 777, 777, every_nonce)
    assert results == [777, ("hashed", 1)]


# 31: K comes from block RAM through a register; 64: the schedule is in block RAM. Both
# must hold their place while the full result FIFO stalls the cores (two: one core never
# stalls, it holds its feed instead).
@pytest.mark.parametrize("clocks_per_nonce", [31, 64])
def test_miner_stalled_by_a_full_result_fifo_loses_nothing(clocks_per_nonce):
    rng = random.Random(clocks_per_nonce)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    # Half the nonces qualify, about one result per nonce of each core's time, and the
    # consumer takes one per twelve nonces' time: the 16-entry FIFO is full after about
    # 30 nonces and the cores then stall and resume at every result; a wrong hash after
    # a resume changes which nonces come back.
    first, count, target = 300, 80, spec.zero_bits_to_device_target(1)
    assert Miner(cores=2, clocks_per_nonce=clocks_per_nonce).core_stalls
    results = mine_in_amaranth_sim(2, clocks_per_nonce, midstate, tail, first, first + count - 1,
                                   target, ready_every=12 * clocks_per_nonce)
    expected = golden.scan_job(midstate, tail, first, count, device_target=target)
    assert len(expected) > 30 and results[-1] == ("hashed", count)
    assert sorted(results[:-1]) == expected and len(results) == len(expected) + 1


@pytest.mark.parametrize("clocks_per_nonce, schedule_memory", [(1, True), (1, False), (12, True)])
def test_one_core_holds_its_feed_before_the_result_fifo_fills(clocks_per_nonce, schedule_memory):
    """One core never stalls; the miner stops its feed while the FIFO could not take a
    result from every nonce in flight. Half the nonces qualify and the consumer takes
    one result per 20 nonces' time, so the FIFO reaches the hold level; a hold too late
    loses results (checked: at depth - 2 this returns 296 of 357 fully pipelined).
    Without block RAM (the ASIC export) the core stalls instead, and loses nothing too."""
    rng = random.Random(1)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    first, count, target = 300, 700 if clocks_per_nonce == 1 else 200, spec.zero_bits_to_device_target(1)
    miner = Miner(cores=1, clocks_per_nonce=clocks_per_nonce, schedule_memory=schedule_memory)
    assert miner.core_stalls == (not schedule_memory)
    assert miner.fifo_depth >= 2 * len(stage_names(clocks_per_nonce)) or not schedule_memory
    results = mine_in_amaranth_sim(1, clocks_per_nonce, midstate, tail, first, first + count - 1, target,
                                   schedule_memory, ready_every=20 * clocks_per_nonce)
    expected = golden.scan_job(midstate, tail, first, count, device_target=target)
    assert len(expected) > miner.fifo_depth and results[-1] == ("hashed", count)
    assert results[:-1] == expected


def restart_in_amaranth_sim(clocks_per_nonce, cores, switch_after, then_abort):
    """Job 1 (every nonce qualifies) runs ``switch_after`` clocks; then job 2 over ten
    nonces, or an abort. Returns the (job id, nonce) results and the nonces hashed."""
    rng = random.Random(clocks_per_nonce)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    dut = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    results = []

    async def testbench(ctx):
        ctx.set(dut.midstate, midstate)
        ctx.set(dut.tail, tail)
        ctx.set(dut.target, 0xFFFFFFFF)
        ctx.set(dut.results.ready, 1)
        for job_id, first, last, wait in ((1, 100, 100000, switch_after), (2, 5000, 5009, None)):
            if job_id == 2 and then_abort:
                ctx.set(dut.abort, 1)
            else:
                ctx.set(dut.first, first)
                ctx.set(dut.last, last)
                ctx.set(dut.job_id, job_id)
                ctx.set(dut.start, 1)
            clocks = 0
            while wait is None or clocks < wait:
                if ctx.get(dut.results.valid):
                    payload = ctx.get(dut.results.payload)
                    results.append((payload.job_id, payload.nonce))
                await ctx.tick()
                ctx.set(dut.start, 0)
                ctx.set(dut.abort, 0)
                clocks += 1
                if wait is None and clocks == 3:
                    # The count of a nonce finished at the switch is in by now.
                    results.append(("hashed at the switch", ctx.get(dut.nonces_hashed)))
                if wait is None and not ctx.get(dut.busy):
                    break
        results.append(("hashed", ctx.get(dut.nonces_hashed)))
    sim.add_testbench(testbench)
    sim.run()
    return results


@pytest.mark.parametrize("then_abort", [False, True], ids=["new job", "abort"])
@pytest.mark.parametrize("clocks_per_nonce, cores", [(1, 1), (16, 2), (20, 1), (64, 1)])
def test_nonces_in_flight_at_a_new_job_or_abort_are_dropped(clocks_per_nonce, cores, then_abort):
    """The stages keep their valid bits at a new job or an abort (no net to every stage):
    the nonces then in flight must come out as nothing, neither results of the new job
    nor counted as hashed, and what finished before is counted once."""
    latency = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce).latency
    results = restart_in_amaranth_sim(clocks_per_nonce, cores, latency + 40 * clocks_per_nonce, then_abort)
    *found, (_, hashed) = results
    at_switch = dict(item for item in found if item[0] == "hashed at the switch")["hashed at the switch"]
    found = [item for item in found if item[0] != "hashed at the switch"]
    first_job = [nonce for job_id, nonce in found if job_id == 1]
    second_job = [nonce for job_id, nonce in found if job_id == 2]
    assert first_job, "job 1 returned nothing before the switch"
    # Every nonce qualifies: each nonce counted as hashed gives a result.
    assert hashed == len(first_job) + len(second_job)
    # Nothing hashed after the switch but the new job's nonces.
    assert hashed - at_switch == len(second_job)
    assert sorted(second_job) == ([] if then_abort else list(range(5000, 5010)))
    assert len(set(first_job)) == len(first_job) and all(100 <= nonce <= 100000 for nonce in first_job)


def core_restart_in_amaranth_sim(clocks_per_nonce, switch_after):
    """A bare core hashes the one nonce 100, and ``switch_after`` clocks after that start,
    nonces 5000..5009 (every nonce qualifies). Returns the results and how many nonces
    were counted hashed."""
    rng = random.Random(clocks_per_nonce)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    job = golden.job_constants(midstate, tail)
    dut = Sha256dCore(clocks_per_nonce=clocks_per_nonce)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    results, hashed = [], 0

    async def testbench(ctx):
        nonlocal hashed
        ctx.set(dut.midstate, midstate)
        ctx.set(dut.tail, tail)
        ctx.set(dut.state3, job.state3)
        ctx.set(dut.w16, job.schedule[16])
        ctx.set(dut.w17, job.schedule[17])
        ctx.set(dut.target, 0xFFFFFFFF)
        ctx.set(dut.results.ready, 1)
        for first, last, wait in ((100, 100, switch_after), (5000, 5009, None)):
            ctx.set(dut.first, first)
            ctx.set(dut.last, last)
            ctx.set(dut.start, 1)
            clocks = 0
            while wait is None or clocks < wait:
                if ctx.get(dut.results.valid):
                    results.append(ctx.get(dut.results.payload))
                hashed += ctx.get(dut.hashed)
                await ctx.tick()
                ctx.set(dut.start, 0)
                clocks += 1
                if wait is None and not ctx.get(dut.busy):
                    break
    sim.add_testbench(testbench)
    sim.run()
    return results, hashed


@pytest.mark.parametrize("clocks_per_nonce", [1, 64])
def test_a_core_restarted_as_its_last_nonce_in_flight_leaves(clocks_per_nonce):
    """A new range started a few clocks either side of the moment the one nonce in flight
    leaves the core. Fully pipelined, that moment can be the clock after the start, when
    the count of nonces to drop is taken: it must come out at zero when the one leaving
    was the only one, or the new range's nonces are dropped too. (A Miner masks it: it
    stops its cores twice at a new job. Iterative cores restart their phase at a start,
    so nothing leaves in that clock.)"""
    leaves = core_latency(clocks_per_nonce) - 1      # the clock its nonce goes to the result stage
    for switch_after in range(leaves - 3, leaves + 2):
        results, hashed = core_restart_in_amaranth_sim(clocks_per_nonce, switch_after)
        new_range = [nonce for nonce in results if nonce >= 5000]
        assert new_range == list(range(5000, 5010)), f"new range {switch_after} clocks after the first"
        assert hashed == len(results)


def test_pipelined_schedule_reads_old_words_from_ram():
    """A word made at round t is read at ages 1, 5, 13 and 14: registers for ages 0, 1,
    5, 13, 14 and two RAM reads (ages 4 and 12) instead of sixteen registers."""
    rounds = list(range(3, 64))
    window = [Signal(32, name=f"w{j}") for j in range(16)]
    handoff = Signal()
    schedule = PipelinedSchedule(rounds, 63, window, handoff)
    assert schedule._ages[21] == {1, 5, 13, 14}
    assert schedule._delay_plan({1, 5, 13, 14}) == {1: "register", 5: "ram", 13: "ram", 14: "register"}
    assert schedule._delay_plan({1, 2}) == {1: "register", 2: "register"}
    assert schedule._delay_plan({3, 4}) == {3: "ram", 4: "register"}
    in_registers = PipelinedSchedule(rounds, 63, window, handoff, in_ram=False)
    assert in_registers._delay_plan({1, 6}) == {age: "register" for age in range(1, 7)}
    assert in_registers.ram_reads == 0 and schedule.ram_reads > 80
    # Round 3 reads W4 from stage 0's register; round 20 reads W21, made at round 5.
    assert schedule.w_next(0).name == "w4_age0"
    assert schedule.w_next(17).name == "w21_age14"
    # Constant words pass through as constants: no register, no RAM.
    padded = PipelinedSchedule(rounds, 63, [window[0]] + [0x80000000] + [0] * 14, handoff)
    assert padded.w_next(0) == 0x80000000


@pytest.mark.parametrize("clocks_per_nonce", [8, 1])
def test_diagnosis_points_at_the_first_round_that_differs(clocks_per_nonce):
    rng = random.Random(5)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    observed = observe_rounds(midstate, tail, 1000, clocks_per_nonce=clocks_per_nonce)
    # Both state words of nearly every round are observed (at 8 the rounds are skewed and
    # a is read a round late; fully pipelined they are plain).
    assert sum(len(words) == 2 for words in observed["hash1"].values()) >= 59
    same = golden.trace_sha256d(midstate, tail, 1000)
    assert golden.first_difference(same, "hash1", observed["hash1"]) is None
    assert golden.first_difference(same, "hash2", observed["hash2"]) is None
    assert len(observed["hash1"]) >= 60 and len(observed["hash2"]) >= 59
    # Against the trace of a different nonce, W3 first enters at round 3.
    other = golden.trace_sha256d(midstate, tail, 1001)
    assert golden.first_difference(other, "hash1", observed["hash1"])[0] == 3


def test_schedule_memory_needs_a_free_write_slot_per_preloaded_word():
    with pytest.raises(ValueError, match="leave 4 free write slots; preloading the next nonce needs 16"):
        ScheduleMemory(first=0, rounds=52, last_w=63, constants={})
    assert ScheduleMemory(first=0, rounds=64, last_w=63, constants={j: 0 for j in range(4, 16)}).variable == [0, 1, 2, 3]


def test_schedule_memory_delivers_the_preloaded_window_then_the_schedule():
    """Four nonces through a bare schedule memory: each must see its own preloaded words
    at the taps, and the words the schedule makes from them."""
    constants = {j: 0x1000 + j for j in range(4, 16)}
    dut = ScheduleMemory(first=0, rounds=64, last_w=63, constants=constants)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    def window(nonce):
        return [constants.get(j, 0x100 * nonce + j) for j in range(16)]

    async def testbench(ctx):
        ctx.set(dut.advance, 1)
        for nonce in range(4):
            for i, j in enumerate(dut.variable):
                ctx.set(dut.init[i], window(nonce + 1)[j])
            taps = {}
            for phase in range(64):
                ctx.set(dut.phase, phase)
                ctx.set(dut.phase_next, (phase + 1) % 64)
                ctx.set(dut.handoff, phase == 63)
                await ctx.delay(1e-8)
                taps[phase] = [ctx.get(dut.taps[i]) for i in range(4)]
                await ctx.tick()
            seen.append(taps)
    sim.add_testbench(testbench)
    sim.run()
    for nonce in range(1, 4):
        w = window(nonce)
        for t in range(16, 64):
            w.append(spec.next_w(w[t - 16:t]))
        for t in range(48):
            assert seen[nonce][t] == [w[t], w[t + 1], w[t + 9], w[t + 14]], f"nonce {nonce}, round {t}"
