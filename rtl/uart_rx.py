"""UART receiver: 8 data bits, no parity, 1 stop bit."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def check_divisor(divisor):
    if isinstance(divisor, bool) or not isinstance(divisor, int):
        raise TypeError(f"UART divisor must be an integer, not {divisor!r}")
    if divisor < 4:
        raise ValueError(f"UART divisor (clocks per bit) must be at least 4, got {divisor}; "
                         f"raise the clock or lower the baud rate")
    return divisor


class UARTReceiver(wiring.Component):
    """Receives bytes on ``rx``, sampling each bit in its middle.

    Every bit is sampled three times around its centre and decided by majority,
    so a short glitch inside a bit does not flip it. A start bit that is not low
    at its centre was a glitch: the receiver returns to idle. A stop bit that is
    low is a framing error: the byte is dropped, ``framing_error`` pulses, and the
    receiver waits for the line to go idle (high) before looking for a start bit.

    Parameters
    ----------
    divisor : int
        Clocks per bit (clock frequency / baud rate), at least 4.

    Attributes
    ----------
    rx : In(1)
        The serial line (synchronized inside).
    bytes : Out(stream.Signature(8))
        One transfer per byte received, the clock after the stop bit's last sample;
        there is no back-pressure (``ready`` is ignored).
    framing_error : Out(1)
        Pulses for one clock when a byte is dropped for a bad stop bit.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "rx": In(1, init=1),
            "bytes": Out(stream.Signature(8)),
            "framing_error": Out(1),
        })

    @property
    def sample_points(self):
        centre, spread = self.divisor // 2, self.divisor // 8
        return sorted({centre - spread, centre, centre + spread})

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)

        points = self.sample_points
        timer = Signal(range(self.divisor))
        votes = Signal(range(len(points) + 1))
        bit_index = Signal(range(8))
        shift = Signal(8)
        majority = Signal()
        at_sample = Signal()
        m.d.comb += [
            at_sample.eq(sum(timer == p for p in points) != 0),
            majority.eq((votes + (at_sample & rx)) * 2 > len(points)),
        ]
        last_point = points[-1]
        end_of_bit = timer == self.divisor - 1

        def count_votes():
            m.d.sync += timer.eq(timer + 1)
            with m.If(at_sample & rx):
                m.d.sync += votes.eq(votes + 1)

        def next_bit():
            m.d.sync += [timer.eq(0), votes.eq(0)]

        # The outputs are registered (a clock late) so the sampling logic does not
        # chain into the protocol engine's decisions within one clock.
        m.d.sync += [self.bytes.valid.eq(0), self.framing_error.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.sync += [timer.eq(0), votes.eq(0)]
                with m.If(~rx):
                    m.d.sync += timer.eq(1)
                    m.next = "START"
            with m.State("START"):
                count_votes()
                with m.If((timer == last_point) & majority):
                    m.next = "IDLE"            # high at the centre: a glitch, not a start bit
                with m.Elif(end_of_bit):
                    next_bit()
                    m.d.sync += bit_index.eq(0)
                    m.next = "DATA"
            with m.State("DATA"):
                count_votes()
                with m.If(end_of_bit):
                    next_bit()
                    m.d.sync += [shift.eq((shift >> 1) | (majority << 7)), bit_index.eq(bit_index + 1)]
                    with m.If(bit_index == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                count_votes()
                # Decide at the last sample point rather than the end of the bit, so a
                # transmitter with a slightly faster clock does not lose the next start bit.
                with m.If(timer == last_point):
                    with m.If(majority):
                        m.d.sync += self.bytes.valid.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += self.framing_error.eq(1)
                        m.next = "WAIT_IDLE"
            with m.State("WAIT_IDLE"):
                with m.If(rx):
                    m.next = "IDLE"
        m.d.comb += self.bytes.payload.eq(shift)
        return m
