"""Receiver of extended-protocol frames."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from . import frames
from .crc16 import crc16_update


class FrameReceiver(wiring.Component):
    """Finds frames in a byte stream and checks their CRC.

    Looks for the sync bytes, then checks the type and length against the frame
    table at once: an unknown type or a length other than the type's drops the
    frame (``dropped``) and the search starts again from the next byte. A frame
    whose CRC fails is counted (``crc_error``) and not served. A byte that follows
    a pause (``fresh``) always starts a new search, so a cut frame cannot swallow
    the next one.

    Attributes
    ----------
    bytes : In(stream.Signature(8))
        Received bytes (always ready).
    fresh : In(1)
        The current byte came after a pause on the line.
    frame_valid : Out(1)
        Pulses the clock after the last byte of a frame with a good CRC; ``frame_type``
        and the payload hold it until the next frame's payload begins.
    frame_type : Out(8)
    read_address : In(range(MAX_HOST_PAYLOAD))
    read_data : Out(8)
        Byte ``read_address`` of the payload, one clock after the address. The
        payload is kept in a small memory (block RAM on FPGAs), not a register.
    crc_error, dropped : Out(1)
        Pulse (a clock after the byte, like ``frame_valid``) for a frame that failed
        its CRC / a header that matched no frame type.
    """

    def __init__(self):
        self.max_payload = frames.MAX_HOST_PAYLOAD
        super().__init__({
            "bytes": In(stream.Signature(8)),
            "fresh": In(1),
            "frame_valid": Out(1),
            "frame_type": Out(8),
            "read_address": In(range(self.max_payload)),
            "read_data": Out(8),
            "crc_error": Out(1),
            "dropped": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        byte = self.bytes.payload
        # Inside a frame only bytes without a pause before them count; a byte after a
        # pause restarts the search (below).
        restart = self.bytes.valid & self.fresh
        take = self.bytes.valid & ~self.fresh
        m.d.comb += self.bytes.ready.eq(1)
        crc = Signal(16)
        length = Signal(8)
        index = Signal(8)
        received_crc = Signal(8)
        crc_next = crc16_update(m, crc, byte)
        # The pulses are registered: decoded from the byte in the same clock, they ran on
        # through the protocol engine into the job loader (the 85F's longest path).
        complete, bad_crc, drop = Signal(), Signal(), Signal()
        m.d.sync += [self.frame_valid.eq(complete), self.crc_error.eq(bad_crc), self.dropped.eq(drop)]

        expected_length = Signal(8)
        known_type = Signal()
        with m.Switch(byte):
            for frame_type in frames.HOST_TO_DEVICE:
                with m.Case(int(frame_type)):
                    m.d.comb += [expected_length.eq(frames.payload_length(frame_type)), known_type.eq(1)]

        m.submodules.payload = payload = Memory(shape=8, depth=self.max_payload, init=[])
        write, read = payload.write_port(), payload.read_port()
        m.d.comb += [write.addr.eq(index), write.data.eq(byte),
                     read.addr.eq(self.read_address), self.read_data.eq(read.data)]

        def store_payload_byte():
            m.d.comb += write.en.eq(1)

        def restart_after_pause(partial=True):
            """A byte after a pause starts a new search, whatever state the frame was in."""
            with m.If(restart):
                if partial:
                    m.d.comb += drop.eq(1)
                with m.If(byte == frames.SYNC[0]):
                    m.next = "SYNC1"
                with m.Else():
                    m.next = "HUNT"

        with m.FSM():
            with m.State("HUNT"):
                with m.If(self.bytes.valid & (byte == frames.SYNC[0])):
                    m.next = "SYNC1"
            with m.State("SYNC1"):
                restart_after_pause(partial=False)
                with m.If(take):
                    with m.If(byte == frames.SYNC[1]):
                        m.d.sync += crc.eq(0xFFFF)
                        m.next = "TYPE"
                    with m.Elif(byte != frames.SYNC[0]):
                        m.next = "HUNT"
            with m.State("TYPE"):
                restart_after_pause()
                with m.If(take):
                    with m.If(known_type):
                        m.d.sync += [self.frame_type.eq(byte), length.eq(expected_length),
                                     crc.eq(crc_next)]
                        m.next = "LENGTH"
                    with m.Else():
                        m.d.comb += drop.eq(1)
                        m.next = "HUNT"
            with m.State("LENGTH"):
                restart_after_pause()
                with m.If(take):
                    with m.If(byte == length):
                        m.d.sync += [crc.eq(crc_next), index.eq(0)]
                        m.next = "PAYLOAD"
                        with m.If(length == 0):
                            m.next = "CRC_HIGH"
                    with m.Else():
                        m.d.comb += drop.eq(1)
                        m.next = "HUNT"
            with m.State("PAYLOAD"):
                restart_after_pause()
                with m.If(take):
                    store_payload_byte()
                    m.d.sync += [crc.eq(crc_next), index.eq(index + 1)]
                    with m.If(index == length - 1):
                        m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                restart_after_pause()
                with m.If(take):
                    m.d.sync += received_crc.eq(byte)
                    m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                restart_after_pause()
                with m.If(take):
                    with m.If((received_crc == crc[8:16]) & (byte == crc[0:8])):
                        m.d.comb += complete.eq(1)
                    with m.Else():
                        m.d.comb += bad_crc.eq(1)
                    m.next = "HUNT"
        return m
