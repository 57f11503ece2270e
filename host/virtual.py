"""Starting the virtual board from the host, as a separate process.

The host never imports the simulator: it runs ``hashforge board --virtual`` and
opens the pty that process announces, exactly as it would open a real board.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from .transport import TransportError

# The first start compiles the simulation model (a minute or two); later ones reuse it.
START_TIMEOUT = 900


class VirtualBoard:
    """A running virtual board. Use as a context manager; ``port`` is the pty path."""

    def __init__(self, cores=1, clocks_per_nonce=4, clock_hz=1_843_200, baud=115_200,
                 simulator="verilator", build_dir="build/vboard", log=None):
        self.config = {"cores": cores, "clocks_per_nonce": clocks_per_nonce, "clock_hz": clock_hz,
                       "baud": baud, "simulator": simulator}
        self.build_dir = build_dir
        self.log = log
        self.process = None
        self.port = None
        self._info_dir = tempfile.mkdtemp(prefix="hashforge-vboard-")
        self.info_file = os.path.join(self._info_dir, "board.json")

    def start(self, timeout=START_TIMEOUT, on_wait=None):
        if self.log is None:
            self.log = os.path.join(self._info_dir, "board.log")
        command = [sys.executable, "-m", "hashforge.host.cli", "board", "--virtual", "--quiet",
                   "--info", self.info_file, "--build-dir", str(self.build_dir),
                   "--simulator", self.config["simulator"], "--cores", str(self.config["cores"]),
                   "--clocks-per-nonce", str(self.config["clocks_per_nonce"]),
                   "--clock-hz", str(self.config["clock_hz"]), "--baud", str(self.config["baud"]),
                   "--exit-with", str(os.getpid())]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.info()
            if info and info.get("pty"):
                self.port = info["pty"]
                return self
            if self.process.poll() is not None:
                raise TransportError(f"the virtual board exited (status {self.process.returncode}) "
                                     f"before serving: {self.last_log_line()} (full log: {self.log})")
            if on_wait:
                on_wait()
            time.sleep(0.2)
        self.close()
        raise TransportError(f"the virtual board did not start within {timeout:.0f} s")

    def last_log_line(self):
        try:
            with open(self.log, errors="replace") as f:
                lines = [line.strip() for line in f if line.strip()]
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    def info(self):
        """The board's own report: pty path and simulated clocks per second."""
        try:
            with open(self.info_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    @property
    def clocks_per_second(self):
        info = self.info() or {}
        return info.get("clocks_per_second") or None

    def close(self):
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.process = None

    def __enter__(self):
        return self.start() if self.process is None else self

    def __exit__(self, *exc):
        self.close()
