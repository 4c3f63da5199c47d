#!/usr/bin/env python3
"""Write the seed corpus of fuzz_corrupt (fuzz/fuzz_corrupt.c) into a directory.

Each seed is one heap configuration byte and then calls in the target's
encoding: blocks of every size kind are made and some freed, then the heap
is damaged in each of the target's ways (overflow, underflow, write after
free, with each kind of bytes) between further calls, on each kind of heap:

  cfg byte: bit 0 grows, bit 1 HH_POISON, bit 2 HH_STRICT, bits 3-4 initial size
  op byte % 16: 0-3 alloc, 4 aligned, 5 calloc, 6-7 realloc, 8-11 free, 12 inspect, 13-15 damage
  size: a kind byte (kind & 3: tiny, small, medium, large) and a value byte
  damage: a kind byte (kind % 3: overflow, underflow, write after free; kind >> 2: length),
          a block byte, then for a write after free an offset byte, then the bytes' kind (% 7) and its bytes

One more seed is a scenario written by hand (lost-last-hole-realloc): the
calls that met a defect the random seeds did not.

Deterministic: the same seeds every time (python3 gen_corrupt.py DIR).
"""
import os
import random
import sys

ALLOC, ALIGNED, CALLOC, REALLOC, FREE, INSPECT, DAMAGE = 0, 4, 5, 6, 8, 12, 13


def size(r):
    kind = r.randrange(4) if r.randrange(8) else 3
    return [kind | (r.randrange(64) << 2), r.randrange(256)]


def calls(r, n):
    out = []
    for _ in range(n):
        pick = r.randrange(100)
        if pick < 40:
            out += [ALLOC] + size(r)
        elif pick < 48:
            out += [ALIGNED] + size(r) + [r.randrange(13)]
        elif pick < 53:
            out += [CALLOC] + size(r) + [r.randrange(8)]
        elif pick < 65:
            out += [REALLOC, r.randrange(256)] + size(r)
        elif pick < 95:
            out += [FREE, r.randrange(256)]
        else:
            out += [INSPECT, r.randrange(5), r.randrange(256)]
    return out


def damage(r, where, kind):
    """One damage of the given place (0-2) and bytes' kind (0-6)."""
    out = [DAMAGE, where | (r.randrange(64) << 2), r.randrange(256)]
    if where == 2:
        out.append(r.randrange(48))
    out += [kind | (r.randrange(32) << 3)] + [r.randrange(256) for _ in range(8)]
    return out


def seed(cfg):
    r = random.Random(cfg)
    out = [cfg] + calls(r, 40)
    for where in range(3):
        for kind in range(7):
            out += damage(r, where, kind) + calls(r, 6)
    return bytes(out)


def lost_last_hole_then_growing_realloc():
    """A growing heap (32 KiB) whose trailing hole's index node a write after
    free damages, then a realloc of the block before it that needs growth:
    the heap must move the block, not extend it over the hole put out of
    service (the defect a572328 fixed; the tags no longer chained)."""
    return bytes([1 | 1 << 3,
                  ALLOC, 2 | 8 << 2, 31,  # b: 1000 bytes
                  ALLOC, 2 | 8 << 2, 31,  # c: 1000 bytes
                  FREE, 1,  # c merges into the trailing hole
                  DAMAGE, 2 | 15 << 2, 0, 0, 0,  # 16 'A's at c: the hole's index node
                  REALLOC, 0, 3, 59,  # b to 60,416 bytes: growth
                  ALLOC, 3, 20,  # 20,480 bytes
                  INSPECT, 0, 0])


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    for cfg in range(32):
        with open(os.path.join(d, "seed-%02d" % cfg), "wb") as f:
            f.write(seed(cfg))
    with open(os.path.join(d, "lost-last-hole-realloc"), "wb") as f:
        f.write(lost_last_hole_then_growing_realloc())


if __name__ == "__main__":
    main()
