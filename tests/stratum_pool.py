"""A Stratum v1 test pool on 127.0.0.1 that checks every share on its own.

Independent of hashforge's Stratum code on purpose: coinbase, merkle root,
header and target are rebuilt here with hashlib and struct, so a shared mistake
cannot hide. Fault knobs: silence, rejection, garbage, dropped connections,
server stop/start, and requests sent to the miner (ping, reconnect, ...).
"""

import asyncio
import hashlib
import json
import os
import struct
import time
from dataclasses import dataclass, field
from fractions import Fraction

DIFF1 = 0xFFFF << 208
BIP320_MASK = 0x1FFFE000


def dsha(data):
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


@dataclass
class PoolJob:
    job_id: str
    prevhash: bytes           # header order
    coinb1: bytes
    coinb2: bytes
    branch: list
    version: int
    nbits: int
    ntime: int
    difficulty: float

    def notify_params(self, clean):
        words = b"".join(self.prevhash[i:i + 4][::-1] for i in range(0, 32, 4))
        return [self.job_id, words.hex(), self.coinb1.hex(), self.coinb2.hex(),
                [h.hex() for h in self.branch], f"{self.version:08x}", f"{self.nbits:08x}",
                f"{self.ntime:08x}", clean]


@dataclass(eq=False)
class Connection:
    writer: asyncio.StreamWriter
    extranonce1: bytes
    session_id: str
    extranonce2_size: int
    version_mask: int | None = None
    authorized: bool = False
    user: str | None = None
    password: str | None = None


@dataclass
class ShareRecord:
    job_id: str
    accepted: bool
    reason: str
    versioned: bool
    extranonce2: str


@dataclass
class CheckingPool:
    difficulty: float = 2.0 ** -20
    extranonce2_size: int = 4
    version_rolling: bool = True
    resume_sessions: bool = True
    silent: bool = False
    reject_reason: str | None = None
    job_interval: float | None = None     # send a fresh (not clean) job this often, as pools do
    jobs: dict = field(default_factory=dict)
    shares: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)
    subscribes: int = 0

    def __post_init__(self):
        self._server = None
        self._connections = set()
        self._sessions = {}
        self._seen = set()
        self._job_counter = 0
        self._request_ids = 1000
        self._ticker = None
        self.port = None

    # --- server -------------------------------------------------------------------------------

    async def start(self, port=0):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port or self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]
        if not self.jobs:
            self.new_job(clean=True, send=False)
        if self.job_interval:
            self._ticker = asyncio.create_task(self._tick())
        return self

    async def _tick(self):
        while True:
            await asyncio.sleep(self.job_interval)
            self.new_job(clean=False)

    async def stop(self):
        """Stop listening and drop every connection (the pool goes down)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.drop_all()

    def drop_all(self):
        for connection in list(self._connections):
            connection.writer.close()
        self._connections.clear()

    @property
    def url(self):
        return f"stratum+tcp://127.0.0.1:{self.port}"

    @property
    def accepted(self):
        return sum(1 for share in self.shares if share.accepted)

    # --- jobs ---------------------------------------------------------------------------------

    def new_job(self, clean=True, send=True):
        self._job_counter += 1
        if clean:
            self.jobs.clear()
        height = 800_000 + self._job_counter
        script_head = bytes([3]) + height.to_bytes(3, "little")
        coinb1 = (struct.pack("<I", 2) + b"\x01" + bytes(32) + b"\xff\xff\xff\xff"
                  + bytes([len(script_head) + 4 + self.extranonce2_size + 8]) + script_head)
        coinb2 = (b"/hashforge-test/"[:8] + b"\xff\xff\xff\xff" + b"\x01" + struct.pack("<q", 625_000_000)
                  + b"\x16\x00\x14" + os.urandom(20) + bytes(4))
        job = PoolJob(job_id=f"{self._job_counter:x}", prevhash=os.urandom(28) + bytes(4),
                      coinb1=coinb1, coinb2=coinb2,
                      branch=[os.urandom(32) for _ in range(self._job_counter % 4)],
                      version=0x20000000, nbits=0x1703A30C, ntime=int(time.time()),
                      difficulty=self.difficulty)
        self.jobs[job.job_id] = job
        if send:
            for connection in list(self._connections):
                self._notify(connection, job, clean)
        return job

    def _notify(self, connection, job, clean):
        if not connection.authorized or self.silent:
            return
        self._send(connection, {"id": None, "method": "mining.set_difficulty", "params": [job.difficulty]})
        self._send(connection, {"id": None, "method": "mining.notify", "params": job.notify_params(clean)})

    # --- faults and requests to the miner -------------------------------------------------------

    def send_lines(self, lines):
        """Raw lines to every connection (for malformed-message tests)."""
        for connection in list(self._connections):
            for line in lines:
                connection.writer.write(line if isinstance(line, bytes) else line.encode())

    def request(self, method, params, with_id=True):
        """A request or notification to every connection; answers land in ``answers``."""
        self._request_ids += 1
        request_id = self._request_ids if with_id else None
        for connection in list(self._connections):
            self._send(connection, {"id": request_id, "method": method, "params": params})
        return request_id

    def set_extranonce(self, extranonce2_size=None):
        for connection in list(self._connections):
            connection.extranonce1 = os.urandom(4)
            if extranonce2_size is not None:
                connection.extranonce2_size = extranonce2_size
            self._send(connection, {"id": None, "method": "mining.set_extranonce",
                                    "params": [connection.extranonce1.hex(), connection.extranonce2_size]})
        self.new_job(clean=True)

    def set_version_mask(self, mask):
        for connection in list(self._connections):
            connection.version_mask = mask
            self._send(connection, {"id": None, "method": "mining.set_version_mask",
                                    "params": [f"{mask:08x}"]})

    # --- protocol -------------------------------------------------------------------------------

    def _send(self, connection, message):
        if not connection.writer.is_closing():
            connection.writer.write(json.dumps(message).encode() + b"\n")

    async def _serve(self, reader, writer):
        connection = Connection(writer, os.urandom(4), os.urandom(4).hex(), self.extranonce2_size)
        self._connections.add(connection)
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                self._handle(connection, message)
        except (ConnectionError, OSError):
            pass
        finally:
            self._connections.discard(connection)
            writer.close()

    def _handle(self, connection, message):
        method, params, request_id = message.get("method"), message.get("params") or [], message.get("id")
        if method is None:
            self.answers[request_id] = (message.get("result"), message.get("error"))
            return

        def reply(result, error=None):
            self._send(connection, {"id": request_id, "result": result, "error": error})

        if method == "mining.configure":
            if not self.version_rolling:
                return reply(None, [20, "Unknown method", None])
            asked = int(params[1].get("version-rolling.mask", "ffffffff"), 16)
            connection.version_mask = asked & BIP320_MASK
            return reply({"version-rolling": True, "version-rolling.mask": f"{connection.version_mask:08x}"})
        if method == "mining.subscribe":
            self.subscribes += 1
            resumed = params[1] if len(params) > 1 else None
            if self.resume_sessions and resumed in self._sessions:
                connection.session_id = resumed
                connection.extranonce1 = self._sessions[resumed]
            self._sessions[connection.session_id] = connection.extranonce1
            return reply([[["mining.set_difficulty", connection.session_id],
                           ["mining.notify", connection.session_id]],
                          connection.extranonce1.hex(), connection.extranonce2_size])
        if method == "mining.authorize":
            connection.user, connection.password = params[0], params[1]
            self.logins.append((params[0], params[1]))
            connection.authorized = True
            reply(True)
            newest = list(self.jobs.values())[-1]
            return self._notify(connection, newest, clean=True)
        if method == "mining.extranonce.subscribe":
            return reply(True)
        if method == "mining.submit":
            return reply(*self._check_share(connection, params))
        return reply(None, [20, "Unknown method", None])

    def _check_share(self, connection, params):
        def refuse(code, reason, record=True):
            if record:
                self.shares.append(ShareRecord(str(params[1]) if len(params) > 1 else "?", False, reason,
                                               len(params) > 5, params[2] if len(params) > 2 else ""))
            return None, [code, reason, None]

        if not connection.authorized:
            return refuse(24, "Unauthorized worker")
        if len(params) not in (5, 6):
            return refuse(20, f"mining.submit needs 5 or 6 parameters, got {len(params)}")
        _, job_id, extranonce2_hex, ntime_hex, nonce_hex = params[:5]
        job = self.jobs.get(job_id)
        if job is None:
            return refuse(21, "Job not found (stale)")
        extranonce2 = bytes.fromhex(extranonce2_hex)
        if len(extranonce2) != connection.extranonce2_size:
            return refuse(20, "wrong extranonce2 size")
        version = job.version
        if len(params) == 6:
            if connection.version_mask is None:
                return refuse(20, "version rolling was not negotiated")
            bits = int(params[5], 16)
            if bits & ~connection.version_mask:
                return refuse(20, "version bits outside the mask")
            version = (job.version & ~connection.version_mask) | bits
        ntime = int(ntime_hex, 16)
        if not job.ntime <= ntime <= job.ntime + 600:
            return refuse(20, "ntime out of range")
        nonce = int(nonce_hex, 16)
        key = (job_id, connection.extranonce1, extranonce2, ntime, nonce, version)
        if key in self._seen:
            return refuse(22, "Duplicate share")
        self._seen.add(key)
        root = dsha(job.coinb1 + connection.extranonce1 + extranonce2 + job.coinb2)
        for sibling in job.branch:
            root = dsha(root + sibling)
        header = struct.pack("<I32s32sIII", version, job.prevhash, root, ntime, job.nbits, nonce)
        value = int.from_bytes(dsha(header), "little")
        target = int(Fraction(DIFF1) / Fraction(job.difficulty))
        if value > target:
            return refuse(23, "Low difficulty share")
        if self.reject_reason:
            return refuse(23, self.reject_reason)
        self.shares.append(ShareRecord(job_id, True, "", len(params) == 6, extranonce2_hex))
        return True, None
