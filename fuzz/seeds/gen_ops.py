#!/usr/bin/env python3
"""Write the seed corpus of fuzz_ops (fuzz/fuzz_ops.c) into a directory.

Each seed is one heap configuration byte and then a run of operations in the
target's encoding, so that the fuzzer starts from inputs that reach every
operation, every size kind and every misuse, on each kind of heap:

  cfg byte: bit 0 grows, bit 1 HH_POISON, bits 2-3 initial size, bit 4 max_size
  op byte % 12: 0-2 alloc, 3 aligned, 4 calloc, 5-6 realloc, 7-9 free, 10-11 misuse
  size: a kind byte (kind & 7 picks tiny, small, medium, large, very large) and a value byte

Deterministic: the same seeds every time (python3 gen_ops.py DIR).
"""
import os
import random
import sys

ALLOC, ALIGNED, CALLOC, REALLOC, FREE, MISUSE = 0, 3, 4, 5, 7, 10


def size(r):
    """Mostly tiny to medium: a large block costs its pattern's fill and checks."""
    k = r.randrange(6) if r.randrange(10) else 6 + r.randrange(2)
    return [k | (r.randrange(32) << 3), r.randrange(256)]


def ops(r, n):
    out = []
    for i in range(n):
        pick = r.randrange(100)
        if pick < 30:
            out += [ALLOC] + size(r)
        elif pick < 40:
            out += [ALIGNED] + size(r) + [r.randrange(21)]
        elif pick < 47:
            out += [CALLOC, r.randrange(256)] + size(r)
        elif pick < 62:
            out += [REALLOC, r.randrange(256)] + size(r)
        elif pick < 90:
            out += [FREE, r.randrange(256)]
        else:
            out += [MISUSE, i % 5, r.randrange(256)]
    return out


def seed(cfg, r):
    return bytes([cfg] + ops(r, 24))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "fuzz/seeds/ops"
    os.makedirs(out, exist_ok=True)
    r = random.Random(9)
    for cfg in range(32):
        with open(os.path.join(out, "cfg%02d" % cfg), "wb") as f:
            f.write(seed(cfg, r))


if __name__ == "__main__":
    main()
