"""Amaranth layouts of the frame payloads in :mod:`hashforge.rtl.frames`.

A payload's byte ``i`` is bits ``8*i .. 8*i+7`` and integers are little-endian,
so a ``StructLayout`` with the fields in order is exactly the wire format.
"""

from amaranth.hdl import Cat, Const, Value, unsigned
from amaranth.lib import data

from . import frames


def payload_layout(frame_type):
    fields = {}
    for name, size, count in frames.FIELDS[frames.FrameType(frame_type)]:
        fields[name] = data.ArrayLayout(8 * size, count) if count > 1 else unsigned(8 * size)
    return data.StructLayout(fields)


def pack_payload(frame_type, width, **values):
    """A payload value ``width`` bits wide with the named fields (gateware side of
    :func:`frames.pack_payload`); unused high bytes are zero."""
    parts = []
    for name, size, count in frames.FIELDS[frames.FrameType(frame_type)]:
        value = values.pop(name)
        parts.append(Value.cast(value)[:8 * size * count] if not isinstance(value, int)
                     else Const(value, 8 * size * count))
    if values:
        raise ValueError(f"{frames.FrameType(frame_type).name} has no field(s) {sorted(values)}")
    packed = Cat(*parts) if parts else Const(0, 1)
    return packed if len(packed) >= width else Cat(packed, Const(0, width - len(packed)))
