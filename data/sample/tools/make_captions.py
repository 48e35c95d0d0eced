#!/usr/bin/env python3
"""Writes the sample's caption files (run once; outputs are committed).

qnSample0001.en.vtt imitates YouTube automatic captions (rolling two-line cues,
<c> word timings, 10 ms "freeze" cues), qnSample0002.en.srt is a plain SRT with a
BOM and CRLF. The text is our own instructional narration.
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent.parent / "videos"

LINES = [
    "today we are going to build a small wooden birdhouse",
    "first measure the board and mark the cutting lines with a pencil",
    "use a square so every line is straight across the board",
    "now cut along the lines slowly and keep the saw upright",
    "sand the edges until they feel smooth under your fingers",
    "glue the two side panels to the base and hold them firmly",
    "drive two small nails through each side for extra strength",
    "place the roof pieces on top and check that they overlap",
    "drill an entrance hole about three centimetres wide in the front",
    "finally paint the outside with a weatherproof varnish and let it dry",
    "[Music]",
    "hang the birdhouse on a tree away from the afternoon sun",
]


def ts(t):
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h):02d}:{int(m):02d}:{s:06.3f}"


def youtube_vtt(lines, t0=0.5, per_line=2.8):
    out = ["WEBVTT", "Kind: captions", "Language: en", ""]
    prev = ""
    t = t0
    for line in lines:
        words = line.split()
        step = per_line / len(words)
        timed = words[0] + "".join(
            f"<{ts(t + i * step)}><c> {w}</c>" for i, w in enumerate(words) if i > 0)
        end = t + per_line
        out += [f"{ts(t)} --> {ts(end)} align:start position:0%", prev or " ", timed, ""]
        out += [f"{ts(end)} --> {ts(end + 0.01)} align:start position:0%", line, " ", ""]
        prev = line
        t = end + 0.01
    return "\n".join(out) + "\n"


def srt(lines, t0=0.0, per_line=1.9):
    out = []
    for i, line in enumerate(lines, 1):
        a, b = t0 + (i - 1) * per_line, t0 + i * per_line - 0.1
        out += [str(i), f"{ts(a).replace('.', ',')} --> {ts(b).replace('.', ',')}",
                f"<i>{line}</i>" if i % 4 == 0 else line, ""]
    return "\ufeff" + "\r\n".join(out) + "\r\n"


if __name__ == "__main__":
    (HERE / "qnSample0001.en.vtt").write_text(youtube_vtt(LINES), encoding="utf-8")
    (HERE / "qnSample0002.en.srt").write_bytes(srt(LINES).encode("utf-8"))
