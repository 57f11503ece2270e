"""UART transmitter: 8 data bits, no parity, 1 stop bit."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .uart_rx import check_divisor


class UARTTransmitter(wiring.Component):
    """Sends each byte of ``bytes`` on ``tx``: start bit, 8 data bits LSB first, stop bit.

    Parameters
    ----------
    divisor : int
        Clocks per bit (clock frequency / baud rate), at least 4.

    Attributes
    ----------
    bytes : In(stream.Signature(8))
        A byte is taken when the transmitter is idle (``ready`` high).
    tx : Out(1)
        The serial line, high when idle.
    """

    def __init__(self, divisor):
        self.divisor = check_divisor(divisor)
        super().__init__({
            "bytes": In(stream.Signature(8)),
            "tx": Out(1, init=1),
        })

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        frame = Signal(10, init=0x3FF)        # stop bit, data, start bit; shifted out LSB first
        bits_left = Signal(range(11))
        m.d.comb += [self.bytes.ready.eq(bits_left == 0), self.tx.eq(frame[0])]
        with m.If(bits_left == 0):
            with m.If(self.bytes.valid):
                m.d.sync += [frame.eq((1 << 9) | (self.bytes.payload << 1)), bits_left.eq(10),
                             timer.eq(0)]
        with m.Elif(timer == self.divisor - 1):
            m.d.sync += [timer.eq(0), frame.eq((frame >> 1) | (1 << 9)), bits_left.eq(bits_left - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer + 1)
        return m
