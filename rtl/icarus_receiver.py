"""Receiver of 64-byte Icarus work packets."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import frames


class IcarusReceiver(wiring.Component):
    """Collects 64 bytes into a work packet, as Icarus boards do.

    The packet is kept in a small memory (block RAM on FPGAs: 512 flip-flops fewer
    than a register) and read out a byte at a time by the :class:`JobLoader`.

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
        Pulses when 64 bytes are in; they stay readable until the next packet's bytes
        overwrite them (its first byte rewrites byte 0).
    read_address : In(6)
    read_data : Out(8)
        Byte ``read_address`` of the packet, one clock after the address.
    """

    def __init__(self):
        super().__init__({
            "bytes": In(stream.Signature(8)),
            "fresh": In(1),
            "enable": In(1),
            "work_valid": Out(1),
            "read_address": In(range(frames.ICARUS_WORK_BYTES)),
            "read_data": Out(8),
        })

    def elaborate(self, platform):
        m = Module()
        count = Signal(range(frames.ICARUS_WORK_BYTES))
        m.d.comb += self.bytes.ready.eq(1)
        position = Signal.like(count)
        m.d.comb += position.eq(count)
        with m.If(self.bytes.valid & self.fresh):
            m.d.comb += position.eq(0)
        m.submodules.buffer = buffer = Memory(shape=8, depth=frames.ICARUS_WORK_BYTES, init=[])
        write, read = buffer.write_port(), buffer.read_port()
        m.d.comb += [write.addr.eq(position), write.data.eq(self.bytes.payload),
                     write.en.eq(self.bytes.valid & self.enable),
                     read.addr.eq(self.read_address), self.read_data.eq(read.data)]
        with m.If(self.bytes.valid & self.enable):
            m.d.sync += count.eq(position + 1)
            with m.If(position == frames.ICARUS_WORK_BYTES - 1):
                m.d.sync += [count.eq(0), self.work_valid.eq(1)]
        with m.If(~self.enable):
            m.d.sync += count.eq(0)
        with m.If(self.work_valid):
            m.d.sync += self.work_valid.eq(0)
        return m
