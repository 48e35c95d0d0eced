#!/usr/bin/env python3
"""Generates YouTube automatic-caption WebVTT files for bench/clips_parse.sh.

Each file has YouTube's rolling layout (HOWTO100M.md §3.1): a build cue repeating the
previous line over the new line with <hh:mm:ss.mmm><c> word</c> timings, then a 10 ms hold
cue with the finished line and a " " line. Deterministic (seeded), so reruns compare alike.

usage: clips_parse.py DIR TOTAL_MB [FILE_KB]
"""
import os
import random
import sys

WORDS = ("the and to of a in you is that it this for on with so we just going have be can "
         "your pan oil garlic onion heat add minutes salt pepper cut slice mix bowl water flour "
         "sugar butter egg stir cook bake oven until golden brown now then right here okay next "
         "take little bit like really want make sure all about get put some one two three "
         "screw drill wall board paint brush tape measure level wire switch panel").split()


def ts(t):
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return "%02d:%02d:%06.3f" % (h, m, s)


def one_file(rng, target_bytes):
    out = ["WEBVTT\nKind: captions\nLanguage: en\n\n"]
    size, t, prev = 0, rng.uniform(0, 3), " "
    while size < target_bytes:
        n = rng.randint(4, 9)
        words = [rng.choice(WORDS) for _ in range(n)]
        if rng.random() < 0.02:
            words = ["[Music]"]
        dur = 0.25 * len(words) + rng.uniform(0.5, 1.5)
        wt = [t + dur * k / len(words) for k in range(len(words))]
        line2 = words[0] + "".join("<%s><c> %s</c>" % (ts(wt[k]), words[k]) for k in range(1, len(words)))
        build = "%s --> %s align:start position:0%%\n%s\n%s\n\n" % (ts(t), ts(t + dur), prev, line2)
        line = " ".join(words)
        hold = "%s --> %s align:start position:0%%\n%s\n \n\n" % (ts(t + dur), ts(t + dur + 0.01), line)
        out.append(build)
        out.append(hold)
        size += len(build) + len(hold)
        prev, t = line, t + dur + 0.01
    return "".join(out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d, total = sys.argv[1], float(sys.argv[2]) * 1e6
    per = int(sys.argv[3]) * 1000 if len(sys.argv) > 3 else 500_000
    os.makedirs(d, exist_ok=True)
    rng = random.Random(1906)
    made, i = 0, 0
    while made < total:
        text = one_file(rng, per)
        with open(os.path.join(d, "yt%04d.en.vtt" % i), "w") as f:
            f.write(text)
        made += len(text)
        i += 1
    print("generated %d files, %.1f MB in %s" % (i, made / 1e6, d))


if __name__ == "__main__":
    main()
