"""Build and run the virtual board (see :mod:`hashforge.sim.virtual_board`)."""

import fcntl
import hashlib
import json
import os
import pathlib
from dataclasses import asdict, dataclass

from cocotb_tools.runner import get_runner

from hashforge.rtl.top import HashforgeTop
from hashforge.rtl.verilog import write_verilog

from .toolchain import prepare_environment

TOPLEVEL = "hashforge_vboard"
DEFAULT_BUILD_ROOT = pathlib.Path("build") / "vboard"


@dataclass(frozen=True)
class VirtualBoardConfig:
    """What the virtual board is built as. Its clock is slower than a real board's so
    the simulator gets through a UART byte quickly; the baud rate is the real one."""

    cores: int = 1
    clocks_per_nonce: int = 4
    clock_hz: int = 1_843_200       # 16 clocks per bit at 115200 baud
    baud: int = 115_200
    simulator: str = "verilator"

    def top(self):
        return HashforgeTop(clock_hz=self.clock_hz, baud=self.baud, cores=self.cores,
                            clocks_per_nonce=self.clocks_per_nonce)

    @property
    def name(self):
        return (f"{self.simulator}-cores{self.cores}-cpn{self.clocks_per_nonce}-"
                f"{self.clock_hz}hz-{self.baud}baud")


def wrapper_verilog(period_ps):
    """A clock made inside the simulator: no simulator callback per clock edge."""
    half = period_ps // 2
    return f"""`timescale 1ns/1ps
module {TOPLEVEL}(input wire rst, input wire rx, output wire tx,
                       output wire busy, output wire found, output wire extended);
  reg clk = 1'b0;
  always #({half / 1000:.3f}) clk = ~clk;
  hashforge_top top(.clk(clk), .rst(rst), .rx(rx), .tx(tx),
                    .busy(busy), .found(found), .extended(extended));
endmodule
"""


def period_ps(clock_hz):
    """Clock period in ps, made even so both half periods are whole picoseconds."""
    return (10**12 // clock_hz) & ~1


def build(config, build_root=DEFAULT_BUILD_ROOT):
    """Compile the virtual board once per design; later calls reuse the build.

    Two boards of the same design started at once (parallel tests, two terminals)
    take turns here rather than compiling over each other.
    """
    prepare_environment(config.simulator)
    build_dir = (pathlib.Path(build_root) / config.name).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_locked(config, build_dir)


def _build_locked(config, build_dir):
    top = config.top()
    source = write_verilog(top, "hashforge_top", build_dir)
    wrapper = build_dir / f"{TOPLEVEL}.v"
    wrapper.write_text(wrapper_verilog(period_ps(config.clock_hz)))
    digest = hashlib.sha256(source.read_bytes() + wrapper.read_bytes()).hexdigest()
    stamp = build_dir / "build.stamp"
    runner = get_runner(config.simulator)
    cached = stamp.exists() and stamp.read_text() == digest
    if cached:
        # The runner must still be told what was built (test() reads it), but nothing runs.
        runner._build_command = lambda: []
    else:
        stamp.unlink(missing_ok=True)
    build_args = ["--timing", "-Wno-fatal", "-O3"] if config.simulator == "verilator" else []
    runner.build(sources=[source, wrapper], hdl_toplevel=TOPLEVEL, build_dir=build_dir,
                 build_args=build_args, timescale=("1ns", "1ps"), log_file=build_dir / "build.log")
    stamp.write_text(digest)
    return runner, build_dir, top


def serve(config, build_root=DEFAULT_BUILD_ROOT, info_file=None, seconds=0, status_every=2.0,
          verbose=True, log_file=None, watch_pid=None):
    """Build if needed, then run the board until killed (or for ``seconds``).

    The simulator prints ``pty: /dev/pts/N`` once it serves; with ``info_file`` the
    path and the measured simulated clock rate are also written there as JSON.
    """
    runner, build_dir, top = build(config, build_root)
    board = {"clock_hz": config.clock_hz, "divisor": top.divisor, "info": str(info_file or ""),
             "seconds": seconds, "status_every": status_every, "verbose": verbose,
             "watch_pid": watch_pid}
    env = {"HASHFORGE_BOARD": json.dumps(board), "PATH": os.environ["PATH"],
           "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING")}
    results = build_dir / "results.xml"
    runner.test(hdl_toplevel=TOPLEVEL, test_module="hashforge.sim.virtual_board", build_dir=build_dir,
                extra_env=env, results_xml=str(results),
                timescale=("1ns", "1ps") if config.simulator == "icarus" else None,
                log_file=log_file)
    return top


def describe(config):
    top = config.top()
    return {**asdict(config), "divisor": top.divisor, "build_id": top.build_id,
            "nonces_per_clock": top.miner.nonces_per_clock}
