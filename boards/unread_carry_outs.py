"""Detach the carry outputs nothing reads from the ECP5 carry chains of a Yosys JSON netlist.

nextpnr's ECP5 packer ends every carry chain whose last ``COUT`` is on a net with a
"pass-out": one more CCU2C (two LUT slots) that brings the carry into the fabric. It
adds one even when the net has no reader at all (a wire Yosys keeps because it has a
name, or the unused carry out of an ``$alu``). A fully pipelined 85F core has about 1100
chains, so about 2.3k LUT slots held by nothing. Marking such a ``COUT`` unconnected
(``"x"`` in the JSON) removes the pass-out; the logic is unchanged, since no cell and no
port reads that bit.

Run between Yosys and nextpnr: ``python -m hashforge.boards.unread_carry_outs NETLIST.json``.
"""

import json
import sys

CARRY_CELL = "CCU2C"


def read_bits(module):
    """The net bits some cell input or a module output reads."""
    bits = set()
    for port in module.get("ports", {}).values():
        if port.get("direction") in ("output", "inout"):
            bits.update(bit for bit in port["bits"] if isinstance(bit, int))
    for cell in module.get("cells", {}).values():
        directions = cell.get("port_directions", {})
        for port, connected in cell.get("connections", {}).items():
            # A port of unknown direction counts as read: never detach what might be used.
            if directions.get(port) != "output":
                bits.update(bit for bit in connected if isinstance(bit, int))
    return bits


def detach_unread_carry_outs(netlist):
    """Mark every CCU2C ``COUT`` no cell or port reads as unconnected, in place;
    returns how many."""
    detached = 0
    for module in netlist.get("modules", {}).values():
        read = read_bits(module)
        for cell in module.get("cells", {}).values():
            if cell.get("type") != CARRY_CELL:
                continue
            carry_out = cell.get("connections", {}).get("COUT")
            if carry_out and all(isinstance(bit, int) and bit not in read for bit in carry_out):
                cell["connections"]["COUT"] = ["x"] * len(carry_out)
                detached += 1
    return detached


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hashforge.boards.unread_carry_outs NETLIST.json", file=sys.stderr)
        return 2
    path = argv[0]
    try:
        with open(path) as file:
            netlist = json.load(file)
    except (OSError, ValueError) as error:
        print(f"unread_carry_outs: cannot read the Yosys netlist {path}: {error}", file=sys.stderr)
        return 1
    detached = detach_unread_carry_outs(netlist)
    with open(path, "w") as file:
        json.dump(netlist, file)
    # stderr, like the tools' own progress: the build's stdout may be a --json report.
    print(f"unread_carry_outs: {detached} carry chain end(s) without a reader detached in {path}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
