"""Estimated slowest paths of a placed design, from nextpnr's pre-routing wire model."""

import json

import pytest
from conftest import ecp5_counter_netlist

from hashforge.boards import placed_timing
from hashforge.boards.placed_timing import main, worst_paths

FF_PORTS = {"CLK": "input", "DI": "input", "M": "input", "CE": "input", "LSR": "input", "Q": "output"}


def cell(kind, at, connections, directions, **parameters):
    return {"type": kind, "attributes": {"NEXTPNR_BEL": f"X{at[0]}/Y{at[1]}/SLICEA"}, "parameters": parameters,
            "connections": connections, "port_directions": directions}


def lut(at, inputs, output):
    ports = dict(zip("ABCD", inputs))
    return cell("TRELLIS_COMB", at, {**{p: [b] for p, b in ports.items()}, "F": [output]},
                {**{p: "input" for p in ports}, "F": "output"})


def carry(at, a, fci, s, fco):
    return cell("TRELLIS_COMB", at, {"A": [a], "FCI": [fci], "F": [s], "FCO": [fco]},
                {"A": "input", "FCI": "input", "F": "output", "FCO": "output"}, MODE="CCU2")


def design():
    """Path 1: a flip-flop at X0/Y0, a LUT at X10/Y0, a flip-flop at X10/Y20 (two wires,
    10 and 20 tiles). Path 2: a flip-flop at X1/Y0 into a two-cell carry chain at X1/Y1
    and on into a flip-flop beside it. The PLL's lock drives a LUT into a flip-flop: not timed."""
    cells = {
        "start": cell("TRELLIS_FF", (0, 0), {"Q": [1]}, FF_PORTS),
        "logic": lut((10, 0), [1], 2),
        "end": cell("TRELLIS_FF", (10, 20), {"DI": [2]}, FF_PORTS),
        "operand": cell("TRELLIS_FF", (1, 0), {"Q": [3]}, FF_PORTS),
        "carry0": carry((1, 1), 3, 90, 91, 4),
        "carry1": carry((1, 1), 3, 4, 5, 92),
        "sum": cell("TRELLIS_FF", (1, 2), {"DI": [5]}, FF_PORTS),
        "pll": cell("EHXPLLL", (0, 5), {"LOCK": [6]}, {"LOCK": "output"}),
        "inverter": lut((0, 6), [6], 7),
        "reset": cell("TRELLIS_FF", (100, 90), {"LSR": [7]}, FF_PORTS),
    }
    return {"modules": {"top": {"attributes": {"top": 1}, "cells": cells, "netnames": {}}}}


def test_the_slowest_path_is_traced_hop_by_hop_with_nextpnrs_wire_model():
    slowest, carry_path = worst_paths(design(), 5)
    wire = lambda tiles: 100 * tiles + 250
    assert slowest.delay == (placed_timing.CLOCK_TO_Q + wire(10) + placed_timing.LUT + wire(20)
                             + placed_timing.SETUP["DI"])
    assert [(hop.cell, hop.port, hop.tiles) for hop in slowest.hops] == \
        [("start", "Q", 0), ("logic", "A", 10), ("end", "DI", 20)]
    assert slowest.hops[-1].arrival == slowest.delay - placed_timing.SETUP["DI"]
    assert slowest.fmax_mhz == pytest.approx(1e6 / slowest.delay)
    # The carry chain's cell-to-cell link costs nothing on the wire.
    assert [hop.cell for hop in carry_path.hops] == ["operand", "carry0", "carry1", "sum"]
    assert carry_path.hops[2].tiles == 0 and carry_path.hops[2].arrival == carry_path.hops[1].arrival + \
        placed_timing.CARRY[("in", "FCO")]
    # Two paths only: the reset from the PLL's lock is not timed.
    assert len(worst_paths(design(), 5)) == 2


def test_a_lut_ram_write_ends_a_path_and_its_read_continues_one():
    cells = {
        "data": cell("TRELLIS_FF", (0, 0), {"Q": [1]}, FF_PORTS),
        "address": cell("TRELLIS_FF", (0, 1), {"Q": [2]}, FF_PORTS),
        "ram": cell("TRELLIS_COMB", (30, 0), {"WD": [1], "A": [2], "F": [3]},
                    {"WD": "input", "A": "input", "F": "output"}, MODE="DPRAM"),
        "out": cell("TRELLIS_FF", (30, 1), {"DI": [3]}, FF_PORTS),
    }
    paths = worst_paths({"modules": {"top": {"attributes": {"top": 1}, "cells": cells}}}, 5)
    assert sorted(tuple(hop.cell for hop in path.hops) for path in paths) == \
        [("address", "ram", "out"), ("data", "ram")]


def test_command_line_prints_paths_and_refuses_an_unplaced_netlist(tmp_path, capsys):
    path = tmp_path / "placed.json"
    path.write_text(json.dumps(design()))
    assert main([str(path), "--paths", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("4.15 ns (241.0 MHz), 2 wires, 30 tiles")
    assert "X10/Y20 TRELLIS_FF.DI  end" in out and "carry" not in out
    unplaced = design()
    for each in unplaced["modules"]["top"]["cells"].values():
        each["attributes"] = {}
    path.write_text(json.dumps(unplaced))
    assert main([str(path)]) == 2
    assert "--no-route --write placed.json" in capsys.readouterr().err


def test_a_build_directory_is_placed_with_the_builds_own_options_then_read(tmp_path, capsys):
    """A counter's netlist in a build directory whose script has nextpnr's step as Amaranth
    writes it: placed once (the build's options, no report, no bitstream configuration),
    then read; the counter's carry chain is on its slowest path."""
    ecp5_counter_netlist(tmp_path)
    (tmp_path / "build_hashforge.sh").write_text(
        '"$YOSYS" -q -l hashforge.rpt hashforge.ys\n'
        '"$NEXTPNR_ECP5" --quiet --report report.json --timing-allow-fail --seed 2 --log hashforge.tim '
        '--25k --package CABGA381 --speed 6 --json hashforge.json --lpf hashforge.lpf --lpf-allow-unconstrained '
        '--textcfg hashforge.config\n')
    assert placed_timing.placement_command(tmp_path, "nextpnr-ecp5") == [
        "nextpnr-ecp5", "--quiet", "--timing-allow-fail", "--seed", "2", "--25k", "--package", "CABGA381",
        "--speed", "6", "--json", "hashforge.json", "--lpf", "hashforge.lpf", "--lpf-allow-unconstrained",
        "--no-route", "--write", "placed.json", "--log", "placed.log"]
    assert main([str(tmp_path), "--paths", "3", "--nets", "2"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "placed.json").exists() and (tmp_path / "placed.log").exists()
    assert not (tmp_path / "report.json").exists() and not (tmp_path / "hashforge.config").exists()
    assert "longest nets:" in out
    paths = worst_paths(json.loads((tmp_path / "placed.json").read_text()), 3)
    assert paths and paths == sorted(paths, key=lambda path: -path.delay)
    for path in paths:
        assert path.hops[0].kind == "TRELLIS_FF" and path.hops[0].port == "Q"
        assert path.hops[-1].kind == "TRELLIS_FF"
    assert any(hop.port == "FCI" for hop in paths[0].hops)
    # Placed once: a second run reads the same placement.
    stamp = (tmp_path / "placed.json").stat().st_mtime_ns
    assert main([str(tmp_path), "--paths", "1"]) == 0
    assert (tmp_path / "placed.json").stat().st_mtime_ns == stamp


def test_a_build_directory_without_an_ecp5_placement_step_is_refused(tmp_path, capsys):
    (tmp_path / "build_hashforge.sh").write_text('"$NEXTPNR_ICE40" --up5k --json hashforge.json\n')
    (tmp_path / "hashforge.json").write_text("{}")
    assert main([str(tmp_path)]) == 2
    assert "no nextpnr-ecp5 step" in capsys.readouterr().err


def test_a_long_carry_chain_prints_as_its_first_and_last_cell():
    from hashforge.boards.placed_timing import Hop, Path

    hops = [Hop("start", "TRELLIS_FF", "Q", (0, 0), 400, 0), Hop("c0", "TRELLIS_COMB", "A", (5, 0), 1150, 5)]
    hops += [Hop(f"c{i}", "TRELLIS_COMB", "FCI", (5 + i // 4, 0), 1150 + 60 * i, 0) for i in range(1, 9)]
    hops.append(Hop("end", "TRELLIS_FF", "DI", (7, 0), 2000, 0))
    lines = list(Path(2050, hops).lines())
    assert lines[0].startswith("2.05 ns (487.8 MHz), 2 wires, 5 tiles")
    names = [line.split()[-1] for line in lines[1:]]
    assert names == ["start", "c0", "c1", "more", "c8", "end"]
    assert "... 6 carry cells more" in lines[4]
