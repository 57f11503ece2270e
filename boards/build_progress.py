"""A running build's progress, read from its logs as Yosys and nextpnr write them.

A fully pipelined 85F build runs for an hour, most of it in nextpnr; its estimate after
placement tells early whether the build can meet its clock (those estimates have run 5-9
MHz under the routed Fmax here), and the router's arcs left say how far routing has got.
"""

import re
import threading
import time

YOSYS_LOG = "hashforge.rpt"
NEXTPNR_LOG = "hashforge.tim"

_PLACING = re.compile(r"^Info: Creating initial analytic placement for (\d+) cells")
# nextpnr's Fmax line, after placement (its estimate) and after routing: clock, MHz, PASS/FAIL, target.
NEXTPNR_FMAX = re.compile(r"^Info: Max frequency for clock '([^']+)': ([\d.]+) MHz \((PASS|FAIL) at ([\d.]+) MHz\)")
_ROUTING = re.compile(r"^Info: Routing (\d+) arcs\.")
# router1's table: iterations | (re-)routed arcs | delta | remaining arcs | time spent
_ROUTER_ROW = re.compile(r"^Info:\s+\d+ \|\s+\d+\s+\d+ \|\s+-?\d+\s+-?\d+ \|\s+(\d+)\|\s+[\d.]+\s+([\d.]+)\|")
_ROUTED = re.compile(r"^Info: Routing complete\.")


class BuildLogWatcher:
    """Reports a build's steps through ``progress`` while it runs, from a thread that
    reads the logs in ``out_dir`` every ``poll_seconds``; routing is reported at most
    every ``routing_every_seconds``. Use as a context manager around the build; logs
    left by an earlier, interrupted build in the same directory are removed first, so
    nothing stale is reported. ``yosys_log`` None: a run with no Yosys step (routing a
    placed netlist), whose directory's Yosys log is left alone."""

    def __init__(self, out_dir, progress, poll_seconds=2.0, routing_every_seconds=60.0, clock=time.monotonic,
                 yosys_log=YOSYS_LOG, nextpnr_log=NEXTPNR_LOG):
        self.out_dir = out_dir
        self.progress = progress
        self.yosys_log = yosys_log
        self.nextpnr_log = nextpnr_log
        self.poll_seconds = poll_seconds
        self.routing_every_seconds = routing_every_seconds
        self.clock = clock
        self.started = clock()
        self._offset = 0
        self._partial = ""
        self._yosys_seen = False
        self._routed = False
        self._last_routing_report = None
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        for name in (self.yosys_log, self.nextpnr_log):
            if name is not None:
                (self.out_dir / name).unlink(missing_ok=True)
        self.started = self.clock()
        self._thread = threading.Thread(target=self._run, name="build-log-watcher", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.poll()             # the lines written since the last poll
        return False

    def _run(self):
        while not self._stop.wait(self.poll_seconds):
            self.poll()

    def poll(self):
        if self.yosys_log and not self._yosys_seen and (self.out_dir / self.yosys_log).exists():
            self._yosys_seen = True
            self._say("Yosys: synthesizing")
        try:
            with open(self.out_dir / self.nextpnr_log, errors="replace") as log:
                log.seek(self._offset)
                text = log.read()
                self._offset = log.tell()
        except OSError:
            return
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()         # a line still being written
        for line in lines:
            self._line(line)

    def _line(self, line):
        if match := _PLACING.match(line):
            self._say(f"nextpnr: placing {match[1]} cells")
        elif match := NEXTPNR_FMAX.match(line):
            when = "routed" if self._routed else "estimate after placement"
            self._say(f"nextpnr: Fmax {when}: {match[2]} MHz for {match[4]} MHz "
                      f"({'meets' if match[3] == 'PASS' else 'misses'} it)")
        elif match := _ROUTING.match(line):
            self._last_routing_report = self.clock()
            self._say(f"nextpnr: routing {match[1]} arcs")
        elif match := _ROUTER_ROW.match(line):
            now = self.clock()
            if self._last_routing_report is None or now - self._last_routing_report >= self.routing_every_seconds:
                self._last_routing_report = now
                self._say(f"nextpnr: routing, {match[1]} arcs left after {float(match[2]) / 60:.0f} min")
        elif _ROUTED.match(line):
            self._routed = True
            self._say("nextpnr: routing complete")

    def _say(self, message):
        minutes, seconds = divmod(int(self.clock() - self.started), 60)
        self.progress(f"[{minutes}:{seconds:02d}] {message}")
