"""The spec module against hashlib and the public vectors."""

import hashlib
import os

import pytest
from hypothesis import given, settings, strategies as st

from hashforge.rtl import spec

from conftest import load_vectors

VECTORS = load_vectors()
BLOCKS = VECTORS["blocks"]


@pytest.mark.parametrize("length", [0, 1, 55, 56, 63, 64, 119, 1000])
def test_sha256_matches_hashlib_every_length_class(length):
    message = os.urandom(length)
    assert spec.sha256(message) == hashlib.sha256(message).digest()


@pytest.mark.parametrize("case", VECTORS["sha256_nist"], ids=lambda c: c["source"])
def test_sha256_fips_messages(case):
    assert spec.sha256(bytes.fromhex(case["message_hex"])).hex() == case["digest"]


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_sha256_property_against_hashlib(message):
    assert spec.sha256(message) == hashlib.sha256(message).digest()


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"height{b['height']}")
def test_real_header_hash_midstate_and_target(block):
    raw = bytes.fromhex(block["header"])
    header = spec.BlockHeader.parse(raw)
    assert header.serialize() == raw
    assert header.display_hash() == block["hash"]
    assert header.nonce == block["nonce"]
    assert header.bits == block["bits"]
    assert header.version == block["version"]
    assert [f"{w:08x}" for w in spec.midstate(raw)] == block["midstate_words"]
    assert header.meets_target()
    # The digest from midstate + tail + W3 is the same hash.
    words = spec.sha256d_words(spec.midstate(raw), spec.tail_words(raw), spec.nonce_to_w3(header.nonce))
    assert spec.bytes_from_words(words) == header.hash()


def test_header_misses_target_with_another_nonce():
    header = spec.BlockHeader.from_hex(BLOCKS[0]["header"])
    assert not header.with_nonce(header.nonce + 1).meets_target()


def test_nonce_field_is_w3_byte_swapped():
    raw = bytes.fromhex(BLOCKS[0]["header"])
    assert spec.words_from_bytes(raw[76:80])[0] == spec.nonce_to_w3(spec.BlockHeader.parse(raw).nonce)


def test_bits_to_target_known_values():
    assert spec.bits_to_target(0x1d00ffff) == spec.DIFF1_TARGET
    assert spec.bits_to_target(0x1b0404cb) == 0x0404cb * 256 ** (0x1b - 3)
    assert spec.bits_to_target(0x03123456) == 0x123456
    assert spec.bits_to_target(0x02123456) == 0x1234
    with pytest.raises(ValueError, match="sign bit"):
        spec.bits_to_target(0x1d800000)


@pytest.mark.parametrize("bits", [0x1d00ffff, 0x1b0404cb, 0x1a44b9f2, 0x170e2632, 0x207fffff])
def test_target_bits_round_trip(bits):
    assert spec.target_to_bits(spec.bits_to_target(bits)) == bits


def test_difficulty_target_round_trip():
    assert spec.difficulty_to_target(1) == spec.DIFF1_TARGET
    target = spec.difficulty_to_target(1024)
    assert target == spec.DIFF1_TARGET // 1024
    assert spec.target_to_difficulty(target) == pytest.approx(1024)
    with pytest.raises(ValueError):
        spec.difficulty_to_target(0)


def test_zero_bits_device_target():
    assert spec.zero_bits_to_device_target(32) == 0
    assert spec.zero_bits_to_device_target(40) == 0
    assert spec.zero_bits_to_device_target(8) == 0x00FFFFFF
    assert spec.zero_bits_to_device_target(0) == spec.MASK32


def test_icarus_golden_work_decodes_to_reply_nonce():
    golden = VECTORS["icarus_golden_work"]
    packet = bytes.fromhex(golden["work"])
    mid, tail = spec.parse_icarus_work(packet)
    assert spec.icarus_work(mid, tail) == packet
    w3 = int.from_bytes(bytes.fromhex(golden["reply"]), "big")
    assert spec.icarus_reply(w3).hex() == golden["reply"]
    assert spec.top_hash_word(mid, tail, w3) == 0


def test_trace_names_and_final_state():
    raw = bytes.fromhex(BLOCKS[0]["header"])
    block = spec.words_from_bytes(raw[:64])
    trace = spec.compress_trace(spec.H0, block)
    assert len(trace) == 64
    final = tuple((h + trace[-1][n]) & spec.MASK32 for h, n in zip(spec.H0, spec.STATE_NAMES))
    assert [f"{w:08x}" for w in final] == BLOCKS[0]["midstate_words"]
    assert set(trace[0]) >= {"t", "W", "K", "T1", "T2", *spec.STATE_NAMES}


@pytest.mark.parametrize("text, message", [
    ("00" * 79, "80 bytes"),
    ("zz" * 80, "not hex"),
])
def test_header_parse_errors_name_the_problem(text, message):
    with pytest.raises(ValueError, match=message):
        spec.BlockHeader.from_hex(text)
