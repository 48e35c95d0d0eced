"""extract/frames against the ffmpeg CLI that HowTo100M's extractor runs.

Small videos are generated with `ffmpeg -f lavfi -i testsrc2` (odd frame rates,
odd sizes, containers with a start offset, a video that starts after its audio),
decoded once by tests/frames_dump (one pass, both streams), and compared with
    ffmpeg -i V -vf fps=1,scale=W:H:flags=bicubic -pix_fmt rgb24 -f rawvideo
    ffmpeg -i V -vf fps=24,scale=w:h:flags=bicubic,crop=112:112:x:y -pix_fmt rgb24 ...
with the sizes computed as video_feature_extractor's _get_output_dim does:
identical frame counts and a mean absolute difference of at most 1 grey level
(CPU decode is in fact bit-identical). Broken inputs must fail with quern's exit
code 2 and a message naming the file and FFmpeg's reason.
"""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not installed")


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def gen(path, size="320x240", rate="25", dur="3.5", extra_in=(), extra_out=("-c:v", "libx264")):
    ffmpeg(*extra_in, "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={dur}",
           *extra_out, "-pix_fmt", "yuv420p", path)
    return path


def out_dim(w, h, s):
    """video_feature_extractor/video_loader.py _get_output_dim -> (width, height)."""
    if h >= w:
        return s, int(h * s / w)
    return int(w * s / h), s


def cli_frames(video, vf, w, h):
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(video), "-vf", vf,
                          "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:"],
                         check=True, capture_output=True).stdout
    assert len(raw) % (w * h * 3) == 0
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def ours(tools_dir, video, tmp_path, *opts):
    o2, o3 = tmp_path / "ours2d.rgb", tmp_path / "ours3d.rgb"
    cp = subprocess.run([str(tools_dir / "frames_dump"), *opts, str(video), str(o2), str(o3)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    lines = dict(line.split(" ", 1) for line in cp.stdout.splitlines())
    return lines, o2.read_bytes(), o3.read_bytes()


def probe_size(video):
    """Width and height as ffprobe reports them (what the extractor sizes from)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height", "-of", "json", str(video)],
                         check=True, capture_output=True, text=True).stdout
    st = json.loads(out)["streams"][0]
    return st["width"], st["height"]


def compare(tools_dir, video, tmp_path, *opts):
    lines, r2, r3 = ours(tools_dir, video, tmp_path, *opts)
    w, h = probe_size(video)
    w2, h2 = out_dim(w, h, 224)
    w3, h3 = out_dim(w, h, 112)
    x, y = int((w3 - 112) / 2), int((h3 - 112) / 2)
    ref2 = cli_frames(video, f"fps=1,scale={w2}:{h2}:flags=bicubic", w2, h2)
    ref3 = cli_frames(video, f"fps=24,scale={w3}:{h3}:flags=bicubic,crop=112:112:{x}:{y}", 112, 112)
    n2, size2 = lines["2d"].split()
    assert size2 == f"{w2}x{h2}"
    got2 = np.frombuffer(r2, np.uint8).reshape(-1, h2, w2, 3)
    got3 = np.frombuffer(r3, np.uint8).reshape(-1, 112, 112, 3)
    n3, chunks, side, pad_nonzero = map(int, lines["3d"].split())
    assert (len(got2), int(n2)) == (len(ref2), len(ref2)), "2D frame count differs from ffmpeg"
    assert (len(got3), n3) == (len(ref3), len(ref3)), "3D frame count differs from ffmpeg"
    assert chunks == -(-n3 // 16) and side == 112 and pad_nonzero == 0
    mad2 = np.abs(got2.astype(int) - ref2).mean() if len(ref2) else 0.0
    mad3 = np.abs(got3.astype(int) - ref3).mean() if len(ref3) else 0.0
    assert mad2 <= 1.0 and mad3 <= 1.0, (mad2, mad3)
    return lines, got2, got3, ref2, ref3


CASES = {
    # name: (size, rate, duration, extra input args, extra output args)
    "h264_25fps_3.5s": ("320x240", "25", "3.5", (), ("-c:v", "libx264")),
    "h264_29.97fps_odd": ("426x240", "30000/1001", "3.2", (), ("-c:v", "libx264", "-bf", "3")),
    "h264_30fps_odd_size": ("322x182", "30", "2.0", (), ("-c:v", "libx264")),
    "h264_portrait_24fps": ("180x320", "24", "2.6", (), ("-c:v", "libx264")),
    "mpegts_start_offset": ("320x180", "25", "2.4", (), ("-c:v", "libx264", "-f", "mpegts")),
    "vp9_webm_15fps": ("256x144", "15", "2.5", (), ("-c:v", "libvpx-vp9", "-deadline", "realtime",
                                                    "-cpu-used", "8")),
    "bt709_tagged": ("320x180", "25", "1.7", (), ("-c:v", "libx264", "-colorspace", "bt709",
                                                  "-color_primaries", "bt709", "-color_trc", "bt709")),
    "mpeg4_avi_12fps": ("200x150", "12", "2.3", (), ("-c:v", "mpeg4", "-f", "avi")),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_ffmpeg_cli(tools_dir, tmp_path, name):
    size, rate, dur, ein, eout = CASES[name]
    ext = {"mpegts": ".ts", "webm": ".webm", "avi": ".avi"}
    suffix = next((e for k, e in ext.items() if k in name), ".mp4")
    video = gen(tmp_path / f"v{suffix}", size, rate, dur, ein, eout)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path, "-j", "2")
    assert np.array_equal(got2, ref2) and np.array_equal(got3, ref3), "CPU decode is bit-exact"


def test_video_starting_after_audio(tools_dir, tmp_path):
    """The video stream starts 2.3 s after the audio: the CLI's constant-rate output
    repeats the first frame for the leading ticks; so must we."""
    video = tmp_path / "late.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-itsoffset", "2.3",
           "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1.6",
           "-map", "0:a", "-map", "1:v", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
           video)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path)
    assert len(ref2) == 4 and len(ref3) > 90


def test_threads_do_not_change_output(tools_dir, tmp_path):
    video = gen(tmp_path / "t.mp4", "320x240", "30", "2.5")
    _, a2, a3 = ours(tools_dir, video, tmp_path, "-j", "1")
    _, b2, b3 = ours(tools_dir, video, tmp_path, "-j", "3")
    assert a2 == b2 and a3 == b3


def test_one_stream_only_and_counts(tools_dir, tmp_path):
    """30 fps, 3 s: 90 decoded, 3 2D frames, 72 3D frames in 5 chunks (last one padded);
    with --no-3d only the 3 frames the 2D stream needs are converted."""
    video = gen(tmp_path / "c.mp4", "320x240", "30", "3")
    lines, r2, r3 = ours(tools_dir, video, tmp_path)
    assert lines["2d"] == "3 298x224"
    assert lines["3d"] == "72 5 112 0"
    assert lines["decoded"].split()[:4] == ["90", "converted", "72", "errors"]
    lines, r2, r3 = ours(tools_dir, video, tmp_path, "--no-3d")
    assert lines["decoded"].split()[:4] == ["90", "converted", "3", "errors"]
    assert r3 == b"" and len(r2) == 3 * 298 * 224 * 3


def test_gpu_auto_falls_back(tools_dir, tmp_path):
    """--hw auto decodes on NVDEC when a GPU is there, else says why and uses the CPU;
    either way the frames match the CLI within one grey level."""
    video = gen(tmp_path / "g.mp4", "320x240", "25", "2")
    lines, *_ = compare(tools_dir, video, tmp_path, "--hw", "auto")
    if lines["decoded"].endswith("hw 0"):
        assert lines["note"].startswith("cuda: ")
        # no GPU here: asking for NVDEC outright is an environment error (exit 3) saying why
        cp = subprocess.run([str(tools_dir / "frames_dump"), "--hw", "cuda", str(video),
                             str(tmp_path / "c2"), str(tmp_path / "c3")],
                            capture_output=True, text=True)
        assert cp.returncode == 3, cp.stderr
        assert cp.stderr == (f"frames_dump: {video}: GPU decode requested but unavailable: "
                             f"{lines['note']}\n")


def test_zero_byte_file(tools_dir, tmp_path):
    video = tmp_path / "empty.mp4"
    video.write_bytes(b"")
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == 2
    assert cp.stderr.startswith(f"frames_dump: {video}: cannot open (empty file, 0 bytes): ")
    assert "Invalid data found" in cp.stderr


def run_dump(tools_dir, video, tmp_path, timeout=60):
    return subprocess.run([str(tools_dir / "frames_dump"), str(video), str(tmp_path / "o2"),
                           str(tmp_path / "o3")], capture_output=True, text=True, timeout=timeout)


# Exit codes of quern's statuses (qn_exit_code): the file's content is bad (QN_EINPUT:
# the store marks the video failed) vs the file cannot be read now (QN_EENV: skipped,
# retried by a later run).
EXIT_INPUT, EXIT_ENV = 2, 3


def test_missing_file(tools_dir, tmp_path):
    """A missing file is the environment's (a mount that went away, a file still being
    copied): exit 3, not a bad video."""
    cp = run_dump(tools_dir, tmp_path / "nope.mp4", tmp_path)
    assert cp.returncode == EXIT_ENV, cp.stderr
    assert cp.stderr == f"frames_dump: {tmp_path / 'nope.mp4'}: cannot open: No such file or directory\n"


def test_unreachable_paths_are_environment(tools_dir, tmp_path):
    """ENOTDIR (a path through a file) and ELOOP (a symlink loop) are access errors too."""
    video = gen(tmp_path / "v.mp4", "160x90", "25", "0.5")
    cp = run_dump(tools_dir, video / "x.mp4", tmp_path)
    assert cp.returncode == EXIT_ENV
    assert cp.stderr == f"frames_dump: {video / 'x.mp4'}: cannot open: Not a directory\n"
    loop = tmp_path / "loop.mp4"
    loop.symlink_to(loop)
    cp = run_dump(tools_dir, loop, tmp_path)
    assert cp.returncode == EXIT_ENV
    assert cp.stderr == f"frames_dump: {loop}: cannot open: Too many levels of symbolic links\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_environment(tools_dir, tmp_path):
    video = gen(tmp_path / "v.mp4", "160x90", "25", "0.5")
    video.chmod(0)
    try:
        cp = run_dump(tools_dir, video, tmp_path)
    finally:
        video.chmod(0o644)
    assert cp.returncode == EXIT_ENV
    assert cp.stderr == f"frames_dump: {video}: cannot open: Permission denied\n"


def test_not_a_regular_file(tools_dir, tmp_path):
    """A FIFO would block avformat_open_input forever: refused before opening, at once,
    as are a directory and a device; a symlink to a video is read through."""
    fifo = tmp_path / "v.mp4"
    os.mkfifo(fifo)
    cp = run_dump(tools_dir, fifo, tmp_path, timeout=10)
    assert cp.returncode == EXIT_INPUT
    assert cp.stderr == f"frames_dump: {fifo}: not a regular file (fifo)\n"
    d = tmp_path / "dir.mp4"
    d.mkdir()
    cp = run_dump(tools_dir, d, tmp_path, timeout=10)
    assert cp.returncode == EXIT_INPUT
    assert cp.stderr == f"frames_dump: {d}: not a regular file (directory)\n"
    cp = run_dump(tools_dir, "/dev/null", tmp_path, timeout=10)
    assert cp.returncode == EXIT_INPUT
    assert cp.stderr == "frames_dump: /dev/null: not a regular file (character device)\n"
    video = gen(tmp_path / "real.mp4", "160x90", "25", "1")
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    cp = run_dump(tools_dir, link, tmp_path)
    assert cp.returncode == 0 and cp.stdout.startswith("2d 1 398x224\n"), cp.stderr


def top_boxes(data):
    """(type, offset, size) of an MP4's top-level boxes."""
    out, off = [], 0
    while off + 8 <= len(data):
        size = int.from_bytes(data[off:off + 4], "big")
        out.append((data[off + 4:off + 8], off, size))
        if size < 8:
            break
        off += size
    return out


def test_mp4_without_moov(tools_dir, tmp_path):
    video = gen(tmp_path / "m.mp4", "320x240", "25", "1")
    data = bytearray(video.read_bytes())
    for kind, off, size in top_boxes(data):
        if kind == b"moov":
            data[off + 4:off + 8] = b"junk"   # not "free": FFmpeg looks for a moov hidden in free
    video.write_bytes(bytes(data))
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == 2
    assert cp.stderr.startswith(f"frames_dump: {video}: cannot open: ")
    assert "moov atom not found" in cp.stderr


def test_truncated_mp4(tools_dir, tmp_path):
    """moov first (faststart), media data cut in half: a read error, exit 2, no frames."""
    video = gen(tmp_path / "f.mp4", "320x240", "25", "3", (),
                ("-c:v", "libx264", "-movflags", "+faststart"))
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == 2, cp.stdout
    assert cp.stderr.startswith(f"frames_dump: {video}: ")
    assert "truncated" in cp.stderr


def test_truncated_mp4_moov_at_end(tools_dir, tmp_path):
    video = gen(tmp_path / "e.mp4", "320x240", "25", "3")
    data = video.read_bytes()
    video.write_bytes(data[: len(data) // 2])
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == 2
    assert "cannot open" in cp.stderr and "moov atom not found" in cp.stderr


def test_audio_only_and_text(tools_dir, tmp_path):
    audio = tmp_path / "a.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", audio)
    cp = run_dump(tools_dir, audio, tmp_path)
    assert cp.returncode == 2 and cp.stderr == f"frames_dump: {audio}: no video stream\n"
    text = tmp_path / "t.mp4"
    text.write_text("not a video\n" * 20)
    cp = run_dump(tools_dir, text, tmp_path)
    assert cp.returncode == 2 and f"{text}: cannot open: " in cp.stderr


@pytest.mark.parametrize("rotate", ["90", "180", "270", "90-yuv422p"])
def test_display_matrix_rotation(tools_dir, tmp_path, rotate):
    """A phone video stored sideways with a display matrix: the CLI autorotates it
    (transpose/hflip+vflip) before fps and scale, so a 90-degree clip is sampled as
    224 x 398 portrait; ours must be the same frames, bit for bit. 4:2:2 cannot be
    transposed as is: like the CLI, it goes through a bicubic yuv444p conversion first."""
    rotate, _, pix = rotate.partition("-")
    extra_out = ("-c:v", "libx264") + (("-pix_fmt", pix) if pix else ())
    src = tmp_path / "src.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2.2", *extra_out, src)
    video = tmp_path / "rot.mp4"
    ffmpeg("-i", src, "-c", "copy", "-metadata:s:v:0", f"rotate={rotate}", video)
    lines, r2, r3 = ours(tools_dir, video, tmp_path, "-j", "2")
    w, h = (180, 320) if rotate != "180" else (320, 180)
    w2, h2 = out_dim(w, h, 224)
    w3, h3 = out_dim(w, h, 112)
    x, y = int((w3 - 112) / 2), int((h3 - 112) / 2)
    assert lines["2d"].split()[1] == f"{w2}x{h2}"
    ref2 = cli_frames(video, f"fps=1,scale={w2}:{h2}:flags=bicubic", w2, h2)
    ref3 = cli_frames(video, f"fps=24,scale={w3}:{h3}:flags=bicubic,crop=112:112:{x}:{y}",
                      112, 112)
    got2 = np.frombuffer(r2, np.uint8).reshape(-1, h2, w2, 3)
    got3 = np.frombuffer(r3, np.uint8).reshape(-1, 112, 112, 3)
    assert len(got2) == len(ref2) == 2 and len(got3) == len(ref3)
    assert np.array_equal(got2, ref2) and np.array_equal(got3, ref3)


@pytest.mark.parametrize("pix", ["yuyv422", "uyvy422"])
def test_flipped_packed_422(tools_dir, tmp_path, pix):
    """Packed 4:2:2 (rawvideo captures) turned 180 degrees: its 2-byte Y/chroma pairs cannot
    be moved as pixels (U and V would swap); it goes through yuv422p, losslessly, and the
    frames equal the CLI's bit for bit."""
    src = tmp_path / "src.mov"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=2.2", "-c:v",
           "rawvideo", "-pix_fmt", pix, src)
    video = tmp_path / "rot.mov"
    ffmpeg("-i", src, "-c", "copy", "-metadata:s:v:0", "rotate=180", video)
    lines, r2, _ = ours(tools_dir, video, tmp_path, "-j", "2")
    w2, h2 = out_dim(320, 180, 224)
    ref2 = cli_frames(video, f"fps=1,scale={w2}:{h2}:flags=bicubic", w2, h2)
    got2 = np.frombuffer(r2, np.uint8).reshape(-1, h2, w2, 3)
    assert len(got2) == len(ref2) == 2
    assert np.array_equal(got2, ref2)


@pytest.mark.parametrize("size", ["640x360", "320x240", "180x320"])
def test_external_converter_matches_swscale(tools_dir, tmp_path, size):
    """--convert ref: every frame goes through kn_convert's CPU version (what the GPU
    computes for NVDEC frames) instead of libswscale. Same frames, and the pixels within
    what kn_convert.h promises: odd output widths (full chroma) equal but for rare +-1,
    even ones (swscale's pair path) within half a grey level on average."""
    video = gen(tmp_path / "v.mp4", size, "30", "1.6")
    base, r2, r3 = ours(tools_dir, video, tmp_path)
    conv, c2, c3 = ours(tools_dir, video, tmp_path, "--convert", "ref")
    # the fast version (quern-features --convert fast) gives the same bytes
    fast, f2, f3 = ours(tools_dir, video, tmp_path, "--convert", "cpu")
    assert fast == conv and f2 == c2 and f3 == c3
    # every converted frame went to kn_convert, none without --convert
    assert base.pop("external") == "0"
    assert conv.pop("external") == conv["decoded"].split()[2]
    assert conv == base   # counts, sizes, chunk padding
    w2, h2 = (int(x) for x in base["2d"].split()[1].split("x"))
    w3 = out_dim(*(int(x) for x in size.split("x")), 112)[0]   # the 3D width before the crop
    for a, b, w in ((r2, c2, w2), (r3, c3, w3)):
        x = np.frombuffer(a, np.uint8).astype(int)
        y = np.frombuffer(b, np.uint8).astype(int)
        assert len(x) == len(y) > 0
        d = np.abs(x - y)
        if w % 2 == 0:
            assert d.mean() <= 0.5 and d.max() <= 16, (size, d.mean(), d.max())
        else:
            assert d.mean() <= 0.05 and d.max() <= 1, (size, d.mean(), d.max())


def test_external_converter_full_range(tools_dir, tmp_path):
    """A full-range (JPEG) video through kn_convert: its matrix, and no pair-path offset
    (swscale has none for full-range input): within half a grey level of swscale."""
    video = tmp_path / "full.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=1", "-c:v", "libx264",
           "-pix_fmt", "yuvj420p", video)
    base, r2, r3 = ours(tools_dir, video, tmp_path)
    conv, c2, c3 = ours(tools_dir, video, tmp_path, "--convert", "ref")
    fast, f2, f3 = ours(tools_dir, video, tmp_path, "--convert", "cpu")
    assert fast == conv and f2 == c2 and f3 == c3
    assert conv.pop("external") == conv["decoded"].split()[2] != "0"
    base.pop("external")
    assert conv == base
    for a, b, lim in ((r2, c2, 0.5), (r3, c3, 0.05)):
        d = np.abs(np.frombuffer(a, np.uint8).astype(int) - np.frombuffer(b, np.uint8))
        assert d.mean() <= lim, (d.mean(), d.max())


def test_external_converter_leaves_other_formats_to_swscale(tools_dir, tmp_path):
    """Only 8-bit yuv420p (and NVDEC's NV12) frames go to the external converter: a
    yuv444p video is converted by libswscale, bit for bit as without --convert."""
    video = tmp_path / "v444.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264",
           "-pix_fmt", "yuv444p", video)
    base, r2, r3 = ours(tools_dir, video, tmp_path)
    conv, c2, c3 = ours(tools_dir, video, tmp_path, "--convert", "ref")
    assert conv["external"] == "0"
    assert conv == base and c2 == r2 and c3 == r3


def test_external_converter_takes_host_nv12(tools_dir, tmp_path):
    """NV12 frames in host memory (what an NVDEC frame is once downloaded, when the GPU
    converter declined it) go to the host converter too, so that a run's frames all go
    through one function: a rawvideo NV12 file gives exactly the bytes of the same
    pixels stored as yuv420p, and every frame is converted externally."""
    src = gen(tmp_path / "src.mp4", "320x180", "25", "1.2")
    outs = {}
    for pix in ("nv12", "yuv420p"):
        raw = tmp_path / f"{pix}.nut"   # NUT keeps raw NV12 as it is
        ffmpeg("-i", src, "-c:v", "rawvideo", "-pix_fmt", pix, raw)
        outs[pix] = ours(tools_dir, raw, tmp_path, "--convert", "cpu")
    (l1, a2, a3), (l2, b2, b3) = outs["nv12"], outs["yuv420p"]
    assert l1["external"] == l1["decoded"].split()[2] != "0"
    assert l1 == l2 and a2 == b2 and a3 == b3


VP9 = ("-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")


@pytest.mark.parametrize("name,keep", [("mkv", 0.6), ("webm", 0.5), ("avi", 0.6)])
def test_truncated_without_index(tools_dir, tmp_path, name, keep):
    """Matroska/WebM (and AVI) demuxers just stop at a cut, FFmpeg only logs it: the
    packets' reach is compared with the declared duration, so a cut file is bad input."""
    codec = {"mkv": ("-c:v", "libx264"), "webm": VP9, "avi": ("-c:v", "mpeg4")}[name]
    video = gen(tmp_path / f"v.{name}", "256x144", "25", "2", (), codec)
    data = video.read_bytes()
    video.write_bytes(data[: int(len(data) * keep)])
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == EXIT_INPUT, cp.stdout
    m = re.fullmatch(rf"frames_dump: {re.escape(str(video))}: truncated: the file ends at "
                     r"(\d+\.\d{3}) s of its declared (\d+\.\d{3}) s\n", cp.stderr)
    assert m, cp.stderr
    assert 0.0 <= float(m[1]) < 1.5 and abs(float(m[2]) - 2.0) < 0.05


@pytest.mark.parametrize("ext", ["mp4", "mkv", "webm"])
def test_audio_outlasting_video_is_complete(tools_dir, tmp_path, ext):
    """Audio 3 s longer than the video: the declared duration is the audio's, which its
    packets reach; the file is whole and its frames are the CLI's."""
    codecs = {"mp4": ("-c:v", "libx264", "-c:a", "aac"), "mkv": ("-c:v", "libx264", "-c:a", "aac"),
              "webm": VP9 + ("-c:a", "libopus")}[ext]
    video = tmp_path / f"long_audio.{ext}"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=256x144:rate=25:duration=2",
           "-f", "lavfi", "-i", "sine=duration=5", *codecs, "-pix_fmt", "yuv420p", video)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path)
    # the audio's priming delay shifts Matroska's start, so the CLI has one 3D tick more
    assert len(ref2) == 2 and len(ref3) in (48, 49)


def test_mp4_cut_with_edit_list_is_complete(tools_dir, tmp_path):
    """`ffmpeg -ss 6 -c copy` keeps the GOP's pre-roll frames behind an edit list: 300
    samples for 6 s shown. The file is whole; its frames are the CLI's."""
    src = gen(tmp_path / "long.mp4", "160x90", "25", "12", (), ("-c:v", "libx264", "-g", "250"))
    video = tmp_path / "trim.mp4"
    ffmpeg("-ss", "6", "-i", src, "-c", "copy", video)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path)
    assert len(ref2) == 6 and len(ref3) == 144 and lines["packets"] == "300"


@pytest.mark.parametrize("ext", ["mkv", "mp4"])
def test_late_start_is_complete(tools_dir, tmp_path, ext):
    """A file whose timestamps start at 10 s (-output_ts_offset; a -copyts remux of a
    broadcast capture): some demuxers give its end time as its duration, which its packets
    do reach. Whole; its frames are the CLI's."""
    video = gen(tmp_path / f"late.{ext}", "160x90", "25", "3", (),
                ("-c:v", "libx264", "-output_ts_offset", "10"))
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path)
    assert lines["decoded"].split()[0] == "75"


def test_late_or_long_files_cut_short_are_truncated(tools_dir, tmp_path):
    """What the late-start and edit-list allowances must not let through: an MP4 missing
    its last 1.5% (its index counts the lost samples), a late-start Matroska file cut at
    60%, and an FLV starting at 30 s whose declared duration is a length (not an end)."""
    cases = []
    m = gen(tmp_path / "m.mp4", "160x90", "25", "20", (),
            ("-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"))
    cases.append((m, 0.985, r"the file ends after 49\d of 500 video packets \(19\.\d{3} s\)"))
    k = gen(tmp_path / "late.mkv", "160x90", "25", "4", (),
            ("-c:v", "libx264", "-output_ts_offset", "10"))
    cases.append((k, 0.6, r"its packets end at 1[0-3]\.\d{3} s, short of its declared end or "
                          r"duration 14\.000 s"))
    f = gen(tmp_path / "late.flv", "160x90", "25", "10", (),
            ("-c:v", "libx264", "-output_ts_offset", "30"))
    cases.append((f, 0.4, r"the file ends at [0-6]\.\d{3} s of its declared 10\.\d{3} s"))
    for video, keep, want in cases:
        data = video.read_bytes()
        cut = video.with_name("cut_" + video.name)
        cut.write_bytes(data[: int(len(data) * keep)])
        cp = run_dump(tools_dir, cut, tmp_path)
        assert cp.returncode == EXIT_INPUT, (cut, cp.stdout, cp.stderr)
        assert re.fullmatch(rf"frames_dump: {re.escape(str(cut))}: truncated: {want}\n",
                            cp.stderr), cp.stderr


def patch_boxes(data, path, edit):
    """Calls edit(data, payload_offset) for every box at `path` (a list of types, moov
    first) of an MP4, descending through container boxes."""
    def walk(lo, hi, depth):
        off = lo
        while off + 8 <= hi:
            size = int.from_bytes(data[off:off + 4], "big")
            if size < 8:
                return
            if data[off + 4:off + 8] == path[depth]:
                if depth == len(path) - 1:
                    edit(data, off + 8)
                else:
                    walk(off + 8, off + size, depth + 1)
            off += size
    walk(0, len(data), 0)


def test_mp4_edit_list_trim_is_complete(tools_dir, tmp_path):
    """A pass-through trim that only shortens the edit list (and the movie's and track's
    durations) leaves samples in the index that are never shown: fewer packets come out
    than the index counts, but they reach the declared duration. Whole, as the CLI plays
    it: the first 3 of 6 s."""
    video = gen(tmp_path / "full.mp4", "160x90", "25", "6", (),
                ("-c:v", "libx264", "-g", "30", "-x264-params", "open_gop=1"))
    data = bytearray(video.read_bytes())

    def halve(at):   # a version-0 32-bit duration field at byte `at`
        def edit(d, payload):
            v = int.from_bytes(d[payload + at:payload + at + 4], "big")
            d[payload + at:payload + at + 4] = (v // 2).to_bytes(4, "big")
        return edit
    patch_boxes(data, [b"moov", b"mvhd"], halve(16))
    patch_boxes(data, [b"moov", b"trak", b"tkhd"], halve(20))
    patch_boxes(data, [b"moov", b"trak", b"edts", b"elst"], halve(8))
    trim = tmp_path / "trim.mp4"
    trim.write_bytes(data)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, trim, tmp_path)
    # the demuxer drops the samples past the next keyframe: fewer packets than indexed
    assert len(ref2) == 3 and int(lines["packets"]) < 150 and lines["decoded"].split()[0] == "75"


def mp4_box(data, kind):
    return next((off, size) for k, off, size in top_boxes(data) if k == kind)


def test_no_decodable_frames(tools_dir, tmp_path):
    """An MP4 whose media data is all zeros parses fine but no packet decodes: bad
    input naming how many packets the decoder rejected, never an empty success."""
    video = gen(tmp_path / "z.mp4", "320x240", "25", "2")
    data = bytearray(video.read_bytes())
    off, size = mp4_box(data, b"mdat")
    data[off + 8:off + size] = bytes(size - 8)
    video.write_bytes(bytes(data))
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == EXIT_INPUT, cp.stdout
    assert cp.stderr == f"frames_dump: {video}: no decodable video frames (50 packets rejected)\n"


def test_damaged_packets_are_counted(tools_dir, tmp_path):
    """Some damaged packets in a file that otherwise decodes: it passes (the CLI goes on
    too) and decode_errors says how many packets were rejected."""
    video = gen(tmp_path / "d.mp4", "320x240", "25", "2", (), ("-c:v", "libx264", "-g", "10"))
    data = bytearray(video.read_bytes())
    off, size = mp4_box(data, b"mdat")
    mid = off + size // 2
    data[mid:mid + 4000] = bytes(4000)
    video.write_bytes(bytes(data))
    cp = run_dump(tools_dir, video, tmp_path)
    assert cp.returncode == 0, cp.stderr
    lines = dict(line.split(" ", 1) for line in cp.stdout.splitlines())
    decoded, errors = int(lines["decoded"].split()[0]), int(lines["decoded"].split()[4])
    assert errors >= 1 and decoded + errors == 50 and lines["packets"] == "50", lines


def test_cover_art_is_no_video(tools_dir, tmp_path):
    """An mp3 with cover art has a 'video' stream of one attached picture: no video."""
    cover = tmp_path / "cover.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120", "-frames:v", "1", cover)
    song = tmp_path / "song.mp3"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=2", "-i", cover, "-map", "0:a", "-map", "1:v",
           "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic", song)
    cp = run_dump(tools_dir, song, tmp_path)
    assert cp.returncode == EXIT_INPUT
    assert cp.stderr == f"frames_dump: {song}: no video stream (only an attached picture)\n"


@pytest.mark.parametrize("fmt", ["h264", "hevc", "mpeg2video"])
def test_raw_elementary_stream_without_timestamps(tools_dir, tmp_path, fmt):
    """A raw .h264/.hevc stream has no timestamps: frames are timed by the stream's
    rate as the CLI does, so the counts (48 at 24 fps for 2 s) and frames are the CLI's.
    A raw MPEG-2 stream's first frame comes at 1/24 s: the CLI's single-stream "vscfr"
    output starts there, without repeating it over tick 0."""
    codec = {"h264": "libx264", "hevc": "libx265", "mpeg2video": "mpeg2video"}[fmt]
    video = tmp_path / f"raw.{fmt}"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24:duration=2", "-c:v", codec,
           "-pix_fmt", "yuv420p", "-f", fmt, video)
    lines, got2, got3, ref2, ref3 = compare(tools_dir, video, tmp_path)
    assert len(ref2) == 2 and len(ref3) == 48
    assert lines["decoded"].split()[0] == "48" and lines["packets"] == "48"
    assert np.array_equal(got2, ref2) and np.array_equal(got3, ref3)


@pytest.mark.parametrize("when", ["open", "decode"])
def test_read_error_is_environment(tools_dir, tmp_path, eio_shim, when):
    """An I/O error reading the file (a failing disk, a dropped network mount) is the
    environment's, exit 3, whether it comes while probing or in the middle of decoding;
    the same bytes cut short instead would be bad input."""
    video = gen(tmp_path / "v.eio.mp4", "320x240", "25", "3", (),
                ("-c:v", "libx264", "-movflags", "+faststart"))
    after = 0 if when == "open" else video.stat().st_size // 2
    env = dict(os.environ, LD_PRELOAD=str(eio_shim), QN_EIO_AFTER=str(after),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    cp = subprocess.run([str(tools_dir / "frames_dump"), str(video), "-", "-"],
                        capture_output=True, text=True, env=env, timeout=60)
    assert cp.returncode == EXIT_ENV, (cp.stdout, cp.stderr)
    if when == "open":
        assert cp.stderr == f"frames_dump: {video}: cannot open: Input/output error\n"
    else:
        # FFmpeg's log may add the demuxer's detail: "(stream 0, offset 0x...: partial file)"
        assert re.fullmatch(rf"frames_dump: {re.escape(str(video))}: read error at "
                            r"\d\.\d{3} s: Input/output error( \(.*partial file\))?\n",
                            cp.stderr), cp.stderr
