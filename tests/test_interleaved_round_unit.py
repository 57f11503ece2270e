"""The interleaved round unit (a building block for small dies) against spec rounds, in amaranth.sim."""

import random

import pytest
from amaranth.sim import Simulator

from hashforge.rtl import spec
from hashforge.rtl.interleaved_round_unit import CONFIGURATIONS, INJECTED_ROUNDS, InterleavedRoundUnit

ROUNDS = 12


def slot_program(hashes, lead, rng):
    """A slot's turns: ``lead`` turns of rounds on whatever it holds, then per hash
    (initial state, K + W per round) its four injected rounds and its rounds."""
    turns = [{"kw": rng.getrandbits(32)} for _ in range(lead)]
    for number, (state, kws) in enumerate(hashes):
        for a_word, e_word in zip(state[3::-1], state[7:3:-1]):     # d..a and h..e
            turns.append({"inject": (a_word, e_word)})
        turns += [{"kw": kw, "record": (number, round_)} for round_, kw in enumerate(kws)]
    return turns


def run_slots(stages, half_carries, programs):
    """Runs each slot's program; returns per slot {(hash, round): (a, e) at the round's issue}."""
    unit = InterleavedRoundUnit(stages, half_carries)
    length = max(map(len, programs)) + 1
    programs = [program + [{"kw": 0}] * (length - len(program)) for program in programs]
    seen = [{} for _ in range(stages)]

    async def testbench(ctx):
        for turn in range(length - 1):
            for slot, program in enumerate(programs):
                now, next_ = program[turn], program[turn + 1]
                ctx.set(unit.inject, "inject" in now)
                ctx.set(unit.inject_next, "inject" in next_)
                ctx.set(unit.word_a, next_["inject"][0] if "inject" in next_ else 0)
                ctx.set(unit.word_e, next_["inject"][1] if "inject" in next_ else 0)
                ctx.set(unit.kw_next, next_.get("kw", 0))
                if "record" in now:
                    seen[slot][now["record"]] = (ctx.get(unit.a), ctx.get(unit.e))
                await ctx.tick()

    sim = Simulator(unit)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return seen


def check_against_spec(seen, hashes_per_slot):
    for slot, hashes in enumerate(hashes_per_slot):
        for number, (state, kws) in enumerate(hashes):
            for round_, kw in enumerate(kws):
                got = seen[slot][number, round_]
                assert got == (state[0], state[4]), (
                    f"slot {slot}, hash {number}: a, e before round {round_} are {got[0]:#010x}, {got[1]:#010x}; "
                    f"spec {state[0]:#010x}, {state[4]:#010x}")
                state, _, _ = spec.round_step(state, 0, kw)


def random_hash(rng):
    return tuple(rng.getrandbits(32) for _ in range(8)), [rng.getrandbits(32) for _ in range(ROUNDS)]


@pytest.mark.parametrize("stages, half_carries", CONFIGURATIONS)
def test_interleaved_slots_each_follow_spec_rounds(stages, half_carries):
    rng = random.Random(stages)
    hashes = [[random_hash(rng)] for _ in range(stages)]
    seen = run_slots(stages, half_carries, [slot_program(h, 1, rng) for h in hashes])
    check_against_spec(seen, hashes)


@pytest.mark.parametrize("stages, half_carries", CONFIGURATIONS)
def test_a_slot_starts_a_new_hash_while_the_others_run_rounds(stages, half_carries):
    # Slots start at different turns and run two hashes back to back, so every
    # injection meets the other slots' rounds in the stages around it.
    rng = random.Random(100 + stages)
    hashes = [[random_hash(rng), random_hash(rng)] for _ in range(stages)]
    seen = run_slots(stages, half_carries, [slot_program(h, 1 + 3 * slot, rng) for slot, h in enumerate(hashes)])
    check_against_spec(seen, hashes)


def test_carries_cross_the_halves():
    words = [0xFFFFFFFF, 0x0000FFFF, 0xFFFF0000]
    hashes = [[(tuple([w] * 8), [w] * ROUNDS)] for w in words]
    seen = run_slots(3, True, [slot_program(h, 1, random.Random(0)) for h in hashes])
    check_against_spec(seen, hashes)


def test_unknown_configuration_is_refused():
    with pytest.raises(ValueError, match="stages, half_carries"):
        InterleavedRoundUnit(2, True)
