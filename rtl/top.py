"""The device: UART, protocol engine and miner behind two serial pins."""

import hashlib
import json

from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from . import frames
from .miner import Miner
from .protocol_engine import ProtocolEngine
from .uart_rx import UARTReceiver
from .uart_tx import UARTTransmitter

DEFAULT_BAUD = 115200


class HashforgeTop(wiring.Component):
    """A complete hashforge device, the same in simulation and on a board.

    Parameters
    ----------
    clock_hz : int
        Frequency of the clock domain ``sync``; sets the UART divisor and is reported
        by IDENTIFY.
    baud : int
        UART baud rate (115200 for Icarus clients; up to 3 Mbaud on FT2232H/FT231X).
    cores, clocks_per_nonce, fifo_depth :
        The miner's configuration (see :class:`Miner`).

    Attributes
    ----------
    rx : In(1)
        Serial data from the host.
    tx : Out(1)
        Serial data to the host.
    busy : Out(1)
        Hashing (for an LED).
    found : Out(1)
        Toggles with every result sent (for an LED).
    extended : Out(1)
        Extended protocol mode.
    """

    def __init__(self, clock_hz, baud=DEFAULT_BAUD, cores=1, clocks_per_nonce=16, fifo_depth=16):
        if not isinstance(clock_hz, int) or clock_hz <= 0:
            raise ValueError(f"clock_hz must be a positive integer, got {clock_hz!r}")
        if not isinstance(baud, int) or baud <= 0:
            raise ValueError(f"baud must be a positive integer, got {baud!r}")
        self.clock_hz, self.baud = clock_hz, baud
        self.divisor = round(clock_hz / baud)
        if abs(clock_hz / self.divisor / baud - 1) > 0.02:
            raise ValueError(f"a {clock_hz} Hz clock cannot make {baud} baud within 2% "
                             f"(nearest divisor {self.divisor} gives {clock_hz / self.divisor:.0f} baud)")
        self.miner_config = {"cores": cores, "clocks_per_nonce": clocks_per_nonce, "fifo_depth": fifo_depth}
        self.miner = Miner(**self.miner_config)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "busy": Out(1), "found": Out(1),
                          "extended": Out(1)})

    @property
    def config(self):
        return {"clock_hz": self.clock_hz, "baud": self.baud, **self.miner_config}

    @property
    def build_id(self):
        """32 bits of the configuration's digest, reported by IDENTIFY."""
        text = json.dumps({**self.config, "protocol": frames.PROTOCOL_VERSION}, sort_keys=True)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")

    @property
    def gap_clocks(self):
        return frames.GAP_BYTE_TIMES * 10 * self.divisor

    @property
    def nonces_per_second(self):
        return self.clock_hz * self.miner.nonces_per_clock

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = uart_rx = UARTReceiver(self.divisor)
        m.submodules.uart_tx = uart_tx = UARTTransmitter(self.divisor)
        m.submodules.miner = miner = self.miner
        identity = {**self.miner_config, "clock_hz": self.clock_hz, "baud": self.baud,
                    "build_id": self.build_id}
        m.submodules.engine = engine = ProtocolEngine(identity, self.gap_clocks)

        m.d.comb += [
            uart_rx.rx.eq(self.rx),
            self.tx.eq(uart_tx.tx),
            engine.rx.valid.eq(uart_rx.bytes.valid),
            engine.rx.payload.eq(uart_rx.bytes.payload),
            uart_rx.bytes.ready.eq(engine.rx.ready),
            engine.framing_error.eq(uart_rx.framing_error),
            uart_tx.bytes.valid.eq(engine.tx.valid),
            uart_tx.bytes.payload.eq(engine.tx.payload),
            engine.tx.ready.eq(uart_tx.bytes.ready),
            miner.midstate.eq(engine.job.midstate),
            miner.tail.eq(engine.job.tail),
            miner.target.eq(engine.job.target),
            miner.swap_nonce.eq(engine.job.flags[0]),
            miner.first.eq(engine.job.first),
            miner.last.eq(engine.job.last),
            miner.job_id.eq(engine.job.job_id),
            miner.start.eq(engine.job_start),
            miner.abort.eq(engine.job_abort),
            engine.results.valid.eq(miner.results.valid),
            engine.results.payload.eq(miner.results.payload),
            miner.results.ready.eq(engine.results.ready),
            engine.nonces_hashed.eq(miner.nonces_hashed),
            engine.miner_busy.eq(miner.busy),
            self.busy.eq(miner.busy),
            self.extended.eq(engine.extended),
        ]
        with m.If(miner.results.valid & miner.results.ready):
            m.d.sync += self.found.eq(~self.found)
        return m
