"""The device protocol: one definition of every frame, for gateware and host.

Plain Python (no amaranth): the host packs and unpacks frames with it, and the
gateware builds its receiver, decoder and transmitter from the same tables.
``docs/protocol.md`` describes the same thing for people.

Two protocols share the serial line:

* **Icarus** (the power-on default): 64 bytes of work in, 4 bytes (W3 big-endian)
  out for every nonce whose top hash word is zero. A pause of more than
  ``GAP_BYTE_TIMES`` byte times drops a partial work packet.
* **Extended** frames, entered by sending any valid frame::

      0xA5 0x96 | type | length | payload (length bytes) | CRC-16 (big-endian)

  The CRC (CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF) covers type,
  length and payload. Integers in payloads are little-endian. Each type has a
  fixed payload length; a header with an unknown type or the wrong length is
  dropped at once, so the receiver resynchronizes on the next sync bytes. A pause
  of ``GAP_BYTE_TIMES`` byte times also drops a partial frame.
"""

import enum
import struct

SYNC = (0xA5, 0x96)
PROTOCOL_VERSION = 1
GAP_BYTE_TIMES = 16
ICARUS_WORK_BYTES = 64
ICARUS_REPLY_BYTES = 4
HEADER_BYTES = 4
CRC_BYTES = 2


class FrameType(enum.IntEnum):
    # host -> device
    IDENTIFY = 0x01
    JOB = 0x02
    STATUS = 0x03
    ABORT = 0x04
    ICARUS_MODE = 0x05
    # device -> host
    IDENTITY = 0x81
    JOB_ACK = 0x82
    STATUS_REPORT = 0x83
    ABORT_ACK = 0x84
    ICARUS_ACK = 0x85
    RESULT = 0x90
    JOB_DONE = 0x91


# Job flags.
FLAG_HEADER_ORDER = 0x01    # count header nonces (W3 = bswap32(counter)) instead of W3

# Status flags.
STATUS_BUSY = 0x01
STATUS_EXTENDED = 0x02

# Payload fields per frame type: (name, size in bytes, count). Little-endian integers.
FIELDS = {
    FrameType.IDENTIFY: [],
    FrameType.JOB: [("job_id", 1, 1), ("flags", 1, 1), ("target", 4, 1), ("first", 4, 1),
                    ("last", 4, 1), ("midstate", 4, 8), ("tail", 4, 3)],
    FrameType.STATUS: [],
    FrameType.ABORT: [],
    FrameType.ICARUS_MODE: [],
    FrameType.IDENTITY: [("version", 1, 1), ("cores", 1, 1), ("clocks_per_nonce", 1, 1),
                         ("fifo_depth", 1, 1), ("clock_hz", 4, 1), ("baud", 4, 1), ("build_id", 4, 1)],
    FrameType.JOB_ACK: [("job_id", 1, 1)],
    FrameType.STATUS_REPORT: [("nonces_hashed", 8, 1), ("results_sent", 4, 1), ("crc_errors", 2, 1),
                              ("framing_errors", 2, 1), ("frames_dropped", 2, 1), ("job_id", 1, 1),
                              ("flags", 1, 1)],
    FrameType.ABORT_ACK: [],
    FrameType.ICARUS_ACK: [],
    FrameType.RESULT: [("job_id", 1, 1), ("nonce", 4, 1)],
    FrameType.JOB_DONE: [("job_id", 1, 1)],
}

HOST_TO_DEVICE = (FrameType.IDENTIFY, FrameType.JOB, FrameType.STATUS, FrameType.ABORT,
                  FrameType.ICARUS_MODE)
REPLY_TO = {FrameType.IDENTIFY: FrameType.IDENTITY, FrameType.JOB: FrameType.JOB_ACK,
            FrameType.STATUS: FrameType.STATUS_REPORT, FrameType.ABORT: FrameType.ABORT_ACK,
            FrameType.ICARUS_MODE: FrameType.ICARUS_ACK}


def field_offsets(frame_type):
    """{name: (byte offset, size, count)} of a payload."""
    offsets, offset = {}, 0
    for name, size, count in FIELDS[FrameType(frame_type)]:
        offsets[name] = (offset, size, count)
        offset += size * count
    return offsets


def payload_length(frame_type):
    return sum(size * count for _, size, count in FIELDS[FrameType(frame_type)])


MAX_HOST_PAYLOAD = max(payload_length(t) for t in HOST_TO_DEVICE)
MAX_DEVICE_PAYLOAD = max(payload_length(t) for t in FrameType if t not in HOST_TO_DEVICE)


class FrameError(ValueError):
    """Bytes that are not a valid frame; the message says which part is wrong."""


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def pack_payload(frame_type, **fields):
    frame_type = FrameType(frame_type)
    out = bytearray()
    for name, size, count in FIELDS[frame_type]:
        if name not in fields:
            raise FrameError(f"{frame_type.name} frame needs field {name!r}")
        values = fields.pop(name)
        values = list(values) if count > 1 else [values]
        if len(values) != count:
            raise FrameError(f"{frame_type.name}.{name} takes {count} values, got {len(values)}")
        for value in values:
            if not 0 <= int(value) < 1 << (8 * size):
                raise FrameError(f"{frame_type.name}.{name} = {value} does not fit {size} byte(s)")
            out += int(value).to_bytes(size, "little")
    if fields:
        raise FrameError(f"{frame_type.name} frame has no field(s) {sorted(fields)}")
    return bytes(out)


def unpack_payload(frame_type, payload):
    frame_type = FrameType(frame_type)
    if len(payload) != payload_length(frame_type):
        raise FrameError(f"{frame_type.name} payload is {payload_length(frame_type)} bytes, got {len(payload)}")
    fields = {}
    for name, (offset, size, count) in field_offsets(frame_type).items():
        values = [int.from_bytes(payload[offset + i * size:offset + (i + 1) * size], "little")
                  for i in range(count)]
        fields[name] = tuple(values) if count > 1 else values[0]
    return fields


def encode(frame_type, **fields):
    """A complete frame: sync, type, length, payload, CRC."""
    frame_type = FrameType(frame_type)
    payload = pack_payload(frame_type, **fields)
    body = bytes([frame_type, len(payload)]) + payload
    return bytes(SYNC) + body + struct.pack(">H", crc16(body))


def frame_length(frame_type):
    return HEADER_BYTES + payload_length(frame_type) + CRC_BYTES


class FrameParser:
    """Byte-at-a-time parser with the gateware's rules (host side of the link).

    ``feed(data)`` returns the list of (FrameType, fields) completed. Bytes that are
    not part of a valid frame are counted in ``garbage_bytes``; frames whose CRC
    fails in ``crc_errors``.
    """

    def __init__(self, accept=None):
        self.accept = set(accept) if accept is not None else {t for t in FrameType if t not in HOST_TO_DEVICE}
        self.buffer = bytearray()
        self.garbage_bytes = 0
        self.crc_errors = 0

    def reset(self):
        self.garbage_bytes += len(self.buffer)
        self.buffer.clear()

    def feed(self, data):
        frames = []
        for byte in data:
            self.buffer.append(byte)
            frame = self._step()
            if frame is not None:
                frames.append(frame)
        return frames

    def _drop(self, count):
        self.garbage_bytes += count
        del self.buffer[:count]

    def _step(self):
        buf = self.buffer
        while buf:
            if buf[0] != SYNC[0]:
                self._drop(1)
                continue
            if len(buf) >= 2 and buf[1] != SYNC[1]:
                self._drop(1)
                continue
            if len(buf) >= 4:
                try:
                    frame_type = FrameType(buf[2])
                except ValueError:
                    self._drop(1)
                    continue
                if frame_type not in self.accept or buf[3] != payload_length(frame_type):
                    self._drop(1)
                    continue
                total = frame_length(frame_type)
                if len(buf) < total:
                    return None
                body = bytes(buf[2:total - 2])
                if crc16(body) != struct.unpack(">H", buf[total - 2:total])[0]:
                    self.crc_errors += 1
                    self._drop(1)
                    continue
                del buf[:total]
                return frame_type, unpack_payload(frame_type, body[2:])
            return None
        return None
