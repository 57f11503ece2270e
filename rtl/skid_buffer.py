"""A stream register whose every output, the upstream ready included, is a flip-flop."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class SkidBuffer(wiring.Component):
    """Passes a stream on with a clock of latency and full throughput.

    A plain stream register's upstream ready is the downstream ready through logic;
    here it is a register: while the downstream stalls, the one entry that arrives
    in the clock the stall is seen waits in a second (skid) register. Used where
    producer and consumer sit far apart on the die (the miner's result FIFO and the
    protocol engine of a fully pipelined core), so that no path runs from one
    through logic into the other.

    Parameters
    ----------
    shape : shape-like
        The payload.

    Attributes
    ----------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))
    holding : Out(1)
        An entry is in the buffer (for a busy flag: it has left the producer).
    """

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape)),
                          "holding": Out(1)})

    def elaborate(self, platform):
        m = Module()
        skid_valid = Signal()
        skid_payload = Signal.like(self.i.payload)
        m.d.comb += [self.i.ready.eq(~skid_valid), self.holding.eq(self.o.valid | skid_valid)]
        # ``i.ready`` is ~skid_valid, so an entry taken while ``o`` stalls goes to the skid.
        output_free = ~self.o.valid | self.o.ready
        with m.If(output_free):
            with m.If(skid_valid):
                m.d.sync += [self.o.valid.eq(1), self.o.payload.eq(skid_payload), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        with m.Elif(self.i.valid & ~skid_valid):
            m.d.sync += [skid_valid.eq(1), skid_payload.eq(self.i.payload)]
        return m
