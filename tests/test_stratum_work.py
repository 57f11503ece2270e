"""Stratum work from worked vectors: coinbase, merkle root, header, share target,
version rolling, and the message checks of the client."""

import asyncio
import re
import json

import pytest

from hashforge.rtl import spec
from hashforge.host import stratum_work as sw
from hashforge.host.stratum_client import (PoolAddress, SessionHandler, StratumSession, describe_error,
                                           is_stale_error, parse_pool_url)

from conftest import load_vectors

VECTORS = load_vectors()
GENESIS = VECTORS["blocks"][0]

# The genesis block's only transaction (its coinbase), split where a pool would put
# extranonce1 (4 bytes) and extranonce2 (4 bytes) inside the scriptSig.
GENESIS_COINBASE = bytes.fromhex(
    "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d"
    "0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f"
    "66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0"
    "fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c38"
    "4df7ba0b8d578a4c702b6bf11d5fac00000000")
SPLIT = GENESIS_COINBASE.index(bytes.fromhex("04455468"))
COINB1, EXTRANONCE1 = GENESIS_COINBASE[:SPLIT], GENESIS_COINBASE[SPLIT:SPLIT + 4]
EXTRANONCE2, COINB2 = GENESIS_COINBASE[SPLIT + 4:SPLIT + 8], GENESIS_COINBASE[SPLIT + 8:]

# Block 100000 (main chain): four transactions, txids as explorers print them, and its merkle root.
BLOCK_100000_TXIDS = [
    "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
    "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
    "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
    "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
]
BLOCK_100000_ROOT = "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766"


def genesis_notify(clean=True):
    header = spec.BlockHeader.from_hex(GENESIS["header"])
    return ["genesis", sw.swap_words(header.prev_hash).hex(), COINB1.hex(), COINB2.hex(), [],
            f"{header.version:08x}", f"{header.bits:08x}", f"{header.time:08x}", clean]


def test_coinbase_reassembles_and_its_txid_is_the_genesis_merkle_root():
    tx = sw.coinbase(COINB1, EXTRANONCE1, EXTRANONCE2, COINB2)
    assert tx == GENESIS_COINBASE
    header = spec.BlockHeader.from_hex(GENESIS["header"])
    assert sw.merkle_root(tx, []) == header.merkle_root


def test_merkle_branch_fold_gives_block_100000_root():
    txids = [bytes.fromhex(t)[::-1] for t in BLOCK_100000_TXIDS]
    # The branch a pool sends for the coinbase: its sibling, then the hash of the other pair.
    branch = [txids[1], sw.sha256d(txids[2] + txids[3])]
    root = txids[0]
    for sibling in branch:
        root = sw.sha256d(root + sibling)
    assert root[::-1].hex() == BLOCK_100000_ROOT
    # merkle_root() starts from a coinbase transaction; with the genesis one it must equal
    # folding its txid by hand.
    txid = sw.sha256d(GENESIS_COINBASE)
    assert sw.merkle_root(GENESIS_COINBASE, branch) == sw.sha256d(sw.sha256d(txid + branch[0]) + branch[1])


def test_header_from_notify_rebuilds_the_genesis_block():
    job = sw.StratumJob.from_notify(genesis_notify())
    work = sw.Work.make(job, EXTRANONCE1, EXTRANONCE2, job.version)
    header = work.header(GENESIS["nonce"])
    assert header.hex() == GENESIS["header"]
    assert sw.sha256d(header)[::-1].hex() == GENESIS["hash"]
    assert work.submit_params("worker", GENESIS["nonce"]) == [
        "worker", "genesis", EXTRANONCE2.hex(), "495fab29", "7c2bac1d"]


def test_prevhash_word_order_round_trips_on_a_real_header():
    header = spec.BlockHeader.from_hex(VECTORS["blocks"][2]["header"])
    stratum = sw.swap_words(header.prev_hash).hex()
    # Stratum text of a real prevhash ends with the hash's leading zero bytes in word order.
    assert stratum.endswith("00000000")
    assert sw.swap_words(bytes.fromhex(stratum)) == header.prev_hash


def test_share_targets_from_difficulty():
    assert sw.share_target(1) == 0x00000000FFFF << 208
    assert sw.share_target(2 ** -20) == 0xFFFF << 228
    assert sw.device_target(sw.share_target(1)) == 0
    assert sw.device_target(sw.share_target(2 ** -20)) == 0x000FFFF0
    assert sw.device_target(sw.share_target(1e-12)) == spec.MASK32
    # A genesis-hash share: difficulty 1 met, difficulty 3000 not (its hash is worth ~2536).
    digest = bytes.fromhex(GENESIS["hash"])[::-1]
    assert spec.hash_value(digest) <= sw.share_target(1)
    assert spec.hash_value(digest) > sw.share_target(3000)
    assert 2536 < spec.hash_difficulty(digest) < 2537


def test_version_rolling_stays_in_the_mask_and_covers_distinct_headers():
    job = sw.StratumJob.from_notify(genesis_notify())
    generator = sw.WorkGenerator(job, EXTRANONCE1, 4, sw.VERSION_ROLLING_MASK)
    works = [next(generator) for _ in range(300)]
    assert works[0].version == job.version
    assert all((w.version ^ job.version) & ~sw.VERSION_ROLLING_MASK == 0 for w in works)
    assert len({w.header_prefix for w in works}) == 300
    assert {w.extranonce2 for w in works} == {bytes(4)}
    # Rolled headers are exactly what Work.make builds for that version.
    assert works[77].header_prefix == sw.Work.make(job, EXTRANONCE1, bytes(4), works[77].version).header_prefix
    params = works[5].submit_params("w", 1)
    assert len(params) == 6 and int(params[5], 16) == works[5].version & sw.VERSION_ROLLING_MASK


def test_without_rolling_extranonce2_counts_and_runs_out():
    job = sw.StratumJob.from_notify(genesis_notify())
    generator = sw.WorkGenerator(job, EXTRANONCE1, 1)
    works = list(generator)
    assert [w.extranonce2 for w in works] == [bytes([i]) for i in range(256)]
    assert len({w.header_prefix[36:68] for w in works}) == 256      # each its own merkle root
    assert all(len(w.submit_params("w", 0)) == 5 for w in works)
    restarted = sw.WorkGenerator(job, EXTRANONCE1, 1, first_extranonce2=200)
    assert next(restarted).extranonce2 == bytes([200])


@pytest.mark.parametrize("params, what", [
    (["j", "zz" * 32, "", "", [], "20000000", "1d00ffff", "495fab29", True], "prevhash"),
    (["j", "00" * 31, "", "", [], "20000000", "1d00ffff", "495fab29", True], "32 bytes"),
    (["j", "00" * 32, "", "", "not a list", "20000000", "1d00ffff", "495fab29", True], "merkle_branch"),
    (["j", "00" * 32, "", "", ["00"], "20000000", "1d00ffff", "495fab29", True], "merkle_branch[0]"),
    (["j", "00" * 32, "", "", [], "2000", "1d00ffff", "495fab29", True], "version"),
    (["j", "00" * 32, "", "", [], "20000000", "1d00ffff", "495fab29", "yes"], "clean_jobs"),
    (["j", "00" * 32], "9 parameters"),
])
def test_malformed_notify_is_refused_with_the_field_named(params, what):
    with pytest.raises(sw.MalformedMessage, match=re.escape(what)):
        sw.StratumJob.from_notify(params)


def test_pool_urls():
    assert parse_pool_url("stratum+tcp://pool.example:3333") == PoolAddress("pool.example", 3333)
    with_login = parse_pool_url("stratum+tcp://alice.rig:s3cret@pool.example:3333")
    assert (with_login.user, with_login.password) == ("alice.rig", "s3cret")
    assert "s3cret" not in str(with_login) and "alice" not in str(with_login)
    assert parse_pool_url("127.0.0.1:4000").port == 4000
    for bad, what in [("http://pool:80", "unknown scheme"), ("stratum+ssl://pool:443", "not supported"),
                      ("stratum+tcp://pool", "no host or port"), ("stratum+tcp://pool:http", "bad port")]:
        with pytest.raises(ValueError, match=what):
            parse_pool_url(bad)
    with pytest.raises(ValueError) as error:
        parse_pool_url("ftp://bob:hunter2@pool:21")
    assert "hunter2" not in str(error.value)


def test_pool_errors_described_and_stale_recognized():
    assert describe_error([23, "Low difficulty share", None]) == "Low difficulty share (code 23)"
    assert is_stale_error([21, "Job not found", None])
    assert is_stale_error("Stale share")
    assert not is_stale_error([23, "Low difficulty share", None])


class RecordingHandler(SessionHandler):
    def __init__(self):
        self.jobs, self.logs = [], []

    def on_job(self, session, job):
        self.jobs.append(job)

    def log(self, text):
        self.logs.append(text)


class FakeWriter:
    def __init__(self):
        self.lines = []

    def write(self, data):
        self.lines.append(json.loads(data))

    def is_closing(self):
        return False


def test_session_counts_bad_messages_answers_requests_and_keeps_going():
    handler = RecordingHandler()
    session = StratumSession(PoolAddress("127.0.0.1", 1), "u", "p", handler)
    session._writer = FakeWriter()
    session._held = None            # past the handshake: deliver to the handler at once
    lines = [b"not json\n", b"[1,2]\n", b'{"id": 99, "result": true}\n',
             b'{"id": null, "method": "mining.set_difficulty", "params": [-1]}\n',
             b'{"id": null, "method": "mining.notify", "params": ["j", "xyz"]}\n',
             b'{"id": 7, "method": "mining.frobnicate", "params": []}\n',
             b'{"id": 8, "method": "mining.ping", "params": []}\n',
             b'{"id": 9, "method": "client.get_version", "params": []}\n',
             b'{"id": null, "method": "mining.set_difficulty", "params": [0.5]}\n',
             (json.dumps({"id": None, "method": "mining.notify", "params": genesis_notify()}) + "\n").encode()]
    for line in lines:
        session._handle_line(line)
    assert session.malformed == 5 and session.unknown == 1
    assert [j.job_id for j in handler.jobs] == ["genesis"] and handler.jobs[0].difficulty == 0.5
    answers = {line["id"]: line for line in session._writer.lines}
    assert answers[7]["error"][0] == 20
    assert answers[8]["result"] == "pong"
    assert answers[9]["result"].startswith("hashforge/")
    assert all("p" != str(line.get("params")) for line in session._writer.lines)


def test_session_to_a_closed_port_fails_with_the_address():
    async def attempt():
        session = StratumSession(PoolAddress("127.0.0.1", 9), "u", "secret", RecordingHandler(),
                                 request_timeout=2)
        await session.connect()
    with pytest.raises(ConnectionError, match="cannot connect to stratum"):
        asyncio.run(attempt())
