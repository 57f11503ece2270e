"""Adds on ECP5 carry cells that do more than one 2-input add per carry chain.

An ECP5 carry cell (CCU2C) has a LUT4 per bit that makes the bit's propagate P (the
sum bit is P ^ carry in) and a LUT2 that makes its generate: the carry out is the
carry in when P is 1, else LUT2(A, B), which is the LUT4's own table at C = D = 0.
Yosys builds ``x + y`` with P = A ^ B and LUT2 = A, leaving C and D unused. Two ways
to use them:

* ``x + f(b, c, d)`` for a bitwise f (:func:`ecp5_fused_add`): P = x ^ f(b, c, d) with
  x on A and b, c, d on B, C, D. When f(b, 0, 0) = 0 (true of Ch and Maj), LUT2 is x,
  the right generate (P = 0 means x = y, whose carry is x). A SHA-256 round's two
  bitwise functions ride in its adders for free.
* ``x + y + k`` for a constant k (:func:`ecp5_constant_add`): the three operands
  compressed to a sum word s = x ^ y ^ k and a carry word c (bit i is Maj(x, y, k) of
  bit i - 1), then s + c in the chain. Bit i's P = s ^ c needs x[i], y[i] on A, B and
  x[i-1], y[i-1] on C, D, with k's bits in the table; at C = D = 0 the carry word's
  bit Maj(0, 0, k) is 0, so LUT2 is s, the right generate. h + K + W, which took two
  chains, takes one.
"""

from amaranth.hdl import Const, Instance, Signal, Value

WIDTH = 32


def ccu2c_init(bit_function):
    """The 16-bit LUT4 table of P = A ^ f(B, C, D); the LUT4's inputs index it as D C B A."""
    if any(bit_function(b, 0, 0) for b in (0, 1)):
        raise ValueError("f(b, 0, 0) must be 0: the carry cell's generate is its LUT4 at C = D = 0")
    return _table(lambda a, b, c, d: a ^ (bit_function(b, c, d) & 1))


def constant_add_init(k_bit, k_bit_below):
    """The LUT4 table of bit i of x + y + k: A, B = x[i], y[i]; C, D = x[i-1], y[i-1];
    ``k_bit``, ``k_bit_below`` = k[i], k[i-1] (0 for bit 0, whose C and D are 0)."""
    return _table(lambda a, b, c, d: a ^ b ^ k_bit ^ _majority(c, d, k_bit_below))


def _majority(a, b, c):
    return (a & b) | (c & (a | b))


def _table(function):
    init = 0
    for index in range(16):
        a, b, c, d = ((index >> bit) & 1 for bit in range(4))
        init |= (function(a, b, c, d) & 1) << index
    return init


def carry_chain(m, cells, name):
    """A 32-bit sum from CCU2C cells in one carry chain (carry in 0), added to ``m``.
    ``cells`` gives each bit's LUT4 table and its A, B, C, D inputs; returns the sum."""
    total = Signal(WIDTH, name=name)
    carry = Const(0, 1)
    for pair in range(WIDTH // 2):
        (init0, *low), (init1, *high) = cells[2 * pair], cells[2 * pair + 1]
        carry_out = Signal(name=f"{name}_carry{pair}")
        m.submodules[f"{name}_cell{pair}"] = Instance(
            "CCU2C",
            p_INIT0=Const(init0, 16), p_INIT1=Const(init1, 16), p_INJECT1_0="NO", p_INJECT1_1="NO",
            i_CIN=carry,
            i_A0=low[0], i_B0=low[1], i_C0=low[2], i_D0=low[3],
            i_A1=high[0], i_B1=high[1], i_C1=high[2], i_D1=high[3],
            o_S0=total[2 * pair], o_S1=total[2 * pair + 1], o_COUT=carry_out,
        )
        carry = carry_out
    return total


def ecp5_fused_add(m, x, operands, bit_function, name="fused_add"):
    """A 32-bit ``x + f(*operands)`` in one carry chain, added to ``m``; returns the sum."""
    init = ccu2c_init(bit_function)
    x = Value.cast(x)
    b, c, d = (Value.cast(operand) for operand in operands)
    return carry_chain(m, [(init, x[i], b[i], c[i], d[i]) for i in range(WIDTH)], name)


def ecp5_constant_add(m, x, y, constant, name="constant_add"):
    """A 32-bit ``x + y + constant`` in one carry chain, added to ``m``; returns the sum."""
    x, y = Value.cast(x), Value.cast(y)
    zero = Const(0, 1)
    cells = []
    for i in range(WIDTH):
        k_bit, k_bit_below = (constant >> i) & 1, (constant >> (i - 1)) & 1 if i else 0
        below = (x[i - 1], y[i - 1]) if i else (zero, zero)
        cells.append((constant_add_init(k_bit, k_bit_below), x[i], y[i], *below))
    return carry_chain(m, cells, name)
