"""cocotb testbench of the whole device (``hashforge.rtl.top.HashforgeTop``) over its
UART pins: the Icarus protocol and every extended-protocol command.

Configuration comes in ``HASHFORGE_TB`` (JSON): ``clock_hz``, ``baud``, ``divisor``,
``cores``, ``clocks_per_nonce``, ``gap_clocks``, ``report``.
"""

import json
import os
import random
import time

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from hashforge.rtl import frames, spec
from hashforge.sim import golden
from hashforge.sim.uart_model import UartLine

CONFIG = json.loads(os.environ.get("HASHFORGE_TB", "{}"))
VECTORS = json.loads(os.environ.get("HASHFORGE_VECTORS", "null") or "null")
FrameType = frames.FrameType
# Even, so cocotb can split it into two equal half periods.
PERIOD_PS = (1_000_000_000_000 // CONFIG["clock_hz"]) & ~1 if CONFIG else 1000


class TopTB:
    def __init__(self, dut):
        self.dut = dut
        self.started = time.perf_counter()
        self.start_ps = int(get_sim_time(unit="ps"))
        cocotb.start_soon(Clock(dut.clk, PERIOD_PS, unit="ps").start())
        self.uart = UartLine(dut.rx, dut.tx, CONFIG["divisor"] * PERIOD_PS)
        self.parser = frames.FrameParser()

    async def reset(self):
        self.dut.rst.value = 1
        await Timer(PERIOD_PS * 4, unit="ps")
        self.dut.rst.value = 0
        await self.uart.idle(frames.GAP_BYTE_TIMES * 10 + 10)

    def bits_for_clocks(self, clocks):
        return clocks // CONFIG["divisor"] + 1

    def hashing_bits(self, nonces):
        """Bit times to hash ``nonces`` nonces on one core, with margin."""
        clocks = nonces * CONFIG["clocks_per_nonce"] + 4000 * CONFIG["clocks_per_nonce"]
        return self.bits_for_clocks(clocks) + 2000

    async def command(self, frame_type, timeout_bits=4000, **fields):
        await self.uart.send(frames.encode(frame_type, **fields))
        return await self.next_frame(frames.REPLY_TO[frame_type], timeout_bits)

    async def next_frame(self, wanted=None, timeout_bits=4000, keep=None):
        """The next frame of type ``wanted``; frames of other types go to ``keep``."""
        waited = 0
        pending = []
        while waited <= timeout_bits:
            if self.uart.received:
                pending += self.parser.feed(bytes(self.uart.received))
                self.uart.received.clear()
            while pending:
                frame_type, fields = pending.pop(0)
                if wanted is None or frame_type == wanted:
                    if keep is not None:
                        keep.extend(pending)
                    return frame_type, fields
                if keep is not None:
                    keep.append((frame_type, fields))
            await Timer(CONFIG["divisor"] * PERIOD_PS * 10, unit="ps")
            waited += 10
        raise AssertionError(f"no {wanted.name if wanted else 'frame'} within {timeout_bits} bit times")

    def report(self, name, nonces=0):
        path = CONFIG.get("report")
        if path:
            clocks = (int(get_sim_time(unit="ps")) - self.start_ps) // PERIOD_PS
            with open(path, "a") as f:
                f.write(json.dumps({"test": name, "clocks": clocks, "nonces": nonces,
                                    "seconds": time.perf_counter() - self.started}) + "\n")


def golden_work():
    work = VECTORS["icarus_golden_work"]
    return bytes.fromhex(work["work"]), bytes.fromhex(work["reply"])


def icarus_core0_nonces(w3):
    """Nonces core 0 hashes before W3 (Icarus work splits the space over the cores)."""
    return w3 + 1


async def expect_icarus_reply(tb, reply, w3):
    got = await tb.uart.read(4, tb.hashing_bits(icarus_core0_nonces(w3)))
    assert got == reply, f"Icarus reply {got.hex() if got else 'missing'}, expected {reply.hex()}"


@cocotb.test()
async def icarus_golden_work_answered(dut):
    """cgminer's golden work comes back as exactly its 4 reply bytes, and nothing else."""
    tb = TopTB(dut)
    await tb.reset()
    assert int(dut.found.value) == 0, "the found LED is lit before any result"
    work, reply = golden_work()
    await tb.uart.send(work)
    w3 = int.from_bytes(reply, "big")
    await expect_icarus_reply(tb, reply, w3)
    await tb.uart.idle(200)
    assert not tb.uart.received, f"unexpected bytes after the reply: {bytes(tb.uart.received).hex()}"
    assert int(dut.found.value) == 1, "the found LED did not toggle for the result sent"
    tb.report("icarus_golden_work_answered", w3)


@cocotb.test()
async def icarus_stray_bytes_then_pause_then_work(dut):
    """Stray bytes, a pause longer than the gap, then the golden work: answered."""
    tb = TopTB(dut)
    await tb.reset()
    await tb.uart.send(bytes(random.Random(3).getrandbits(8) for _ in range(23)))
    await tb.uart.idle(frames.GAP_BYTE_TIMES * 10 + 20)
    work, reply = golden_work()
    await tb.uart.send(work)
    await expect_icarus_reply(tb, reply, int.from_bytes(reply, "big"))
    tb.report("icarus_stray_bytes_then_pause_then_work")


@cocotb.test()
async def extended_round_trips(dut):
    """IDENTIFY, JOB (finds a real nonce, then JOB_DONE), STATUS, ABORT, ICARUS_MODE."""
    tb = TopTB(dut)
    await tb.reset()
    _, identity = await tb.command(FrameType.IDENTIFY)
    assert identity["version"] == frames.PROTOCOL_VERSION
    for key in ("cores", "clocks_per_nonce", "clock_hz", "baud"):
        assert identity[key] == CONFIG[key], f"IDENTIFY {key} = {identity[key]}, built with {CONFIG[key]}"

    block = VECTORS["blocks"][1]
    raw = bytes.fromhex(block["header"])
    first, last = block["nonce"] - 40 * CONFIG["cores"], block["nonce"] + 7
    _, ack = await tb.command(FrameType.JOB, job_id=7, flags=frames.FLAG_HEADER_ORDER, target=0,
                              first=first, last=last, midstate=spec.midstate(raw), tail=spec.tail_words(raw))
    assert ack == {"job_id": 7}
    others = []
    await tb.next_frame(FrameType.JOB_DONE, tb.hashing_bits(last - first + 1), keep=others)
    found = [f["nonce"] for t, f in others if t == FrameType.RESULT and f["job_id"] == 7]
    assert found == golden.scan(raw, first, last - first + 1, 32) == [block["nonce"]]

    _, status = await tb.command(FrameType.STATUS)
    assert status["nonces_hashed"] == last - first + 1
    assert status["results_sent"] == 1
    assert status["crc_errors"] == 0 and status["job_id"] == 7
    assert status["flags"] & frames.STATUS_EXTENDED and not status["flags"] & frames.STATUS_BUSY

    await tb.command(FrameType.JOB, job_id=8, flags=0, target=0, first=0, last=spec.MASK32,
                     midstate=spec.midstate(raw), tail=spec.tail_words(raw))
    await tb.command(FrameType.ABORT)
    _, status = await tb.command(FrameType.STATUS)
    assert not status["flags"] & frames.STATUS_BUSY, "ABORT must stop the miner"

    await tb.command(FrameType.ICARUS_MODE)
    work, reply = golden_work()
    await tb.uart.send(work)
    await expect_icarus_reply(tb, reply, int.from_bytes(reply, "big"))
    tb.report("extended_round_trips", last - first + 1)


@cocotb.test()
async def garbage_then_valid_frame(dut):
    """A burst of random garbage, then a valid frame: the frame is served."""
    tb = TopTB(dut)
    await tb.reset()
    await tb.command(FrameType.IDENTIFY)          # extended mode: garbage cannot start Icarus work
    rng = random.Random(11)
    await tb.uart.send(bytes(rng.getrandbits(8) for _ in range(300)))
    _, identity = await tb.command(FrameType.IDENTIFY)
    assert identity["cores"] == CONFIG["cores"]
    tb.report("garbage_then_valid_frame")


@cocotb.test()
async def corrupted_frame_rejected(dut):
    """A frame with a flipped bit: no reply, counted as a CRC error; the next frame works."""
    tb = TopTB(dut)
    await tb.reset()
    await tb.command(FrameType.IDENTIFY)
    frame = bytearray(frames.encode(FrameType.STATUS))
    frame[-1] ^= 0x10
    await tb.uart.send(bytes(frame))
    await tb.uart.idle(600)
    assert not tb.uart.received, f"a corrupted frame was answered: {bytes(tb.uart.received).hex()}"
    _, status = await tb.command(FrameType.STATUS)
    assert status["crc_errors"] == 1
    tb.report("corrupted_frame_rejected")


@cocotb.test()
async def back_to_back_jobs(dut):
    """Jobs sent one right after another: each ends with its own exact results."""
    tb = TopTB(dut)
    await tb.reset()
    target = spec.zero_bits_to_device_target(4)
    jobs = []
    for job_id in (1, 2, 3):
        rng = random.Random(job_id)
        raw = bytes(rng.getrandbits(8) for _ in range(80))
        first = rng.getrandbits(31)
        jobs.append((job_id, raw, first, first + 24 * CONFIG["cores"] - 1))
    for job_id, raw, first, last in jobs:
        _, ack = await tb.command(FrameType.JOB, job_id=job_id, flags=frames.FLAG_HEADER_ORDER,
                                  target=target, first=first, last=last, midstate=spec.midstate(raw),
                                  tail=spec.tail_words(raw))
        assert ack["job_id"] == job_id
        others = []
        await tb.next_frame(FrameType.JOB_DONE, tb.hashing_bits(last - first + 1), keep=others)
        got = sorted(f["nonce"] for t, f in others if t == FrameType.RESULT and f["job_id"] == job_id)
        expected = golden.scan_job(spec.midstate(raw), spec.tail_words(raw), first, last - first + 1,
                                   device_target=target)
        assert got == expected, f"job {job_id}: got {got}, golden model {expected}"
    tb.report("back_to_back_jobs", sum(last - first + 1 for _, _, first, last in jobs))
