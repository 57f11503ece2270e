"""The far end of the device's UART in cocotb: drives ``rx``, decodes ``tx``.

Python runs once per bit (a Timer per bit time), not once per clock, so the
simulator keeps its speed between bytes.
"""

import cocotb
from cocotb.triggers import FallingEdge, Timer


class UartLine:
    """Bit-level UART at ``bit_time_ps`` (the device's divisor times its clock period)."""

    def __init__(self, rx, tx, bit_time_ps, on_byte=None):
        self.rx, self.tx = rx, tx
        self.bit_time_ps = bit_time_ps
        self.received = bytearray()
        self.on_byte = on_byte
        self.rx.value = 1
        cocotb.start_soon(self._receive())

    async def send(self, data, gap_bits=0):
        """Send bytes back to back (``gap_bits`` idle bit times after each)."""
        for byte in data:
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.rx.value = bit
                await Timer(self.bit_time_ps, unit="ps")
            if gap_bits:
                await Timer(self.bit_time_ps * gap_bits, unit="ps")

    async def idle(self, bit_times):
        self.rx.value = 1
        await Timer(int(self.bit_time_ps * bit_times), unit="ps")

    async def _receive(self):
        while True:
            await FallingEdge(self.tx)
            await Timer(self.bit_time_ps // 2, unit="ps")
            if int(self.tx.value):
                continue            # not a start bit
            byte = 0
            for i in range(8):
                await Timer(self.bit_time_ps, unit="ps")
                byte |= int(self.tx.value) << i
            await Timer(self.bit_time_ps, unit="ps")
            if not int(self.tx.value):
                raise AssertionError(f"framing error on tx (byte {byte:#04x} had a low stop bit)")
            self.received.append(byte)
            if self.on_byte:
                self.on_byte(byte)

    async def read(self, count, timeout_bits):
        """Wait until ``count`` bytes are in, then take them; None if they do not come in time."""
        waited = 0
        while len(self.received) < count:
            if waited >= timeout_bits:
                return None
            await Timer(self.bit_time_ps * 10, unit="ps")
            waited += 10
        data = bytes(self.received[:count])
        del self.received[:count]
        return data
