"""The ``hashforge`` command line.

Each subcommand is a small function over the host, sim and boards layers. Heavy
imports (amaranth, cocotb, the simulators) happen inside the subcommands that
need them, so the host-only install runs ``hash``, ``scan``, ``bench`` and ``mine``.
"""

import argparse
import json
import sys

from hashforge.rtl import spec


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def parse_u32(text, what):
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"{what} must be an integer (decimal or 0x hex), got {text!r}") from None
    if not 0 <= value <= spec.MASK32:
        raise UsageError(f"{what} must be in 0..{spec.MASK32}, got {value}")
    return value


def parse_header(text):
    try:
        return spec.parse_hex(text, "HEADER_HEX", spec.HEADER_BYTES)
    except ValueError as error:
        raise UsageError(str(error)) from None


def emit_json(obj):
    print(json.dumps(obj), flush=True)


# --- hash ----------------------------------------------------------------------------------

def cmd_hash(args):
    header = spec.BlockHeader.parse(parse_header(args.header))
    raw = header.serialize()
    if not args.json:
        print(header.display_hash())
        return 0
    target = None
    try:
        target = header.target()
    except ValueError:
        pass
    emit_json({
        "hash": header.display_hash(),
        "midstate": [f"{w:08x}" for w in spec.midstate(raw)],
        "tail_words": [f"{w:08x}" for w in spec.tail_words(raw)],
        "version": header.version,
        "prev_hash": header.prev_hash[::-1].hex(),
        "merkle_root": header.merkle_root[::-1].hex(),
        "time": header.time,
        "bits": f"{header.bits:08x}",
        "nonce": header.nonce,
        "target": None if target is None else f"{target:064x}",
        "meets_target": None if target is None else spec.hash_meets_target(header.hash(), target),
        "leading_zero_bits": spec.leading_zero_bits(header.hash()),
    })
    return 0


# --- scan ----------------------------------------------------------------------------------

def check_scan_range(args):
    start = parse_u32(args.start, "--start")
    try:
        count = int(args.count, 0)
    except ValueError:
        raise UsageError(f"--count must be an integer, got {args.count!r}") from None
    if count <= 0:
        raise UsageError(f"--count must be positive, got {count}")
    if start + count > 1 << 32:
        raise UsageError(f"--start {start} --count {count} runs past the last nonce {spec.MASK32}; "
                         f"use at most --count {(1 << 32) - start}")
    if not 0 <= args.zero_bits <= 256:
        raise UsageError(f"--zero-bits must be in 0..256, got {args.zero_bits}")
    return start, count


def cmd_scan(args):
    raw = parse_header(args.header)
    start, count = check_scan_range(args)
    if args.device:
        from hashforge.host.scan import device_scan
        return device_scan(raw, start, count, args.zero_bits, args.device, args.json, args)
    from hashforge.sim import golden
    nonces = golden.scan(raw, start, count, args.zero_bits)
    header = spec.BlockHeader.parse(raw)
    hashes = [header.with_nonce(n).display_hash() for n in nonces]
    if args.json:
        emit_json({"start": start, "count": count, "zero_bits": args.zero_bits, "source": "golden",
                   "nonces": nonces, "hashes": hashes})
        return 0
    for nonce, display in zip(nonces, hashes):
        print(f"{nonce}  (0x{nonce:08x})  {display}")
    print(f"{len(nonces)} nonce(s) with >= {args.zero_bits} leading zero bits in "
          f"[{start}, {start + count}) (golden model)", file=sys.stderr)
    return 0


# --- entry point ---------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(prog="hashforge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("hash", help="double SHA-256 of an 80-byte block header")
    p.add_argument("header", metavar="HEADER_HEX", help="80-byte header as 160 hex digits")
    p.add_argument("--json", action="store_true", help="also midstate, target and whether it is met")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("scan", help="every nonce in a range whose hash has K leading zero bits")
    p.add_argument("header", metavar="HEADER_HEX", help="80-byte header; its nonce field is ignored")
    p.add_argument("--start", required=True, help="first header nonce (decimal or 0x hex)")
    p.add_argument("--count", required=True, help="how many nonces")
    p.add_argument("--zero-bits", type=int, required=True, metavar="K",
                   help="leading zero bits of the hash read as a 256-bit little-endian number")
    p.add_argument("--device", metavar="PORT|virtual",
                   help="run the scan on a device and report recall against the golden model")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=cmd_scan)

    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except UsageError as error:
        print(f"hashforge {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hashforge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
