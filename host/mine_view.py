"""What ``hashforge mine`` shows: a line per event and a status line, or JSON lines.

The pool miner hands over event kinds and fields; it never passes the user name
or the password, so nothing printed here can contain them.
"""

import datetime
import json
import sys

from .bench import format_rate

# Events worth a line of text (the rest go to JSON only).
_TEXT = {
    "connecting": "connecting to {pool}",
    "connected": "connected to {pool} (extranonce2 {extranonce2_size} bytes, version rolling {version_rolling})",
    "disconnected": "disconnected: {reason}",
    "pool_error": "pool unavailable: {reason}",
    "reconnect_wait": "reconnecting in {seconds} s",
    "failover": "failing over to {pool}",
    "pool_message": "{message}",
    "difficulty": "pool difficulty {difficulty:.6g}",
    "share_accepted": "share accepted (difficulty {difficulty:.6g}, job {job_id})",
    "share_rejected": "share REJECTED: {reason} (job {job_id})",
    "share_stale": "share stale: {reason} (job {job_id})",
    "share_waiting": "share kept until a pool is connected (job {job_id})",
    "hardware_error": "HARDWARE ERROR: {message}",
    "device_error": "device error: {message}",
    "device": "{message}",
    "out_of_work": "job {job_id} has no work left: waiting for the pool's next job",
    "version_mask": "version mask now {version_mask}",
    "extranonce": "extranonce changed by the pool",
}


def status_line(fields):
    return (f"{fields['pool']}  {format_rate(fields['hashrate'])} (avg {format_rate(fields['average_hashrate'])},"
            f" shares {format_rate(fields['share_hashrate'])})"
            f"  accepted {fields['accepted']}  rejected {fields['rejected']}  stale {fields['stale']}"
            f"  pending {fields['pending']}  best {fields['best_difficulty']:.6g}"
            f"  hw errors {fields['hardware_errors']}")


class MineView:
    def __init__(self, json_lines=False, stream=None):
        self.json_lines = json_lines
        self.stream = stream or sys.stdout

    def __call__(self, kind, fields):
        now = datetime.datetime.now()
        if self.json_lines:
            record = {"event": kind, "time": now.isoformat(timespec="milliseconds"), **fields}
            print(json.dumps(record, default=str), file=self.stream, flush=True)
            return
        stamp = now.strftime("%H:%M:%S")
        if kind == "status":
            print(f"[{stamp}] {status_line(fields)}", file=self.stream, flush=True)
        elif kind == "summary":
            print(f"[{stamp}] summary: {status_line(fields)}\n"
                  f"  found {fields['found']} = accepted {fields['accepted']} + rejected {fields['rejected']}"
                  f" + stale {fields['stale']} + pending {fields['pending']};"
                  f" {fields['nonces_hashed']} nonces in {fields['seconds']:.1f} s;"
                  f" disconnects {fields['disconnects']}, failovers {fields['failovers']},"
                  f" malformed pool messages {fields['malformed_messages']}", file=self.stream, flush=True)
        elif kind in _TEXT:
            print(f"[{stamp}] {_TEXT[kind].format(**fields)}", file=self.stream, flush=True)
