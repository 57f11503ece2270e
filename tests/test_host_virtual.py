"""The host against the virtual board, through the same calls a real board gets,
and the faults a real board can show."""

import json
import os
import signal
import struct
import subprocess
import sys
import time

import pytest

from hashforge.rtl import frames
from hashforge.host.bench import HashrateBench, poisson_interval
from hashforge.host.device import Device
from hashforge.host.scan import recall, scan_on_device
from hashforge.host.work import hashes_per_result
from hashforge.host.transport import SerialTransport, TransportError
from hashforge.host.virtual import VirtualBoard
from hashforge.sim import golden
from hashforge.sim.toolchain import missing_reason

from conftest import VIRTUAL_BOARD, load_vectors

VECTORS = load_vectors()

pytestmark = pytest.mark.slow


@pytest.fixture
def device(board):
    dev = Device.open(board.port)
    yield dev
    dev.close()


def test_identify(device):
    identity = device.identify()
    assert (identity.version, identity.cores, identity.clocks_per_nonce) == (frames.PROTOCOL_VERSION, 2, 4)
    assert identity.clock_hz == 1_843_200 and identity.baud == 115_200
    assert identity.promised_hashrate == 1_843_200 * 2 / 4


@pytest.mark.parametrize("block", VECTORS["blocks"], ids=lambda b: f"height{b['height']}")
def test_scan_recall_on_public_headers(device, block):
    raw = bytes.fromhex(block["header"])
    start, count = block["nonce"] - 3000, 3500
    job, returned, done = scan_on_device(device, raw, start, count, zero_bits=32, timeout=120)
    assert done, "the device did not report the range finished"
    assert block["nonce"] in returned
    assert recall(golden.scan(raw, start, count, 32), returned) == {"missed": [], "extra": [], "duplicated": []}


def test_scan_recall_at_easy_target(device):
    raw = bytes(range(80))
    job, returned, done = scan_on_device(device, raw, 1000, 2000, zero_bits=5, timeout=120)
    expected = golden.scan(raw, 1000, 2000, 5)
    assert done and len(expected) > 20
    assert recall(expected, returned) == {"missed": [], "extra": [], "duplicated": []}


def test_bench_figures_consistent_with_counter(device, board):
    report = HashrateBench(device, device.identify(), board, seed=1).run(4)
    assert report.error is None
    assert report.hardware_errors == 0 and report.shares > 20
    # Shares are a Poisson count of the nonces the counter saw: far outside 4.5 sigma
    # means the two disagree (a 95% interval alone would fail one run in twenty).
    expected = report.nonces_counted / hashes_per_result(report.device_target)
    assert abs(report.shares - expected) <= 4.5 * expected ** 0.5 + 2, report.as_dict()
    status = device.status()
    assert status.nonces_hashed >= report.nonces_counted > 0


def test_close_and_reopen_keeps_board_state(board):
    with Device.open(board.port) as first:
        hashed = first.status().nonces_hashed
    for _ in range(3):
        with Device.open(board.port) as again:
            assert again.status().nonces_hashed >= hashed


def test_garbage_on_the_line_is_skipped_and_counted(board):
    class GarbledTransport(SerialTransport):
        """A burst of noise (with stray sync bytes) arrives ahead of the first reply."""
        noise = bytes([0x00, 0xA5, 0x13, 0xFF, 0xA5, 0x96, 0x83, 0x14, 0x77] * 8)

        def read(self, size=4096):
            data = super().read(size)
            if data and self.noise:
                data, self.noise = self.noise + data, b""
            return data

    device = Device(GarbledTransport(board.port))
    try:
        assert device.identify().cores == 2
        assert device.status().nonces_hashed > 0
        assert device.garbage_bytes > 0
    finally:
        device.close()


def test_wrong_nonce_below_the_driver_is_a_hardware_error(board):
    class LyingTransport(SerialTransport):
        """Rewrites every RESULT frame's nonce and fixes its CRC: a device computing wrongly."""
        header = bytes(frames.SYNC) + bytes([frames.FrameType.RESULT])
        length = frames.frame_length(frames.FrameType.RESULT)
        held = bytearray()

        def read(self, size=4096):
            data = self.held + super().read(size)
            self.held = bytearray()
            at = data.find(self.header)
            while at >= 0:
                if len(data) < at + self.length:
                    data, self.held = data[:at], bytearray(data[at:])    # wait for the rest
                    break
                body = bytearray(data[at + 2:at + self.length - 2])
                struct.pack_into("<I", body, 3, struct.unpack_from("<I", body, 3)[0] ^ 0x5A5A)
                data[at + 2:at + self.length] = body + struct.pack(">H", frames.crc16(bytes(body)))
                at = data.find(self.header, at + self.length)
            for k in (2, 1):                        # a header cut between reads
                if not self.held and data[-k:] == self.header[:k]:
                    data, self.held = data[:-k], bytearray(data[-k:])
            return bytes(data)

    device = Device(LyingTransport(board.port))
    try:
        report = HashrateBench(device, device.identify(), board, seed=2).run(2)
        assert report.results > 0
        assert report.hardware_errors > 0 and report.hardware_errors + report.shares == report.results
        assert not report.agree
    finally:
        device.close()


def test_device_disappearing_mid_run_keeps_what_was_measured():
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    board = VirtualBoard(**VIRTUAL_BOARD).start()
    device = Device.open(board.port)
    import threading

    def kill_after_two_samples(sample, report):
        # Not on a timer: on a loaded machine set-up alone can take seconds.
        if len(report.samples) == 2:
            threading.Thread(target=board.close).start()

    bench = HashrateBench(device, device.identify(), board, seed=3, on_sample=kill_after_two_samples)
    report = bench.run(60)
    device.close()
    assert report.error is not None and ("disappeared" in report.error or "stopped" in report.error)
    assert report.seconds > 0.5 and report.nonces_counted > 0


def hashforge(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "hashforge.host.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_missing_port_is_a_one_line_error():
    result = hashforge("bench", "--device", "/dev/ttyHASHFORGE-NONE", "--seconds", "1")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "/dev/ttyHASHFORGE-NONE" in lines[0] and "does not exist" in lines[0]


def test_busy_port_is_a_one_line_error(board):
    holder = SerialTransport(board.port)
    try:
        with pytest.raises(TransportError, match="busy"):
            SerialTransport(board.port)
        result = hashforge("bench", "--device", board.port, "--seconds", "1")
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and len(lines) == 1 and "busy" in lines[0], result.stderr
    finally:
        holder.close()


def test_scan_command_on_device_reports_recall(board):
    block = VECTORS["blocks"][0]
    result = hashforge("scan", block["header"], "--start", str(block["nonce"] - 1500), "--count", "2000",
                       "--zero-bits", "32", "--device", board.port, "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["nonces"] == [block["nonce"]] and info["recall_ok"]


def test_icarus_client_after_host_session(board):
    """After the hashforge host closes, a plain Icarus client gets its golden answer."""
    with Device.open(board.port) as device:
        device.identify()
    work = VECTORS["icarus_golden_work"]
    transport = SerialTransport(board.port)
    try:
        transport.write(bytes.fromhex(work["work"]))
        reply = b""
        deadline = time.monotonic() + 60
        while len(reply) < 4 and time.monotonic() < deadline:
            reply += transport.read(4 - len(reply))
        assert reply.hex() == work["reply"]
    finally:
        transport.close()


def test_poisson_interval_brackets_the_count():
    low, high = poisson_interval(100)
    assert 80 < low < 100 < high < 125
    assert poisson_interval(0)[0] == 0.0


def test_bench_command_json_and_plot(board, tmp_path):
    plot = tmp_path / "rate.png"
    result = hashforge("bench", "--device", board.port, "--seconds", "2", "--json", "--plot", str(plot),
                       timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[-1]["type"] == "summary" and lines[-1]["hardware_errors"] == 0
    assert any(line["type"] == "sample" for line in lines)
    assert plot.stat().st_size > 1000 and plot.read_bytes()[:4] == b"\x89PNG"


def _running(pgid):
    """Processes of a process group that are still running (zombies do not count)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def test_board_stops_when_the_host_that_started_it_is_killed(board):
    script = ("import json, time\nfrom pathlib import PosixPath\n"
              "from hashforge.host.virtual import VirtualBoard\n"
              f"b = VirtualBoard(**{VIRTUAL_BOARD!r}).start()\n"
              "print(json.dumps({'pid': b.process.pid}), flush=True)\n"
              "time.sleep(600)\n")
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    board_pid = json.loads(host.stdout.readline())["pid"]
    assert _running(board_pid), "the board did not start"
    host.kill()                          # no close(), no atexit: as if the host crashed
    host.wait()
    deadline = time.monotonic() + 30
    while _running(board_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _running(board_pid)
    if left:
        os.killpg(board_pid, signal.SIGKILL)
    assert not left, f"board processes {left} kept running after their host was killed"


@pytest.mark.soak
def test_soak_thirty_minutes_no_lost_or_duplicated_results(board):
    """Back-to-back scans for 30 minutes: every range's results equal the golden model's."""
    import random
    rng = random.Random(30)
    deadline = time.monotonic() + 30 * 60
    ranges = 0
    with Device.open(board.port) as device:
        while time.monotonic() < deadline:
            raw = rng.randbytes(80)
            start = rng.randrange(0, 2**32 - 20000)
            job, returned, done = scan_on_device(device, raw, start, 20000, zero_bits=6, timeout=300)
            assert done, f"range {ranges} did not finish"
            assert recall(golden.scan(raw, start, 20000, 6), returned) == \
                {"missed": [], "extra": [], "duplicated": []}, f"range {ranges}"
            ranges += 1
    assert ranges > 10
