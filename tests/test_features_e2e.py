"""quern-features end to end: a generated video and captions -> store -> features.

The video is made with `ffmpeg -f lavfi -i testsrc2`; its clips go into a store
through tests/features_seed (store API; stands in for quern-clips). The weights
are full-size ResNet-152 and ResNeXt-101 3D safetensors filled by the golden
fixtures' seeded generator (kernels/kn_testgen.c: fnv1a32(name)+seed, murmur3
finaliser), written as float16 to keep them small. quern-features (cpu backend)
then writes per-step rows and pooled rows; the pooled rows must equal a numpy
re-implementation of HowTo100M's youtube_dataloader._get_video applied to the
stored per-step rows, and the row counts must follow the frame sampling
(1 per second; ceil(24 fps frames / 16)).
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sqlite3
import sys

import numpy as np
import pytest

from conftest import ROOT, run

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")

# ---- full-size weights with the golden generator's values (kernels/tools/golden_gen.py) ----


sys.path.insert(0, str(ROOT / "kernels" / "tools"))
from golden_gen import write_weights  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("weights")
    w2, w3 = d / "resnet152.safetensors", d / "resnext101.safetensors"
    write_weights(w2, "resnet152")
    write_weights(w3, "resnext101-3d")
    return w2, w3


# ---- HowTo100M's pooling, re-implemented with numpy ----------------------------------


def l2(x):
    return x / max(float(np.linalg.norm(x)), 1e-12)


def get_video(feat2d, feat3d, starts, ends):
    """youtube_dataloader._get_video: per modality rows [int(s*fps), int(e*fps)+1),
    max over time, F.normalize, concatenated 2D||3D. A clip past the end takes the last
    row (DESIGN.md; the original left zeros, and no clip here is past the end)."""
    out = np.zeros((len(starts), 4096), np.float32)
    for k, (feat, fps) in enumerate(((feat2d, 1.0), (feat3d, 1.5))):
        f = feat.astype(np.float32)
        for i, (s, e) in enumerate(zip(starts, ends)):
            a, b = int(s * fps), int(e * fps) + 1
            rows = f[a:b] if a < len(f) else f[-1:]
            out[i, 2048 * k:2048 * (k + 1)] = l2(rows.max(axis=0))
    return out


def export(bin_dir, store, name, out):
    out.mkdir(parents=True)
    run("quern-store", "export", store, "--features", name, "--out", out, bin_dir=bin_dir,
        check=True)


def make_video(path, testsrc2):
    """An H.264 mp4 from `ffmpeg -f lavfi -i testsrc2=<testsrc2 spec>`."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", testsrc2,
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)], check=True)


def seed_video(tools_dir, store, ext_id, video, clips):
    """Puts `video` and the clips of the file `clips` into `store` (tests/features_seed)."""
    subprocess.run([str(tools_dir / "features_seed"), str(store), ext_id, str(video),
                    str(clips)], check=True, capture_output=True)


CLIPS = [(0.0, 1.2, "first we take the bowl"), (0.9, 2.6, "then add some flour"),
         (2.4, 3.1, "and mix it well"), (3.0, 3.2, "done")]


def test_features_end_to_end(bin_dir, tools_dir, tmp_path, weights):
    video = tmp_path / "cook.mp4"
    make_video(video, "testsrc2=size=320x180:rate=30:duration=3.2")
    clips = tmp_path / "clips.txt"
    clips.write_text("".join(f"{s} {e} {t}\n" for s, e, t in CLIPS))
    store = tmp_path / "store"
    seed_video(tools_dir, store, "vid_cook", video, clips)
    # a short portrait video, decoded at the same time (--decoders 2)
    tall = tmp_path / "tall.mp4"
    make_video(tall, "testsrc2=size=180x320:rate=25:duration=1.1")
    tall_clips = tmp_path / "tall.txt"
    tall_clips.write_text("0.0 0.5 hello\n0.4 1.1 world\n")
    seed_video(tools_dir, store, "vid_tall", tall, tall_clips)
    # a video whose file is broken: marked failed, the run goes on, exit 1
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(video.read_bytes()[:3000])
    seed_video(tools_dir, store, "vid_broken", broken, clips)

    # a 4096x16 strip: 57344x224 2D frames, wider than the network takes: failed, not exit 2
    thin = tmp_path / "thin.mp4"
    make_video(thin, "testsrc2=size=4096x16:rate=5:duration=1")
    seed_video(tools_dir, store, "vid_thin", thin, clips)

    w2, w3 = weights
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", "-j", "2", "--batch", "4", "--decoders", "2", bin_dir=bin_dir)
    assert cp.returncode == 1, cp.stderr
    assert f"{broken}: cannot open: " in cp.stderr and "vid_broken marked failed" in cp.stderr
    assert (f"{thin}: 4096x16 frames scale to 57344x224, past the network's 8192 (aspect "
            "ratio too extreme) (video vid_thin marked failed)") in cp.stderr
    # cook: 3 + 5 rows; tall (1.1 s at 25 fps): fps=1 -> 1 frame, fps=24 -> 26 frames -> 2 chunks
    assert "quern-features: 2 videos (4 2D frames, 7 3D chunks, 6 clips)" in cp.stderr
    assert "2 failed" in cp.stderr
    # where the time went, and the decoder split asked for (2 threads / 2 decoders)
    assert re.search(r"quern-features: time in the network [0-9.]+ s, waiting for decoded frames "
                     r"[0-9.]+ s, writing the store [0-9.]+ s \(2 decoders x 1 FFmpeg threads, frames scaled "
                     r"by libswscale, batch 4\)",
                     cp.stderr), cp.stderr

    out = tmp_path / "npy"
    for name in ("resnet152-2d", "resnext101-3d", "howto100m-4096"):
        export(bin_dir, store, name, out / name)
    f2 = np.load(out / "resnet152-2d" / "vid_cook.npy")
    f3 = np.load(out / "resnext101-3d" / "vid_cook.npy")
    # 3.2 s at 30 fps: fps=1 -> 3 frames; fps=24 -> 77 frames -> 5 chunks of 16
    assert f2.shape == (3, 2048) and f2.dtype == np.float16
    assert f3.shape == (5, 2048) and f3.dtype == np.float16
    assert np.allclose(np.linalg.norm(f2.astype(np.float32), axis=1), 1, atol=2e-3)
    assert np.allclose(np.linalg.norm(f3.astype(np.float32), axis=1), 1, atol=2e-3)
    assert np.isfinite(f2.astype(np.float32)).all() and f2.std() > 0 and f3.std() > 0
    pooled = np.load(out / "howto100m-4096" / "howto100m-4096.npy")
    assert pooled.shape == (6, 4096)
    order = (out / "howto100m-4096" / "howto100m-4096.clips.txt").read_text().split("\n")
    assert [line for line in order if line][:4] == [f"vid_cook {i}" for i in range(len(CLIPS))]
    want = get_video(f2, f3, [c[0] for c in CLIPS], [c[1] for c in CLIPS])
    assert np.abs(pooled[:4].astype(np.float32) - want).max() < 2e-3
    assert np.mean(pooled[:4] != want.astype(np.float16)) < 1e-3

    t2 = np.load(out / "resnet152-2d" / "vid_tall.npy")
    t3 = np.load(out / "resnext101-3d" / "vid_tall.npy")
    assert t2.shape == (1, 2048) and t3.shape == (2, 2048)
    assert [line for line in order if line][4:] == ["vid_tall 0", "vid_tall 1"]
    want = get_video(t2, t3, [0.0, 0.4], [0.5, 1.1])
    assert np.abs(pooled[4:].astype(np.float32) - want).max() < 2e-3

    # a second run finds nothing to do; the failed video stays failed
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", "-j", "2", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    assert "quern-features: 0 videos" in cp.stderr
    info = run("quern-store", "info", store, bin_dir=bin_dir, check=True)
    assert "failed" in info.stdout + info.stderr


def features_run(bin_dir, tools_dir, store, videos, clips, weights, *opts, env=None):
    """Seeds `videos` ((ext_id, path) pairs, each with the clips file) into a new store and
    runs quern-features on the CPU with `opts` and `env` added to the environment; returns
    its stderr (the summary)."""
    for ext_id, path in videos:
        seed_video(tools_dir, store, ext_id, path, clips)
    w2, w3 = weights
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", *opts, bin_dir=bin_dir, env={**os.environ, **(env or {})})
    assert cp.returncode == 0, cp.stderr
    return cp.stderr


def set_rows(bin_dir, store, out, name, ext_id=None):
    """Feature set `name` exported to `out` (once): video ext_id's rows (per-step sets) or
    the pooled rows of every clip, as float32."""
    if not (out / name).exists():
        export(bin_dir, store, name, out / name)
    return np.load(out / name / f"{ext_id or name}.npy").astype(np.float32)


def test_padded_batches_give_the_same_rows(bin_dir, tools_dir, tmp_path, weights):
    """With the cuda backend a video's last, short batch is padded with zero frames to the
    full batch (one input shape for cuDNN and the CUDA graph). The padding's rows must never
    reach the store: forced on the CPU, the rows equal an unpadded run's."""
    video = tmp_path / "v.mp4"
    make_video(video, "testsrc2=size=320x180:rate=30:duration=3.2")
    clips = tmp_path / "clips.txt"
    clips.write_text("".join(f"{s} {e} {t}\n" for s, e, t in CLIPS))
    rows = {}
    for pad in ("0", "1"):
        store = tmp_path / f"store{pad}"
        err = features_run(bin_dir, tools_dir, store, [("vid", video)], clips, weights,
                           "-j", "2", "--batch", "4", env={"QUERN_FEATURES_PAD_BATCHES": pad})
        # 3 2D frames and 5 3D chunks: batches of 3, and 4 + 1: all but one padded
        assert "1 videos (3 2D frames, 5 3D chunks, 4 clips)" in err
        out = tmp_path / f"npy{pad}"
        rows[pad] = [set_rows(bin_dir, store, out, "resnet152-2d", "vid"),
                     set_rows(bin_dir, store, out, "resnext101-3d", "vid"),
                     set_rows(bin_dir, store, out, "howto100m-4096")]
    for a, b in zip(rows["0"], rows["1"]):
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 2.5e-4   # a few f16 ulps: GEMM blocking differs by batch


def test_recycled_batches_of_mixed_sizes(bin_dir, tools_dir, tmp_path, weights):
    """Batch buffers are recycled between videos whose 2D frames differ in size (wide,
    4:3, portrait, square), with 3 decoders at once and short batches padded: the rows
    must equal a plain run's (one decoder, no padding)."""
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a\n0.5 2 b\n")
    videos = [(f"v{i}", tmp_path / f"v{i}.mp4") for i in range(5)]
    for (_, path), size in zip(videos, ("320x180", "160x120", "90x160", "128x128", "200x112")):
        make_video(path, f"testsrc2=size={size}:rate=25:duration=2.2")
    rows = {}
    for mode, decoders, pad in (("plain", "1", "0"), ("recycled", "3", "1")):
        store = tmp_path / mode
        err = features_run(bin_dir, tools_dir, store, videos, clips, weights, "-j", "3",
                           "--batch", "3", "--decoders", decoders,
                           env={"QUERN_FEATURES_PAD_BATCHES": pad})
        assert "5 videos (10 2D frames, 20 3D chunks, 10 clips)" in err, err
        out = tmp_path / f"npy-{mode}"
        rows[mode] = {(n, name): set_rows(bin_dir, store, out, name, n)
                      for n, _ in videos for name in ("resnet152-2d", "resnext101-3d")}
    for key, a in rows["plain"].items():
        b = rows["recycled"][key]
        assert a.shape == b.shape, key
        assert np.abs(a - b).max() < 2.5e-4, key


def test_external_frame_conversion_path(bin_dir, tools_dir, tmp_path, weights):
    """The path --convert gpu takes (frames handed to kn_convert by the decoders'
    conversion threads, plans shared between them), run on the CPU with kn_convert's CPU
    version (QUERN_FEATURES_CONVERT_REF): two videos decoded at once, same counts, and
    rows as close to the libswscale run's as one grey level of input allows. --convert
    fast (kn_convert_cpu) gives the same pixels as the reference, so the same rows."""
    clips = tmp_path / "clips.txt"
    clips.write_text("".join(f"{s} {e} {t}\n" for s, e, t in CLIPS))
    videos = [("wide", tmp_path / "wide.mp4"), ("tall", tmp_path / "tall.mp4")]
    for (_, path), size in zip(videos, ("320x180", "180x320")):
        make_video(path, f"testsrc2=size={size}:rate=30:duration=3.2")
    rows = {}
    for mode, env, opt in (("swscale", {}, "swscale"),
                           ("kn_convert", {"QUERN_FEATURES_CONVERT_REF": "1"}, "auto"),
                           ("fast", {}, "fast")):
        store = tmp_path / mode
        err = features_run(bin_dir, tools_dir, store, videos, clips, weights, "-j", "2",
                           "--decoders", "2", "--batch", "4", "--convert", opt, env=env)
        assert "2 videos (6 2D frames, 10 3D chunks, 8 clips)" in err, err
        scaler = {"swscale": "libswscale", "kn_convert": "kn_convert_ref",
                  "fast": "kn_convert_cpu"}[mode]
        assert f"frames scaled by {scaler}, batch 4)" in err, err
        rows[mode] = set_rows(bin_dir, store, tmp_path / f"npy-{mode}", "howto100m-4096")
    a, b = rows["swscale"], rows["kn_convert"]
    assert a.shape == b.shape == (8, 4096)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.999, cos
    assert np.abs(a - b).max() > 0   # the frames did take the other path
    assert np.array_equal(rows["fast"], b)


def test_summary_counts_the_frames_each_scaler_took(bin_dir, tools_dir, tmp_path, weights):
    """--convert fast takes 8-bit 4:2:0 frames; a yuv444p video goes to libswscale. The
    summary says so from the counts, not from the option."""
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    v420, v444 = tmp_path / "a.mp4", tmp_path / "b.mp4"
    make_video(v420, "testsrc2=size=160x90:rate=25:duration=1")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc2=size=160x90:rate=25:duration=1", "-c:v", "libx264", "-pix_fmt",
                    "yuv444p", str(v444)], check=True)
    err = features_run(bin_dir, tools_dir, tmp_path / "store", [("a", v420), ("b", v444)], clips,
                       weights, "-j", "1", "--batch", "4", "--convert", "fast")
    # each 1 s video: 25 decoded frames, all of them scaled (24 for 3D, one of them also 2D)
    assert "frames scaled by kn_convert_cpu (25 of 50 frames; libswscale the rest)" in err, err


def test_progress_counts_seconds_of_video(bin_dir, tools_dir, tmp_path, weights):
    """On a terminal the bar counts seconds of video (so that one long video moves it too,
    and its rate is the real-time factor), ending at the videos' total (quern-clips stores
    their durations); the summary follows on a clean line. Videos without a duration (a
    store seeded by another tool) get a bar of videos."""
    from conftest import run_on_pty
    vids = tmp_path / "videos"
    vids.mkdir()
    for name, dur in (("a", 3.2), ("b", 1.9)):
        make_video(vids / f"{name}.mp4", f"testsrc2=size=160x90:rate=25:duration={dur}")
        (vids / f"{name}.en.srt").write_text(
            "1\n00:00:00,000 --> 00:00:01,500\nwe fold the paper in half\n")
    store = tmp_path / "store"
    run("quern-clips", "--store", store, "--min-words", "1", vids, bin_dir=bin_dir, check=True)
    w2, w3 = weights
    args = [bin_dir / "quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
            "--backend", "cpu", "-j", "1"]
    rc, _, drawn = run_on_pty(args)
    assert rc == 0, drawn
    bars = re.findall(r"features \(s of video\) \[[#.]{30}\] (\d+)/(\d+) ", drawn)
    assert bars and bars[-1] == ("5", "5"), drawn
    assert [int(d) for d, _ in bars] == sorted(int(d) for d, _ in bars), drawn
    assert "\r\033[Kquern-features: 2 videos (" in drawn, drawn
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    seed_video(tools_dir, store, "c", vids / "a.mp4", clips)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((vids / "b.mp4").read_bytes()[:300])
    seed_video(tools_dir, store, "d", broken, clips)
    rc, _, drawn = run_on_pty(args)
    assert rc == 1 and "features (videos) [" + "#" * 30 + "] 2/2 " in drawn, drawn
    # a failed video's line is not written after the bar on the same line
    assert re.search(r"\r\033\[Kquern-features: [^\r]*broken\.mp4[^\r]*\(video d marked failed\)",
                     drawn), drawn


def test_nothing_to_do_never_starts_the_network(bin_dir, tools_dir, tmp_path, weights):
    """A run with nothing to do (cron, most of the time) checks and hashes the weights but
    never loads them or starts a backend: wrong files and weights other than the store's are
    still refused (exit 2, naming the file or the set), a backend that is not there
    (--backend cuda without a GPU) is not needed, and the summary says so."""
    video = tmp_path / "v.mp4"
    make_video(video, "testsrc2=size=160x90:rate=25:duration=1")
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    store = tmp_path / "store"
    features_run(bin_dir, tools_dir, store, [("vid", video)], clips, weights, "-j", "1")
    w2, w3 = weights

    def again(*opts, w=(w2, w3)):
        return run("quern-features", "--store", store, "--weights-2d", w[0], "--weights-3d",
                   w[1], "-j", "1", *opts, bin_dir=bin_dir)

    cp = again("--backend", "cpu")
    assert cp.returncode == 0 and cp.stderr.startswith("quern-features: 0 videos ("), cp.stderr
    assert "backend not started (nothing to do); 0 failed, 0 skipped" in cp.stderr, cp.stderr
    cp = again("--backend", "cuda", "--decode", "cuda")
    assert cp.returncode == 0 and "backend not started" in cp.stderr, cp.stderr
    # other weights: one byte of the last tensor changed (still a valid file)
    other = tmp_path / "other.safetensors"
    data = bytearray(w2.read_bytes())
    data[-1] ^= 1
    other.write_bytes(data)
    cp = again("--backend", "cpu", w=(other, w3))
    assert cp.returncode == 2 and cp.stderr == (
        f"quern-features: {store}: feature set 'resnet152-2d' holds 1 rows from weights sha256 "
        f"{sha256_file(w2)}; {other} is {sha256_file(other)} (use those weights, or another "
        "store)\n"), cp.stderr
    # a broken file, and the 2D network's file given for the 3D one
    other.write_bytes(data[:len(data) // 2])
    cp = again("--backend", "cpu", w=(other, w3))
    assert cp.returncode == 2 and cp.stderr.startswith(f"quern-features: {other}: "), cp.stderr
    cp = again("--backend", "cpu", w=(w2, w2))
    assert cp.returncode == 2 and cp.stderr.startswith(f"quern-features: {w2}: "), cp.stderr
    assert "resnext101-3d" in cp.stderr or "missing" in cp.stderr, cp.stderr
    # nothing was added by the refused runs
    db = sqlite3.connect(store / "meta.db")
    assert db.execute("SELECT count(*) FROM feature_set").fetchone()[0] == 3
    db.close()


def test_weights_bind_a_set_only_with_its_first_rows(bin_dir, tools_dir, tmp_path, weights):
    """Weights refused for their values (a NaN) create no set; sets a first run created but
    never filled (its only video failed, or it was killed before its first commit) take
    the next run's weights; once rows are committed, other weights are refused."""
    w2, w3 = weights
    store = tmp_path / "store"
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0" * 1000)
    seed_video(tools_dir, store, "bad", broken, clips)
    nan = tmp_path / "nan.safetensors"
    data = bytearray(w2.read_bytes())
    data[-2:] = b"\x00\x7e"              # the last F16 value: NaN
    nan.write_bytes(data)

    def features(w):
        return run("quern-features", "--store", store, "--weights-2d", w, "--weights-3d", w3,
                   "--backend", "cpu", "-j", "1", bin_dir=bin_dir)

    def sets():
        db = sqlite3.connect(store / "meta.db")
        got = dict(db.execute("SELECT name, weights_sha256 FROM feature_set"))
        db.close()
        return got

    cp = features(nan)
    assert cp.returncode == 2 and f"quern-features: {nan}: " in cp.stderr and \
        "is NaN" in cp.stderr, cp.stderr
    assert sets() == {}
    other = tmp_path / "other.safetensors"
    data = bytearray(w2.read_bytes())
    data[-1] ^= 1
    other.write_bytes(data)
    cp = features(other)                  # the only video fails: sets made, left empty
    assert cp.returncode == 1 and "video bad marked failed" in cp.stderr, cp.stderr
    assert sets()["resnet152-2d"] == sha256_file(other)
    video = tmp_path / "v.mp4"
    make_video(video, "testsrc2=size=160x90:rate=25:duration=1")
    seed_video(tools_dir, store, "good", video, clips)
    cp = features(w2)
    assert cp.returncode == 0 and "quern-features: 1 videos (" in cp.stderr, cp.stderr
    assert sets()["resnet152-2d"] == sha256_file(w2)
    assert sets()["resnext101-3d"] == sha256_file(w3)
    seed_video(tools_dir, store, "good2", video, clips)
    cp = features(other)
    assert cp.returncode == 2 and "holds 1 rows from weights sha256" in cp.stderr, cp.stderr


def test_unreadable_changed_damaged_and_repeated(bin_dir, tools_dir, tmp_path, weights):
    """Files that cannot be read now (deleted, unreadable, replaced since quern-clips stored
    them) are skipped, not marked: exit 1, the video stays to do, and a later run does it.
    Damaged packets are skipped with a warning, as ffmpeg does. An id given twice is done
    once. Weights whose arithmetic overflows stop the run before writing a NaN."""
    vids = tmp_path / "videos"
    vids.mkdir()
    for name in ("a", "b", "c"):
        make_video(vids / f"{name}.mp4", "testsrc2=size=320x180:rate=25:duration=3")
        (vids / f"{name}.en.srt").write_text(
            "1\n00:00:00,000 --> 00:00:02,500\nwe fold the paper in half\n")
    store = tmp_path / "store"
    run("quern-clips", "--store", store, "--min-words", "1", vids, bin_dir=bin_dir, check=True)
    w2, w3 = weights

    def features(*opts, w=(w2, w3)):
        return run("quern-features", "--store", store, "--weights-2d", w[0], "--weights-3d",
                   w[1], "--backend", "cpu", "-j", "1", *opts, bin_dir=bin_dir)

    def status():
        db = sqlite3.connect(store / "meta.db")
        got = dict(db.execute("SELECT ext_id, status FROM video"))
        db.close()
        return got

    a, b, c = (vids / f"{n}.mp4" for n in "abc")
    kept_a, st_a, st_b = a.read_bytes(), a.stat(), b.stat()
    a.unlink()
    data = bytearray(b.read_bytes())
    b.write_bytes(data + b"\0")           # replaced: one byte longer
    cp = features()
    assert cp.returncode == 1, cp.stderr
    assert f"quern-features: {a}: cannot open: No such file or directory (video a skipped, left " \
        "for a later run)" in cp.stderr, cp.stderr
    assert f"quern-features: {b}: changed since quern-clips stored it ({len(data) + 1} bytes " \
        f"now, {len(data)} then): run quern-clips on it again (video b skipped" in cp.stderr
    assert "1 videos (" in cp.stderr and "2 unreadable now (left for a later run)" in cp.stderr
    assert status() == {"a": "ok", "b": "ok", "c": "ok"}
    # back as they were; b damaged in the middle (the same size and time as stored)
    a.write_bytes(kept_a)
    cp = features("a")
    assert cp.returncode == 1 and f"quern-features: {a}: modified since quern-clips stored it " \
        "(another mtime): run quern-clips on it again (video a skipped" in cp.stderr, cp.stderr
    os.utime(a, ns=(st_a.st_atime_ns, st_a.st_mtime_ns))
    for k in range(int(len(data) * 0.4), int(len(data) * 0.4) + 3000):
        data[k] = (k * 7) & 255
    b.write_bytes(data)
    os.utime(b, ns=(st_b.st_atime_ns, st_b.st_mtime_ns))
    cp = features("b", "a", "b")             # b given twice: done once
    assert cp.returncode == 0, cp.stderr
    assert re.search(rf"quern-features: {re.escape(str(b))}: \d+ damaged packets skipped \(as "
                     r"ffmpeg does\)", cp.stderr), cp.stderr
    assert "quern-features: 2 videos (" in cp.stderr, cp.stderr
    db = sqlite3.connect(store / "meta.db")
    rows = dict(db.execute("SELECT name, committed_rows FROM feature_set"))
    db.close()
    assert rows["resnet152-2d"] == 9 and rows["howto100m-4096"] == 3, rows

    # weights whose activations overflow float32 (BatchNorm scales of 65504/sqrt(1e-5))
    big = tmp_path / "big.safetensors"
    raw = bytearray(w2.read_bytes())
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    for name, t in header.items():
        if name.startswith("__") or ".bn" not in "." + name and "downsample.1" not in name:
            continue
        lo, hi = (8 + n + o for o in t["data_offsets"])
        if name.endswith(".running_var"):
            raw[lo:hi] = b"\0" * (hi - lo)
        elif name.endswith(".weight"):
            raw[lo:hi] = np.full((hi - lo) // 2, 65504, "<f2").tobytes()
    big.write_bytes(raw)
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    store2 = tmp_path / "store2"
    seed_video(tools_dir, store2, "c", c, clips)
    cp = run("quern-features", "--store", store2, "--weights-2d", big, "--weights-3d", w3,
             "--backend", "cpu", "-j", "1", bin_dir=bin_dir)
    assert cp.returncode == 2 and "the 2D network gave a non-finite feature (row 0); nothing " \
        "of it written" in cp.stderr, cp.stderr


def test_read_errors_skip_the_file_not_the_run(bin_dir, tools_dir, tmp_path, weights,
                                               eio_shim):
    """An I/O error reading one file (a failing disk, a dropped mount), while probing it or
    in the middle of decoding, skips that file (not marked: a later run retries it); the
    other videos are done, exit 1. (conftest's LD_PRELOAD shim fails reads of *.eio.*.)"""
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    store = tmp_path / "store"
    bad, good = tmp_path / "a.eio.mp4", tmp_path / "c.mp4"
    make_video(bad, "testsrc2=size=160x90:rate=25:duration=3")
    make_video(good, "testsrc2=size=160x90:rate=25:duration=1")
    seed_video(tools_dir, store, "a", bad, clips)
    seed_video(tools_dir, store, "c", good, clips)
    w2, w3 = weights
    for after in (0, bad.stat().st_size // 2):
        env = dict(os.environ, LD_PRELOAD=str(eio_shim), QN_EIO_AFTER=str(after),
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
                   ":verify_asan_link_order=0")
        cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
                 "--backend", "cpu", "-j", "1", bin_dir=bin_dir, env=env)
        assert cp.returncode == 1, cp.stderr
        assert re.search(rf"quern-features: {re.escape(str(bad))}: (cannot open|read error at "
                         r"[\d.]+ s): Input/output error.* \(video a skipped, left for a later "
                         r"run\)", cp.stderr), cp.stderr
        assert "1 unreadable now" in cp.stderr, cp.stderr
        db = sqlite3.connect(store / "meta.db")
        assert dict(db.execute("SELECT ext_id, status FROM video")) == {"a": "ok", "c": "ok"}
        db.close()
    assert "quern-features: 0 videos (" in cp.stderr   # c was done by the first run
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", "-j", "1", bin_dir=bin_dir)
    assert cp.returncode == 0 and "quern-features: 1 videos (" in cp.stderr, cp.stderr


def test_gpu_decode_without_a_gpu(bin_dir, tools_dir, tmp_path, weights):
    """--decode cuda with no usable GPU: exit 3 and one line naming the video and why, none
    of FFmpeg's own log lines; --decode auto falls back to the CPU silently."""
    if shutil.which("nvidia-smi") and \
            subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0:
        pytest.skip("a GPU is present: this checks the fallback without one")
    video = tmp_path / "v.mp4"
    make_video(video, "testsrc2=size=160x90:rate=25:duration=1")
    clips = tmp_path / "clips.txt"
    clips.write_text("0 1 a clip\n")
    w2, w3 = weights
    store = tmp_path / "store"
    seed_video(tools_dir, store, "vid", video, clips)
    common = ["--store", store, "--weights-2d", w2, "--weights-3d", w3, "--backend", "cpu",
              "-j", "1", "-q"]
    cp = run("quern-features", *common, "--decode", "cuda", bin_dir=bin_dir)
    assert cp.returncode == 3, cp.stderr
    lines = cp.stderr.splitlines()
    assert len(lines) == 1, cp.stderr
    assert lines[0].startswith(f"quern-features: {video}: GPU decode requested but "
                               "unavailable: cuda: no device: "), cp.stderr
    cp = run("quern-features", *common, "--decode", "auto", bin_dir=bin_dir)
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr
    # GPU conversion: only of NVDEC frames, only with the cuda backend
    cp = run("quern-features", *common, "--convert", "gpu", bin_dir=bin_dir)
    assert cp.returncode == 2 and cp.stderr.startswith(
        "quern-features: --convert gpu converts NVDEC frames: it needs --decode cuda, auto or "
        "mixed")
    cp = run("quern-features", *common, "--convert", "gpu", "--decode", "auto", bin_dir=bin_dir)
    assert cp.returncode == 2 and cp.stderr.startswith(
        "quern-features: --convert gpu needs the cuda backend (--backend cuda or auto)")
    # the auto backend falls back to the CPU: known only once a video needs the network
    auto = [a if a != "cpu" else "auto" for a in common]
    cp = run("quern-features", *auto, "--convert", "gpu", "--decode", "auto", bin_dir=bin_dir)
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr   # nothing to do: no backend
    seed_video(tools_dir, store, "vid2", video, clips)
    cp = run("quern-features", *auto, "--convert", "gpu", "--decode", "auto", bin_dir=bin_dir)
    assert cp.returncode == 3 and cp.stderr == ("quern-features: --convert gpu needs the cuda "
                                                "backend; this run uses cpu\n"), cp.stderr
    cp = run("quern-features", *common, "--convert", "tpu", bin_dir=bin_dir)
    assert cp.returncode == 2 and "--convert: 'tpu' is not auto, swscale, fast or gpu" in cp.stderr
    cp = run("quern-features", *common, "--nvdec-decoders", "4", bin_dir=bin_dir)
    assert cp.returncode == 2 and "--nvdec-decoders goes with --decode mixed" in cp.stderr


def test_mixed_decoding(bin_dir, tools_dir, tmp_path, weights):
    """--decode mixed: CPU decoders and NVDEC ones at the same time, each taking the next
    video. With no GPU the NVDEC ones fall back to the CPU, silently (auto): the rows are
    exactly those of a CPU-decoding run."""
    clips = tmp_path / "clips.txt"
    clips.write_text("".join(f"{s} {e} {t}\n" for s, e, t in CLIPS))
    videos = [(f"v{i}", tmp_path / f"v{i}.mp4") for i in range(3)]
    for i, (_, path) in enumerate(videos):
        make_video(path, f"testsrc2=size={160 + 32 * i}x90:rate=25:duration=3.2")
    out = {}
    for mode in ("cpu", "mixed"):
        store = tmp_path / mode
        extra = ["--decoders", "1", "--nvdec-decoders", "2"] if mode == "mixed" else []
        err = features_run(bin_dir, tools_dir, store, videos, clips, weights, "-j", "2",
                           "--batch", "4", "--decode", mode, *extra)
        assert "3 videos (9 2D frames, 15 3D chunks, 12 clips)" in err, err
        if mode == "mixed":
            # what NVDEC did: here, with no GPU, nothing (the decoders fell back)
            gpu = shutil.which("nvidia-smi") and subprocess.run(
                ["nvidia-smi", "-L"], capture_output=True).returncode == 0
            if not gpu:
                assert ("(3 decoders x 1 FFmpeg threads, 2 of them for NVDEC: 0 of 3 videos "
                        "decoded there, frames scaled by libswscale, batch 4)") in err, err
        out[mode] = set_rows(bin_dir, store, tmp_path / f"npy-{mode}", "howto100m-4096")
    assert np.array_equal(out["cpu"], out["mixed"])


def test_usage_and_bad_weights(bin_dir, tools_dir, tmp_path, weights):
    cp = run("quern-features", "--help", bin_dir=bin_dir)
    assert cp.returncode == 0 and "--weights-2d" in cp.stdout and "Example" in cp.stdout
    assert "--decoders" in cp.stdout and "--decode D" in cp.stdout
    assert "(default 8 on\n                        the CPU, 32 on a GPU)" in cp.stdout
    cp = run("quern-features", "--version", bin_dir=bin_dir)
    assert cp.returncode == 0 and cp.stdout.startswith("quern-features ")
    cp = run("quern-features", "--store", tmp_path / "s", bin_dir=bin_dir)
    assert cp.returncode == 2 and "--weights-2d and --weights-3d are required" in cp.stderr
    cp = run("quern-features", "--store", tmp_path / "s", "--weights-2d", "x", "--weights-3d",
             "y", "--backend", "tpu", bin_dir=bin_dir)
    assert cp.returncode == 2 and "tpu" in cp.stderr
    w2, w3 = weights
    cp = run("quern-features", "--store", tmp_path / "nostore", "--weights-2d", w2,
             "--weights-3d", w3, bin_dir=bin_dir)
    assert cp.returncode in (2, 3) and str(tmp_path / "nostore") in cp.stderr
    clips = tmp_path / "c.txt"
    clips.write_text("0 1 x\n")
    seed_video(tools_dir, tmp_path / "s", "v", tmp_path / "v.mp4", clips)
    # the 3D weights given as 2D: the engine names the file and the tensor that does not fit
    cp = run("quern-features", "--store", tmp_path / "s", "--weights-2d", w3, "--weights-3d", w3,
             "--backend", "cpu", bin_dir=bin_dir)
    assert cp.returncode == 2 and str(w3) in cp.stderr
    # nothing was written: the video still has no features
    assert not (tmp_path / "s" / "features" / "resnet152-2d.qnf").exists()


def test_caption_only_videos_wait_for_their_files(bin_dir, tmp_path, weights):
    """A caption.json import stores ok videos with no file yet: quern-features leaves them as
    they are (not failed, nothing appended), says how many, and exits 0."""
    cj = tmp_path / "caption.json"
    cj.write_text(json.dumps({"vidA": {"start": [0.0, 2.0], "end": [2.0, 4.0],
                                       "text": ["first words here", "more words there"]}}))
    store = tmp_path / "s"
    run("quern-clips", "--store", store, "--caption-json", cj, "--min-words", "1",
        bin_dir=bin_dir, check=True)
    w2, w3 = weights
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    assert "quern-features: 0 videos" in cp.stderr and "0 failed" in cp.stderr
    assert "1 ok videos have no video file yet" in cp.stderr
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", "vidA", bin_dir=bin_dir)
    assert cp.returncode == 0 and "video vidA has no video file yet" in cp.stderr
    info = run("quern-store", "info", store, bin_dir=bin_dir, check=True)
    assert "ok 1" in info.stdout and "failed 0" in info.stdout


def test_store_locked(bin_dir, tools_dir, tmp_path, weights):
    """Another writer holds the store: exit 3, the message says it is locked."""
    store = tmp_path / "store"
    clips = tmp_path / "c.txt"
    clips.write_text("0 1 x\n")
    seed_video(tools_dir, store, "v", tmp_path / "v.mp4", clips)
    w2, w3 = weights
    with open(store / "store.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
                 "--backend", "cpu", bin_dir=bin_dir)
    assert cp.returncode == 3, cp.stderr
    assert "locked" in cp.stderr and str(store) in cp.stderr


def test_through_quern_clips(bin_dir, tmp_path, weights):
    """The real chain: a video with a sidecar SRT -> quern-clips -> quern-features; the
    pooled rows equal _get_video on the stored per-step rows at quern-clips' clip times."""
    if not (bin_dir / "quern-clips").exists():
        pytest.skip("quern-clips not built")
    vids = tmp_path / "videos"
    vids.mkdir()
    video = vids / "abc123.mp4"
    make_video(video, "testsrc2=size=256x144:rate=25:duration=2.2")
    (vids / "abc123.en.srt").write_text(
        "1\n00:00:00,100 --> 00:00:01,000\nput the pan on the stove\n\n"
        "2\n00:00:01,000 --> 00:00:01,700\nwait until it is hot\n\n"
        "3\n00:00:01,700 --> 00:00:02,150\nadd the oil\n\n")
    store = tmp_path / "store"
    run("quern-clips", "--store", store, "--min-words", "-1", "--span", "displayed", "-q", vids,
        bin_dir=bin_dir, check=True)
    w2, w3 = weights
    cp = run("quern-features", "--store", store, "--weights-2d", w2, "--weights-3d", w3,
             "--backend", "cpu", "-j", "2", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    # 2.2 s at 25 fps: fps=1 -> 2 frames; fps=24 -> 53 frames -> 4 chunks
    assert "quern-features: 1 videos (2 2D frames, 4 3D chunks, 3 clips)" in cp.stderr
    # the CPU's defaults: one decoder, libswscale (--convert auto is fast only on a GPU)
    assert "(1 decoders x 2 FFmpeg threads, frames scaled by libswscale, batch 8)" in cp.stderr
    out = tmp_path / "out"
    for name in ("resnet152-2d", "resnext101-3d", "howto100m-4096"):
        export(bin_dir, store, name, out / name)
    run("quern-store", "export", store, "--clips", out / "clips.jsonl", bin_dir=bin_dir,
        check=True)
    clips = [json.loads(line) for line in (out / "clips.jsonl").read_text().splitlines()]
    assert [c["index"] for c in clips] == [0, 1, 2]
    f2 = np.load(out / "resnet152-2d" / "abc123.npy")
    f3 = np.load(out / "resnext101-3d" / "abc123.npy")
    assert f2.shape == (2, 2048) and f3.shape == (4, 2048)
    pooled = np.load(out / "howto100m-4096" / "howto100m-4096.npy")
    want = get_video(f2, f3, [c["start"] for c in clips], [c["end"] for c in clips])
    assert pooled.shape == (3, 4096)
    assert np.abs(pooled.astype(np.float32) - want).max() < 2e-3


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def test_file_size_limit_and_kill_then_resume(bin_dir, tools_dir, tmp_path, weights):
    """A file-size limit mid-run: exit 3 naming the store file (not a SIGXFSZ death);
    a SIGKILL mid-run; each time the store verifies, holds only whole videos, and a
    rerun finishes exactly the rest. v3 is under 0.5 s, so it has no 2D row: it is
    finished all the same, and naming it by id does not extract it again (that
    appended orphan 3D rows). The pooled set records sha256(hex2d || hex3d)."""
    import hashlib
    import resource
    import signal
    import time
    store = tmp_path / "store"
    clips = tmp_path / "c.txt"
    clips.write_text("0 1.5 hi\n")
    for i, dur in enumerate((0.7, 1.2, 2.1, 0.3)):
        v = tmp_path / f"v{i}.mp4"
        make_video(v, f"testsrc2=size=160x90:rate=30:duration={dur}")
        seed_video(tools_dir, store, f"v{i}", v, clips)
    w2, w3 = weights
    args = [str(bin_dir / "quern-features"), "--store", str(store), "--weights-2d", str(w2),
            "--weights-3d", str(w3), "--backend", "cpu", "-j", "2", "--batch", "2"]

    want = {"v0": 1, "v1": 1, "v2": 2, "v3": 0}

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (40960, 40960))

    def rows():
        db = sqlite3.connect(store / "meta.db")
        got = dict(db.execute("SELECT v.ext_id, r.n_rows FROM video_rows r JOIN video v ON "
                              "v.id = r.video_id JOIN feature_set f ON f.id = r.set_id "
                              "WHERE f.name = 'resnet152-2d'"))
        db.close()
        return got

    def verify():
        cp = run("quern-store", "verify", store, bin_dir=bin_dir)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        assert all(n == want[k] for k, n in rows().items())   # whole videos only

    cp = subprocess.run(args, capture_output=True, text=True, preexec_fn=limit)
    assert cp.returncode == 3, cp.stderr
    assert f"quern-features: {store}/" in cp.stderr and "File too large" in cp.stderr
    verify()
    assert len(rows()) < 3
    p = subprocess.Popen(args + ["-q"], stderr=subprocess.PIPE)
    time.sleep(3)
    p.send_signal(signal.SIGKILL)
    p.wait()
    verify()
    cp = subprocess.run(args, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    verify()
    assert rows() == want
    cp = subprocess.run(args + ["v3"], capture_output=True, text=True)
    assert cp.returncode == 0 and "quern-features: 0 videos" in cp.stderr, cp.stderr
    db = sqlite3.connect(store / "meta.db")
    got = {name: (h, n) for name, h, n in
           db.execute("SELECT name, weights_sha256, committed_rows FROM feature_set")}
    db.close()
    h2, h3 = sha256_file(w2), sha256_file(w3)
    assert got["resnext101-3d"] == (h3, 2 + 2 + 4 + 1)   # no orphan rows for v3
    assert got["resnet152-2d"] == (h2, 4)
    assert got["howto100m-4096"][0] == hashlib.sha256((h2 + h3).encode()).hexdigest()
