"""The numpy golden model against hashlib and the spec module."""

import hashlib
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hashforge.rtl import spec
from hashforge.sim import golden

from conftest import load_vectors

VECTORS = load_vectors()
BLOCKS = VECTORS["blocks"]


def hashlib_digest(header80):
    return hashlib.sha256(hashlib.sha256(header80).digest()).digest()


def random_job():
    raw = os.urandom(80)
    return raw, spec.midstate(raw), spec.tail_words(raw)


def test_full_digests_match_hashlib_for_random_headers():
    raw, mid, tail = random_job()
    nonces = np.arange(1000, 1300, dtype=np.uint32)
    words = golden.digests(mid, tail, nonces.byteswap())
    for i, nonce in enumerate(nonces):
        expected = hashlib_digest(raw[:76] + struct.pack("<I", int(nonce)))
        assert spec.bytes_from_words([int(w) for w in words[:, i]]) == expected


def test_early_exit_top_word_equals_full_digest():
    _, mid, tail = random_job()
    w3 = np.random.default_rng(1).integers(0, 2**32, 5000, dtype=np.uint64).astype(np.uint32)
    job = golden.job_constants(mid, tail)
    full = golden.digests(mid, tail, w3)
    np.testing.assert_array_equal(golden.top_words(job, w3), full[7].byteswap())


@given(st.binary(min_size=80, max_size=80), st.integers(0, 2**32 - 64))
@settings(max_examples=40, deadline=None)
def test_top_word_property_against_hashlib(raw, start):
    job = golden.job_constants(spec.midstate(raw), spec.tail_words(raw))
    nonces = np.arange(start, start + 64, dtype=np.uint64).astype(np.uint32)
    tops = golden.top_words(job, nonces.byteswap())
    for nonce, top in zip(nonces, tops):
        digest = hashlib_digest(raw[:76] + struct.pack("<I", int(nonce)))
        assert int(top) == int.from_bytes(digest[28:], "little")


def test_job_constants_are_rounds_0_to_2():
    _, mid, tail = random_job()
    job = golden.job_constants(mid, tail)
    assert job.state3 == spec.compress(mid, spec.block2_words(tail, 0), rounds=3, add_input=False)
    full = spec.schedule(spec.block2_words(tail, 0xdeadbeef))
    assert job.schedule[16:] == tuple(full[16:18])
    assert job.schedule[3] is None


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"height{b['height']}")
def test_scan_finds_real_nonce_of_real_headers(block):
    raw = bytes.fromhex(block["header"])
    found = golden.scan(raw, block["nonce"] - 3000, 6000, 32)
    assert block["nonce"] in found
    for nonce in found:
        digest = spec.BlockHeader.parse(raw).with_nonce(nonce).hash()
        assert spec.leading_zero_bits(digest) >= 32


def test_scan_equals_brute_force_at_easy_target():
    raw, _, _ = random_job()
    start, count, bits = 123456, 3000, 8
    expected = [n for n in range(start, start + count)
                if spec.leading_zero_bits(hashlib_digest(raw[:76] + struct.pack("<I", n))) >= bits]
    assert golden.scan(raw, start, count, bits, batch=1000) == expected
    assert len(expected) > 0


def test_scan_deeper_than_32_bits_checks_the_whole_hash():
    raw = bytes.fromhex(BLOCKS[0]["header"])
    nonce = BLOCKS[0]["nonce"]
    zeros = spec.leading_zero_bits(spec.BlockHeader.parse(raw).hash())
    assert golden.scan(raw, nonce - 10, 20, zeros) == [nonce]
    assert golden.scan(raw, nonce - 10, 20, zeros + 1) == []


def test_scan_icarus_golden_work_in_w3_order():
    packet = bytes.fromhex(VECTORS["icarus_golden_work"]["work"])
    mid, tail = spec.parse_icarus_work(packet)
    w3 = int(VECTORS["icarus_golden_work"]["reply"], 16)
    assert golden.scan_job(mid, tail, w3 - 5000, 10000, header_order=False) == [w3]


def test_scan_range_errors():
    with pytest.raises(ValueError, match="leaves the 32-bit nonce space"):
        golden.scan(bytes(80), 2**32 - 5, 10, 8)


def test_trace_points_at_first_differing_round():
    _, mid, tail = random_job()
    trace = golden.trace_sha256d(mid, tail, 42)
    observed = {t: {"a": trace["hash1"][t]["a"], "e": trace["hash1"][t]["e"]} for t in range(64)}
    assert golden.first_difference(trace, "hash1", observed) is None
    observed[17] = {"a": observed[17]["a"] ^ 1, "e": observed[17]["e"]}
    observed[30] = {"a": 0, "e": 0}
    t, name, expected, seen = golden.first_difference(trace, "hash1", observed)
    assert (t, name, seen) == (17, "a", expected ^ 1)
    assert "round 17" in golden.format_difference((t, name, expected, seen), "hash1")
    digest = spec.sha256d_words(mid, tail, 42)
    assert (trace["hash2"][-1]["h"] + spec.H0[7]) & spec.MASK32 == digest[7]
