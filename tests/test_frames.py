"""The frame definitions (host side) and the gateware's frame receiver and transmitter."""

import random

import pytest
from amaranth.sim import Simulator

from hashforge.rtl import frames, spec
from hashforge.rtl.frame_receiver import FrameReceiver
from hashforge.rtl.frame_transmitter import FrameTransmitter
from hashforge.rtl.job_loader import JobLoader

FrameType = frames.FrameType


def test_crc16_check_value():
    assert frames.crc16(b"123456789") == 0x29B1     # CRC-16/CCITT-FALSE check value


def test_encode_decode_round_trip_every_type():
    rng = random.Random(1)
    for frame_type in FrameType:
        fields = {name: (tuple(rng.getrandbits(8 * size) for _ in range(count)) if count > 1
                         else rng.getrandbits(8 * size))
                  for name, size, count in frames.FIELDS[frame_type]}
        encoded = frames.encode(frame_type, **fields)
        assert len(encoded) == frames.frame_length(frame_type)
        parser = frames.FrameParser(accept=list(FrameType))
        assert parser.feed(encoded) == [(frame_type, fields)]


def test_parser_resynchronizes_after_garbage_and_cut_frames():
    good = frames.encode(FrameType.RESULT, job_id=3, nonce=0xDEADBEEF)
    cut = good[:6]
    garbage = bytes(random.Random(2).getrandbits(8) for _ in range(200)) + bytes(frames.SYNC)
    parser = frames.FrameParser()
    got = parser.feed(garbage + cut + good + good)
    assert got[-2:] == [(FrameType.RESULT, {"job_id": 3, "nonce": 0xDEADBEEF})] * 2
    assert parser.garbage_bytes > 0


def test_parser_counts_crc_errors():
    bad = bytearray(frames.encode(FrameType.JOB_DONE, job_id=1))
    bad[4] ^= 1
    parser = frames.FrameParser()
    assert parser.feed(bytes(bad)) == [] and parser.crc_errors == 1


def test_pack_errors_name_the_field():
    with pytest.raises(frames.FrameError, match="nonce"):
        frames.encode(FrameType.RESULT, job_id=1)
    with pytest.raises(frames.FrameError, match="does not fit"):
        frames.encode(FrameType.RESULT, job_id=300, nonce=1)


def receive_frames(data, fresh_at=()):
    """Feed ``data`` to the gateware receiver; after each good frame read its payload
    back through the read port, as the job loader does."""
    dut = FrameReceiver()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    events = []

    async def testbench(ctx):
        for i, byte in enumerate(data):
            ctx.set(dut.bytes.valid, 1)
            ctx.set(dut.bytes.payload, byte)
            ctx.set(dut.fresh, i in fresh_at)
            await ctx.tick()
            ctx.set(dut.bytes.valid, 0)
            # The pulses come the clock after the byte.
            valid, crc_error = ctx.get(dut.frame_valid), ctx.get(dut.crc_error)
            if crc_error:
                events.append("crc")
            if valid:
                frame_type = FrameType(ctx.get(dut.frame_type))
                payload = bytearray()
                for address in range(frames.payload_length(frame_type)):
                    ctx.set(dut.read_address, address)
                    await ctx.tick()
                    payload.append(ctx.get(dut.read_data))
                events.append((frame_type, bytes(payload)))
            await ctx.tick()
    sim.add_testbench(testbench)
    sim.run()
    return [e for e in events if e != "crc"], events.count("crc")


def test_gateware_receiver_takes_frames_after_garbage():
    job = frames.encode(FrameType.JOB, job_id=9, flags=1, target=5, first=10, last=20,
                        midstate=range(8), tail=(1, 2, 3))
    garbage = bytes(random.Random(4).getrandbits(8) for _ in range(100))
    got, _ = receive_frames(garbage + job + frames.encode(FrameType.STATUS))
    assert got[-2][0] == FrameType.JOB
    assert frames.unpack_payload(FrameType.JOB, got[-2][1])["midstate"] == tuple(range(8))
    assert got[-1] == (FrameType.STATUS, b"")


def test_gateware_receiver_rejects_flipped_bit_and_cut_frame():
    bad = bytearray(frames.encode(FrameType.IDENTIFY))
    bad[-2] ^= 0x04
    cut = frames.encode(FrameType.JOB, job_id=1, flags=0, target=0, first=0, last=1,
                        midstate=[0] * 8, tail=[0] * 3)[:20]
    good = frames.encode(FrameType.ABORT)
    data = bytes(bad) + cut + good
    got, crc_errors = receive_frames(data, fresh_at={len(bad) + len(cut)})
    assert got == [(FrameType.ABORT, b"")]
    assert crc_errors == 1


def load_job(source, packet, clocks_per_byte=None, earlier_frame=None):
    """Run the job loader on ``packet`` (an Icarus packet or a JOB payload) behind a
    model of the receiver's read port; with ``clocks_per_byte``, a following packet
    overwrites the buffer from byte 0 at that rate, as one sent at once would. With
    ``earlier_frame``, that JOB payload is loaded first."""
    dut = JobLoader()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    buffer = bytearray(earlier_frame or packet)
    got = {}

    async def read_port(ctx):
        async for _, _, icarus_address, frame_address in ctx.tick().sample(dut.icarus_address, dut.frame_address):
            got["clock"] = clock = got.get("clock", 0) + 1
            if clocks_per_byte and clock % clocks_per_byte == 0 and clock // clocks_per_byte <= len(buffer):
                buffer[clock // clocks_per_byte - 1] ^= 0xFF
            ctx.set(dut.icarus_data, buffer[icarus_address] if icarus_address < len(buffer) else 0)
            ctx.set(dut.frame_data, buffer[frame_address] if frame_address < len(buffer) else 0)

    async def testbench(ctx):
        if earlier_frame:
            ctx.set(dut.load_frame, 1)
            await ctx.tick()
            ctx.set(dut.load_frame, 0)
            await ctx.tick().until(dut.done)
            buffer[:] = packet
            got["clock"] = 0        # the following packet's bytes count from this load
        ctx.set(dut.load_icarus if source == "icarus" else dut.load_frame, 1)
        await ctx.tick()
        ctx.set(dut.load_icarus, 0)
        ctx.set(dut.load_frame, 0)
        for clock in range(1, 2 * JobLoader.clocks):
            if ctx.get(dut.done):
                got["clocks"] = clock
                got["job"] = ctx.get(dut.job.as_value()).to_bytes(frames.payload_length(FrameType.JOB), "little")
                assert not ctx.get(dut.busy)
                return
            await ctx.tick()
    sim.add_testbench(testbench)
    sim.add_process(read_port)
    sim.run()
    assert "job" in got, "the loader never signalled done"
    assert got["clocks"] <= JobLoader.clocks
    return frames.unpack_payload(FrameType.JOB, got["job"])


@pytest.mark.parametrize("clocks_per_byte", [None, 4], ids=["alone", "next-packet-at-once"])
def test_job_loader_reads_icarus_packets_as_the_spec_packs_them(clocks_per_byte):
    rng = random.Random(7)
    mid = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    # A frame's job first: the Icarus load must set every field its packet does not carry.
    earlier = frames.pack_payload(FrameType.JOB, job_id=0x5A, flags=1, target=0x12345678, first=7,
                                  last=9, midstate=(1,) * 8, tail=(2,) * 3)
    job = load_job("icarus", spec.icarus_work(mid, tail), clocks_per_byte, earlier)
    assert job["midstate"] == tuple(mid) and job["tail"] == tuple(tail)
    assert (job["job_id"], job["flags"], job["target"], job["first"], job["last"]) == (0, 0, 0, 0, 0xFFFFFFFF)


@pytest.mark.parametrize("clocks_per_byte", [None, 4], ids=["alone", "next-frame-at-once"])
def test_job_loader_copies_job_frames(clocks_per_byte):
    rng = random.Random(8)
    fields = dict(job_id=0xA5, flags=1, target=rng.getrandbits(32), first=rng.getrandbits(32),
                  last=rng.getrandbits(32), midstate=tuple(rng.getrandbits(32) for _ in range(8)),
                  tail=tuple(rng.getrandbits(32) for _ in range(3)))
    # (A following frame's payload starts 4 bytes later still: sync, type, length.)
    payload = frames.pack_payload(FrameType.JOB, **fields)
    assert load_job("frame", payload, clocks_per_byte) == fields


def test_gateware_transmitter_matches_host_encoding():
    dut = FrameTransmitter()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    out = []
    payload = frames.pack_payload(FrameType.RESULT, job_id=4, nonce=0x01020304)

    async def testbench(ctx):
        ctx.set(dut.bytes.ready, 1)
        ctx.set(dut.frame_type, FrameType.RESULT)
        ctx.set(dut.length, len(payload))
        ctx.set(dut.payload, int.from_bytes(payload, "little"))
        ctx.set(dut.send, 1)
        await ctx.tick()
        ctx.set(dut.send, 0)
        for _ in range(20):
            if ctx.get(dut.bytes.valid):
                out.append(ctx.get(dut.bytes.payload))
            await ctx.tick()
    sim.add_testbench(testbench)
    sim.run()
    assert bytes(out) == frames.encode(FrameType.RESULT, job_id=4, nonce=0x01020304)
