"""The device interface: hashforge's extended protocol over a transport.

The same calls drive a real board and the virtual board. A reader thread turns
incoming bytes into frames; command replies are matched to the command, results
and job-done notices go to a queue the caller drains with :meth:`Device.events`.
"""

import queue
import threading
import time
from dataclasses import dataclass

from hashforge.rtl import frames, spec

from .transport import DeviceGone, SerialTransport, TransportError

FrameType = frames.FrameType


class DeviceError(RuntimeError):
    """The device did not answer as the protocol says; the message says what was expected."""


@dataclass(frozen=True)
class Identity:
    version: int
    cores: int
    clocks_per_nonce: int
    fifo_depth: int
    clock_hz: int
    baud: int
    build_id: int

    @property
    def nonces_per_clock(self):
        return self.cores / self.clocks_per_nonce

    @property
    def promised_hashrate(self):
        """Nonces per second the build promises: clock x cores / clocks per nonce."""
        return self.clock_hz * self.nonces_per_clock


@dataclass(frozen=True)
class Status:
    nonces_hashed: int
    results_sent: int
    crc_errors: int
    framing_errors: int
    frames_dropped: int
    job_id: int
    busy: bool
    extended: bool


@dataclass(frozen=True)
class Result:
    job_id: int
    nonce: int
    received: float


@dataclass(frozen=True)
class JobDone:
    job_id: int
    received: float


@dataclass(frozen=True)
class Job:
    """Work for the device: ``first``..``last`` (inclusive) of counter values.

    With ``header_order`` the counter is the header's nonce field (W3 = bswap32);
    without, it is W3 itself (the Icarus order).
    """

    job_id: int
    midstate: tuple
    tail: tuple
    target: int
    first: int
    last: int
    header_order: bool = True

    def frame(self):
        return frames.encode(FrameType.JOB, job_id=self.job_id,
                             flags=frames.FLAG_HEADER_ORDER if self.header_order else 0,
                             target=self.target, first=self.first, last=self.last,
                             midstate=self.midstate, tail=self.tail)

    def w3(self, nonce):
        return spec.nonce_to_w3(nonce) if self.header_order else nonce

    def top_word(self, nonce):
        """The top hash word of a returned nonce, recomputed on the host."""
        return spec.top_hash_word(self.midstate, self.tail, self.w3(nonce))

    def qualifies(self, nonce):
        return self.first <= nonce <= self.last and self.top_word(nonce) <= self.target


class Device:
    """A hashforge device on a serial port.

    Parameters
    ----------
    transport : SerialTransport
    reply_timeout : float
        Seconds to wait for the answer to a command (a command is sent again once
        within that time, in case a line glitch ate it).
    """

    def __init__(self, transport, reply_timeout=5.0):
        self.transport = transport
        self.port = transport.port
        self.reply_timeout = reply_timeout
        self.parser = frames.FrameParser()
        self._replies = queue.Queue()
        self._events = queue.Queue()
        self._error = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name=f"hashforge-reader {self.port}",
                                        daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, port, baud=115200, **kwargs):
        return cls(SerialTransport(port, baud), **kwargs)

    # --- reader ----------------------------------------------------------------------------

    def _read_loop(self):
        while not self._stop.is_set():
            try:
                data = self.transport.read()
            except DeviceGone as error:
                self._error = error
                self._events.put(error)
                self._replies.put(error)
                return
            now = time.monotonic()
            for frame_type, fields in self.parser.feed(data):
                if frame_type == FrameType.RESULT:
                    self._events.put(Result(fields["job_id"], fields["nonce"], now))
                elif frame_type == FrameType.JOB_DONE:
                    self._events.put(JobDone(fields["job_id"], now))
                else:
                    self._replies.put((frame_type, fields))

    @property
    def garbage_bytes(self):
        """Bytes on the line that were not part of a valid frame (resynchronized past)."""
        return self.parser.garbage_bytes

    @property
    def crc_errors(self):
        return self.parser.crc_errors

    def _check(self):
        if self._error is not None:
            raise self._error

    # --- commands --------------------------------------------------------------------------

    def _command(self, frame, reply_type, what):
        with self._lock:
            self._check()
            while not self._replies.empty():
                self._replies.get_nowait()
            deadline = time.monotonic() + self.reply_timeout
            for attempt in range(2):
                self.transport.write(frame)
                retry_at = time.monotonic() + self.reply_timeout / 2
                while time.monotonic() < (retry_at if attempt == 0 else deadline):
                    try:
                        reply = self._replies.get(timeout=0.05)
                    except queue.Empty:
                        continue
                    if isinstance(reply, Exception):
                        raise reply
                    if reply[0] == reply_type:
                        return reply[1]
            raise DeviceError(f"no {reply_type.name} reply to {what} from {self.port} within "
                              f"{self.reply_timeout:.0f} s: is it a hashforge device, at the right baud rate?")

    def identify(self):
        """Protocol version, cores, clocks per nonce, clock frequency, baud, build id."""
        fields = self._command(frames.encode(FrameType.IDENTIFY), FrameType.IDENTITY, "IDENTIFY")
        if fields["version"] != frames.PROTOCOL_VERSION:
            raise DeviceError(f"device at {self.port} speaks protocol version {fields['version']}, "
                              f"this host speaks {frames.PROTOCOL_VERSION}: rebuild the bitstream")
        return Identity(**fields)

    def submit(self, job):
        """Start ``job`` (replacing the running one); returns once the device acknowledged it."""
        fields = self._command(job.frame(), FrameType.JOB_ACK, f"JOB {job.job_id}")
        if fields["job_id"] != job.job_id:
            raise DeviceError(f"device acknowledged job {fields['job_id']}, expected {job.job_id}")

    def status(self):
        """Nonces hashed since power-on, results sent, error counters, busy."""
        fields = self._command(frames.encode(FrameType.STATUS), FrameType.STATUS_REPORT, "STATUS")
        flags = fields.pop("flags")
        return Status(**fields, busy=bool(flags & frames.STATUS_BUSY),
                      extended=bool(flags & frames.STATUS_EXTENDED))

    def abort(self):
        """Stop hashing."""
        self._command(frames.encode(FrameType.ABORT), FrameType.ABORT_ACK, "ABORT")

    def icarus_mode(self):
        """Back to the Icarus protocol (what cgminer/bfgminer expect at power-on)."""
        self._command(frames.encode(FrameType.ICARUS_MODE), FrameType.ICARUS_ACK, "ICARUS_MODE")

    def events(self, timeout):
        """Results and job-done notices that arrive within ``timeout`` seconds (at least one
        wait; returns early once something came)."""
        out = []
        try:
            item = self._events.get(timeout=timeout)
            while True:
                if isinstance(item, Exception):
                    raise item
                out.append(item)
                item = self._events.get_nowait()
        except queue.Empty:
            pass
        return out

    def close(self, icarus=True):
        """Close the port, leaving the device in Icarus mode for other clients."""
        if icarus and self._error is None:
            try:
                self.icarus_mode()
            except (DeviceError, TransportError):
                pass
        self._stop.set()
        self._reader.join(timeout=1)
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
