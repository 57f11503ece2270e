"""Placing one build's netlist with several seeds and ranking the placements."""

import subprocess
import sys

import pytest
from conftest import ecp5_counter_netlist

from hashforge.boards import seed_sweep
from hashforge.boards.placed_timing import placement_command
from hashforge.boards.seed_sweep import main, parse_seeds, placement_estimate_mhz, seed_files

SCRIPT = ('"$YOSYS" -q -l hashforge.rpt hashforge.ys\n'
          '"$NEXTPNR_ECP5" --quiet --report report.json --timing-allow-fail --seed 2 --log hashforge.tim '
          '--25k --package CABGA381 --speed 6 --json hashforge.json --lpf hashforge.lpf --lpf-allow-unconstrained '
          '--textcfg hashforge.config\n')


def stand_in_build(directory, fake_nextpnr):
    """A build directory whose nextpnr is the Python script ``fake_nextpnr``; returns
    the command that runs it."""
    launcher = directory / "nextpnr"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} {fake_nextpnr} \"$@\"\n")
    launcher.chmod(0o755)
    (directory / "build_hashforge.sh").write_text(SCRIPT)
    (directory / "hashforge.json").write_text("{}")
    return launcher


def test_seeds_are_numbers_and_ranges_in_the_order_given():
    assert parse_seeds("1-4") == [1, 2, 3, 4]
    assert parse_seeds("7, 2,3-4,3") == [7, 2, 3, 4]
    for bad in ("", "a", "4-2", "1-", "-3"):
        with pytest.raises(ValueError):
            parse_seeds(bad)


def test_the_estimate_is_the_slowest_clocks_and_none_without_one():
    log = ("Info: Max frequency for clock '$glbnet$clk': 95.08 MHz (FAIL at 100.00 MHz)\n"
           "Info: Max frequency for clock 'slow': 41.50 MHz (PASS at 12.00 MHz)\n")
    assert placement_estimate_mhz(log) == 41.50
    assert placement_estimate_mhz("ERROR: Unable to place cell 'x'\n") is None


def test_each_seed_gets_the_builds_command_with_its_seed_and_files(tmp_path):
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert placement_command(tmp_path, "nextpnr-ecp5", 7, *seed_files(7)) == [
        "nextpnr-ecp5", "--quiet", "--timing-allow-fail", "--seed", "7", "--25k", "--package", "CABGA381",
        "--speed", "6", "--json", "hashforge.json", "--lpf", "hashforge.lpf", "--lpf-allow-unconstrained",
        "--no-route", "--write", "placed_seed7.json", "--log", "placed_seed7.log"]
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT.replace("--seed 2 ", ""))
    assert placement_command(tmp_path, "nextpnr-ecp5", 3, *seed_files(3))[-8:] == [
        "--lpf-allow-unconstrained", "--seed", "3", "--no-route", "--write", "placed_seed3.json",
        "--log", "placed_seed3.log"]


def test_bad_directories_get_one_line_errors(tmp_path, capsys):
    assert main([str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 2
    assert "no build_hashforge.sh" in capsys.readouterr().err
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert main([str(tmp_path)]) == 2
    assert "no hashforge.json" in capsys.readouterr().err
    assert main([str(tmp_path), "--seeds", "3-1"]) == 2
    assert "runs backwards" in capsys.readouterr().err


def test_a_failing_placement_is_reported_and_the_others_still_ranked(tmp_path):
    """A stand-in nextpnr that places seed 2 (an estimate in its log; two flip-flops 7
    tiles apart) and fails seed 5: seed 2 ranks first, seed 5 says failed and names its log."""
    fake = tmp_path / "fake_nextpnr.py"
    fake.write_text(
        "import sys\n"
        "args = sys.argv[1:]\n"
        "seed, placed, log = (args[args.index(o) + 1] for o in ('--seed', '--write', '--log'))\n"
        "if seed == '5':\n"
        "    open(log, 'w').write('ERROR: cannot place\\n'); print('ERROR: cannot place', file=sys.stderr)\n"
        "    sys.exit(1)\n"
        "open(log, 'w').write(\"Info: Max frequency for clock 'clk': 88.50 MHz (FAIL at 100.00 MHz)\\n\")\n"
        "import json\n"
        "ports = {'DI': 'input', 'Q': 'output'}\n"
        "cells = {'first': {'type': 'TRELLIS_FF', 'attributes': {'NEXTPNR_BEL': 'X0/Y0/SLICEA'},\n"
        "                   'connections': {'Q': [1]}, 'port_directions': ports},\n"
        "         'second': {'type': 'TRELLIS_FF', 'attributes': {'NEXTPNR_BEL': 'X3/Y4/SLICEA'},\n"
        "                    'connections': {'DI': [1]}, 'port_directions': ports}}\n"
        "json.dump({'modules': {'top': {'attributes': {'top': 1}, 'cells': cells, 'netnames': {}}}}, open(placed, 'w'))\n")
    launcher = stand_in_build(tmp_path, fake)
    results = seed_sweep.sweep(tmp_path, [5, 2], jobs=2, nextpnr=str(launcher))
    assert [r.seed for r in results] == [2, 5]
    assert results[0].estimate_mhz == 88.50 and not results[0].error
    # clock to Q 400 ps, 7 tiles at 100 ps + 250, set-up 50: 1.4 ns
    assert (results[0].worst_from, results[0].worst_to) == ("first", "second")
    assert results[0].model_mhz == pytest.approx(1e6 / 1400)
    assert "nextpnr exit 1: ERROR: cannot place" in results[1].error
    assert "placed_seed5.log" in results[1].error


def test_seeds_of_a_real_netlist_are_placed_once_and_ranked(tmp_path, capsys):
    """A counter's netlist through yosys and nextpnr-ecp5, two seeds two at a time: each
    placement and log is there, the table names the best, and a second sweep reads them."""
    ecp5_counter_netlist(tmp_path)
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert main([str(tmp_path), "--seeds", "3,4"]) == 0
    out = capsys.readouterr().out
    for seed in (3, 4):
        assert (tmp_path / f"placed_seed{seed}.json").exists() and (tmp_path / f"placed_seed{seed}.log").exists()
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0] in ("3", "4")]
    assert len(rows) == 2
    estimates = [float(row[1]) for row in rows]
    assert estimates == sorted(estimates, reverse=True)
    assert f"best: seed {rows[0][0]}" in out
    stamps = [(tmp_path / f"placed_seed{seed}.json").stat().st_mtime_ns for seed in (3, 4)]
    assert main([str(tmp_path), "--seeds", "3-4"]) == 0
    assert [(tmp_path / f"placed_seed{seed}.json").stat().st_mtime_ns for seed in (3, 4)] == stamps
    assert not (tmp_path / "report.json").exists() and not (tmp_path / "hashforge.config").exists()


def test_a_stopped_sweep_stops_its_placements(tmp_path):
    """SIGTERM to a sweep (a stand-in nextpnr that would take a minute): the sweep exits
    at once, its placement is no longer running and leaves no placed netlist behind."""
    import os
    import signal
    import time

    fake = tmp_path / "slow_nextpnr.py"
    fake.write_text("import os, sys, time\n"
                    "open('nextpnr.pid', 'w').write(str(os.getpid()))\n"
                    "time.sleep(60)\n")
    launcher = stand_in_build(tmp_path, fake)
    sweep = subprocess.Popen([sys.executable, "-m", "hashforge.boards.seed_sweep", str(tmp_path), "--seeds", "1"],
                             env={**os.environ, "NEXTPNR_ECP5": str(launcher)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        pid_file = tmp_path / "nextpnr.pid"
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        placement = int(pid_file.read_text())
        sweep.send_signal(signal.SIGTERM)
        assert sweep.wait(timeout=20) == 128 + signal.SIGTERM
    finally:
        sweep.kill()
        sweep.communicate()
    with pytest.raises(ProcessLookupError):
        os.kill(placement, 0)
    assert not (tmp_path / "placed_seed1.json").exists()


def test_an_unreadable_placement_gets_its_own_row(tmp_path):
    """A seed's placed netlist cut short: that seed's row says so and how to redo it."""
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    (tmp_path / "hashforge.json").write_text("{}")
    (tmp_path / "placed_seed3.json").write_text('{"modules": {')
    (tmp_path / "placed_seed3.log").write_text("Info: Max frequency for clock 'clk': 90.00 MHz (FAIL at 100.00 MHz)\n")
    [result] = seed_sweep.sweep(tmp_path, [3], nextpnr="unused")
    assert "unreadable" in result.error and "delete it to place again" in result.error
    assert result.estimate_mhz == 90.0
