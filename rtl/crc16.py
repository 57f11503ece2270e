"""CRC-16/CCITT-FALSE as logic (the same CRC as :func:`hashforge.rtl.frames.crc16`)."""

from amaranth.hdl import Signal, Value


def crc16_update(m, crc, byte, name="crc"):
    """The CRC after one more byte: eight shift-and-xor steps, unrolled.

    Each step is its own signal: written as one expression the steps would each
    repeat the previous one twice, and the logic would grow as 2**8.
    """
    value = Value.cast(crc)[:16] ^ (Value.cast(byte)[:8] << 8)
    for i in range(8):
        step = Signal(16, name=f"{name}_step{i}")
        m.d.comb += step.eq((value << 1)[:16] ^ (value[15].replicate(16) & 0x1021))
        value = step
    return value
