"""Receiver of 64-byte Icarus work packets."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import frames


class IcarusReceiver(wiring.Component):
    """Collects 64 bytes into a work packet, as Icarus boards do.

    A byte that comes after a pause on the line (``fresh``) starts a new packet,
    dropping a partial one: that is how Icarus clients resynchronize.

    Attributes
    ----------
    bytes : In(stream.Signature(8))
        Received bytes (always ready).
    fresh : In(1)
        The current byte came after a pause.
    enable : In(1)
        Low: bytes are ignored and a partial packet is dropped (extended mode).
    work_valid : Out(1)
        Pulses when 64 bytes are in; ``work`` holds them (byte ``i`` in bits 8i..8i+7).
    work : Out(512)
    """

    def __init__(self):
        super().__init__({
            "bytes": In(stream.Signature(8)),
            "fresh": In(1),
            "enable": In(1),
            "work_valid": Out(1),
            "work": Out(8 * frames.ICARUS_WORK_BYTES),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(frames.ICARUS_WORK_BYTES))
        m.d.comb += self.bytes.ready.eq(1)
        position = Signal.like(count)
        m.d.comb += position.eq(count)
        with m.If(self.bytes.valid & self.fresh):
            m.d.comb += position.eq(0)
        with m.If(self.bytes.valid & self.enable):
            with m.Switch(position):
                for i in range(frames.ICARUS_WORK_BYTES):
                    with m.Case(i):
                        m.d.sync += self.work[8 * i:8 * i + 8].eq(self.bytes.payload)
            m.d.sync += count.eq(position + 1)
            with m.If(position == frames.ICARUS_WORK_BYTES - 1):
                m.d.sync += [count.eq(0), self.work_valid.eq(1)]
        with m.If(~self.enable):
            m.d.sync += count.eq(0)
        with m.If(self.work_valid):
            m.d.sync += self.work_valid.eq(0)
        return m
