"""The virtual board: the device top level (UART included) in a simulator, exposed
as a pseudo-terminal that any serial client can open.

This module is the cocotb side; :mod:`hashforge.sim.virtual_board_runner` builds
and starts it. The clock is generated inside the simulator (a small Verilog
wrapper), and Python only runs once per UART bit or per poll of the pty, so
the simulator runs at its own speed in between.

Configuration in ``HASHFORGE_BOARD`` (JSON): ``clock_hz``, ``divisor``, ``info``
(a file to which the pty path and figures are written), ``seconds`` (stop after
this long; 0 = until killed), ``status_every`` (seconds between status lines),
``watch_pid`` (stop when that process is gone: a host killed without closing the
board must not leave it running).
"""

import errno
import json
import os
import time
import tty

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Timer

from hashforge.sim.uart_model import UartLine

CONFIG = json.loads(os.environ.get("HASHFORGE_BOARD", "{}"))


class PtyPort:
    """The host end of the board's serial line.

    The board keeps its own handle on the terminal side open, so a client can
    close and reopen the path as often as it likes: the pty never hangs up and
    the board keeps its state. Bytes the board sends while no client reads wait
    in the pty, as they would in a USB bridge's buffer.
    """

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)          # no echo, no line editing: a byte is a byte
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.pending = bytearray()

    def read(self):
        try:
            return os.read(self.master, 4096)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EIO):
                return b""
            raise

    def write(self, data):
        self.pending += data
        try:
            written = os.write(self.master, bytes(self.pending))
            del self.pending[:written]
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.EIO):
                raise


def write_info(**info):
    path = CONFIG.get("info")
    if path:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, path)


def _alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cocotb.test()
async def serve(dut):
    """Serve the pty until killed (or for ``seconds``)."""
    period_ps = 10**12 // CONFIG["clock_hz"]
    bit_ps = CONFIG["divisor"] * period_ps
    port = PtyPort()
    uart = UartLine(dut.rx, dut.tx, bit_ps, on_byte=lambda byte: port.write(bytes([byte])))
    dut.rst.value = 1
    await Timer(period_ps * 4, unit="ps")
    dut.rst.value = 0
    print(f"pty: {port.path}", flush=True)
    started = last_status = time.monotonic()
    last_clocks = 0
    parent = os.getppid()
    write_info(pty=port.path, pid=os.getpid(), clocks=0, clocks_per_second=0.0)
    poll_ps = bit_ps * 20                      # two byte times of the line
    while True:
        data = port.read()
        if data:
            await uart.send(data)
        else:
            if port.pending:
                port.write(b"")
            await Timer(poll_ps, unit="ps")
        now = time.monotonic()
        if now - last_status >= CONFIG.get("status_every", 2.0):
            clocks = int(get_sim_time(unit="ps")) // period_ps
            rate = (clocks - last_clocks) / (now - last_status)
            last_clocks, last_status = clocks, now
            write_info(pty=port.path, pid=os.getpid(), clocks=clocks, clocks_per_second=rate)
            if CONFIG.get("verbose", True):
                print(f"virtual board: {rate:,.0f} simulated clocks/s "
                      f"({rate / CONFIG['clock_hz']:.4f}x real time)", flush=True)
            if os.getppid() != parent or not _alive(CONFIG.get("watch_pid")):
                return                          # whoever started us is gone
        if CONFIG.get("seconds") and now - started >= CONFIG["seconds"]:
            return
