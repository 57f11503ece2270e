"""Mining on the checking test pool with the virtual board, and every pool fault.

The pool (tests/stratum_pool.py) rebuilds and checks each share with hashlib on
its own. Counts must always add up: found = accepted + rejected + stale + pending.
"""

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest

from hashforge.host.device import Device
from hashforge.host.pool_miner import MineOptions, PoolMiner
from hashforge.host.stratum_client import parse_pool_url

from conftest import ROOT, VIRTUAL_BOARD
from stratum_pool import CheckingPool

pytestmark = pytest.mark.slow

USER, PASSWORD = "bc1qexampleworker.rig7", "hunter2-secret"

FAST = dict(nonces_per_job=1 << 14, nonces_per_header=1 << 14, silence_timeout=30.0, failover_after=2, backoff_start=0.1,
            backoff_max=0.5, primary_retry=0.5, report_interval=0.5, submit_timeout=5.0)


def test_mine_refuses_a_bad_pool_url_in_one_line():
    done = subprocess.run([sys.executable, "-m", "hashforge.host.cli", "mine", "--pool",
                           "http://bob:hunter2@pool:80", "--user", "u"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown scheme" in done.stderr and "stratum+tcp://HOST:PORT" in done.stderr
    assert "hunter2" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def device(board):
    dev = Device.open(board.port)
    identity = dev.identify()
    yield dev, identity
    dev.close()


async def until(condition, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


def mine(device, pools, scenario, **options):
    """Start the pools, mine while ``scenario(miner, events)`` drives the faults, then
    stop; returns (stats, events)."""
    dev, identity = device

    async def main():
        for pool in pools:
            if pool.port is None or pool._server is None:
                await pool.start()
        events = []
        miner = PoolMiner(dev, identity, [parse_pool_url(pool.url) for pool in pools], USER, PASSWORD,
                          MineOptions(**{**FAST, **options}), lambda kind, fields: events.append((kind, fields)))
        task = asyncio.create_task(miner.run())
        try:
            await asyncio.wait_for(scenario(miner, events), 90)
        finally:
            miner.stop()
            stats = await task
            for pool in pools:
                await pool.stop()
        return stats, events

    return asyncio.run(main())


def check_books(stats, *pools):
    assert stats.adds_up, stats
    assert stats.hardware_errors == 0 and stats.duplicates == 0
    assert stats.accepted == sum(pool.accepted for pool in pools)
    assert stats.found >= stats.accepted


def kinds(events):
    return [kind for kind, _ in events]


def test_shares_are_accepted_with_version_rolling(device):
    pool = CheckingPool()

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 8 and len({s.extranonce2 for s in pool.shares}) >= 1
                    and miner.stats.jobs >= 1, "8 accepted shares")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert all(share.accepted for share in pool.shares), [s.reason for s in pool.shares if not s.accepted]
    assert all(share.versioned for share in pool.shares)
    assert pool.logins == [(USER, PASSWORD)]
    assert stats.best_difficulty >= 2 ** -20 and stats.nonces_hashed > 0
    # What the pool credits agrees with the device counter (loosely: a few dozen shares).
    assert 0.25 < stats.share_hashrate / stats.average_hashrate < 4


def test_without_version_rolling_extranonce2_advances(device):
    pool = CheckingPool(version_rolling=False)

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 4 and len({s.extranonce2 for s in pool.shares}) >= 2,
                    "accepted shares from two extranonce2 values")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert not any(share.versioned for share in pool.shares)
    assert all(share.accepted for share in pool.shares)


def test_a_share_found_while_disconnected_is_sent_after_reconnect(device):
    pool = CheckingPool()

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 2, "first shares")
        await pool.stop()
        await until(lambda: len(miner._pending) >= 2, "shares found while the pool is down")
        await pool.start()
        await until(lambda: miner.stats.sent_after_reconnect >= 2 and not miner._pending
                    and not miner._in_flight, "waiting shares sent after the reconnect")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert stats.disconnects >= 1 and stats.stale == 0
    assert all(share.accepted for share in pool.shares)
    assert "share_waiting" in kinds(events)
    # Backoff: from the start value, doubling, capped.
    waits = [fields["seconds"] for kind, fields in events if kind == "reconnect_wait"]
    assert waits and waits[0] == FAST["backoff_start"]
    assert waits == sorted(waits) and max(waits) <= FAST["backoff_max"]


def test_shares_whose_job_ended_while_away_are_counted_stale(device):
    pool = CheckingPool()

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 1, "a first share")
        await pool.stop()
        await until(lambda: len(miner._pending) >= 2, "shares found while the pool is down")
        pool.new_job(clean=True, send=False)
        await pool.start()
        await until(lambda: miner.stats.stale >= 2 and not miner._pending, "waiting shares counted stale")
        await until(lambda: pool.accepted >= 3, "shares on the new job")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert stats.stale >= 2
    assert all(share.accepted for share in pool.shares)     # stale ones were never sent


def test_rejected_shares_are_counted_with_the_reason(device):
    pool = CheckingPool(reject_reason="test pool says no")

    async def scenario(miner, events):
        await until(lambda: miner.stats.rejected >= 3, "three rejections")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert stats.accepted == 0 and stats.rejected >= 3
    assert any("test pool says no" in reason for reason in stats.reject_reasons)


def test_malformed_and_unknown_messages_do_not_stop_mining(device):
    pool = CheckingPool()
    ids = {}

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 1, "a first share")
        pool.send_lines([b"garbage that is not json\n", b"{\"id\": 1, \n", b"[1, 2, 3]\n",
                         b'{"id": null, "method": "mining.notify", "params": ["x", "zz"]}\n',
                         b'{"id": null, "method": "mining.set_difficulty", "params": ["high"]}\n',
                         b'{"id": null, "method": "mining.something_new", "params": []}\n'])
        ids["unknown"] = pool.request("mining.something_else", [])
        ids["ping"] = pool.request("mining.ping", [])
        ids["version"] = pool.request("client.get_version", [])
        pool.request("client.show_message", [f"hello {USER}, your password is {PASSWORD}"])
        accepted = pool.accepted
        await until(lambda: all(i in pool.answers for i in ids.values()), "answers to the pool's requests")
        await until(lambda: pool.accepted >= accepted + 3, "shares after the garbage")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    assert stats.malformed_messages >= 5 and stats.unknown_messages >= 2
    assert stats.disconnects == 1                           # only the final stop
    assert pool.answers[ids["ping"]] == ("pong", None)
    assert pool.answers[ids["version"]][0].startswith("hashforge/")
    assert pool.answers[ids["unknown"]][1][0] == 20
    shown = [fields["message"] for kind, fields in events if kind == "pool_message" and "hello" in fields["message"]]
    assert shown and all(USER not in text and PASSWORD not in text for text in shown)


def test_silent_pool_fails_over_to_the_backup_and_back(device):
    primary, backup = CheckingPool(silent=True, job_interval=1.0), CheckingPool(job_interval=1.0)

    async def scenario(miner, events):
        await until(lambda: backup.accepted >= 2, "shares on the backup after the primary went silent")
        primary.silent = False
        await until(lambda: primary.accepted >= 2, "shares on the primary once it talks again")

    stats, events = mine(device, [primary, backup], scenario, silence_timeout=3.0)
    check_books(stats, primary, backup)
    reasons = [fields.get("reason", "") for kind, fields in events if kind == "disconnected"]
    assert any(reason.startswith("no new job") for reason in reasons)
    assert any("is back" in reason for reason in reasons), reasons
    assert stats.failovers >= 1


def test_pool_down_fails_over_and_comes_back_when_it_returns(device):
    primary, backup = CheckingPool(), CheckingPool()

    async def scenario(miner, events):
        await primary.stop()                                 # down before the miner starts
        await until(lambda: backup.accepted >= 2, "shares on the backup")
        await primary.start()
        await until(lambda: primary.accepted >= 2, "shares on the primary after it returned")

    async def start_then(miner, events):
        await scenario(miner, events)

    asyncio.run(primary.start())                             # reserve its port
    stats, events = mine(device, [primary, backup], start_then)
    check_books(stats, primary, backup)
    assert stats.failovers >= 1
    assert "pool_error" in kinds(events)


def test_pool_requests_change_extranonce_mask_and_connection(device):
    pool = CheckingPool()

    async def scenario(miner, events):
        await until(lambda: pool.accepted >= 1, "a first share")
        pool.set_version_mask(0x1E000000)
        await until(lambda: any(s.accepted and s.versioned and s.job_id for s in pool.shares[-1:]),
                    "a share after the mask change")
        pool.set_extranonce()
        accepted = pool.accepted
        await until(lambda: pool.accepted >= accepted + 2, "shares with the new extranonce1")
        subscribes = pool.subscribes
        pool.request("client.reconnect", [])
        await until(lambda: pool.subscribes > subscribes, "a new subscribe after client.reconnect")
        accepted = pool.accepted
        await until(lambda: pool.accepted >= accepted + 2, "shares after the reconnect")

    stats, events = mine(device, [pool], scenario)
    check_books(stats, pool)
    refused = [s.reason for s in pool.shares if not s.accepted]
    # The extranonce change is a clean job: a share found on the old job and sent before
    # the miner read the change is stale to the pool, as on a real one (a race, seen once
    # in a loaded test run). Nothing else may be refused.
    stale = refused.count("Job not found (stale)")
    assert stale <= 2 and len(refused) == stale, refused
    assert "version_mask" in kinds(events) and "extranonce" in kinds(events)
    assert any("asked to reconnect" in f.get("reason", "") for k, f in events if k == "disconnected")


class PoolThread:
    """A test pool on its own event loop, for a miner in another process."""

    def __init__(self, pool):
        self.pool = pool
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.pool.start(), self.loop).result(10)
        return self.pool

    def __exit__(self, *exc):
        asyncio.run_coroutine_threadsafe(self.pool.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_mine_command_json_lines_never_show_credentials(board):
    with PoolThread(CheckingPool()) as pool:
        done = subprocess.run(
            [sys.executable, "-m", "hashforge.host.cli", "mine", "--pool", pool.url, "--user", USER,
             "--password", PASSWORD, "--device", "virtual", "--cores", str(VIRTUAL_BOARD["cores"]),
             "--clocks-per-nonce", str(VIRTUAL_BOARD["clocks_per_nonce"]),
             "--seconds", "8", "--report-interval", "2", "--json"],
            capture_output=True, text=True, cwd=ROOT, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    assert USER not in output and PASSWORD not in output and "rig7" not in output
    records = [json.loads(line) for line in done.stdout.splitlines()]
    summary = records[-1]
    assert summary["event"] == "summary"
    assert summary["accepted"] >= 1 and summary["accepted"] == pool.accepted
    assert summary["found"] == summary["accepted"] + summary["rejected"] + summary["stale"] + summary["pending"]
    assert any(r["event"] == "status" for r in records)
    assert pool.logins and pool.logins[0] == (USER, PASSWORD)
