"""Transmitter of extended-protocol frames and raw Icarus replies."""

from amaranth.hdl import Array, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import frames
from .crc16 import crc16_update


class FrameTransmitter(wiring.Component):
    """Turns one request into bytes: sync, type, length, payload, CRC, or with
    ``raw`` the payload bytes alone (an Icarus nonce reply).

    Attributes
    ----------
    send : In(1)
        Take the request (only when ``idle``).
    frame_type, length : In(8)
    payload : In(8 * MAX_DEVICE_PAYLOAD)
        Byte ``i`` in bits ``8*i .. 8*i+7``; latched when the request is taken.
    raw : In(1)
    idle : Out(1)
    bytes : Out(stream.Signature(8))
        To the UART transmitter.
    """

    def __init__(self):
        self.max_payload = frames.MAX_DEVICE_PAYLOAD
        super().__init__({
            "send": In(1),
            "frame_type": In(8),
            "length": In(8),
            "payload": In(8 * self.max_payload),
            "raw": In(1),
            "idle": Out(1),
            "bytes": Out(stream.Signature(8)),
        })

    def elaborate(self, platform):
        m = Module()
        frame_type, length = Signal(8), Signal(8)
        payload = Signal(8 * self.max_payload)
        crc = Signal(16)
        index = Signal(8)
        payload_bytes = Array(payload[8 * i:8 * i + 8] for i in range(self.max_payload))
        # The payload byte at ``index``, registered: the wide multiplexer then ends at a
        # register instead of running on into the UART and the CRC. It is stale for the
        # clock after ``index`` or the payload changes (the UART takes a byte far less often).
        current_byte, stale = Signal(8), Signal()
        m.d.sync += [current_byte.eq(payload_bytes[index]), stale.eq(0)]
        sent = self.bytes.valid & self.bytes.ready
        # The CRC takes in each byte the clock after it is sent, from a register:
        # the byte multiplexer and the CRC's XOR network are too deep for one clock.
        crc_byte, crc_due = Signal(8), Signal()
        m.d.sync += crc_due.eq(0)
        with m.If(crc_due):
            m.d.sync += crc.eq(crc16_update(m, crc, crc_byte))

        def take_into_crc():
            m.d.sync += [crc_byte.eq(self.bytes.payload), crc_due.eq(1)]

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.idle.eq(1)
                with m.If(self.send):
                    m.d.sync += [frame_type.eq(self.frame_type), length.eq(self.length),
                                 payload.eq(self.payload), index.eq(0), crc.eq(0xFFFF), stale.eq(1)]
                    m.next = "SYNC0"
                    with m.If(self.raw):
                        m.next = "RAW"
            with m.State("RAW"):
                m.d.comb += [self.bytes.valid.eq(~stale), self.bytes.payload.eq(current_byte)]
                with m.If(sent):
                    m.d.sync += [index.eq(index + 1), stale.eq(1)]
                    with m.If(index == length - 1):
                        m.next = "IDLE"
            for state, next_state, value in [("SYNC0", "SYNC1", frames.SYNC[0]),
                                             ("SYNC1", "TYPE", frames.SYNC[1])]:
                with m.State(state):
                    m.d.comb += [self.bytes.valid.eq(1), self.bytes.payload.eq(value)]
                    with m.If(sent):
                        m.next = next_state
            with m.State("TYPE"):
                m.d.comb += [self.bytes.valid.eq(1), self.bytes.payload.eq(frame_type)]
                with m.If(sent):
                    take_into_crc()
                    m.next = "LENGTH"
            with m.State("LENGTH"):
                m.d.comb += [self.bytes.valid.eq(1), self.bytes.payload.eq(length)]
                with m.If(sent):
                    take_into_crc()
                    m.next = "PAYLOAD"
                    with m.If(length == 0):
                        m.next = "CRC_HIGH"
            with m.State("PAYLOAD"):
                m.d.comb += [self.bytes.valid.eq(~stale), self.bytes.payload.eq(current_byte)]
                with m.If(sent):
                    take_into_crc()
                    m.d.sync += [index.eq(index + 1), stale.eq(1)]
                    with m.If(index == length - 1):
                        m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                m.d.comb += [self.bytes.valid.eq(~crc_due), self.bytes.payload.eq(crc[8:16])]
                with m.If(sent):
                    m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                m.d.comb += [self.bytes.valid.eq(1), self.bytes.payload.eq(crc[0:8])]
                with m.If(sent):
                    m.next = "IDLE"
        return m
