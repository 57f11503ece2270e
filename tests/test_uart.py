"""UART receiver and transmitter in amaranth.sim: baud rates, clock mismatch, bad lines."""

import random

import pytest
from amaranth.sim import Simulator

from hashforge.rtl.uart_rx import UARTReceiver
from hashforge.rtl.uart_tx import UARTTransmitter


def line_levels(data, clocks_per_bit, idle_bits=2.0, stop_low=()):
    """The rx line, one level per clock, for bytes sent by a UART whose bit time is
    ``clocks_per_bit`` clocks of ours (a float: a mismatched clock)."""
    bits = []
    for i, byte in enumerate(data):
        bits += [0] + [(byte >> b) & 1 for b in range(8)] + [0 if i in stop_low else 1]
    levels, t = [], 0.0
    total = (len(bits) + 2 * idle_bits) * clocks_per_bit
    timeline = [1] * int(idle_bits * clocks_per_bit)
    for bit in bits:
        start, t = t, t + clocks_per_bit
        timeline += [bit] * (int(t) - int(start))
    timeline += [1] * int(idle_bits * clocks_per_bit)
    levels.extend(timeline)
    assert len(levels) <= total + 2
    return levels


def receive(divisor, levels):
    dut = UARTReceiver(divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    got, errors = [], []

    async def testbench(ctx):
        # A few idle clocks after the last level: the receiver's outputs are registered.
        for level in levels + [1] * 4:
            ctx.set(dut.rx, level)
            await ctx.tick()
            if ctx.get(dut.bytes.valid):
                got.append(ctx.get(dut.bytes.payload))
            if ctx.get(dut.framing_error):
                errors.append(len(got))
    sim.add_testbench(testbench)
    sim.run()
    return got, errors


# 12 MHz clock: 3 Mbaud, 1.2 Mbaud, 115200 baud.
@pytest.mark.parametrize("divisor", [4, 10, 104])
@pytest.mark.parametrize("mismatch", [-0.02, 0.0, 0.02])
def test_receiver_at_baud_rates_with_clock_mismatch(divisor, mismatch):
    count = 24 if divisor < 100 else 6
    data = bytes(random.Random(divisor).getrandbits(8) for _ in range(count)) + b"\x00\xff\x55\xaa"
    got, errors = receive(divisor, line_levels(data, divisor * (1 + mismatch), idle_bits=0.5))
    assert bytes(got) == data
    assert errors == []


def test_framing_error_drops_the_byte_and_recovers():
    divisor = 16
    got, errors = receive(divisor, line_levels(b"\x12\x34", divisor, stop_low={1}, idle_bits=12) +
                          line_levels(b"\x78", divisor))
    assert bytes(got) == b"\x12\x78"
    assert errors == [1], "the low stop bit of the second byte must be reported"


def test_glitch_is_not_a_start_bit():
    divisor = 32
    levels = [1] * 50 + [0] * 5 + [1] * 100 + line_levels(b"\xa7", divisor)
    got, errors = receive(divisor, levels)
    assert bytes(got) == b"\xa7" and errors == []


def test_glitch_inside_a_bit_is_voted_out():
    divisor = 64
    levels = line_levels(b"\xff", divisor, idle_bits=1)
    # One clock low in the middle of data bit 3 (all ones).
    middle = int(divisor * (1 + 1 + 3) + divisor // 2)
    levels[middle] = 0
    got, _ = receive(divisor, levels)
    assert bytes(got) == b"\xff"


@pytest.mark.parametrize("divisor", [4, 13, 104])
def test_transmitter_loops_back_into_receiver(divisor):
    data = bytes(random.Random(7).getrandbits(8) for _ in range(12))
    tx = UARTTransmitter(divisor)
    sim = Simulator(tx)
    sim.add_clock(1e-6)
    levels = []

    async def testbench(ctx):
        for byte in data:
            ctx.set(tx.bytes.payload, byte)
            ctx.set(tx.bytes.valid, 1)
            await ctx.tick().until(tx.bytes.ready)
            ctx.set(tx.bytes.valid, 0)
        for _ in range(divisor * 12):
            await ctx.tick()

    async def line(ctx):
        async for _, _, tx_level in ctx.tick().sample(tx.tx):
            levels.append(tx_level)
    sim.add_testbench(testbench)
    sim.add_process(line)
    sim.run()
    got, errors = receive(divisor, [1] * 10 + levels)
    assert bytes(got) == data and errors == []
    # Back to back: 10 bits per byte, no idle time between bytes.
    first_low = levels.index(0)
    assert len(levels) - first_low < (len(data) * 10 + 14) * divisor


@pytest.mark.parametrize("bad, error", [(3, ValueError), (2.5, TypeError)])
def test_divisor_checked(bad, error):
    with pytest.raises(error, match="divisor"):
        UARTReceiver(bad)
