"""End-to-end tests of quern-clips: videos generated here with the ffmpeg CLI (lavfi testsrc,
tiny, a few seconds) muxed with subtitle streams (mov_text in mp4, subrip and ass in mkv, webvtt
in webm) or with sidecar files; broken videos (truncated, zero-byte, moov atom missing,
garbage); info.json filters; caption.json + HowTo100M_v1.csv imports; idempotency; dry run;
every error path with its exit code and message. Store contents are read with sqlite3 and
`quern-store export`. Real files from ../shared/data/real are used when present."""
import fcntl
import json
import os
import pathlib
import shutil
import sqlite3
import struct
import subprocess

import pytest

from conftest import ROOT, SHARED, run

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg CLI not installed")

SRT = """1
00:00:00,500 --> 00:00:01,200
hello <i>world</i> one

2
00:00:01,300 --> 00:00:02,500
second line &amp; more

3
00:00:02,800 --> 00:00:02,800
zero length dropped
"""
EMBEDDED = [(0.5, 1.2, "hello world one", "hello world"),
            (1.3, 2.5, "second line & more", "second line")]


def qc(bin_dir, *args, **kw):
    return run("quern-clips", *args, bin_dir=bin_dir, **kw)


def ffmpeg(*args):
    cp = subprocess.run([FFMPEG, "-v", "error", "-y", *map(str, args)], capture_output=True,
                        text=True)
    assert cp.returncode == 0, cp.stderr


def lavfi_src(seconds=3):
    return ["-f", "lavfi", "-i", f"testsrc=size=64x48:rate=10:duration={seconds}"]


def h264():
    return ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def videos(db):
    con = sqlite3.connect(f"file:{db}/meta.db?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = {r["ext_id"]: dict(r) for r in con.execute("SELECT * FROM video ORDER BY id")}
    con.close()
    return rows


def clips(db, ext_id):
    """(start, end, clean, filtered, raw, token-id bytes or None) per clip of a video, decoded
    from its clip_pack row as store/FORMAT.md §2 lays it out (independently of the readers)."""
    con = sqlite3.connect(f"file:{db}/meta.db?mode=ro", uri=True)
    row = con.execute("SELECT n, times, texts, tokens FROM clip_pack JOIN video"
                      " ON video.id = clip_pack.video_id WHERE ext_id = ?", (ext_id,)).fetchone()
    con.close()
    if row is None:
        return []
    n, times, texts, tokens = row
    t = struct.unpack(f"<{2 * n}d", times)
    table = struct.unpack(f"<{6 * n}I", texts[:24 * n])

    def text(i, k):
        off, length = table[6 * i + 2 * k], table[6 * i + 2 * k + 1]
        if off == 0xFFFFFFFF:
            return None
        assert texts[24 * n + off + length] == 0
        return texts[24 * n + off:24 * n + off + length].decode()

    def ids(i):
        if tokens is None:
            return None
        o = struct.unpack(f"<{n + 1}I", tokens[:4 * (n + 1)])
        b = tokens[4 * (n + 1 + o[i]):4 * (n + 1 + o[i + 1])]
        return b or None

    return [(t[i], t[n + i], text(i, 1), text(i, 2), text(i, 0), ids(i)) for i in range(n)]


def words(n, start=0):
    """n distinct caption words (none of them stop words), one SRT cue per 10."""
    cues = []
    for i in range(0, n, 10):
        text = " ".join(f"word{j}" for j in range(start + i, start + min(i + 10, n)))
        cues.append((i // 10 * 0.2, i // 10 * 0.2 + 0.15, text))
    return cues


def srt_of(cues):
    def ts(t):
        ms = round(t * 1000)
        return f"{ms // 3600000:02}:{ms // 60000 % 60:02}:{ms // 1000 % 60:02},{ms % 1000:03}"
    return "".join(f"{i + 1}\n{ts(a)} --> {ts(b)}\n{t}\n\n" for i, (a, b, t) in enumerate(cues))


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """Generated once: embedded-subtitle videos of every kind, a plain video, broken files."""
    if FFMPEG is None:
        pytest.skip("ffmpeg CLI not installed")
    d = tmp_path_factory.mktemp("media")
    (d / "s.srt").write_text(SRT)
    emb = d / "emb"
    emb.mkdir()
    ffmpeg(*lavfi_src(), "-i", d / "s.srt", *h264(), "-c:s", "mov_text",
           "-metadata:s:s:0", "language=eng", emb / "movtext.mp4")
    ffmpeg(*lavfi_src(), "-i", d / "s.srt", *h264(), "-c:s", "srt", emb / "subrip.mkv")
    ffmpeg(*lavfi_src(), "-i", d / "s.srt", *h264(), "-c:s", "ass", emb / "ass.mkv")
    ffmpeg(*lavfi_src(), "-i", d / "s.srt", "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-c:s", "webvtt", emb / "webvtt.webm")
    # two streams: French first, English second; --sub-lang picks
    (d / "fr.srt").write_text("1\n00:00:00,100 --> 00:00:01,000\nbonjour le monde\n")
    ffmpeg(*lavfi_src(), "-i", d / "fr.srt", "-i", d / "s.srt", "-map", "0", "-map", "1",
           "-map", "2", *h264(), "-c:s", "srt", "-metadata:s:s:0", "language=fre",
           "-metadata:s:s:1", "language=eng", d / "twolang.mkv")
    # the same tagged with ISO 639-1 codes (other muxers, users)
    ffmpeg(*lavfi_src(), "-i", d / "fr.srt", "-i", d / "s.srt", "-map", "0", "-map", "1",
           "-map", "2", *h264(), "-c:s", "srt", "-metadata:s:s:0", "language=fr",
           "-metadata:s:s:1", "language=en", d / "twolang639_1.mkv")
    ffmpeg(*lavfi_src(), *h264(), d / "plain.mp4")
    ffmpeg(*lavfi_src(), *h264(), "-movflags", "+faststart", d / "fast.mp4")
    # two hours at 1 fps, 32x32: room for real caption files' times
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=32x32:rate=1:duration=7200", *h264(), "-g", "600",
           d / "long.mp4")
    return d


def setup_dir(tmp_path, media, names):
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    for src, dst in names:
        shutil.copy(media / src, d / dst)
    return d


# ---------------------------------------------------------------- usage


def test_help_version_usage(bin_dir, tmp_path):
    cp = qc(bin_dir, "--help")
    assert cp.returncode == 0
    for word in ("--store", "--captions", "--sub-lang", "--sub-charenc", "--caption-json",
                 "--caption-csv-dir", "--metadata", "--span", "--drop-sound-tags",
                 "--keep-sound-tags", "--max-words", "--max-duration", "--min-words",
                 "--min-views", "--max-rank", "--dry-run", "-q", "Example"):
        assert word in cp.stdout, word
    cp = qc(bin_dir, "--version")
    assert cp.returncode == 0 and cp.stdout.startswith("quern-clips ")
    cases = [
        ((), "no --store DIR given"),
        (("--store", tmp_path / "s"), "no VIDEO or DIR given"),
        (("--store", tmp_path / "s", "--span", "long", "x"), "--span: 'long' is not spoken or displayed"),
        (("--store", tmp_path / "s", "--captions", "web", "x"), "--captions: 'web'"),
        (("--store", tmp_path / "s", "--captions", "json", "x"), "--captions json needs --caption-json"),
        (("--store", tmp_path / "s", "--captions", "csv", "x"), "--captions csv needs --caption-csv-dir"),
        (("--store", tmp_path / "s", "--min-words", "many", "x"), "--min-words: 'many'"),
        (("--store", tmp_path / "s", "--max-duration", "-5", "x"), "--max-duration: '-5'"),
        (("--store", tmp_path / "s", "--bogus", "x"), "Try 'quern-clips --help'"),
    ]
    for args, msg in cases:
        cp = qc(bin_dir, *args)
        assert cp.returncode == 2, (args, cp.stderr)
        assert msg in cp.stderr, (args, cp.stderr)
    assert not (tmp_path / "s").exists()


def test_missing_inputs(bin_dir, tmp_path):
    cp = qc(bin_dir, "--store", tmp_path / "s", tmp_path / "nope.mp4")
    assert cp.returncode == 2
    assert f"quern-clips: {tmp_path / 'nope.mp4'}: No such file or directory" in cp.stderr
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    cp = qc(bin_dir, "--store", tmp_path / "s", tmp_path / "empty")
    assert cp.returncode == 2 and f"no video files found in {tmp_path / 'empty'}" in cp.stderr
    cp = qc(bin_dir, "--store", tmp_path / "s", "--caption-json", tmp_path / "none.json")
    assert cp.returncode == 2 and "none.json: No such file or directory" in cp.stderr
    cp = qc(bin_dir, "--store", tmp_path / "s", "--caption-json", tmp_path / "none.json",
            "--metadata", tmp_path / "none.csv")
    assert cp.returncode == 2 and "none.csv" in cp.stderr


# ---------------------------------------------------------------- the sample


def test_sample_videos(bin_dir, tmp_path):
    store = tmp_path / "store"
    cp = qc(bin_dir, "--store", store, ROOT / "data/sample/videos")
    assert cp.returncode == 0, cp.stderr
    assert "videos 2 ok, 0 rejected, 0 failed, 0 unchanged; 22 clips, 242 words" in cp.stderr
    v = videos(store)
    assert list(v) == ["qnSample0001", "qnSample0002"]
    a, b = v["qnSample0001"], v["qnSample0002"]
    assert a["status"] == "ok" and a["codec"] == "h264" and (a["width"], a["height"]) == (192, 108)
    assert a["duration"] == pytest.approx(36.0) and a["fps"] == pytest.approx(25.0)
    assert b["codec"] == "vp9" and b["n_words"] == 121 and a["sha256"] is None
    assert a["size"] == os.path.getsize(ROOT / "data/sample/videos/qnSample0001.mp4")
    assert json.loads(a["meta_json"]) == {"captions": "sidecar qnSample0001.en.vtt",
                                          "charset": "UTF-8", "rolling": True}
    c = clips(store, "qnSample0001")
    assert len(c) == 11
    assert c[0][:4] == (0.5, 3.31, "today we are going to build a small wooden birdhouse",
                        "build small wooden birdhouse")
    assert c[1][:2] == (3.31, 6.12)
    # spoken spans: each line once, monotonic, no overlap
    assert all(x[1] <= y[0] + 1e-9 for x, y in zip(c, c[1:]))
    assert len({x[2] for x in c}) == len(c)
    c2 = clips(store, "qnSample0002")
    assert c2[0][:3] == (0.0, 1.8, "today we are going to build a small wooden birdhouse")
    # re-running changes nothing
    before = (store / "meta.db").read_bytes()
    cp = qc(bin_dir, "--store", store, ROOT / "data/sample/videos")
    assert cp.returncode == 0 and "videos 0 ok, 0 rejected, 0 failed, 2 unchanged" in cp.stderr
    assert videos(store) == v and clips(store, "qnSample0001") == c
    # exported like HowTo100M's caption.json
    out = tmp_path / "caption.json"
    assert run("quern-store", "export", store, "--captions", out, bin_dir=bin_dir).returncode == 0
    cj = json.loads(out.read_text())
    assert cj["qnSample0001"]["text"][0] == "build small wooden birdhouse"
    assert before is not None


def test_paths_stored_absolute(bin_dir, tmp_path):
    """A video named by a relative path is stored with its absolute path, so that
    quern-features finds it from any working directory (cron, a cluster job); a store that
    holds the relative path (older quern) still knows the file when it is given again."""
    d = tmp_path / "work"
    (d / "videos").mkdir(parents=True)
    src = ROOT / "data/sample/videos"
    for f in ("qnSample0002.webm", "qnSample0002.en.srt"):
        (d / "videos" / f).write_bytes((src / f).read_bytes())
    cp = qc(bin_dir, "--store", "s", "./videos", cwd=d)
    assert cp.returncode == 0, cp.stderr
    assert videos(d / "s")["qnSample0002"]["path"] == f"{d}/videos/qnSample0002.webm"
    db = sqlite3.connect(d / "s" / "meta.db")
    db.execute("UPDATE video SET path='videos/qnSample0002.webm'")
    db.commit()
    db.close()
    cp = qc(bin_dir, "--dry-run", "--store", "s", "videos", cwd=d)   # reads only
    assert cp.returncode == 0 and "1 unchanged" in cp.stderr, cp.stderr
    assert videos(d / "s")["qnSample0002"]["path"] == "videos/qnSample0002.webm"
    cp = qc(bin_dir, "--store", "s", "videos", cwd=d)
    assert cp.returncode == 0 and "1 unchanged" in cp.stderr, cp.stderr
    v = videos(d / "s")
    assert len(v) == 1 and v["qnSample0002"]["path"] == f"{d}/videos/qnSample0002.webm"
    # unchanged and spelled otherwise (absolute, as cron would); changed and spelled as
    # stored: still one row
    for touch in (False, True):
        db = sqlite3.connect(d / "s" / "meta.db")
        db.execute("UPDATE video SET path='videos/qnSample0002.webm'")
        db.commit()
        db.close()
        if touch:
            os.utime(d / "videos" / "qnSample0002.webm", ns=(10**18, 10**18))
        cp = qc(bin_dir, "--store", d / "s", "videos" if touch else d / "videos", cwd=d)
        assert cp.returncode == 0, cp.stderr
        assert ("1 ok" if touch else "1 unchanged") in cp.stderr, cp.stderr
        v = videos(d / "s")
        assert list(v) == ["qnSample0002"], v.keys()
        assert v["qnSample0002"]["path"] == f"{d}/videos/qnSample0002.webm"


def test_sha256(bin_dir, tmp_path):
    import hashlib
    f = ROOT / "data/sample/videos/qnSample0002.webm"
    qc(bin_dir, "--store", tmp_path / "s", "--sha256", f, check=True)
    assert videos(tmp_path / "s")["qnSample0002"]["sha256"] == \
        hashlib.sha256(f.read_bytes()).hexdigest()
    # a file of several 1 MiB read blocks and a partial last one (lossless noise: ~3.7 MB)
    if FFMPEG is None:
        pytest.skip("ffmpeg CLI not installed: the multi-block case needs a generated video")
    big = tmp_path / "big.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-vf",
           "noise=alls=60:allf=t", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0",
           "-pix_fmt", "yuv420p", big)
    data = big.read_bytes()
    assert len(data) > 3 << 20 and len(data) % (1 << 20)
    qc(bin_dir, "--store", tmp_path / "s", "--sha256", big, check=True)
    assert videos(tmp_path / "s")["big"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_span_displayed_and_sound_tags(bin_dir, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(ROOT / "data/sample/videos/qnSample0001.mp4", d / "v.mp4")
    shutil.copy(ROOT / "data/sample/videos/qnSample0001.en.vtt", d / "v.en.vtt")
    cp = qc(bin_dir, "--store", tmp_path / "s", "--span", "displayed", d)
    assert cp.returncode == 0, cp.stderr
    c = clips(tmp_path / "s", "v")
    assert c[0][:2] == (0.5, 6.11)  # on screen until the line scrolls away: overlap
    assert c[1][0] < c[0][1]
    (d / "w.en.srt").write_text(srt_of([(0, 1, "[Music] hello there"), (1, 2, "[Applause]")]))
    shutil.copy(ROOT / "data/sample/videos/qnSample0002.webm", d / "w.webm")
    qc(bin_dir, "--store", tmp_path / "t", "--min-words", "1", d / "w.webm", check=True)
    assert [x[2] for x in clips(tmp_path / "t", "w")] == ["hello there"]
    qc(bin_dir, "--store", tmp_path / "u", "--min-words", "1", "--keep-sound-tags",
       d / "w.webm", check=True)
    assert [x[2] for x in clips(tmp_path / "u", "w")] == ["[Music] hello there", "[Applause]"]


# ---------------------------------------------------------------- embedded streams


@needs_ffmpeg
def test_embedded_streams(bin_dir, tmp_path, media):
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--min-words", "1", media / "emb")
    assert cp.returncode == 0, cp.stderr
    assert "videos 4 ok" in cp.stderr and "8 clips, 24 words" in cp.stderr
    v = videos(store)
    assert sorted(v) == ["ass", "movtext", "subrip", "webvtt"]
    assert json.loads(v["movtext"]["meta_json"])["captions"] == "embedded mov_text stream #1 eng"
    assert json.loads(v["subrip"]["meta_json"])["captions"].startswith("embedded s")
    assert json.loads(v["webvtt"]["meta_json"])["captions"] == "embedded webvtt stream #1"
    for name in v:
        got = [(round(a, 3), round(b, 3), c, f) for a, b, c, f, *_ in clips(store, name)]
        assert got == EMBEDDED, name
        assert v[name]["duration"] == pytest.approx(3.0, abs=0.1)
        assert (v[name]["width"], v[name]["height"]) == (64, 48)


@needs_ffmpeg
def test_sub_lang_and_source_choice(bin_dir, tmp_path, media):
    d = setup_dir(tmp_path, media, [("twolang.mkv", "two.mkv")])
    qc(bin_dir, "--store", tmp_path / "a", "--min-words", "1", d, check=True)
    assert [c[2] for c in clips(tmp_path / "a", "two")] == [e[2] for e in EMBEDDED]
    qc(bin_dir, "--store", tmp_path / "b", "--min-words", "1", "--sub-lang", "fr", d, check=True)
    assert [c[2] for c in clips(tmp_path / "b", "two")] == ["bonjour le monde"]
    # ISO 639-1 and 639-2 name the same language: "fra" finds "fre", "eng" finds "en"
    qc(bin_dir, "--store", tmp_path / "b2", "--min-words", "1", "--sub-lang", "fra", d, check=True)
    assert [c[2] for c in clips(tmp_path / "b2", "two")] == ["bonjour le monde"]
    d1 = tmp_path / "in639_1"
    d1.mkdir()
    shutil.copy(media / "twolang639_1.mkv", d1 / "two1.mkv")
    for lang, want in (("eng", [e[2] for e in EMBEDDED]), ("fre", ["bonjour le monde"]),
                       ("en", [e[2] for e in EMBEDDED])):
        qc(bin_dir, "--store", tmp_path / f"l{lang}", "--min-words", "1", "--sub-lang", lang, d1,
           check=True)
        assert [c[2] for c in clips(tmp_path / f"l{lang}", "two1")] == want, lang
    # a sidecar wins over the embedded stream, unless --captions embedded
    (d / "two.en.srt").write_text(srt_of([(0.1, 0.9, "from the sidecar")]))
    qc(bin_dir, "--store", tmp_path / "c", "--min-words", "1", d, check=True)
    assert [c[2] for c in clips(tmp_path / "c", "two")] == ["from the sidecar"]
    qc(bin_dir, "--store", tmp_path / "d", "--min-words", "1", "--captions", "embedded", d,
       check=True)
    assert [c[2] for c in clips(tmp_path / "d", "two")] == [e[2] for e in EMBEDDED]
    cp = qc(bin_dir, "--store", tmp_path / "e", "--min-words", "1", "--captions", "csv",
            "--caption-csv-dir", tmp_path, d)
    assert cp.returncode == 0
    assert videos(tmp_path / "e")["two"]["reason"] == "no captions"


# ---------------------------------------------------------------- broken videos


@needs_ffmpeg
def test_broken_videos(bin_dir, tmp_path, media):
    d = tmp_path / "in"
    d.mkdir()
    data = (media / "plain.mp4").read_bytes()   # moov at the end
    (d / "nomoov.mp4").write_bytes(data[: len(data) // 2])
    (d / "zero.mp4").write_bytes(b"")
    (d / "garbage.mkv").write_bytes(os.urandom(4096))
    fast = (media / "fast.mp4").read_bytes()    # moov first, frames cut away
    (d / "cut.mp4").write_bytes(fast[:1200])
    shutil.copy(media / "emb" / "subrip.mkv", d / "good.mkv")
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--min-words", "1", d)
    assert cp.returncode == 1, cp.stderr
    v = videos(store)
    assert v["good"]["status"] == "ok"
    for name in ("nomoov", "zero", "garbage", "cut"):
        assert v[name]["status"] == "failed", name
        assert f"quern-clips: {d}/{name}." in cp.stderr
    assert v["nomoov"]["reason"] == "Invalid data found when processing input (moov atom not found)"
    assert "Invalid data found when processing input" in v["zero"]["reason"]
    assert v["cut"]["reason"]
    assert "4 failed" in cp.stderr
    assert v["zero"]["size"] == 0
    # failed videos are recorded, not retried: a re-run is clean
    cp = qc(bin_dir, "--store", store, "--min-words", "1", d)
    assert cp.returncode == 0 and "5 unchanged" in cp.stderr
    # ... unless the file changed
    shutil.copy(media / "emb" / "ass.mkv", d / "zero.mp4")
    cp = qc(bin_dir, "--store", store, "--min-words", "1", d)
    assert cp.returncode == 0 and "videos 1 ok" in cp.stderr, cp.stderr
    v2 = videos(store)
    assert v2["zero"]["status"] == "ok" and v2["zero"]["id"] == v["zero"]["id"]
    assert len(clips(store, "zero")) == 2


# ---------------------------------------------------------------- filters and metadata


def mk_sidecar_video(media, d, name, cues, info=None):
    shutil.copy(media / "plain.mp4", d / f"{name}.mp4")
    (d / f"{name}.en.srt").write_text(srt_of(cues))
    if info is not None:
        (d / f"{name}.info.json").write_text(json.dumps(info))


@needs_ffmpeg
def test_filters_and_info_json(bin_dir, tmp_path, media):
    d = tmp_path / "in"
    d.mkdir()
    mk_sidecar_video(media, d, "good", words(120), {"id": "YTgood", "view_count": 5000,
                                                    "title": "Birdhouse", "categories": ["DIY"]})
    mk_sidecar_video(media, d, "few", words(40))
    mk_sidecar_video(media, d, "unseen", words(120), {"view_count": 50})
    mk_sidecar_video(media, d, "broken_info", words(120))
    (d / "broken_info.info.json").write_text("{not json")
    shutil.copy(media / "plain.mp4", d / "silent.mp4")
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, d)
    assert cp.returncode == 0, cp.stderr
    v = videos(store)
    assert sorted(v) == ["YTgood", "broken_info", "few", "silent", "unseen"]
    g = v["YTgood"]
    assert (g["status"], g["views"], g["title"], g["category1"], g["n_words"]) == \
        ("ok", 5000, "Birdhouse", "DIY", 120)
    assert json.loads(g["meta_json"])["categories"] == ["DIY"]
    assert v["broken_info"]["status"] == "ok"  # a broken info.json is a warning only
    assert (v["few"]["status"], v["few"]["reason"]) == ("rejected", "40 caption words < 100")
    assert (v["unseen"]["status"], v["unseen"]["reason"]) == ("rejected", "views 50 < 100")
    assert (v["silent"]["status"], v["silent"]["reason"]) == ("rejected", "no captions")
    assert "rejected (words 1, views 1, no captions 1)" in cp.stderr
    assert "1 warnings" in cp.stderr
    assert clips(store, "few") == []  # rejected videos keep no clips
    c = clips(store, "YTgood")
    assert len(c) == 12 and c[0][:3] == (0.0, 0.15, " ".join(f"word{j}" for j in range(10)))
    # each filter is configurable
    cp = qc(bin_dir, "--store", tmp_path / "t", "--min-words", "30", "--min-views", "-1",
            "--max-duration", "2", d)
    assert cp.returncode == 0
    v = videos(tmp_path / "t")
    assert v["few"]["reason"] == "duration 3.0 s > 2 s"
    cp = qc(bin_dir, "--store", tmp_path / "u", "--min-words", "30", "--min-views", "-1", d)
    v = videos(tmp_path / "u")
    assert v["few"]["status"] == "ok" and v["unseen"]["status"] == "ok"


@needs_ffmpeg
def test_duplicates_and_metadata_csv(bin_dir, tmp_path, media):
    d = tmp_path / "in"
    (d / "a").mkdir(parents=True)
    (d / "b").mkdir()
    mk_sidecar_video(media, d / "a", "vid1", words(120))
    mk_sidecar_video(media, d / "b", "vid1", words(120))
    mk_sidecar_video(media, d / "b", "vid2", words(120))
    meta = tmp_path / "HowTo100M_v1.csv"
    meta.write_text("video_id,category_1,category_2,rank,task_id\n"
                    "vid1,Hobbies and Crafts,Woodworking,3,1001\nvid2,Food,Bread,250,2002\n")
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--metadata", meta, d)
    assert cp.returncode == 0, cp.stderr
    v = videos(store)
    assert sorted(v) == ["vid1", "vid1#2", "vid2"]
    assert v["vid1"]["path"] == f"{d}/a/vid1.mp4"
    assert (v["vid1"]["category1"], v["vid1"]["category2"], v["vid1"]["rank"],
            v["vid1"]["task_id"]) == ("Hobbies and Crafts", "Woodworking", 3, 1001)
    assert v["vid1#2"]["status"] == "rejected"
    assert v["vid1#2"]["reason"] == f"duplicate id vid1 (already stored from {d}/a/vid1.mp4)"
    assert v["vid2"]["reason"] == "search rank 250 > 200"
    assert "rejected (rank 1, duplicate 1)" in cp.stderr
    dry = qc(bin_dir, "--store", tmp_path / "dry", "--metadata", meta, "--dry-run", d)
    assert dry.returncode == 0 and not (tmp_path / "dry").exists()
    assert dry.stdout.splitlines()[1] == \
        f"vid1#2\trejected\t0 clips\t0 words\tduplicate id vid1 (already stored from {d}/a/vid1.mp4)"
    cp = qc(bin_dir, "--store", store, "--metadata", meta, d)
    assert cp.returncode == 0 and "3 unchanged" in cp.stderr


@needs_ffmpeg
def test_charset_and_bad_captions(bin_dir, tmp_path, media):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(media / "plain.mp4", d / "latin.mp4")
    (d / "latin.en.srt").write_bytes("1\n00:00:00,000 --> 00:00:01,000\ncaf\xe9 cr\xe8me\n"
                                     .encode("latin-1"))
    qc(bin_dir, "--store", tmp_path / "a", "--min-words", "1", d, check=True)
    assert clips(tmp_path / "a", "latin")[0][2] == "café crème"
    assert json.loads(videos(tmp_path / "a")["latin"]["meta_json"])["charset"] == "CP1252"
    cp = qc(bin_dir, "--store", tmp_path / "b", "--min-words", "1", "--sub-charenc", "UTF-8", d)
    assert cp.returncode == 0
    r = videos(tmp_path / "b")["latin"]
    assert r["status"] == "rejected" and "latin.en.srt: not valid UTF-8" in r["reason"]
    assert "bad captions 1" in cp.stderr


@needs_ffmpeg
def test_clamped_and_dropped_spans(bin_dir, tmp_path, media):
    d = tmp_path / "in"
    d.mkdir()
    mk_sidecar_video(media, d, "v", [(0.0, 1.0, "one two"), (2.5, 9.0, "runs past the end"),
                                     (4.0, 5.0, "after the end"), (1.5, 1.2, "inverted"),
                                     (2.0, 2.0, "zero")])
    cp = qc(bin_dir, "--store", tmp_path / "s", "--min-words", "1", d)
    assert cp.returncode == 0, cp.stderr
    c = clips(tmp_path / "s", "v")
    assert [(a, round(b, 2), t) for a, b, t, *_ in c] == [(0.0, 1.0, "one two"),
                                                          (2.5, 3.0, "runs past the end")]
    assert "3 spans dropped, 1 clamped" in cp.stderr


# ---------------------------------------------------------------- caption.json, CSV


CAPTION_JSON = {
    "vidA": {"start": [0.0, 2.5, 5.0], "end": [3.0, 5.5, 8.0],
             "text": ["<i>hello</i> there friends", "the second  line", "[Music] third one"]},
    "vidB": {"start": [1.0], "end": [2.0], "text": ["short video"]},
    "vidC": {"start": [0.0, 1.0], "end": [1.0], "text": ["x", "y"]},
    "vidD": {"start": [0.0], "end": [1.0], "text": ["ranked low"]},
}


def write_caption_json(path, entries=CAPTION_JSON, dup=None):
    parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in entries.items()]
    if dup:
        parts.append(f"{json.dumps(dup)}: {json.dumps(entries[dup])}")
    path.write_text("{" + ",\n".join(parts) + "}\n")


def test_caption_json_import(bin_dir, tmp_path):
    cj = tmp_path / "caption.json"
    write_caption_json(cj, dup="vidB")
    meta = tmp_path / "meta.csv"
    meta.write_text("video_id,category_1,category_2,rank,task_id\nvidA,Food,Bread,1,7\n"
                    "vidD,Food,Cake,900,8\n")
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--caption-json", cj, "--metadata", meta,
            "--min-words", "1", "--batch", "2")
    assert cp.returncode == 0, cp.stderr
    v = videos(store)
    assert sorted(v) == ["vidA", "vidB", "vidB#2", "vidC", "vidD"]
    assert (v["vidA"]["status"], v["vidA"]["rank"], v["vidA"]["category2"], v["vidA"]["path"]) \
        == ("ok", 1, "Bread", None)
    assert v["vidA"]["n_words"] == 8
    assert clips(store, "vidA") == [
        (0.0, 3.0, "hello there friends", "hello friends", "<i>hello</i> there friends", None),
        (2.5, 5.5, "the second line", "second line", "the second  line", None),
        (5.0, 8.0, "third one", "", "[Music] third one", None)]  # both stop words
    assert v["vidB#2"]["reason"].startswith("duplicate id vidB (caption.json line ")
    assert v["vidC"]["status"] == "rejected" and v["vidC"]["reason"].startswith(f"{cj}:")
    assert v["vidD"]["reason"] == "search rank 900 > 200"
    assert "videos 2 ok, 3 rejected (rank 1, duplicate 1, bad captions 1)" in cp.stderr
    assert "4 clips" in cp.stderr
    # default --min-words 100 rejects these short tracks; a re-run skips what is stored
    cp = qc(bin_dir, "--store", store, "--caption-json", cj)
    assert cp.returncode == 0 and "videos 0 ok, 0 rejected, 0 failed, 5 unchanged" in cp.stderr
    cp = qc(bin_dir, "--store", tmp_path / "t", "--caption-json", cj)
    assert "vidA" in videos(tmp_path / "t")
    assert videos(tmp_path / "t")["vidA"]["reason"] == "8 caption words < 100"
    # stdin
    with open(cj) as f:
        cp = qc(bin_dir, "--store", tmp_path / "u", "--caption-json", "-", "--min-words", "1",
                "-q", stdin=f)
    assert cp.returncode == 0 and cp.stderr == ""
    assert len(clips(tmp_path / "u", "vidA")) == 3


def test_caption_json_malformed(bin_dir, tmp_path):
    cj = tmp_path / "bad.json"
    cj.write_text('{"vidA": {"start": [0], "end": [1], "text": ["fine words"]},\n "vidB": {"start": [0}\n')
    cp = qc(bin_dir, "--store", tmp_path / "s", "--caption-json", cj, "--min-words", "1")
    assert cp.returncode == 2
    assert f"quern-clips: {cj}:2:" in cp.stderr
    assert list(videos(tmp_path / "s")) == ["vidA"]  # entries before the error are kept
    assert "not stored" not in cp.stderr and "re-run" not in cp.stderr  # they were committed


@needs_ffmpeg
def test_caption_json_and_csv_per_video(bin_dir, tmp_path, media):
    d = setup_dir(tmp_path, media, [("plain.mp4", "vidA.mp4"), ("plain.mp4", "other.mp4")])
    cj = tmp_path / "caption.json"
    write_caption_json(cj)
    cp = qc(bin_dir, "--store", tmp_path / "s", "--caption-json", cj, "--min-words", "1", d)
    assert cp.returncode == 0, cp.stderr
    v = videos(tmp_path / "s")
    assert v["vidA"]["status"] == "ok" and v["other"]["reason"] == "no captions"
    c = clips(tmp_path / "s", "vidA")
    assert [(a, b) for a, b, *_ in c] == [(0.0, 3.0), (2.5, 3.0)]  # clamped to 3 s, 1 dropped
    bad = tmp_path / "bad.json"
    bad.write_text('{"vidA": {"start": [0], "end": [1], "text": ["x"]}, "vidB": [}')
    cp = qc(bin_dir, "--store", tmp_path / "bad", "--caption-json", bad, d)
    assert cp.returncode == 2 and f"quern-clips: {bad}:1:" in cp.stderr
    assert not (tmp_path / "bad").exists()
    csvd = tmp_path / "csv"
    csvd.mkdir()
    (csvd / "other.csv").write_text('start,end,text\n0.5,1.5,"a, quoted"\n1.5,2.5,plain text\n')
    cp = qc(bin_dir, "--store", tmp_path / "t", "--caption-csv-dir", csvd, "--min-words", "1", d)
    assert cp.returncode == 0
    assert [x[2] for x in clips(tmp_path / "t", "other")] == ["a, quoted", "plain text"]
    assert json.loads(videos(tmp_path / "t")["other"]["meta_json"])["captions"] == \
        f"csv {csvd}/other.csv"


@needs_ffmpeg
def test_caption_json_by_info_json_id(bin_dir, tmp_path, media):
    # yt-dlp's default names ("title [id].mp4"): the caption.json key is the info.json id
    d = setup_dir(tmp_path, media, [("plain.mp4", "My title.mp4")])
    (d / "My title.info.json").write_text(json.dumps({"id": "abcdefghijk"}))
    cj = tmp_path / "caption.json"
    write_caption_json(cj, {"abcdefghijk": CAPTION_JSON["vidA"]})
    cp = qc(bin_dir, "--store", tmp_path / "s", "--caption-json", cj, "--min-words", "1", d)
    assert cp.returncode == 0, cp.stderr
    v = videos(tmp_path / "s")
    assert list(v) == ["abcdefghijk"] and v["abcdefghijk"]["status"] == "ok", v
    assert json.loads(v["abcdefghijk"]["meta_json"])["captions"] == "caption.json abcdefghijk"
    assert [(a, b) for a, b, *_ in clips(tmp_path / "s", "abcdefghijk")] == [(0.0, 3.0), (2.5, 3.0)]


# ---------------------------------------------------------------- dry run, lock, vocabulary


def test_dry_run(bin_dir, tmp_path):
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--dry-run", ROOT / "data/sample/videos")
    assert cp.returncode == 0, cp.stderr
    assert not store.exists()
    lines = cp.stdout.splitlines()
    assert lines == ["qnSample0001\tok\t11 clips\t121 words\tsidecar qnSample0001.en.vtt",
                     "qnSample0002\tok\t11 clips\t121 words\tsidecar qnSample0002.en.srt"]
    assert "dry run" in cp.stderr
    qc(bin_dir, "--store", store, ROOT / "data/sample/videos", check=True)
    before = videos(store)
    cp = qc(bin_dir, "--store", store, "--dry-run", ROOT / "data/sample/videos")
    assert [ln.split("\t")[1] for ln in cp.stdout.splitlines()] == ["skipped", "skipped"]
    assert videos(store) == before


def test_store_locked_exit_3(bin_dir, tmp_path):
    store = tmp_path / "s"
    qc(bin_dir, "--store", store, "--caption-json", tmp_path / "x.json", "-q")  # exit 2, no store
    run("quern-store", "init", store, bin_dir=bin_dir, check=True)
    with open(store / "store.lock", "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        cp = qc(bin_dir, "--store", store, ROOT / "data/sample/videos")
        assert cp.returncode == 3
        assert f"store is locked by pid {os.getpid()}" in cp.stderr
    (tmp_path / "file.txt").write_text("x")
    cp = qc(bin_dir, "--store", tmp_path / "file.txt", ROOT / "data/sample/videos")
    assert cp.returncode == 2
    assert f"quern-clips: {tmp_path / 'file.txt'}: not a directory" in cp.stderr
    (tmp_path / "ro").mkdir()
    os.chmod(tmp_path / "ro", 0o500)
    if os.geteuid() != 0:
        cp = qc(bin_dir, "--store", tmp_path / "ro" / "s", ROOT / "data/sample/videos")
        assert cp.returncode == 3


def write_w2v(path, words_, dim=3):
    with open(path, "wb") as f:
        f.write(f"{len(words_)} {dim}\n".encode())
        for i, w in enumerate(words_):
            f.write(w.encode() + b" " + struct.pack(f"<{dim}f", *([float(i)] * dim)) + b"\n")


def test_tokens_from_vocabulary(bin_dir, tmp_path):
    store = tmp_path / "s"
    w2v = tmp_path / "w.bin"
    write_w2v(w2v, ["</s>", "build", "small", "wooden", "birdhouse", "measure", "board"])
    run("quern-store", "vocab", "import", store, w2v, bin_dir=bin_dir, check=True)
    qc(bin_dir, "--store", store, ROOT / "data/sample/videos/qnSample0001.mp4", check=True)
    c = clips(store, "qnSample0001")
    ids = [list(struct.unpack(f"<{len(t) // 4}i", t)) if t else [] for *_, t in c]
    assert ids[0] == [1, 2, 3, 4]     # "build small wooden birdhouse"
    assert ids[1] == [5, 6]           # "measure board mark cutting lines pencil"
    qc(bin_dir, "--store", store, "--max-words", "2",
       ROOT / "data/sample/videos/qnSample0002.webm", check=True)
    c = clips(store, "qnSample0002")
    assert struct.unpack("<2i", c[0][5]) == (1, 2)
    cp = run("quern-store", "verify", store, bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stdout + cp.stderr


# ---------------------------------------------------------------- real files


def test_real_videos_and_subtitles(bin_dir, tmp_path):
    vdir = SHARED / "data/real/video"
    sdir = SHARED / "data/real/subtitles"
    if not vdir.is_dir() or not sdir.is_dir():
        pytest.skip(f"{vdir} or {sdir} absent: shared real data not available")
    d = tmp_path / "in"
    d.mkdir()
    files = sorted(p for p in vdir.iterdir() if p.suffix in (".mp4", ".webm"))
    for p in files:
        os.symlink(p, d / p.name)
    subs = {"counting_h264": sdir / "youtube_auto/FOMC_press_conference_2021-11-03.en.vtt",
            "moviepy_example": sdir / "misc/moviepy_subtitles.srt",
            "mmpose_demo": sdir / "astisub/example-in-non-utf8.srt"}
    for stem, sub in subs.items():
        if sub.exists():
            ext = ".en.vtt" if sub.suffix == ".vtt" else ".en.srt"
            os.symlink(sub, d / (stem + ext))
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--min-words", "1", "--max-duration", "0", d)
    assert cp.returncode == 0, cp.stderr
    v = videos(store)
    assert len(v) == len(files)
    for name, row in v.items():
        assert row["status"] in ("ok", "rejected"), (name, row["reason"])
        assert row["duration"] > 0 and row["width"] > 0 and row["codec"]
        if name not in subs:
            assert row["reason"] == "no captions"
    for stem in subs:
        if stem in v and v[stem]["status"] == "ok":
            c = clips(store, stem)
            assert c and all(a <= b <= v[stem]["duration"] + 1e-6 for a, b, *_ in c)
            assert all(x[0] <= y[0] for x, y in zip(c, c[1:]))
    if "counting_h264" in v and subs["counting_h264"].exists():
        # YouTube automatic captions: each spoken line once, spans not overlapping
        c = clips(store, "counting_h264")
        assert all(x[1] <= y[0] + 1e-9 for x, y in zip(c, c[1:]))
        assert all(x[2] != y[2] for x, y in zip(c, c[1:]))


@needs_ffmpeg
def test_bad_cue_warning(bin_dir, tmp_path, media):
    d = setup_dir(tmp_path, media, [("plain.mp4", "v.mp4")])
    (d / "v.en.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nfine one\n\n"
                                "2\n00:00:0x,000 --> 00:00:02,000\nbad timing\n\n"
                                "3\n00:00:02,000 --> 00:00:02,500\nfine two\n")
    cp = qc(bin_dir, "--store", tmp_path / "s", "--min-words", "1", d)
    assert cp.returncode == 0, cp.stderr
    assert f"quern-clips: warning: {d}/v.en.srt:6: bad cue timing" in cp.stderr
    assert "1 warnings" in cp.stderr
    assert [c[2] for c in clips(tmp_path / "s", "v")] == ["fine one", "fine two"]
    assert json.loads(videos(tmp_path / "s")["v"]["meta_json"])["warnings"] == 1
    cp = qc(bin_dir, "--store", tmp_path / "t", "--min-words", "1", "-q", d)
    assert cp.returncode == 0 and cp.stderr == ""


def test_kill_during_import_then_resume(bin_dir, tools_dir, tmp_path):
    """SIGKILL in the middle of a caption-only import: the store verifies, holds whole
    batches only, and a re-run completes it."""
    gen = tools_dir / "cap_bench"
    if not gen.exists():
        pytest.skip(f"{gen} not built (make tests-built)")
    cj = tmp_path / "caption.json"
    with open(cj, "w") as f:
        subprocess.run([str(gen), "--gen-json", "6000", "20"], stdout=f, check=True)
    store = tmp_path / "s"
    args = [str(bin_dir / "quern-clips"), "--store", str(store), "--caption-json", str(cj),
            "--min-words", "1", "--batch", "500", "-q"]
    p = subprocess.Popen(args)
    import time
    deadline = time.time() + 20
    while time.time() < deadline and p.poll() is None:
        db = store / "meta.db"
        if db.exists():
            try:
                n = len(videos(store))
            except sqlite3.Error:
                n = 0
            if n >= 500:
                break
        time.sleep(0.02)
    p.kill()
    p.wait()
    cp = run("quern-store", "verify", store, bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    n = len(videos(store))
    assert n % 500 == 0 and n <= 6000
    con = sqlite3.connect(store / "meta.db")
    assert con.execute("SELECT sum(n) FROM clip_pack").fetchone()[0] == n * 20
    con.close()
    cp = qc(bin_dir, "--store", store, "--caption-json", cj, "--min-words", "1")
    assert cp.returncode == 0, cp.stderr
    assert f"videos {6000 - n} ok, 0 rejected, 0 failed, {n} unchanged" in cp.stderr


@needs_ffmpeg
def test_video_completes_caption_only_import(bin_dir, tmp_path, media):
    cj = tmp_path / "caption.json"
    write_caption_json(cj)
    store = tmp_path / "s"
    qc(bin_dir, "--store", store, "--caption-json", cj, "--min-words", "1", check=True)
    assert videos(store)["vidA"]["path"] is None
    d = setup_dir(tmp_path, media, [("plain.mp4", "vidA.mp4")])
    cp = qc(bin_dir, "--store", store, "--min-words", "1", d)
    assert cp.returncode == 0, cp.stderr
    v = videos(store)["vidA"]
    assert v["path"] == f"{d}/vidA.mp4" and v["codec"] == "h264" and v["status"] == "ok"
    assert json.loads(v["meta_json"])["captions"] == "caption-only import"
    # the stored captions, now clamped to the video's 3 s
    assert [(a, b, t) for a, b, t, *_ in clips(store, "vidA")] == [
        (0.0, 3.0, "hello there friends"), (2.5, 3.0, "the second line")]


@needs_ffmpeg
def test_caption_only_import_damaged(bin_dir, tmp_path, media):
    # a damaged clip_pack is a store error, not "captions unusable" (a rejected row, no reason)
    cj = tmp_path / "caption.json"
    write_caption_json(cj)
    store = tmp_path / "s"
    qc(bin_dir, "--store", store, "--caption-json", cj, "--min-words", "1", check=True)
    con = sqlite3.connect(store / "meta.db")
    (n,) = con.execute("SELECT length(texts) FROM clip_pack").fetchone()
    con.execute("UPDATE clip_pack SET texts = ?", (b"\xff" * n,))  # offsets out of the BLOB
    con.commit()
    con.close()
    d = setup_dir(tmp_path, media, [("plain.mp4", "vidA.mp4")])
    cp = qc(bin_dir, "--store", store, "--min-words", "1", d)
    assert cp.returncode == 2, cp.stderr
    assert "quern-clips: " in cp.stderr and "clip_pack" in cp.stderr, cp.stderr
    v = videos(store)["vidA"]
    assert v["path"] is None and v["status"] == "ok"  # left as it was


def test_disk_full_exit_3(bin_dir, tmp_path):
    """A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) makes SQLite's writes fail with
    EFBIG, as a full disk would: exit 3, the message names the store, the store stays valid
    and a re-run without the limit completes it."""
    import resource
    import signal

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (600000, 600000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    cj = tmp_path / "caption.json"
    write_caption_json(cj, {f"v{i:05}": {"start": [float(k) for k in range(20)],
                                        "end": [k + 0.5 for k in range(20)],
                                        "text": [f"some caption words number {k}" for k in range(20)]}
                            for i in range(800)})
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--caption-json", cj, "--min-words", "1", "--batch", "50",
            preexec_fn=limit)
    assert cp.returncode == 3, cp.stderr
    assert f"quern-clips: {store}/meta.db" in cp.stderr and "File too large" in cp.stderr
    assert "a re-run resumes" in cp.stderr
    assert run("quern-store", "verify", store, bin_dir=bin_dir).returncode == 0
    n = len(videos(store))
    assert n % 50 == 0 and n < 800
    cp = qc(bin_dir, "--store", store, "--caption-json", cj, "--min-words", "1")
    assert cp.returncode == 0 and f"videos {800 - n} ok" in cp.stderr
    # a video run hits the limit the same way
    big = tmp_path / "big"
    big.mkdir()
    for i in range(3):
        shutil.copy(ROOT / "data/sample/videos/qnSample0002.webm", big / f"v{i}.webm")
        (big / f"v{i}.en.srt").write_text(srt_of(words(3000)))
    cp = qc(bin_dir, "--store", tmp_path / "t", "--min-words", "1", big, preexec_fn=limit)
    assert cp.returncode == 3 and "File too large" in cp.stderr
    assert run("quern-store", "verify", tmp_path / "t", bin_dir=bin_dir).returncode == 0


@needs_ffmpeg
def test_embedded_not_utf8(bin_dir, tmp_path):
    """FFmpeg drops non-UTF-8 subtitle text; quern converts it like a sidecar file's."""
    src = tmp_path / "l1.srt"
    src.write_bytes("1\n00:00:00,500 --> 00:00:01,500\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    d = tmp_path / "in"
    d.mkdir()
    ffmpeg(*lavfi_src(), "-i", src, *h264(), "-c:s", "copy", d / "l1.mkv")
    qc(bin_dir, "--store", tmp_path / "a", "--min-words", "1", d, check=True)
    assert clips(tmp_path / "a", "l1")[0][2] == "café crème"
    cp = qc(bin_dir, "--store", tmp_path / "b", "--min-words", "1", "--sub-charenc", "UTF-8", d)
    assert cp.returncode == 0
    assert f"quern-clips: warning: {d}/l1.mkv: not valid UTF-8" in cp.stderr
    assert "(embedded subtitle at 0.500 s), cue skipped" in cp.stderr
    assert videos(tmp_path / "b")["l1"]["reason"] == "0 caption words < 1"


def test_real_subtitle_files_as_sidecars(bin_dir, tmp_path, media):
    """Every real caption file as the sidecar of a sample video: each video ends ok or
    rejected with a reason, clips within the video, in time order; the MIL-NCE CSVs through
    --caption-csv-dir."""
    sdir = SHARED / "data/real/subtitles"
    if not sdir.is_dir():
        pytest.skip(f"{sdir} absent: shared real data not available")
    d = tmp_path / "in"
    d.mkdir()
    subs = sorted(p for p in sdir.rglob("*") if p.suffix in (".vtt", ".srt", ".ass", ".ssa"))
    assert subs
    for i, p in enumerate(subs):
        os.symlink(media / "long.mp4", d / f"r{i:03}.mp4")
        os.symlink(p, d / f"r{i:03}{p.suffix}")
    store = tmp_path / "s"
    cp = qc(bin_dir, "--store", store, "--min-words", "1", "--max-duration", "0", d)
    assert cp.returncode == 0, cp.stderr
    v = videos(store)
    assert len(v) == len(subs)
    n_ok = 0
    for i, p in enumerate(subs):
        row = v[f"r{i:03}"]
        assert row["status"] in ("ok", "rejected"), (p, row)
        if row["status"] == "rejected":
            assert row["reason"], p
            continue
        n_ok += 1
        c = clips(store, f"r{i:03}")
        assert c, p
        assert all(0 <= a <= b <= row["duration"] + 1e-6 for a, b, *_ in c), p
        assert all(x[0] <= y[0] for x, y in zip(c, c[1:])), p
        assert all(x[2] for x in c), p
    # the only rejections: files whose every cue is broken or empty
    assert n_ok >= len(subs) - 2, [v[f"r{i:03}"]["reason"] for i in range(len(subs))]
    csvs = sorted((sdir / "howto100m_milnce").glob("*.csv"))
    if csvs:
        vd = tmp_path / "csvvideos"
        vd.mkdir()
        for p in csvs:
            os.symlink(media / "long.mp4", vd / f"{p.stem}.mp4")
        cp = qc(bin_dir, "--store", tmp_path / "c", "--min-words", "1", "--max-duration", "0",
                "--caption-csv-dir",
                sdir / "howto100m_milnce", vd)
        assert cp.returncode == 0, cp.stderr
        for p in csvs:
            row = videos(tmp_path / "c")[p.stem]
            assert row["status"] == "ok", row
            assert json.loads(row["meta_json"])["captions"].startswith("csv ")


@needs_ffmpeg
def test_embedded_youtube_rolling(bin_dir, tmp_path):
    """The sample's YouTube automatic captions muxed as a webvtt stream (webm) and a mov_text
    stream (mp4, language "und"): FFmpeg's decoders drop the word timings and hand the lines
    over joined by \\N; quern still merges the rolling layout, each line once, like the
    sidecar."""
    vtt = ROOT / "data/sample/videos/qnSample0001.en.vtt"
    d = tmp_path / "in"
    d.mkdir()
    src = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=36", "-i", vtt]
    ffmpeg(*src, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:s", "webvtt", d / "w.webm")
    ffmpeg(*src, *h264(), "-c:s", "mov_text", d / "m.mp4")
    side = tmp_path / "side"
    side.mkdir()
    shutil.copy(ROOT / "data/sample/videos/qnSample0001.mp4", side / "s.mp4")
    shutil.copy(vtt, side / "s.en.vtt")
    store = tmp_path / "st"
    qc(bin_dir, "--store", store, d, side, check=True)
    want = [c[2] for c in clips(store, "s")]
    assert len(want) == 11
    for name in ("w", "m"):
        v = videos(store)[name]
        assert v["status"] == "ok", v
        meta = json.loads(v["meta_json"])
        assert meta["rolling"] is True
        c = clips(store, name)
        assert [x[2] for x in c] == want, name
        assert all(x[1] <= y[0] + 1e-9 for x, y in zip(c, c[1:]))
    assert json.loads(videos(store)["m"]["meta_json"])["captions"] == \
        "embedded mov_text stream #1 und"
