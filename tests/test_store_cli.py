"""End-to-end tests of quern-store: init, info, verify, merge, export, vacuum, vocab import,
their outputs and exit codes. Stores are generated with the store_killer test tool
(KILL_BATCHES=n batches of 3 videos × 5 clips, per-step set "step" (96-d f16, rate 1.5) and
per-clip set "clip" (32-d f32)), so the tests run anywhere."""
import fcntl
import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest

from conftest import run, run_on_pty

VPB, CLIPS, DIM_STEP, DIM_CLIP, MAX_ROWS = 3, 5, 96, 32, 40


def kill_rows(b, k):
    return 8 + (b * 7 + k * 3) % (MAX_ROWS - 8)


def kill_value(b, k, r, j):
    return ((b * 131 + k * 17 + r * 5 + j) % 251) / 64.0 - 2.0


def qs(bin_dir, *args, **kw):
    return run("quern-store", *args, bin_dir=bin_dir, **kw)


@pytest.fixture
def make_store(tools_dir, tmp_path):
    killer = tools_dir / "store_killer"
    if not killer.exists():
        pytest.skip(f"{killer} not built (make tests-built)")

    def make(name, batches=2, first=0):
        d = tmp_path / name
        env = dict(os.environ, KILL_BATCHES=str(batches), KILL_FIRST=str(first))
        cp = subprocess.run([str(killer), str(d), str(tmp_path / (name + ".log"))], env=env,
                            capture_output=True, text=True)
        assert cp.returncode == 0, cp.stderr
        return d
    return make


def test_help_version_usage(bin_dir):
    cp = qs(bin_dir, "--help")
    assert cp.returncode == 0
    for word in ("init", "info", "verify", "merge", "export", "vacuum", "vocab import",
                 "--skip-duplicates", "Example"):
        assert word in cp.stdout
    cp = qs(bin_dir, "--version")
    assert cp.returncode == 0 and cp.stdout.startswith("quern-store ")
    cp = qs(bin_dir)
    assert cp.returncode == 2 and "no command" in cp.stderr
    cp = qs(bin_dir, "frobnicate", "x")
    assert cp.returncode == 2 and "unknown command 'frobnicate'" in cp.stderr
    cp = qs(bin_dir, "info", "--bogus", "x")
    assert cp.returncode == 2
    cp = qs(bin_dir, "info")
    assert cp.returncode == 2 and "no store DIR" in cp.stderr
    cp = qs(bin_dir, "info", "a", "b")
    assert cp.returncode == 2 and "b: unexpected argument" in cp.stderr
    # every usage error is one line, naming what is wrong (getopt's own line silenced)
    for argv, line in [((), "no command given (init, info, verify, merge, export, vacuum, vocab)"),
                       (("--bogus", "info", "x"), "unknown option --bogus"),
                       (("info", "x", "--store"), "option --store needs a value"),
                       (("vocab", "import", "x", "f.bin", "--max-words", ""),
                        "--max-words: '' is not a non-negative number")]:
        cp = qs(bin_dir, *argv)
        assert cp.returncode == 2
        assert cp.stderr == "quern-store: %s (see --help)\n" % line, cp.stderr


def test_init_info_verify(bin_dir, tmp_path):
    d = tmp_path / "s"
    cp = qs(bin_dir, "init", d)
    assert cp.returncode == 0, cp.stderr
    assert (d / "meta.db").exists()
    with open(d / "meta.db", "rb") as f:
        head = f.read(100)
    assert head[:16] == b"SQLite format 3\0"
    assert struct.unpack(">I", head[68:72])[0] == 0x5155524E  # application_id
    assert struct.unpack(">I", head[60:64])[0] == 3  # user_version
    assert qs(bin_dir, "init", d).returncode == 0  # idempotent
    cp = qs(bin_dir, "info", d)
    assert cp.returncode == 0
    assert "videos     0 (ok 0" in cp.stdout and "feature sets 0" in cp.stdout
    cp = qs(bin_dir, "verify", d)
    assert cp.returncode == 0 and "ok (0 videos" in cp.stderr
    assert qs(bin_dir, "-q", "verify", d).stderr == ""


def test_info_of_a_filled_store(bin_dir, make_store):
    d = make_store("a")
    cp = qs(bin_dir, "info", d)
    assert cp.returncode == 0, cp.stderr
    assert "videos     6 (ok 6, pending 0, rejected 0, failed 0)" in cp.stdout
    assert "clips      30" in cp.stdout and "tokens     90" in cp.stdout
    rows = sum(kill_rows(b, k) for b in range(2) for k in range(VPB))
    assert f"step                 per-step dim 96    f16 rate 1.5 rows {rows}" in cp.stdout
    assert "clip                 per-clip dim 32    f32 rate 0 rows 30" in cp.stdout
    assert qs(bin_dir, "verify", d).returncode == 0


def test_info_reasons(bin_dir, make_store):
    import sqlite3
    d = make_store("a")
    db = sqlite3.connect(d / "meta.db")
    db.execute("UPDATE video SET status='rejected', reason='duration > 2000 s' WHERE id <= 2")
    db.execute("UPDATE video SET status='failed', reason='moov atom not found' WHERE id = 3")
    db.commit()
    db.close()
    out = qs(bin_dir, "info", d).stdout
    assert "videos     6 (ok 3, pending 0, rejected 2, failed 1)" in out
    assert "rejected/failed videos by reason\n  rejected        2  duration > 2000 s\n" \
           "  failed          1  moov atom not found\n" in out


def test_feature_file_readable_as_documented(make_store):
    """FORMAT.md: header fields at their offsets, rows memmap-able at offset 4096."""
    import sqlite3
    d = make_store("a")
    db = sqlite3.connect(f"file:{d}/meta.db?mode=ro", uri=True)
    committed, dim = db.execute(
        "SELECT committed_rows, dim FROM feature_set WHERE name='step'").fetchone()
    first, n, ext = db.execute(
        "SELECT r.first_row, r.n_rows, v.ext_id FROM video_rows r JOIN video v ON v.id=r.video_id"
        " WHERE v.ext_id='b1-v2'").fetchone()
    uuid = db.execute("SELECT value FROM store_info WHERE key='uuid'").fetchone()[0]
    path = d / "features" / "step.qnf"
    with open(path, "rb") as f:
        h = f.read(4096)
    assert h[:8] == b"QUERNFT\0"
    assert struct.unpack("<IIIIII", h[8:32]) == (1, 4096, 1, 96, 192, 1)
    assert struct.unpack("<d", h[40:48])[0] == 1.5
    assert h[56:92].decode() == uuid
    assert h[96:100] == b"step"
    mm = np.memmap(path, dtype="<f2", mode="r", offset=4096, shape=(committed, dim))
    want = np.array([[kill_value(1, 2, r, j) for j in range(DIM_STEP)] for r in range(n)])
    assert np.array_equal(mm[first:first + n].astype(np.float64), want)


def test_bad_stores_refused(bin_dir, make_store, tmp_path):
    d = make_store("a")
    step = d / "features" / "step.qnf"
    size = step.stat().st_size
    os.truncate(step, size - 192)
    for cmd in ("info", "verify", "vacuum"):
        cp = qs(bin_dir, cmd, d)
        assert cp.returncode == 2, (cmd, cp.stderr)
        assert f"{step}: truncated feature file" in cp.stderr
    d2 = make_store("b")
    with open(d2 / "features" / "clip.qnf", "r+b") as f:
        f.write(b"XXXX")
    cp = qs(bin_dir, "verify", d2)
    assert cp.returncode == 2 and "clip.qnf: bad magic" in cp.stderr
    (tmp_path / "nodb").mkdir()
    cp = qs(bin_dir, "info", tmp_path / "nodb")
    assert cp.returncode == 2 and "not a quern store (no meta.db)" in cp.stderr
    cp = qs(bin_dir, "info", tmp_path / "absent")
    assert cp.returncode == 2 and "absent" in cp.stderr


def test_second_writer_exit_3(bin_dir, make_store):
    d = make_store("a")
    with open(d / "store.lock", "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.truncate(0)
        f.write(f"{os.getpid()}\n")
        f.flush()
        cp = qs(bin_dir, "vacuum", d)
        assert cp.returncode == 3
        assert f"store is locked by pid {os.getpid()}" in cp.stderr
        assert qs(bin_dir, "info", d).returncode == 0  # readers are never locked out
    assert qs(bin_dir, "vacuum", d).returncode == 0


def test_merge(bin_dir, make_store, tmp_path):
    a = make_store("a", batches=2, first=0)
    b = make_store("b", batches=3, first=10)
    dup = make_store("dup", batches=1, first=1)  # b1-v* are in a
    out = tmp_path / "out"
    cp = qs(bin_dir, "merge", out, a, b)
    assert cp.returncode == 0, cp.stderr
    assert "merged 2 stores" in cp.stderr and "15 videos, 75 clips" in cp.stderr
    info = qs(bin_dir, "info", out).stdout
    assert "videos     15 (ok 15" in info and "clips      75" in info
    assert qs(bin_dir, "verify", out).returncode == 0
    cp = qs(bin_dir, "merge", out, a)
    assert cp.returncode == 0 and "1 stores already merged" in cp.stderr
    cp = qs(bin_dir, "merge", out, dup)
    assert cp.returncode == 2 and "video b1-v0 is already in" in cp.stderr
    assert "videos     15 " in qs(bin_dir, "info", out).stdout  # unchanged
    cp = qs(bin_dir, "merge", "--skip-duplicates", out, dup)
    assert cp.returncode == 1 and "3 duplicate videos skipped" in cp.stderr
    assert qs(bin_dir, "verify", out).returncode == 0
    # rows followed their videos
    exp = tmp_path / "npy"
    assert qs(bin_dir, "export", out, "--features", "step", "--out", exp).returncode == 0
    x = np.load(exp / "b11-v1.npy")
    assert x.dtype == np.float16 and x.shape == (kill_rows(11, 1), DIM_STEP)
    assert float(x[3, 7]) == kill_value(11, 1, 3, 7)
    cp = qs(bin_dir, "merge", out)
    assert cp.returncode == 2


def test_export(bin_dir, make_store, tmp_path):
    d = make_store("a")
    clips, caps, npy = tmp_path / "c.jsonl", tmp_path / "caption.json", tmp_path / "npy"
    cp = qs(bin_dir, "export", d, "--clips", clips, "--captions", caps, "--features", "clip",
            "--out", npy)
    assert cp.returncode == 0, cp.stderr
    assert "exported 30 clips, 6 caption videos, 2 .npy files" in cp.stderr
    lines = [json.loads(x) for x in clips.read_text().splitlines()]
    assert len(lines) == 30
    assert lines[6] == {"video": "b0-v1", "index": 1, "start": 1, "end": 2.5,
                        "raw": "clip 1 of b0-v1", "clean": "clip 1 of b0-v1",
                        "filtered": "clip 1 of b0-v1", "tokens": [0, 1, 7]}
    c = json.loads(caps.read_text())
    assert sorted(c) == [f"b{b}-v{k}" for b in range(2) for k in range(3)]
    assert c["b1-v2"]["start"] == [0, 1, 2, 3, 4]
    assert c["b1-v2"]["end"] == [1.5, 2.5, 3.5, 4.5, 5.5]
    assert c["b1-v2"]["text"][4] == "clip 4 of b1-v2"
    x = np.load(npy / "clip.npy")
    assert x.dtype == np.float32 and x.shape == (30, DIM_CLIP)
    order = (npy / "clip.clips.txt").read_text().split("\n")
    assert order[7] == "b0-v1 2"
    assert x[7, 5] == np.float32(kill_value(0, 1, 1002, 5))
    cp = qs(bin_dir, "export", d)
    assert cp.returncode == 2 and "needs --clips" in cp.stderr
    cp = qs(bin_dir, "export", d, "--features", "nope", "--out", npy)
    assert cp.returncode == 2 and "no feature set 'nope'" in cp.stderr
    cp = qs(bin_dir, "export", d, "--clips", tmp_path / "missing" / "x.jsonl")
    assert cp.returncode == 2 and "missing" in cp.stderr
    assert not (tmp_path / "missing").exists()


def test_export_refuses_fifo_and_survives_file_size_limit(bin_dir, make_store, tmp_path):
    """An output that is a FIFO or device is refused and left alone (the rename would
    replace it); past RLIMIT_FSIZE: one line, exit 3, no temporary left behind."""
    import resource
    import stat
    d = make_store("a", batches=30)  # 450 clips: a JSONL of ~70 KB
    out = tmp_path / "out"
    out.mkdir()
    fifo = out / "fifo"
    os.mkfifo(fifo)
    cp = qs(bin_dir, "export", d, "--clips", fifo)
    assert cp.returncode == 2
    assert cp.stderr == ("quern-store: %s: not a regular file (outputs are written to a temporary "
                         "file renamed over them, which would replace it)\n" % fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    limit = 40000  # above the reader's meta.db-shm (32 KiB), below the clips JSONL
    cp = qs(bin_dir, "export", d, "--clips", out / "c.jsonl",
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert cp.returncode == 3, cp.stderr
    assert cp.stderr.endswith(": File too large\n") and cp.stderr.count("\n") == 1
    assert str(out / "c.jsonl") in cp.stderr
    assert sorted(p.name for p in out.iterdir()) == ["fifo"]
    # .npy exports are staged: clip.clips.txt was written, clip.npy (57 KB) was not,
    # so neither appears, the staging directory is gone and what was there stays
    (out / "old.npy").write_bytes(b"old")
    cp = qs(bin_dir, "export", d, "--features", "clip", "--out", out,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert cp.returncode == 3, cp.stderr
    assert cp.stderr.endswith("/clip.npy: cannot write output: File too large\n")
    assert sorted(p.name for p in out.iterdir()) == ["fifo", "old.npy"]
    cp = qs(bin_dir, "export", d, "--features", "clip", "--out", out / "new",
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert cp.returncode == 3 and not (out / "new").exists()  # made by the run, removed
    cp = qs(bin_dir, "export", d, "--features", "clip", "--out", out)
    assert cp.returncode == 0, cp.stderr
    assert sorted(p.name for p in out.iterdir()) == ["clip.clips.txt", "clip.npy", "fifo",
                                                     "old.npy"]
    assert np.load(out / "clip.npy").shape == (450, DIM_CLIP)


def test_export_progress_only_on_a_terminal(bin_dir, make_store, tmp_path):
    """One bar per export pass (done/total videos, rate, ETA) on a terminal, erased before
    the summary; nothing but the summary otherwise, nothing at all with -q."""
    d = make_store("a")
    argv = [bin_dir / "quern-store", "export", d, "--clips", tmp_path / "c.jsonl",
            "--captions", tmp_path / "cap.json", "--features", "step", "--out", tmp_path / "npy"]
    rc, _, text = run_on_pty(argv)
    assert rc == 0
    for what in ("clips", "captions", "features"):
        assert "\r%s [" % what in text and "6/6" in text and "ETA" in text
    assert text.endswith("\x1b[Kquern-store: exported 30 clips, 6 caption videos, 6 .npy files\r\n")
    rc, _, text = run_on_pty(argv + ["-q"])
    assert rc == 0 and text == ""
    cp = qs(bin_dir, *argv[1:])
    assert cp.stderr == "quern-store: exported 30 clips, 6 caption videos, 6 .npy files\n"


def test_export_into_the_store_is_refused(bin_dir, make_store):
    """`--clips DIR/meta.db` used to rename the JSONL over the database; every export
    target inside the store's directories is refused and the store stays sound."""
    d = make_store("a")
    for args, what in [(("--clips", d / "meta.db"), d / "meta.db"),
                       (("--captions", d / "features" / "c.json"), d / "features" / "c.json"),
                       (("--features", "step", "--out", d), d),
                       (("--features", "step", "--out", d / "features"), d / "features")]:
        cp = qs(bin_dir, "export", d, *args)
        assert cp.returncode == 2
        assert cp.stderr == "quern-store: %s: inside the store %s (exports go elsewhere)\n" % (
            what, d), cp.stderr
    assert sorted(p.name for p in (d / "features").iterdir()) == ["clip.qnf", "step.qnf"]
    cp = qs(bin_dir, "verify", d)
    assert cp.returncode == 0, cp.stderr


def test_init_where_it_cannot(bin_dir, tmp_path):
    """A missing parent is bad usage (2); a directory we may not write, the environment (3)."""
    cp = qs(bin_dir, "init", tmp_path / "no" / "s")
    assert cp.returncode == 2
    assert cp.stderr == "quern-store: %s: cannot create: No such file or directory\n" % (
        tmp_path / "no" / "s")
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix="quern-store-ro-")  # reachable by the user dropped to below
    try:
        os.chmod(top, 0o755)
        ro = os.path.join(top, "ro")
        os.mkdir(ro, 0o555)
        drop = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
        cp = qs(bin_dir, "init", os.path.join(ro, "s"), preexec_fn=drop)
        assert cp.returncode == 3
        assert cp.stderr == "quern-store: %s/s: cannot create: Permission denied\n" % ro
        assert os.listdir(ro) == []
    finally:
        shutil.rmtree(top)


def test_store_in_an_unwritable_directory(bin_dir, make_store):
    """A store whose directory this user cannot write (another user's dataset) cannot be
    read safely: SQLite must make its -shm file there, and the owner may be writing, which
    an immutable reader would not see. Said in one line, exit 3, nothing written."""
    import shutil
    import tempfile
    src = make_store("a")
    top = tempfile.mkdtemp(prefix="quern-store-ro-")  # reachable by the user dropped to below
    try:
        os.chmod(top, 0o755)
        d = os.path.join(top, "s")
        shutil.copytree(src, d)
        for root, dirs, files in os.walk(d):
            for f in files:
                os.chmod(os.path.join(root, f), 0o444)
        for sub in (os.path.join(d, "features"), d):
            os.chmod(sub, 0o555)
        drop = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
        cp = qs(bin_dir, "verify", d, preexec_fn=drop)
        assert cp.returncode == 3 and cp.stderr == (
            f"quern-store: {d}: cannot read: SQLite must make meta.db-shm in the store's "
            "directory, which this user cannot write (its owner can read it, or a copy can "
            "be)\n"), cp.stderr
        assert sorted(os.listdir(d)) == sorted(os.listdir(src))  # nothing written
    finally:
        for root, dirs, files in os.walk(top):
            os.chmod(root, 0o755)
        shutil.rmtree(top)


def test_store_on_a_read_only_file_system(bin_dir, make_store, tmp_path):
    """On a read-only file system (media, a squashfs image) no writer can be: the store is
    opened as immutable and read whole, unless its write-ahead log still holds commits,
    which is said. The mount is a read-only bind in a user namespace (unshare -rm)."""
    src = make_store("a")
    ro = tmp_path / "ro"
    ro.mkdir()

    def in_ro(*args):
        cmd = (f"mount --bind {src} {ro} && mount -o remount,bind,ro {ro} && "
               f"{bin_dir / 'quern-store'} " + " ".join(map(str, args)))
        return subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True,
                              text=True)
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount --bind {src} {ro} && "
                            f"mount -o remount,bind,ro {ro}"], capture_output=True, text=True) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no read-only mount here (unshare -rm refused: no user namespaces)")
    cp = in_ro("verify", ro)
    assert cp.returncode == 0 and cp.stderr.startswith(f"quern-store: {ro}: ok ("), cp.stderr
    cp = in_ro("export", ro, "--clips", tmp_path / "clips.jsonl")
    assert cp.returncode == 0, cp.stderr
    assert len((tmp_path / "clips.jsonl").read_text().splitlines()) > 0
    (src / "meta.db-wal").write_bytes(b"\0" * 4096)
    cp = in_ro("verify", ro)
    assert cp.returncode == 3 and cp.stderr == (
        f"quern-store: {ro}: read-only, with commits still in its write-ahead log "
        f"({ro}/meta.db-wal): open the store once where it can be written (quern-store vacuum "
        "does)\n"), cp.stderr


def test_vacuum(bin_dir, make_store):
    d = make_store("a")
    with open(d / "features" / "step.qnf", "ab") as f:
        f.write(b"\0" * 1000)  # an uncommitted tail
    cp = qs(bin_dir, "vacuum", d)
    assert cp.returncode == 0, cp.stderr
    rows = sum(kill_rows(b, k) for b in range(2) for k in range(VPB))
    assert (d / "features" / "step.qnf").stat().st_size == 4096 + rows * 192
    assert qs(bin_dir, "verify", d).returncode == 0


def write_w2v(path, words, dim, truncate=False):
    with open(path, "wb") as f:
        f.write(f"{len(words)} {dim}\n".encode())
        for i, w in enumerate(words):
            f.write(w.encode() + b" ")
            f.write(np.arange(i * 10, i * 10 + dim, dtype="<f4").tobytes())
            f.write(b"\n")
        if truncate:
            f.seek(-9, 2)
            f.truncate()


def test_vocab_import(bin_dir, tmp_path):
    d = tmp_path / "s"
    w2v = tmp_path / "w.bin"
    write_w2v(w2v, ["</s>", "the", "Hello", "café"], 5)
    cp = qs(bin_dir, "vocab", "import", d, w2v)
    assert cp.returncode == 0, cp.stderr
    assert "imported 4 words" in cp.stderr
    info = qs(bin_dir, "info", d).stdout
    assert "vocabulary 4 words" in info
    assert "word2vec             per-item dim 5     f32 rate 0 rows 4" in info
    mm = np.memmap(d / "features" / "word2vec.qnf", dtype="<f4", mode="r", offset=4096,
                   shape=(4, 5))
    assert mm[3].tolist() == [30, 31, 32, 33, 34]
    cp = qs(bin_dir, "vocab", "import", d, w2v)
    assert cp.returncode == 2 and "already has a vocabulary" in cp.stderr
    bad = tmp_path / "bad.bin"
    write_w2v(bad, ["a", "b"], 5, truncate=True)
    cp = qs(bin_dir, "vocab", "import", "--store", tmp_path / "t", bad)
    assert cp.returncode == 2 and f"{bad}: word 2 'b'" in cp.stderr and "truncated" in cp.stderr
    cp = qs(bin_dir, "vocab", "import", tmp_path / "t", tmp_path / "none.bin")
    assert cp.returncode == 2 and "none.bin" in cp.stderr
    cp = qs(bin_dir, "vocab", "export", d, w2v)
    assert cp.returncode == 2
