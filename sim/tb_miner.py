"""cocotb testbench of the multi-core miner (``hashforge.rtl.miner.Miner``).

Run through :mod:`hashforge.sim.runner` (pytest and ``hashforge sim`` both do), which
passes the configuration in the environment variable ``HASHFORGE_TB`` (JSON):
``cores``, ``clocks_per_nonce``, ``latency``, ``window`` (nonces scanned before a real
nonce) and ``report`` (a file to which each test appends its simulated clocks).
Every result is compared with the numpy golden model; a nonce the RTL misses is
diagnosed round by round (:mod:`hashforge.sim.diagnose`).
"""

import json
import os
import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

from hashforge.rtl import spec
from hashforge.sim import golden

CONFIG = json.loads(os.environ.get("HASHFORGE_TB", "{}"))
VECTORS = json.loads(os.environ.get("HASHFORGE_VECTORS", "null") or "null")
ALL_ONES = spec.MASK32


def pack_words(words):
    return sum(int(w) << (32 * i) for i, w in enumerate(words))


class MinerTB:
    """Clock, reset, job driver and result monitor for the miner."""

    def __init__(self, dut):
        self.dut = dut
        self.results = []
        self.ready_probability = 1.0
        self.clocks = 0
        self.rng = random.Random(CONFIG.get("seed", 1))
        cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
        cocotb.start_soon(self._monitor())

    async def reset(self):
        dut = self.dut
        dut.rst.value = 1
        dut.start.value = 0
        dut.abort.value = 0
        dut.results__ready.value = 0
        for _ in range(2):
            await FallingEdge(dut.clk)
        dut.rst.value = 0

    async def _monitor(self):
        """Drive ``ready`` at each falling edge; record a transfer when valid and ready."""
        dut = self.dut
        while True:
            await FallingEdge(dut.clk)
            dut.results__ready.value = int(self.rng.random() < self.ready_probability)
            await ReadOnly()
            self.clocks += 1
            if int(dut.results__valid.value) and int(dut.results__ready.value):
                payload = int(dut.results__payload.value)
                self.results.append((payload & ALL_ONES, payload >> 32))

    async def start(self, midstate, tail, first, last, target, job_id=1, swap_nonce=1):
        dut = self.dut
        await FallingEdge(dut.clk)
        dut.midstate.value = pack_words(midstate)
        dut.tail.value = pack_words(tail)
        dut.first.value = first
        dut.last.value = last
        dut.target.value = target
        dut.job_id.value = job_id
        dut.swap_nonce.value = swap_nonce
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0

    async def wait_idle(self, limit):
        dut = self.dut
        for _ in range(limit):
            await RisingEdge(dut.clk)
            await ReadOnly()
            if not int(dut.busy.value):
                return
        raise AssertionError(f"miner still busy after {limit} clocks")

    def nonces_of(self, job_id):
        return [n for n, j in self.results if j == job_id]


def clocks_for(count):
    """Clocks a range of ``count`` nonces takes, with room for set-up and draining."""
    cores, cpn = CONFIG["cores"], CONFIG["clocks_per_nonce"]
    return (count // cores + 2) * cpn + CONFIG["latency"] + 200


def check_recall(got, midstate, tail, first, last, target, swap_nonce=1):
    expected = golden.scan_job(midstate, tail, first, last - first + 1, device_target=target,
                               header_order=bool(swap_nonce))
    duplicates = sorted({n for n in got if got.count(n) > 1})
    missed = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if duplicates or missed or extra:
        lines = [f"recall mismatch in [{first:#x}, {last:#x}] target {target:#010x}: "
                 f"missed {missed[:8]}, extra {extra[:8]}, duplicated {duplicates[:8]}"]
        if missed or extra:
            from hashforge.sim.diagnose import diagnose
            n = (missed or extra)[0]
            w3 = spec.bswap32(n) if swap_nonce else n
            lines.append(diagnose(midstate, tail, w3, CONFIG["clocks_per_nonce"]))
        raise AssertionError("\n".join(lines))
    return expected


def report(name, tb, nonces, started):
    path = CONFIG.get("report")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"test": name, "clocks": tb.clocks, "nonces": nonces,
                                "seconds": time.perf_counter() - started}) + "\n")


def random_job(seed):
    rng = random.Random(seed)
    header = bytes(rng.getrandbits(8) for _ in range(80))
    return spec.midstate(header), spec.tail_words(header)


@cocotb.test()
async def real_headers_found(dut):
    """Every real header, started ``window`` nonces before its real nonce, returns it."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    total = 0
    for job_id, block in enumerate(VECTORS["blocks"], start=1):
        raw = bytes.fromhex(block["header"])
        midstate, tail = spec.midstate(raw), spec.tail_words(raw)
        first, last = block["nonce"] - CONFIG["window"], block["nonce"] + 8
        await tb.start(midstate, tail, first, last, target=0, job_id=job_id)
        await tb.wait_idle(clocks_for(last - first + 1))
        got = tb.nonces_of(job_id)
        assert block["nonce"] in got, f"block {block['height']}: real nonce {block['nonce']} not returned"
        check_recall(got, midstate, tail, first, last, 0)
        total += last - first + 1
    report("real_headers_found", tb, total, started)


@cocotb.test()
async def icarus_golden_work_in_w3_order(dut):
    """cgminer's golden work: W3 counted upwards (no byte swap) finds the reply nonce."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    work = VECTORS["icarus_golden_work"]
    midstate, tail = spec.parse_icarus_work(bytes.fromhex(work["work"]))
    w3 = int(work["reply"], 16)
    first, last = w3 - CONFIG["window"], w3 + 8
    await tb.start(midstate, tail, first, last, target=0, swap_nonce=0)
    await tb.wait_idle(clocks_for(last - first + 1))
    assert tb.nonces_of(1) == [w3], f"expected only {w3:#010x}, got {[hex(n) for n in tb.nonces_of(1)]}"
    report("icarus_golden_work_in_w3_order", tb, last - first + 1, started)


@cocotb.test()
async def recall_at_easy_targets(dut):
    """Over ranges at easy targets the returned set is exactly the golden model's."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    total = 0
    for job_id, (zero_bits, count) in enumerate([(4, 300), (6, 500), (1, 100)], start=1):
        midstate, tail = random_job(job_id)
        first = random.Random(job_id).getrandbits(32) % (2**32 - count)
        last = first + count - 1
        target = spec.zero_bits_to_device_target(zero_bits)
        await tb.start(midstate, tail, first, last, target, job_id=job_id)
        await tb.wait_idle(clocks_for(count))
        expected = check_recall(tb.nonces_of(job_id), midstate, tail, first, last, target)
        assert expected, "the range should hold qualifying nonces at this target"
        total += count
    report("recall_at_easy_targets", tb, total, started)


@cocotb.test()
async def results_under_backpressure(dut):
    """Every nonce qualifies and the consumer takes a result only 30% of clocks."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    tb.ready_probability = 0.3
    midstate, tail = random_job(99)
    first, last = 1000, 1000 + 24 * CONFIG["cores"] - 1
    before = int(dut.nonces_hashed.value)
    await tb.start(midstate, tail, first, last, ALL_ONES)
    await tb.wait_idle(clocks_for(last - first + 1) * 4)
    check_recall(tb.nonces_of(1), midstate, tail, first, last, ALL_ONES)
    assert int(dut.nonces_hashed.value) - before == last - first + 1
    report("results_under_backpressure", tb, last - first + 1, started)


@cocotb.test()
async def new_job_replaces_running_job(dut):
    """A new job in the middle of one: its results are exact, the old job's are genuine."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    job_a, job_b = random_job(5), random_job(6)
    target = spec.zero_bits_to_device_target(3)
    await tb.start(*job_a, 0, 5000, target, job_id=1)
    for _ in range(CONFIG["latency"] + 20 * CONFIG["clocks_per_nonce"]):
        await RisingEdge(dut.clk)
    await tb.start(*job_b, 7000, 7199, target, job_id=2)
    await tb.wait_idle(clocks_for(200))
    got_a = tb.nonces_of(1)
    expected_a = set(golden.scan_job(*job_a, 0, 5001, device_target=target))
    assert set(got_a) <= expected_a, f"job 1 returned nonces that do not qualify: {sorted(set(got_a) - expected_a)[:8]}"
    assert len(got_a) == len(set(got_a)), "job 1 returned a nonce twice"
    check_recall(tb.nonces_of(2), *job_b, 7000, 7199, target)
    report("new_job_replaces_running_job", tb, 200, started)


@cocotb.test()
async def reset_in_the_middle_of_a_job(dut):
    """Reset while hashing, then a new job: nothing stale comes out, the new job is exact."""
    tb, started = MinerTB(dut), time.perf_counter()
    await tb.reset()
    midstate, tail = random_job(7)
    target = spec.zero_bits_to_device_target(3)
    await tb.start(midstate, tail, 0, 100000, target, job_id=1)
    for _ in range(CONFIG["latency"] + 10):
        await RisingEdge(dut.clk)
    await tb.reset()
    assert int(dut.nonces_hashed.value) == 0, "reset must clear the nonce counter"
    tb.results.clear()
    await tb.start(midstate, tail, 500, 699, target, job_id=2)
    await tb.wait_idle(clocks_for(200))
    assert not tb.nonces_of(1), "results of the job before reset came out after it"
    check_recall(tb.nonces_of(2), midstate, tail, 500, 699, target)
    assert int(dut.nonces_hashed.value) == 200
    report("reset_in_the_middle_of_a_job", tb, 200, started)


@cocotb.test()
async def latency_is_what_the_design_computes(dut):
    """A one-nonce range that qualifies: its result appears after exactly ``latency`` clocks."""
    tb = MinerTB(dut)
    await tb.reset()
    midstate, tail = random_job(8)
    await FallingEdge(dut.clk)
    tb.ready_probability = 1.0
    await tb.start(midstate, tail, 42, 42, ALL_ONES)
    # tb.start returns one falling edge after the edge that took `start`.
    clocks = 0
    while True:
        await RisingEdge(dut.clk)
        clocks += 1
        await ReadOnly()
        if int(dut.results__valid.value):
            break
        assert clocks <= CONFIG["latency"] + 5, "no result within the computed latency"
    assert clocks == CONFIG["latency"], f"result after {clocks} clocks, design says {CONFIG['latency']}"
