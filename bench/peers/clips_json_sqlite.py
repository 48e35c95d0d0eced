#!/usr/bin/env python3
"""Peer for bench/clips.sh: what a user would otherwise write to load a HowTo100M caption.json
into SQLite — json.load the whole file, then a Python loop inserting the same rows quern-clips
stores (video: ext_id, status, n_words; clip: video, index, start, end, raw, clean text,
stop-word-filtered text), with the same schema (STRICT tables, UNIQUE(video_id, idx)), WAL,
synchronous=NORMAL, one transaction per 1000 videos. Cleaning = tags removed + whitespace
collapsed; filtering = HowTo100M's stop-word list (extract/data/stopwords.txt); words =
len(re.findall(r"[\\w']+", clean)).
Usage: clips_json_sqlite.py caption.json out.db stopwords.txt
Prints: "videos N clips M seconds S"."""
import json
import re
import sqlite3
import sys
import time

SCHEMA = """
CREATE TABLE video(id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
                   n_words INTEGER) STRICT;
CREATE TABLE clip(id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES video(id),
                  idx INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL, raw TEXT,
                  clean TEXT, filtered TEXT, tokens BLOB, UNIQUE (video_id, idx)) STRICT;
"""
TAG = re.compile(r"<[^>]*>")
WS = re.compile(r"\s+")
WORD = re.compile(r"[\w']+")


def main():
    src, out, stop_path = sys.argv[1:4]
    with open(stop_path) as f:
        stop = {w.strip().lower() for w in f if w.strip() and not w.startswith("#")}
    t0 = time.perf_counter()
    with open(src) as f:
        data = json.load(f)
    con = sqlite3.connect(out)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.executescript(SCHEMA)
    n_clips = 0
    con.execute("BEGIN")
    for i, (vid, entry) in enumerate(data.items()):
        rows = []
        n_words = 0
        for k, (s, e, raw) in enumerate(zip(entry["start"], entry["end"], entry["text"])):
            clean = WS.sub(" ", TAG.sub("", raw)).strip()
            toks = WORD.findall(clean)
            n_words += len(toks)
            filtered = " ".join(w for w in toks if w.lower() not in stop)
            rows.append((k, s, e, raw, clean, filtered))
        cur = con.execute("INSERT INTO video(ext_id, status, n_words) VALUES (?, 'ok', ?)",
                          (vid, n_words))
        v = cur.lastrowid
        con.executemany("INSERT INTO clip(video_id, idx, start_s, end_s, raw, clean, filtered) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", [(v, *r) for r in rows])
        n_clips += len(rows)
        if (i + 1) % 1000 == 0:
            con.execute("COMMIT")
            con.execute("BEGIN")
    con.execute("COMMIT")
    con.close()
    print(f"videos {len(data)} clips {n_clips} seconds {time.perf_counter() - t0:.3f}")


if __name__ == "__main__":
    main()
