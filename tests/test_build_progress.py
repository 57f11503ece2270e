"""A build's progress read from its Yosys and nextpnr logs as they are written."""

import time

from hashforge.boards.build_progress import NEXTPNR_LOG, YOSYS_LOG, BuildLogWatcher

# nextpnr-ecp5's log, in the order it writes it (lines as nextpnr 0.11 prints them).
PACKING = """Info: Packing IOs..
Info: Packing carries...
"""
PLACING = """Info: Creating initial analytic placement for 49153 cells, random placement wirelen = 8011091.
Info: Running main analytical placer, max placement attempts per cell = 136087776.
"""
PLACED = """Info: Max frequency for clock '$glbnet$device.clk': 95.19 MHz (PASS at 92.86 MHz)
"""
ROUTING = """Info: Routing 275102 arcs.
Info:            |   (re-)routed arcs  |   delta    | remaining|       time spent     |
Info:    IterCnt |  w/ripup   wo/ripup |  w/r  wo/r |      arcs| batch(sec) total(sec)|
Info:       1000 |      159        840 |  159   840 |    274345|       6.82       6.82|
Info:       2000 |      396       1603 |  237   763 |    273658|       0.96       7.78|
"""
ROUTING_LATER = """Info:     818000 |   395467     403521 |  328   606 |      1817|       5.19    3475.96|
"""
ROUTED = """Info:     822526 |   397419     405872 |  279   231 |         0|      25.29    3538.23|
Info: Routing complete.
Info: Router1 time 3538.23s

Info: Max frequency for clock '$glbnet$device.clk': 100.15 MHz (PASS at 92.86 MHz)
"""


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_each_step_is_reported_once_and_routing_at_most_once_a_minute(tmp_path):
    messages, clock = [], Clock()
    watcher = BuildLogWatcher(tmp_path, messages.append, clock=clock)
    watcher.poll()
    assert messages == []                       # nothing started yet
    (tmp_path / YOSYS_LOG).write_text("-- Parsing hashforge.il --\n")
    clock.now = 5
    watcher.poll()
    watcher.poll()
    assert messages == ["[0:05] Yosys: synthesizing"]
    log = tmp_path / NEXTPNR_LOG
    messages.clear()
    for text, now in ((PACKING, 300), (PLACING, 310), (PLACED, 900), (ROUTING, 930), (ROUTING_LATER, 960),
                      (ROUTING_LATER, 1000), (ROUTED, 4500)):
        clock.now = now
        with open(log, "a") as file:
            file.write(text)
        watcher.poll()
    assert messages == [
        "[5:10] nextpnr: placing 49153 cells",
        "[15:00] nextpnr: Fmax estimate after placement: 95.19 MHz for 92.86 MHz (meets it)",
        "[15:30] nextpnr: routing 275102 arcs",
        # 960 s is 30 s after the last report: nothing; 1000 s is 70 s after it.
        "[16:40] nextpnr: routing, 1817 arcs left after 58 min",
        "[75:00] nextpnr: routing, 0 arcs left after 59 min",
        "[75:00] nextpnr: routing complete",
        "[75:00] nextpnr: Fmax routed: 100.15 MHz for 92.86 MHz (meets it)",
    ]


def test_a_line_still_being_written_waits_for_its_end(tmp_path):
    messages = []
    watcher = BuildLogWatcher(tmp_path, messages.append, clock=Clock())
    log = tmp_path / NEXTPNR_LOG
    log.write_text("Info: Max frequency for clock 'clk': 60.8")
    watcher.poll()
    assert messages == []
    with open(log, "a") as file:
        file.write("5 MHz (FAIL at 100.00 MHz)\n")
    watcher.poll()
    assert messages == ["[0:00] nextpnr: Fmax estimate after placement: 60.85 MHz for 100.00 MHz (misses it)"]


def test_the_watcher_runs_beside_the_build_and_ignores_an_earlier_builds_logs(tmp_path):
    """Logs left by an interrupted build in the same directory are removed, not reported;
    what the build writes is, including its last lines (read once more at the end)."""
    (tmp_path / NEXTPNR_LOG).write_text(PLACING + PLACED)
    messages = []
    with BuildLogWatcher(tmp_path, messages.append, poll_seconds=0.01):
        time.sleep(0.05)
        assert messages == []
        (tmp_path / NEXTPNR_LOG).write_text(ROUTING + ROUTED)
    assert [m.split("] ", 1)[1] for m in messages] == [
        "nextpnr: routing 275102 arcs", "nextpnr: routing complete",
        "nextpnr: Fmax routed: 100.15 MHz for 92.86 MHz (meets it)"]


def test_a_route_without_yosys_reads_its_own_log_and_leaves_the_builds_logs(tmp_path):
    """route_placed's watcher: its own nextpnr log (an earlier try's removed), the build's
    Yosys and nextpnr logs untouched."""
    for name in (YOSYS_LOG, NEXTPNR_LOG, "routed_seed3.log"):
        (tmp_path / name).write_text(PLACING + PLACED)
    messages = []
    with BuildLogWatcher(tmp_path, messages.append, poll_seconds=0.01, yosys_log=None,
                         nextpnr_log="routed_seed3.log"):
        time.sleep(0.05)
        assert messages == []
        (tmp_path / "routed_seed3.log").write_text(ROUTING + ROUTED)
    assert [m.split("] ", 1)[1] for m in messages] == [
        "nextpnr: routing 275102 arcs", "nextpnr: routing complete",
        "nextpnr: Fmax routed: 100.15 MHz for 92.86 MHz (meets it)"]
    assert (tmp_path / YOSYS_LOG).read_text() == (tmp_path / NEXTPNR_LOG).read_text() == PLACING + PLACED
