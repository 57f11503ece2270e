"""Which round first goes wrong: one nonce through the core in amaranth.sim, its
stage registers compared round by round with the golden model's trace."""

from amaranth.hdl import Fragment
from amaranth.sim import Simulator

from hashforge.rtl import spec
from hashforge.rtl.miner import Miner

from . import golden


def observe_rounds(midstate, tail, w3, clocks_per_nonce, platform=None):
    """State words (a, e) the RTL holds for each round of both hashes, for one W3;
    ``platform``: what the design is elaborated for (None: generic logic).

    Returns ``{"hash1": {round: {"a":..,"e":..}}, "hash2": {...}}``: the state *after*
    that round, as read from the stage registers while the nonce passes.
    """
    dut = Miner(cores=1, clocks_per_nonce=clocks_per_nonce)
    sim = Simulator(Fragment.get(dut, platform))
    sim.add_clock(1e-6)
    core = dut.core_instances[0]
    observed = {"hash1": {}, "hash2": {}}

    async def testbench(ctx):
        ctx.set(dut.midstate, list(midstate))
        ctx.set(dut.tail, list(tail))
        ctx.set(dut.first, w3)
        ctx.set(dut.last, w3)
        ctx.set(dut.results.ready, 1)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(dut.latency + 2):
            await ctx.tick()
            phase = 0 if core.phase is None else ctx.get(core.phase)
            for name, (rounds, regs, valid) in core.probes.items():
                if not ctx.get(valid) or phase >= len(rounds):
                    continue
                hash_name = name.split("_")[0]
                before = rounds[phase] - 1
                seen = {key: ctx.get(regs[key]) for key in ("a", "e")
                        if key in regs and hasattr(regs[key], "shape")}
                if before >= 0 and seen:
                    observed[hash_name].setdefault(before, seen)
                # Skewed rounds (iterative sizes): a stage holds the a of a round earlier.
                if before >= 1 and hasattr(regs.get("a_prev"), "shape"):
                    observed[hash_name].setdefault(before - 1, {}).setdefault("a", ctx.get(regs["a_prev"]))

    sim.add_testbench(testbench)
    sim.run()
    return observed


def diagnose(midstate, tail, w3, clocks_per_nonce):
    """One line per hash: where the RTL first differs from the golden model, if anywhere."""
    trace = golden.trace_sha256d(midstate, tail, w3)
    observed = observe_rounds(midstate, tail, w3, clocks_per_nonce)
    lines = []
    for hash_name in ("hash1", "hash2"):
        difference = golden.first_difference(trace, hash_name, observed[hash_name])
        lines.append(golden.format_difference(difference, hash_name))
    top = spec.top_hash_word(midstate, tail, w3)
    lines.append(f"golden top hash word for W3 {w3:#010x}: {top:#010x}")
    return "\n".join(lines)
