#!/usr/bin/env python3
"""Writes data/sample/vocab.bin, a tiny word2vec binary (run once; output committed).

Same layout as GoogleNews-vectors-negative300.bin ("count dim\\n", then per word:
the word, a space, dim little-endian float32), with the sample captions' words
and seeded random 16-d vectors, so `make dataset` exercises `quern-store vocab
import` and token ids. The vectors mean nothing; use the real file for training.
"""
import pathlib
import random
import re
import struct

from make_captions import LINES

OUT = pathlib.Path(__file__).resolve().parent.parent / "vocab.bin"
DIM = 16

if __name__ == "__main__":
    words = sorted({w for line in LINES for w in re.findall(r"[\w']+", line)})
    words = [w for w in words if w not in ("Music",)]
    rng = random.Random(0)
    with open(OUT, "wb") as f:
        f.write(f"{len(words)} {DIM}\n".encode())
        for w in words:
            f.write(w.encode() + b" ")
            f.write(struct.pack(f"<{DIM}f", *(rng.uniform(-1, 1) for _ in range(DIM))))
