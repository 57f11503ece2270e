"""The device side of the protocol: Icarus work and extended frames in, jobs to the
miner, nonces and replies out."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import frames
from .frame_layouts import pack_payload, payload_layout
from .frame_receiver import FrameReceiver
from .frame_transmitter import FrameTransmitter
from .icarus_receiver import IcarusReceiver
from .job_loader import JobLoader
from .miner import RESULT_LAYOUT

FrameType = frames.FrameType
GAP_TICK = 16       # clocks per step of the line-pause counter


class ProtocolEngine(wiring.Component):
    """Icarus mode at power-on; extended mode after any valid extended frame.

    In Icarus mode a 64-byte work packet starts the whole nonce space (W3 counted
    upwards, split over the cores, device target zero) and each qualifying nonce
    goes back as its 4 bytes, W3 big-endian. Any valid extended frame switches to
    extended mode (aborting Icarus work, unless the frame is a job): then work packets
    are ignored, commands are answered with frames, and results are RESULT frames.
    ICARUS_MODE returns to Icarus mode. See ``docs/protocol.md``.

    Parameters
    ----------
    identity : dict
        IDENTITY fields other than ``version`` (cores, clocks_per_nonce, fifo_depth,
        clock_hz, baud, build_id).
    gap_clocks : int
        A byte arriving this many clocks (up to ``GAP_TICK`` more) after the previous
        one begins a new packet or frame.

    Attributes
    ----------
    rx : In(stream.Signature(8))
    framing_error : In(1)
        From the UART receiver (counted).
    tx : Out(stream.Signature(8))
    job : Out(payload layout of JOB), job_start, job_abort : Out(1)
        To the miner: the job fields are held until the next job. A new job takes
        :attr:`JobLoader.clocks` clocks to load; the miner is stopped meanwhile.
    results : In(stream.Signature(RESULT_LAYOUT))
    nonces_hashed : In(64)
    miner_busy : In(1)
    extended : Out(1)
        The mode (for an LED).
    """

    def __init__(self, identity, gap_clocks):
        self.identity = {"version": frames.PROTOCOL_VERSION, **identity}
        self.gap_clocks = gap_clocks
        super().__init__({
            "rx": In(stream.Signature(8)),
            "framing_error": In(1),
            "tx": Out(stream.Signature(8)),
            "job": Out(payload_layout(FrameType.JOB)),
            "job_start": Out(1),
            "job_abort": Out(1),
            "results": In(stream.Signature(RESULT_LAYOUT)),
            "nonces_hashed": In(64),
            "miner_busy": In(1),
            "extended": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.icarus = icarus = IcarusReceiver()
        m.submodules.frames = receiver = FrameReceiver()
        m.submodules.transmitter = transmitter = FrameTransmitter()
        m.submodules.loader = loader = JobLoader()
        m.d.comb += [
            icarus.read_address.eq(loader.icarus_address), loader.icarus_data.eq(icarus.read_data),
            receiver.read_address.eq(loader.frame_address), loader.frame_data.eq(receiver.read_data),
            self.job.eq(loader.job),
        ]
        m.d.comb += self.rx.ready.eq(1)

        # A pause on the line: the next byte starts afresh.
        # Counted in ticks of GAP_TICK clocks: a 16-bit clock counter's carry chain,
        # split up on a full iCE40, was once the device's critical path. The gap is
        # then up to one tick longer than ``gap_clocks``.
        tick_count = Signal(range(GAP_TICK))
        m.d.sync += tick_count.eq(tick_count + 1)
        gap_ticks = -(-self.gap_clocks // GAP_TICK)
        quiet = Signal(range(gap_ticks + 1), init=gap_ticks)
        with m.If(self.rx.valid):
            m.d.sync += quiet.eq(0)
        with m.Elif((tick_count == GAP_TICK - 1) & (quiet != gap_ticks)):
            m.d.sync += quiet.eq(quiet + 1)
        fresh = quiet == gap_ticks
        for sink in (icarus, receiver):
            m.d.comb += [sink.bytes.valid.eq(self.rx.valid), sink.bytes.payload.eq(self.rx.payload),
                         sink.fresh.eq(fresh)]
        m.d.comb += icarus.enable.eq(~self.extended)

        crc_errors, framing_errors, frames_dropped = Signal(16), Signal(16), Signal(16)
        results_sent = Signal(32)
        with m.If(receiver.crc_error):
            m.d.sync += crc_errors.eq(crc_errors + 1)
        with m.If(self.framing_error):
            m.d.sync += framing_errors.eq(framing_errors + 1)

        reply_pending, reply_type = Signal(), Signal(8)
        job_active, done_pending, done_job_id = Signal(), Signal(), Signal(8)
        m.d.sync += [self.job_start.eq(0), self.job_abort.eq(0)]

        # A new job stops the miner, loads, then starts it.
        loading_frame_job = Signal()
        # A JOB frame is 64 bytes, as long as an Icarus packet: both receivers may finish
        # at the same byte in Icarus mode, and the frame wins (it switches the mode).
        with m.If(icarus.work_valid & ~self.extended & ~receiver.frame_valid):
            m.d.comb += loader.load_icarus.eq(1)
            m.d.sync += [self.job_abort.eq(1), loading_frame_job.eq(0)]
        # A register of the loader's busy state: the loader's own is a compare on its
        # byte counter, which ran on through the transmit choice into the result FIFO
        # within one clock (the ECP5 builds' critical path). One clock longer at the end.
        loading = Signal()
        with m.If(loader.load_frame | loader.load_icarus):
            m.d.sync += loading.eq(1)
        with m.Elif(loader.done):
            m.d.sync += loading.eq(0)
        with m.If(loader.done):
            m.d.sync += self.job_start.eq(1)
            with m.If(loading_frame_job):
                m.d.sync += [job_active.eq(1), done_pending.eq(0)]

        with m.If(receiver.frame_valid):
            with m.If(reply_pending):
                m.d.sync += frames_dropped.eq(frames_dropped + 1)
            m.d.sync += [reply_pending.eq(1), reply_type.eq(receiver.frame_type | 0x80),
                         self.extended.eq(1)]
            with m.Switch(receiver.frame_type):
                with m.Case(FrameType.JOB):
                    m.d.comb += loader.load_frame.eq(1)
                    m.d.sync += [self.job_abort.eq(1), loading_frame_job.eq(1), job_active.eq(0),
                                 done_pending.eq(0)]
                with m.Case(FrameType.ABORT):
                    m.d.sync += [self.job_abort.eq(1), job_active.eq(0), done_pending.eq(0)]
                with m.Case(FrameType.ICARUS_MODE):
                    m.d.sync += [self.extended.eq(0), self.job_abort.eq(1), job_active.eq(0),
                                 done_pending.eq(0)]
                with m.Default():
                    with m.If(~self.extended):
                        m.d.sync += self.job_abort.eq(1)      # leaving Icarus mode stops its work
        with m.If(receiver.dropped):
            m.d.sync += frames_dropped.eq(frames_dropped + 1)

        # The job is done when the miner has drained (its busy covers buffered results).
        with m.If(job_active & ~self.miner_busy & ~self.job_start & ~receiver.frame_valid & ~loading):
            m.d.sync += [job_active.eq(0), done_pending.eq(1), done_job_id.eq(self.job.job_id)]

        # Transmit: a pending reply first, then results, then the job-done notice.
        width = 8 * transmitter.max_payload
        status_flags = Cat(self.miner_busy, self.extended)
        replies = {
            FrameType.IDENTITY: pack_payload(FrameType.IDENTITY, width, **self.identity),
            FrameType.JOB_ACK: pack_payload(FrameType.JOB_ACK, width, job_id=self.job.job_id),
            FrameType.STATUS_REPORT: pack_payload(
                FrameType.STATUS_REPORT, width, nonces_hashed=self.nonces_hashed,
                results_sent=results_sent, crc_errors=crc_errors, framing_errors=framing_errors,
                frames_dropped=frames_dropped, job_id=self.job.job_id, flags=status_flags),
            FrameType.ABORT_ACK: pack_payload(FrameType.ABORT_ACK, width),
            FrameType.ICARUS_ACK: pack_payload(FrameType.ICARUS_ACK, width),
        }
        result = self.results.payload
        nonce_bytes = Cat(result.nonce[24:32], result.nonce[16:24], result.nonce[8:16], result.nonce[0:8])
        m.d.comb += [self.tx.payload.eq(transmitter.bytes.payload),
                     self.tx.valid.eq(transmitter.bytes.valid),
                     transmitter.bytes.ready.eq(self.tx.ready)]
        with m.If(transmitter.idle):
            with m.If(reply_pending & ~loading):      # JOB_ACK carries the loaded job's id
                m.d.comb += [transmitter.send.eq(1), transmitter.frame_type.eq(reply_type)]
                m.d.sync += reply_pending.eq(0)
                with m.Switch(reply_type):
                    for frame_type, payload in replies.items():
                        with m.Case(frame_type):
                            m.d.comb += [transmitter.payload.eq(payload),
                                         transmitter.length.eq(frames.payload_length(frame_type))]
            with m.Elif(self.results.valid):
                m.d.comb += [self.results.ready.eq(1), transmitter.send.eq(1)]
                m.d.sync += results_sent.eq(results_sent + 1)
                with m.If(self.extended):
                    m.d.comb += [
                        transmitter.frame_type.eq(FrameType.RESULT),
                        transmitter.length.eq(frames.payload_length(FrameType.RESULT)),
                        transmitter.payload.eq(pack_payload(FrameType.RESULT, width, job_id=result.job_id,
                                                            nonce=result.nonce)),
                    ]
                with m.Else():
                    m.d.comb += [transmitter.raw.eq(1), transmitter.length.eq(frames.ICARUS_REPLY_BYTES),
                                 transmitter.payload.eq(nonce_bytes)]
            with m.Elif(done_pending & ~reply_pending & ~loading):
                m.d.comb += [
                    transmitter.send.eq(1), transmitter.frame_type.eq(FrameType.JOB_DONE),
                    transmitter.length.eq(frames.payload_length(FrameType.JOB_DONE)),
                    transmitter.payload.eq(pack_payload(FrameType.JOB_DONE, width, job_id=done_job_id)),
                ]
                m.d.sync += done_pending.eq(0)
        return m
