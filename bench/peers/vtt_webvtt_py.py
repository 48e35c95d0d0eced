#!/usr/bin/env python3
"""Peer for bench/clips_parse.sh: webvtt-py parsing + video2dataset's YouTube dedupe.

The dedupe follows video2dataset data_reader.py sub_to_dict(dedupe=True) (HOWTO100M.md
§3.1): skip every cue with a "<c>" in its lines (the build cues), drop blank lines and any
line equal to the previous line, keep {start, end, lines}. Files are read into memory
before the clock starts, like cap_bench does.

usage: vtt_webvtt_py.py FILE...   -> "files N bytes B cues C seconds S MB/s R"
"""
import io
import sys
import time

import webvtt


def dedupe(captions):
    out, prev = [], None
    for c in captions:
        lines = c.lines
        if any("<c>" in l for l in lines):
            continue
        keep = []
        for line in lines:
            if not line.strip():
                continue
            if line != prev:
                keep.append(line)
            prev = line
        if keep:
            out.append({"start": c.start, "end": c.end, "lines": keep})
    return out


def main():
    texts = [open(p, encoding="utf-8").read() for p in sys.argv[1:]]
    total = sum(len(t.encode()) for t in texts)
    t0 = time.perf_counter()
    cues = 0
    for t in texts:
        cues += len(dedupe(webvtt.from_buffer(io.StringIO(t)).captions))
    dt = time.perf_counter() - t0
    print("files %d bytes %d cues %d seconds %.4f MB/s %.2f" % (len(texts), total, cues, dt, total / 1e6 / dt))


if __name__ == "__main__":
    main()
