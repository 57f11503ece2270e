"""The job register, filled a byte per clock from a receiver's buffer."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import frames
from .frame_layouts import payload_layout

FrameType = frames.FrameType
JOB_BYTES = frames.payload_length(FrameType.JOB)
_OFFSETS = frames.field_offsets(FrameType.JOB)
MIDSTATE_AT, TAIL_AT = _OFFSETS["midstate"][0], _OFFSETS["tail"][0]
# The job fields an Icarus packet does not carry: job 0, nonces counted as W3, target 0
# (a nonce qualifies when the hash's top 32 bits are zero), the whole nonce space.
ICARUS_FIXED_FIELDS = {"job_id": 0, "flags": 0, "target": 0, "first": 0, "last": 0xFFFFFFFF}
assert all(_OFFSETS[name][0] < MIDSTATE_AT for name in ICARUS_FIXED_FIELDS)
# An Icarus packet carries the midstate in bytes 0..31 and the tail in bytes 52..63,
# each field byte-reversed (words in reverse order, each big-endian; see spec.icarus_work).
ICARUS_MIDSTATE_AT, ICARUS_TAIL_AT = 0, 52


class JobLoader(wiring.Component):
    """Holds the job the miner works on and loads a new one from a receiver.

    The receivers keep their packets in block RAM, which gives one byte per clock,
    so a load takes :attr:`clocks` clocks; the job register changes during it, so
    the miner must be stopped first. Bytes are read in the order they arrived, so a
    packet or frame that follows at once only overwrites bytes already read.

    Attributes
    ----------
    load_icarus, load_frame : In(1)
        Begin loading from the Icarus receiver / from a JOB frame's payload.
    icarus_address, frame_address : Out(6)
    icarus_data, frame_data : In(8)
        The receivers' read ports (data one clock after the address).
    job : Out(payload layout of JOB)
        Held from the end of one load to the start of the next.
    busy : Out(1)
    done : Out(1)
        Pulses once ``job`` holds the whole new job.
    """

    clocks = JOB_BYTES + 2

    def __init__(self):
        super().__init__({
            "load_icarus": In(1),
            "load_frame": In(1),
            "icarus_address": Out(range(frames.ICARUS_WORK_BYTES)),
            "icarus_data": In(8),
            "frame_address": Out(range(frames.MAX_HOST_PAYLOAD)),
            "frame_data": In(8),
            "job": Out(payload_layout(FrameType.JOB)),
            "busy": Out(1),
            "done": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        step = Signal(range(JOB_BYTES + 1), init=JOB_BYTES)     # JOB_BYTES: idle
        step_next = Signal.like(step)
        from_icarus = Signal()
        # The read addresses are registers loaded with the next step's address: the
        # receivers' buffers may sit far from this counter (the job register it fills
        # spreads over the die when fully pipelined), and an address computed after
        # the counter, then carried there and read out, took a whole clock (85F).
        # The Icarus address is worked out from the counter alone; the load requests
        # (decoded from the receiver in the same clock) only pick among finished values,
        # so no carry chain follows them (the 85F L=1 build's critical path).
        advanced = Mux(step != JOB_BYTES, step + 1, step)
        icarus_advanced = Signal.like(self.icarus_address)
        m.d.comb += [
            step_next.eq(advanced),
            icarus_advanced.eq(Mux(advanced >= TAIL_AT, ICARUS_TAIL_AT - TAIL_AT,
                                   ICARUS_MIDSTATE_AT - MIDSTATE_AT) + advanced),
        ]
        with m.If(self.load_frame):
            m.d.comb += step_next.eq(0)
        with m.If(self.load_icarus):
            m.d.comb += step_next.eq(MIDSTATE_AT)
        # An Icarus load starts at the packet's midstate; a frame load does not read the
        # Icarus buffer, so that address is left to the counter.
        icarus_next = Mux(self.load_icarus, ICARUS_MIDSTATE_AT, icarus_advanced)
        m.d.sync += [
            step.eq(step_next),
            self.frame_address.eq(step_next),
            self.icarus_address.eq(icarus_next),
        ]
        # The read data comes a clock after the address: the write follows a clock behind.
        writing, write_index = Signal(), Signal(range(JOB_BYTES))
        # Where the Icarus byte at ``step`` goes (each field is byte-reversed), worked
        # out from a step counter of the Icarus load's own: yosys merges ``step`` with
        # ``frame_address`` (the same value), a register beside the receive buffer, and
        # the compare and subtract after it ran across the die (the 85F's longest path
        # at 90 MHz, 11.95 ns). This one runs on past the load, so it is no copy.
        icarus_step = Signal(range(JOB_BYTES + 1))
        m.d.sync += icarus_step.eq(Mux(self.load_icarus, MIDSTATE_AT, icarus_step + 1))
        icarus_index = Mux(icarus_step >= TAIL_AT, TAIL_AT + JOB_BYTES - 1,
                           MIDSTATE_AT + TAIL_AT - 1) - icarus_step
        m.d.sync += [
            writing.eq(step != JOB_BYTES),
            write_index.eq(Mux(from_icarus, icarus_index, step)),
            self.done.eq(0),
        ]
        with m.If(self.load_frame):
            m.d.sync += from_icarus.eq(0)
        with m.If(writing):
            m.d.sync += self.job.as_value().word_select(write_index, 8).eq(
                Mux(from_icarus, self.icarus_data, self.frame_data))
        # Icarus: the fixed fields, then the packet from its first byte. The fixed fields
        # are written a clock after the request, from a register: written by the request
        # itself (decoded from the receivers in the same clock) they became a synchronous
        # set/reset net over the job register, which spreads over the die when fully
        # pipelined (the 85F L=1 build's critical path, 12.2 ns, 10.7 of it routing).
        # They lie before the midstate, so no packet byte is written there meanwhile.
        fixing_fields = Signal()
        m.d.sync += fixing_fields.eq(self.load_icarus)
        with m.If(self.load_icarus):
            m.d.sync += from_icarus.eq(1)
        with m.If(fixing_fields):
            m.d.sync += [getattr(self.job, name).eq(value) for name, value in ICARUS_FIXED_FIELDS.items()]
        # The last write lands at the clock edge after step JOB_BYTES - 1's data.
        last_write = writing & (step == JOB_BYTES)
        with m.If(last_write):
            m.d.sync += self.done.eq(1)
        m.d.comb += self.busy.eq((step != JOB_BYTES) | writing)
        return m
