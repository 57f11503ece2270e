"""CRC-16/CCITT-FALSE as logic (the same CRC as :func:`hashforge.rtl.frames.crc16`)."""

from amaranth.hdl import Mux, Value


def crc16_update(crc, byte):
    """The CRC after one more byte: eight shift-and-xor steps, unrolled."""
    crc = Value.cast(crc)[:16] ^ (Value.cast(byte)[:8] << 8)
    for _ in range(8):
        crc = Mux(crc[15], ((crc << 1) ^ 0x1021)[:16], (crc << 1)[:16])
    return crc
