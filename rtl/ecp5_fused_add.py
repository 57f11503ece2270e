"""x + f(b, c, d) on ECP5 carry cells, with the bitwise function f inside the adder's LUTs.

An ECP5 carry cell (CCU2C) has a LUT4 per bit that makes the bit's propagate P (the
sum bit is P ^ carry in) and a LUT2 that makes its generate: the carry out is the
carry in when P is 1, else LUT2(A, B), which is the LUT4's own table at C = D = 0.
Yosys builds ``x + y`` with P = A ^ B and LUT2 = A, so a bitwise y = f(b, c, d) costs a
LUT4 per bit in front of the chain. Here P = x ^ f(b, c, d) from the cell's LUT4 (x on
A, b, c, d on B, C, D) and, when f(b, 0, 0) = 0 (true of Ch and Maj), LUT2 is x, the
right generate (P = 0 means x = y, whose carry is x). That takes the LUT4 and the LUT
level off the round's Ch and Maj: a SHA-256 round's two bitwise functions ride in its
adders for free.
"""

from amaranth.hdl import Const, Instance, Signal, Value

WIDTH = 32


def ccu2c_init(bit_function):
    """The 16-bit LUT4 table of P = A ^ f(B, C, D); the LUT4's inputs index it as D C B A."""
    if any(bit_function(b, 0, 0) for b in (0, 1)):
        raise ValueError("f(b, 0, 0) must be 0: the carry cell's generate is its LUT4 at C = D = 0")
    init = 0
    for index in range(16):
        a, b, c, d = ((index >> bit) & 1 for bit in range(4))
        init |= (a ^ (bit_function(b, c, d) & 1)) << index
    return init


def ecp5_fused_add(m, x, operands, bit_function, name="fused_add"):
    """A 32-bit ``x + f(*operands)`` as 16 CCU2C cells in one carry chain, added to ``m``;
    returns the sum as a Signal."""
    init = Const(ccu2c_init(bit_function), 16)
    x = Value.cast(x)
    b, c, d = (Value.cast(operand) for operand in operands)
    total = Signal(WIDTH, name=name)
    carry = Const(0, 1)
    for pair in range(WIDTH // 2):
        low, high = 2 * pair, 2 * pair + 1
        carry_out = Signal(name=f"{name}_carry{pair}")
        m.submodules[f"{name}_cell{pair}"] = Instance(
            "CCU2C",
            p_INIT0=init, p_INIT1=init, p_INJECT1_0="NO", p_INJECT1_1="NO",
            i_CIN=carry,
            i_A0=x[low], i_B0=b[low], i_C0=c[low], i_D0=d[low],
            i_A1=x[high], i_B1=b[high], i_C1=c[high], i_D1=d[high],
            o_S0=total[low], o_S1=total[high], o_COUT=carry_out,
        )
        carry = carry_out
    return total
