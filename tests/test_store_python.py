"""The Python store reader (store/python/quern_store.py) against the C reader and plain loops.

Synthetic stores come from tests/store_synth (a TEST_TOOL built on store.h); `store_synth
dump` writes what the C reader sees (metadata, every committed row, qn_store_pool of every
clip window plus edge windows), and the Python reader must agree on every value. Pooling
and caption merging are also checked against plain-loop ports of HowTo100M's
youtube_dataloader.py, and the reader must never write to the store.
"""
import hashlib
import json
import os
import pathlib
import pickle
import shutil
import struct
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "store" / "python"))
import quern_store as qs  # noqa: E402

SETS = ("resnet152-2d", "resnext101-3d")


# ---- plain-loop references --------------------------------------------------------------

def ref_pool(rows, rate, s, e):
    """FORMAT.md §5 one window at a time."""
    n = len(rows)
    if n == 0:
        return np.zeros(rows.shape[1], np.float32)
    a = int(np.floor(s * rate))
    b = int(np.floor(e * rate)) + 1
    a = min(max(a, 0), n - 1)
    b = max(min(b, n), a + 1)
    m = rows[a:b].astype(np.float32).max(axis=0)
    norm = np.sqrt(np.sum(m.astype(np.float64) ** 2))
    return m / np.float32(norm) if norm > 0 else m


def ref_merge(start, end, toks, ind, min_time, min_words, max_words):
    """youtube_dataloader._get_single_text with token lists as the words."""
    s = e = ind
    words = list(toks[ind])
    diff = end[e] - start[s]
    n = len(start)
    while len(words) < min_words or diff < min_time:
        if s > 0 and e < n - 1:
            d1 = end[e + 1] - start[s]
            d2 = end[e] - start[s - 1]
            if (min_time > 0 and d2 <= d1) or (min_time == 0 and len(toks[e + 1]) <= len(toks[s - 1])):
                s -= 1
                words.extend(toks[s])
            else:
                e += 1
                words.extend(toks[e])
        elif s > 0:
            s -= 1
            words.extend(toks[s])
        elif e < n - 1:
            e += 1
            words.extend(toks[e])
        else:
            break
        diff = end[e] - start[s]
    out = np.full(max_words, -1, np.int64)
    w = words[:max_words]
    out[:len(w)] = w
    return s, e, out


# ---- fixtures ------------------------------------------------------------------------------

def synth(tools_dir, path, *opts):
    tool = tools_dir / "store_synth"
    assert tool.exists(), f"{tool} not built (make tests-built)"
    cp = subprocess.run([str(tool), "create", str(path), *map(str, opts)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    return path


def dump(tools_dir, path, out):
    cp = subprocess.run([str(tools_dir / "store_synth"), "dump", str(path), str(out)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    return out


STORE_OPTS = {
    "f16": ("--videos", 14, "--seed", 11, "--dim2d", 24, "--dim3d", 40, "--signed",
            "--per-clip", "--rejected-every", 5, "--batch", 4, "--vocab", 300,
            "--min-dur", 8, "--max-dur", 40),
    "f32": ("--videos", 9, "--seed", 5, "--dim2d", 16, "--dim3d", 8, "--dtype", "f32",
            "--min-dur", 3, "--max-dur", 25, "--vocab", 50),
}


@pytest.fixture(scope="module", params=sorted(STORE_OPTS))
def made(request, tools_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("store_" + request.param)
    path = synth(tools_dir, d / "s", *STORE_OPTS[request.param])
    return path, dump(tools_dir, path, d / "dump")


@pytest.fixture(scope="module")
def small(tools_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    return synth(tools_dir, d / "s", *STORE_OPTS["f16"])


def jsonl(p):
    return [json.loads(line) for line in open(p)]


# ---- pure functions vs plain loops --------------------------------------------------------

@pytest.mark.parametrize("dtype,signed", [(np.float16, False), (np.float16, True),
                                          (np.float32, True)])
def test_pool_rows_equals_loop(dtype, signed):
    rng = np.random.default_rng(1)
    counts = np.array([7, 0, 1, 30, 12, 5])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rows = rng.random((counts.sum(), 33)).astype(dtype)
    if signed:
        rows -= dtype(0.5)
    rows[first[3] + 4] = 0   # an all-zero row (norm 0 when alone)
    vid = rng.integers(0, len(counts), 400)
    s = rng.uniform(0, 25, 400).round(2)
    e = s + rng.uniform(0, 6, 400).round(2)
    s[:6], e[:6] = [0, 4, 4, 100, 29.9, 2.7], [0, 4, 4.01, 200, 29.9, 2.7]
    for rate in (1.0, 1.5):
        got = qs.pool_rows(rows, first[vid], counts[vid], s, e, rate)
        for i in range(len(vid)):
            want = ref_pool(rows[first[vid[i]]:first[vid[i]] + counts[vid[i]]], rate, s[i], e[i])
            np.testing.assert_allclose(got[i], want, rtol=0, atol=1e-7)


def test_pool_rows_mixed_signs_in_one_window():
    rows = np.array([[-1, 2, -3], [-2, 1, -0.5], [-0.0, -5, 0]], np.float16)
    got = qs.pool_rows(rows, [0], [3], [0.0], [2.0], 1.0)
    m = np.array([0, 2, 0], np.float32)
    np.testing.assert_allclose(got[0], m / np.linalg.norm(m))


def test_f16_to_f32_by_bits_is_numpys_cast():
    """Every float16 bit pattern: rows of finite non-negative halves go through the bit
    conversion, the others (negative, inf, NaN) through numpy's cast; same bits either way."""
    h = np.arange(65536, dtype=np.uint16)
    rows = [h[:0x7C00].reshape(-1, 256), h[0x7C00:0x8000].reshape(-1, 256),
            h[0x8000:].reshape(-1, 256), np.sort(h.reshape(256, 256), axis=0)]
    for r in rows:
        got = qs._to_float32(r.view(np.float16), qs._Scratch())
        want = r.view(np.float16).astype(np.float32)
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


def test_pool_rows_expand_and_strided_out():
    rng = np.random.default_rng(4)
    rows = rng.random((50, 16)).astype(np.float16)
    s = rng.uniform(0, 40, 30)
    e = s + rng.uniform(0, 8, 30)
    full = qs.pool_rows(rows, [0] * 30, [50] * 30, s, e, 1.0)
    ex = [3, 3, 0, 29, 7]
    np.testing.assert_array_equal(qs.pool_rows(rows, [0] * 30, [50] * 30, s, e, 1.0,
                                               expand=ex), full[ex])
    out = np.zeros((30, 40), np.float16)
    qs.pool_rows(rows, [0] * 30, [50] * 30, s, e, 1.0, out=out[:, 8:24])
    np.testing.assert_array_equal(out[:, 8:24], full.astype(np.float16))
    assert not out[:, :8].any() and not out[:, 24:].any()


@pytest.mark.parametrize("min_time,min_words", [(5.0, 0), (10.0, 0), (0.0, 6), (3.0, 4), (0.0, 0)])
def test_merge_equals_howto100m_loop(min_time, min_words):
    rng = np.random.default_rng(int(min_time * 10 + min_words))
    # three videos of 1, 2 and 40 captions, HowTo100M-like overlapping times
    sizes = [1, 2, 40]
    start, end, toks = [], [], []
    for n in sizes:
        t = np.cumsum(rng.uniform(0.5, 4, n))
        start += list(t)
        end += list(t + rng.uniform(0.5, 6, n))
        toks += [list(rng.integers(0, 99, rng.integers(0, 6))) for _ in range(n)]
    start, end = np.array(start), np.array(end)
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in toks])]).astype(np.int64)
    flat = np.array([x for t in toks for x in t], np.int32)
    ntok = np.diff(offsets)
    vfirst = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    vid = rng.integers(0, 3, 300)
    seed = vfirst[vid] + rng.integers(0, np.array(sizes)[vid])
    lo, hi = vfirst[vid], vfirst[vid] + np.array(sizes)[vid] - 1
    s, e, order = qs.merge_windows(seed, lo, hi, start, end, ntok, min_time, min_words)
    tok, n = qs.gather_tokens(seed, order, flat, offsets, 7)
    for i in range(len(seed)):
        a, b = lo[i], hi[i] + 1
        rs, re_, rt = ref_merge(start[a:b], end[a:b], toks[a:b], seed[i] - a, min_time,
                                min_words, 7)
        assert (s[i] - a, e[i] - a) == (rs, re_), i
        assert tok[i].tolist() == rt.tolist(), i
        assert n[i] == (rt >= 0).sum()


def test_negative_weights_half_from_same_video():
    """HowTo100M's mask: the same-video blocks carry as much weight as all other videos."""
    B, P = 4, 3
    w = qs.negative_weights(B, P, 0.5)
    same = np.kron(np.eye(B), np.ones((P, P))).astype(bool)
    assert w.shape == (B * P, B * P)
    np.testing.assert_allclose(w[same].sum(), w[~same].sum(), rtol=1e-6)
    assert np.allclose(w[same], w[0, 0]) and np.allclose(w[~same], w[0, P])


# ---- the C reader and the Python reader agree on every value ----------------------------

def test_videos_equal_c(made):
    path, d = made
    st = qs.Store(path)
    vids = jsonl(d / "videos.jsonl")
    assert len(vids) == len(st.videos)
    for i, v in enumerate(vids):
        r = st.videos.row(i)
        for k, want in v.items():
            got = r[k]
            if want is None:
                assert got is None or got == -1 or (isinstance(got, float) and np.isnan(got)), (k, got)
            else:
                assert got == want, (i, k, got, want)
    assert sorted(st.videos["status"].tolist()) == sorted(v["status"] for v in vids)


def test_clips_texts_tokens_equal_c(made):
    path, d = made
    st = qs.Store(path)
    clips = jsonl(d / "clips.jsonl")
    assert len(clips) == len(st.clips) > 0
    texts = {k: st.texts(k) for k in ("raw", "clean", "filtered")}
    for i, c in enumerate(clips):
        assert st.clips["id"][i] == c["id"]
        assert st.clips["video_id"][i] == c["video_id"]
        assert st.clips["index"][i] == c["index"]
        assert st.clips["start"][i] == c["start"] and st.clips["end"][i] == c["end"]
        for k in texts:
            assert texts[k][i] == c[k]
        t = st.clip_tokens(i)
        # the C reader gives no ids (NULL) for a clip whose list is empty; Python keeps
        # FORMAT.md's distinction (exact against the plain-loop decoder below)
        assert (None if t is None or len(t) == 0 else t.tolist()) == (c["tokens"] or None)
    assert st.vocab() == open(d / "vocab.txt").read().splitlines()
    # the packs as a plain-loop decoder reads them (FORMAT.md §2): the same clips, and a
    # clean text equal to its raw (a filtered equal to its clean) stored once, sharing
    # the (offset, length) entry; the synthetic store has every combination
    con = sqlite3.connect(f"file:{path}/meta.db?mode=ro", uri=True)
    packs = con.execute("SELECT video_id, first_id, n, times, texts, tokens FROM clip_pack"
                        " ORDER BY video_id").fetchall()
    assert con.execute("SELECT sum(n) FROM clip_pack").fetchone()[0] == len(clips)
    con.close()
    flat = [(v, f + i, i, c) for v, f, n, *blobs in packs
            for i, c in enumerate(unpack_blobs(n, *blobs))]
    assert [(v, i, x) for v, i, x, _ in flat] == \
        [(c["video_id"], c["id"], c["index"]) for c in clips]
    shared = {(False, False): 0, (True, False): 0, (False, True): 0, (True, True): 0}
    for i, ((_, _, _, (s, e, txt, ent, tok)), c) in enumerate(zip(flat, clips)):
        assert (s, e, txt, tok or None) == (c["start"], c["end"], [c["raw"], c["clean"],
                                                                    c["filtered"]],
                                            c["tokens"] or None)
        t = st.clip_tokens(i)
        assert (None if t is None else t.tolist()) == tok
        for k in (1, 2):
            if txt[k] is not None and txt[k] == txt[k - 1]:
                assert ent[k] == ent[k - 1], (c, ent)
        shared[(ent[1] == ent[0] and txt[1] is not None,
                ent[2] == ent[1] and txt[2] is not None)] += 1
    assert all(shared.values()), shared


def test_feature_rows_and_mappings_equal_c(made):
    path, d = made
    st = qs.Store(path)
    sets = jsonl(d / "fsets.jsonl")
    assert [s["name"] for s in sets] == list(st.sets)
    for s in sets:
        fs = st.sets[s["name"]]
        assert (fs.id, fs.dim, fs.rate, fs.n_rows, fs.model, fs.weights_sha256) == \
            (s["id"], s["dim"], s["rate"], s["n_rows"], s["model"], s["weights_sha256"])
        assert fs.dtype.itemsize == {1: 2, 2: 4}[s["dtype"]]
        assert {"per_step": 1, "per_clip": 2, "per_item": 3}[fs.kind] == s["kind"]
        assert fs.rows.tobytes() == (d / (s["name"] + ".rows")).read_bytes()
        m = jsonl(d / (s["name"] + ".map.jsonl"))
        if fs.kind == "per_step":
            pos = st.video_pos([x["video_id"] for x in m])
            assert fs.video_first[pos].tolist() == [x["first"] for x in m]
            assert fs.video_n[pos].tolist() == [x["n"] for x in m]
            assert (fs.video_first >= 0).sum() == len(m)
        elif fs.kind == "per_clip":
            rows, crow = st.clip_features(s["name"])
            assert crow[st.clip_pos([x["clip_id"] for x in m])].tolist() == [x["row"] for x in m]


def test_pooling_equals_c(made):
    path, d = made
    st = qs.Store(path)
    w = np.fromfile(d / "windows.bin", dtype=[("v", "<i8"), ("s", "<f8"), ("e", "<f8")])
    assert len(w) > 20
    vpos = st.video_pos(w["v"])
    for name in st.per_step_sets():
        fs = st.sets[name]
        c = np.fromfile(d / (name + ".pool"), np.float32).reshape(len(w), fs.dim)
        has = fs.video_n[vpos] > 0
        got = st.pool_windows(vpos, w["s"], w["e"], sets=[name])
        np.testing.assert_allclose(got[has], c[has], rtol=0, atol=2e-7)
        assert np.all(got[~has] == 0) and np.all(np.isnan(c[~has]))
    # concatenated 2D‖3D = the two blocks
    both = st.pool_windows(vpos, w["s"], w["e"])
    assert both.shape[1] == sum(st.sets[n].dim for n in st.per_step_sets())


# ---- zero copy, snapshot, read-only --------------------------------------------------------

def test_memmap_zero_copy(small):
    st = qs.Store(small)
    mm = st.features(SETS[0])
    assert isinstance(mm, np.memmap) and mm.mode == "r" and not mm.flags.writeable
    assert mm.offset == 4096 and mm.filename == os.path.realpath(st.sets[SETS[0]].path)
    vid = st.videos["id"][st.sets[SETS[0]].video_n > 0][2]
    v = st.video_rows(SETS[0], vid)
    assert np.shares_memory(v, mm)
    base = v
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert base is mm or np.shares_memory(base, mm)
    fs = st.sets[SETS[0]]
    p = st.video_pos(vid)
    assert v.__array_interface__["data"][0] == \
        mm.__array_interface__["data"][0] + fs.video_first[p] * fs.row_bytes
    t = st.clip_tokens(0)
    assert t.base is not None and np.shares_memory(t, st.tokens)


def store_state(path):
    out = {}
    for p in sorted(pathlib.Path(path).rglob("*")):
        if p.is_file():
            stt = p.stat()
            out[str(p.relative_to(path))] = (stt.st_size, stt.st_mtime_ns,
                                             hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def test_reader_never_writes(small, tmp_path):
    path = tmp_path / "copy"
    shutil.copytree(small, path)
    before = store_state(path)
    st = qs.Store(path)
    ds = qs.ClipDataset(path, n_pair=8, seed=0)
    ds[[0, 1, 2]]
    st.texts("raw"), st.vocab(), st.pool(st.videos["id"][0], [0], [5])
    after = store_state(path)
    # meta.db-shm is SQLite's shared-memory WAL index: every WAL reader records its read
    # mark there (its bytes are not data); everything else must be untouched
    for k, v in before.items():
        assert k == "meta.db-shm" or after[k] == v, k
    new = set(after) - set(before)
    # only SQLite's own WAL files, which a read-only connection may create, empty
    assert new <= {"meta.db-wal", "meta.db-shm"}
    if "meta.db-wal" in new:
        assert after["meta.db-wal"][0] == 0
    # immutable mode creates nothing at all
    path2 = tmp_path / "copy2"
    shutil.copytree(small, path2)
    before = store_state(path2)
    qs.Store(path2, immutable=True).features(SETS[1])[:5].sum()
    assert store_state(path2) == before


def test_uncommitted_tail_is_invisible(small, tmp_path):
    path = tmp_path / "tail"
    shutil.copytree(small, path)
    st0 = qs.Store(path)
    fs = st0.sets[SETS[0]]
    with open(fs.path, "ab") as f:
        f.write(b"\x7f" * fs.row_bytes * 3 + b"\x01\x02")    # rows a crash left uncommitted
    st = qs.Store(path)
    assert st.features(SETS[0]).shape == (fs.n_rows, fs.dim)
    assert st.features(SETS[0]).tobytes() == st0.features(SETS[0]).tobytes()


def corrupt(path, how):
    if how == "magic":
        with open(path / "features" / (SETS[1] + ".qnf"), "r+b") as f:
            f.write(b"NOTQUERN")
        return "bad magic"
    if how == "truncated":
        p = path / "features" / (SETS[0] + ".qnf")
        os.truncate(p, p.stat().st_size - 100)
        return "shorter than its"
    if how == "dim":
        with open(path / "features" / (SETS[0] + ".qnf"), "r+b") as f:
            f.seek(20)
            f.write((999).to_bytes(4, "little"))
        return "header dim is 999"
    con = sqlite3.connect(path / "meta.db")
    if how == "outside":
        con.execute("UPDATE feature_set SET file='../../etc/passwd' WHERE name=?", (SETS[0],))
        msg = "is not features/" + SETS[0] + ".qnf"
    elif how == "newer":
        con.execute("PRAGMA user_version=99")
        msg = "schema version 99 is newer"
    else:
        con.execute("PRAGMA application_id=7")
        msg = "not a quern store"
    con.commit()
    con.close()
    return msg


@pytest.mark.parametrize("how", ["magic", "truncated", "dim", "newer", "foreign", "outside"])
def test_bad_stores_refused(small, tmp_path, how):
    path = tmp_path / how
    shutil.copytree(small, path)
    msg = corrupt(path, how)
    with pytest.raises(qs.StoreError) as ei:
        st = qs.Store(path)
        st.features(SETS[0]), st.features(SETS[1])
    assert msg in str(ei.value) and str(path) in str(ei.value)


def test_not_a_store(tmp_path):
    with pytest.raises(qs.StoreError, match="no such file"):
        qs.Store(tmp_path)
    (tmp_path / "meta.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(qs.StoreError, match="meta.db"):
        qs.Store(tmp_path)


# ---- the Dataset ------------------------------------------------------------------------------

@pytest.mark.parametrize("lazy", [False, True])
def test_dataset_batch_shapes_ids_merging(small, lazy):
    st = qs.Store(small)
    ds = qs.ClipDataset(small, n_pair=16, min_time=5.0, max_words=6, seed=3, lazy_clips=lazy)
    ok = (st.videos["status"] == 1) & (st.clip_count > 0)
    assert len(ds) == ok.sum() and len(ds) < len(st.videos)      # rejected videos left out
    idx = [0, 3, len(ds) - 1]
    b = ds[idx]
    D = sum(st.sets[n].dim for n in SETS)
    assert b["video"].shape == (3, 16, D) and b["video"].dtype == np.float32
    assert b["tokens"].shape == (3, 16, 6) and b["n_tokens"].shape == (3, 16)
    vpos = np.flatnonzero(ok)[idx]
    assert b["video_id"] == [st.videos["ext_id"][p] for p in vpos]
    start, end = st.clips["start"], st.clips["end"]
    toks = [list(st.clip_tokens(i)) if st.clip_tokens(i) is not None else []
            for i in range(len(st.clips))]
    for j, p in enumerate(vpos):
        a, n = st.clip_first[p], st.clip_count[p]
        for k in range(16):
            rs, re_, rt = ref_merge(start[a:a + n], end[a:a + n], toks[a:a + n],
                                    b["clip"][j, k], 5.0, 0, 6)
            assert (b["start"][j, k], b["end"][j, k]) == (start[a + rs], end[a + re_])
            assert b["tokens"][j, k].tolist() == rt.tolist()
            dur = b["end"][j, k] - b["start"][j, k]
            assert dur >= 5.0 or (rs == 0 and re_ == n - 1)
        want = st.pool(st.videos["id"][p], b["start"][j], b["end"][j])
        np.testing.assert_array_equal(b["video"][j], want)
        for half, name in ((slice(0, st.sets[SETS[0]].dim), SETS[0]),
                           (slice(st.sets[SETS[0]].dim, D), SETS[1])):
            rows = np.asarray(st.video_rows(name, st.videos["id"][p]))
            for k in range(0, 16, 5):
                np.testing.assert_allclose(
                    b["video"][j, k, half],
                    ref_pool(rows, st.sets[name].rate, b["start"][j, k], b["end"][j, k]),
                    atol=1e-7)
    one = ds[3]
    assert one["video"].shape == (16, D) and one["video_id"] == b["video_id"][1]


@pytest.mark.parametrize("lazy", [False, True])
def test_dataset_given_seeds_and_pickle(small, lazy):
    ds = qs.ClipDataset(small, n_pair=5, seed=0, lazy_clips=lazy)
    seeds = np.zeros((2, 5), np.int64)
    b = ds.get_batch([0, 1], seeds=seeds)
    assert (b["clip"] == 0).all()
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2._st is None
    b2 = ds2.get_batch([0, 1], seeds=seeds)
    np.testing.assert_array_equal(b["video"], b2["video"])
    # with a seed the draws are reproducible
    x = qs.ClipDataset(small, n_pair=5, seed=7)[[0, 1]]["clip"]
    y = qs.ClipDataset(small, n_pair=5, seed=7)[[0, 1]]["clip"]
    np.testing.assert_array_equal(x, y)
    with pytest.raises(IndexError):
        ds[[len(ds)]]


def test_dataset_recycles_only_unreferenced_buffers(small):
    """A batch the caller still holds (or any view of it) is never overwritten by a later
    batch; a dropped batch's buffer is reused; out= is filled and returned."""
    ds = qs.ClipDataset(small, n_pair=6, seed=3)
    seeds = np.zeros((3, 6), np.int64)
    ref = ds.get_batch([0, 1, 2], seeds=seeds)["video"].copy()
    held = ds.get_batch([0, 1, 2], seeds=seeds)
    view = held["video"][1]
    ptrs = set()
    for _ in range(6):          # more batches than kept buffers, each dropped at once
        b = ds.get_batch([3, 4, 5], seeds=seeds)
        ptrs.add(b["video"].__array_interface__["data"][0])
        del b
    np.testing.assert_array_equal(held["video"], ref)
    np.testing.assert_array_equal(view, ref[1])
    assert held["video"].__array_interface__["data"][0] not in ptrs
    assert len(ptrs) == 1       # every dropped batch went back to the same buffer
    del held
    again = ds.get_batch([0, 1, 2], seeds=seeds)
    np.testing.assert_array_equal(again["video"], ref)
    out = np.empty((3, 6, ref.shape[-1]), np.float32)
    b = ds.get_batch([0, 1, 2], seeds=seeds, out=out)
    assert b["video"].base is out or b["video"] is out
    np.testing.assert_array_equal(out, ref)
    with pytest.raises(ValueError, match="C-contiguous float32 array of shape"):
        ds.get_batch([0, 1, 2], out=np.empty((3, 6, 5), np.float32))
    fresh = qs.ClipDataset(small, n_pair=6, seed=3, recycle=False)
    a = fresh.get_batch([0, 1, 2], seeds=seeds)["video"]
    pa = a.__array_interface__["data"][0]
    del a
    np.testing.assert_array_equal(fresh.get_batch([0, 1, 2], seeds=seeds)["video"], ref)
    assert fresh._spare == [] and pa is not None


def test_video_batch_sampler_groups_videos(small):
    ds = qs.ClipDataset(small, n_pair=4)
    batches = list(qs.VideoBatchSampler(ds, 4, seed=1))
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(ds)))
    assert all(len(set(b)) == len(b) for b in batches)
    assert len(batches) == len(qs.VideoBatchSampler(ds, 4))
    assert len(list(qs.VideoBatchSampler(ds, 4, drop_last=True))) == len(ds) // 4


def test_torch_dataset_when_torch_is_there(small):
    torch = pytest.importorskip("torch")
    ds = qs.ClipDataset(small, n_pair=4, seed=0)
    assert isinstance(ds, torch.utils.data.Dataset)
    dl = torch.utils.data.DataLoader(ds, batch_size=None,
                                     sampler=qs.VideoBatchSampler(ds, 2, seed=0))
    b = next(iter(dl))
    assert b["video"].shape[:2] == (2, 4)


def test_snapshots_while_a_writer_commits(tools_dir, tmp_path):
    """Readers opened while store_synth commits batch after batch see whole batches only:
    every mapping inside the committed rows, clips and rows for the same videos, and rows
    identical to the final store's (committed rows never change)."""
    path = tmp_path / "live"
    proc = subprocess.Popen([str(tools_dir / "store_synth"), "create", str(path), "--videos",
                             "400", "--batch", "3", "--dim2d", "8", "--dim3d", "8", "--vocab",
                             "20", "--min-dur", "3", "--max-dur", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    snaps = []
    try:
        while proc.poll() is None:
            try:
                st = qs.Store(path)
            except qs.StoreError:
                if snaps:
                    raise            # once readable, a store stays readable
                continue             # not created yet
            counts = set()
            for name in SETS:
                fs = st.sets.get(name)
                if fs is None:
                    continue
                has = fs.video_first >= 0
                assert np.all(fs.video_first[has] + fs.video_n[has] <= fs.n_rows)
                assert st.features(name).shape == (fs.n_rows, fs.dim)
                counts.add(int(has.sum()))
            with_clips = int((st.clip_count > 0).sum())
            assert counts <= {with_clips}, (counts, with_clips)   # whole batches only
            assert with_clips % 3 == 0 or with_clips == 400
            snaps.append(st)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0, proc.stderr.read()
    final = qs.Store(path)
    assert len(snaps) >= 2
    for st in snaps[::max(1, len(snaps) // 10)]:
        for name in SETS:
            if name in st.sets:
                a = st.features(name)
                assert a.tobytes() == final.features(name)[:len(a)].tobytes()


def test_empty_store_and_unknown_ids(tools_dir, tmp_path):
    path = synth(tools_dir, tmp_path / "empty", "--videos", 0, "--dim2d", 4, "--dim3d", 4)
    st = qs.Store(path)
    assert len(st.videos) == 0 and len(st.clips) == 0 and st.tokens.size == 0
    assert st.features(SETS[0]).shape == (0, 4)
    assert st.pool_windows(np.zeros(0, np.int64), [], []).shape == (0, 8)
    assert len(qs.ClipDataset(path)) == 0
    with pytest.raises(KeyError, match="video id not in the store"):
        st.video_rows(SETS[0], 1)
    small = qs.Store(synth(tools_dir, tmp_path / "one", "--videos", 1, "--dim2d", 4,
                           "--dim3d", 4))
    with pytest.raises(KeyError):
        small.pool(99, [0], [1])
    with pytest.raises(KeyError, match="no feature set 'nope'"):
        small.features("nope")


def test_lazy_clips_equal_eager(small):
    eager, lazy = qs.Store(small), qs.Store(small, lazy_clips=True)
    assert lazy.clips is None
    np.testing.assert_array_equal(eager.clip_count, lazy.clip_count)
    order = np.r_[np.arange(len(eager.videos))[::-1], [0, 0]]    # any order, repeats
    a, b = eager.video_clips(order), lazy.video_clips(order)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    before = len(pickle.dumps(lazy))
    lazy.features(SETS[0])
    blob = pickle.dumps(lazy)                        # no connection, no mapped rows in it
    assert len(blob) == before
    lazy2 = pickle.loads(blob)
    assert lazy2.features(SETS[0]).tobytes() == lazy.features(SETS[0]).tobytes()
    np.testing.assert_array_equal(lazy2.video_clips([1])["tokens"],
                                  eager.video_clips([1])["tokens"])


def test_lazy_store_refuses_clip_table_calls(small):
    lazy = qs.Store(small, lazy_clips=True)
    for call in (lambda: lazy.texts(), lambda: lazy.clip_tokens(0),
                 lambda: lazy.clip_features("howto100m-clip")):
        with pytest.raises(qs.StoreError, match="without lazy_clips"):
            call()


# ---- schema migration ----------------------------------------------------------------------

# A schema-1 store as quern 0.1 wrote it (store/store_schema.c's schema_v1; tests/check_store.c
# holds the same store for the C side), plus vidC, whose clip ids are not in index order.
V1_SQL = """
PRAGMA application_id=1364546126; PRAGMA user_version=1;
CREATE TABLE store_info(key TEXT PRIMARY KEY, value ANY) STRICT;
CREATE TABLE video( id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, path TEXT, size INTEGER,
 mtime_ns INTEGER, sha256 TEXT, duration REAL, fps REAL, width INTEGER, height INTEGER,
 codec TEXT, status TEXT NOT NULL DEFAULT 'pending'
 CHECK (status IN ('pending','ok','rejected','failed')), reason TEXT,
 views INTEGER, rank INTEGER, task_id INTEGER, category1 TEXT, category2 TEXT,
 title TEXT, n_words INTEGER, meta_json TEXT) STRICT;
CREATE INDEX video_path ON video(path);
CREATE TABLE clip( id INTEGER PRIMARY KEY, video_id INTEGER NOT NULL REFERENCES video(id),
 idx INTEGER NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL,
 raw TEXT, clean TEXT, filtered TEXT, tokens BLOB, UNIQUE (video_id, idx)) STRICT;
CREATE TABLE feature_set( id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
 kind TEXT NOT NULL CHECK (kind IN ('per_step','per_clip','per_item')),
 model TEXT NOT NULL, weights_sha256 TEXT, dim INTEGER NOT NULL,
 dtype TEXT NOT NULL CHECK (dtype IN ('f16','f32')), rate REAL NOT NULL,
 file TEXT NOT NULL, committed_rows INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE video_rows( set_id INTEGER NOT NULL REFERENCES feature_set(id),
 video_id INTEGER NOT NULL REFERENCES video(id), first_row INTEGER NOT NULL,
 n_rows INTEGER NOT NULL, PRIMARY KEY (set_id, video_id)) STRICT, WITHOUT ROWID;
CREATE TABLE clip_rows( set_id INTEGER NOT NULL REFERENCES feature_set(id),
 clip_id INTEGER NOT NULL REFERENCES clip(id), row INTEGER NOT NULL,
 PRIMARY KEY (set_id, clip_id)) STRICT, WITHOUT ROWID;
CREATE TABLE vocab(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE) STRICT;
CREATE TABLE merged_store(uuid TEXT PRIMARY KEY, path TEXT, merged_at INTEGER) STRICT;
INSERT INTO store_info VALUES('uuid','0b7e4c1a-5d2f-4e8a-9c3b-1f6d2a7e8b90'),
 ('created',1764200000),('quern_version','0.1.0');
INSERT INTO video(id,ext_id,status,n_words) VALUES (1,'vidA','ok',7),(2,'vidB','ok',2);
INSERT INTO video(id,ext_id,status) VALUES (3,'vidC','ok');
INSERT INTO clip VALUES
 (1,1,0,0.0,1.5,'<i>um hello</i> there','um hello there','hello there',x'0100000002000000'),
 (2,1,1,1.5,3.0,'same text','same text','same text',NULL),
 (3,1,2,3.0,4.0,NULL,NULL,NULL,x'00000000'),
 (4,2,0,0.5,2.0,'raw only','raw only','',NULL),
 (7,3,0,5.0,6.0,'c0','c0','c0',NULL),
 (5,3,1,6.0,7.5,'c1',NULL,NULL,NULL);
INSERT INTO vocab VALUES(0,'there'),(1,'hello'),(2,'um');
"""


def test_schema_1_store_migrated_by_a_writer_reads_back(tmp_path, bin_dir):
    d = tmp_path / "v1"
    d.mkdir()
    con = sqlite3.connect(d / "meta.db")
    con.executescript(V1_SQL)
    con.close()
    with pytest.raises(qs.StoreError, match="schema version 1 is older than 3"):
        qs.Store(d)
    cp = subprocess.run([str(bin_dir / "quern-store"), "-q", "vacuum", str(d)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    cp = subprocess.run([str(bin_dir / "quern-store"), "verify", str(d)],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    st = qs.Store(d)
    assert st.uuid == "0b7e4c1a-5d2f-4e8a-9c3b-1f6d2a7e8b90"
    # vidA and vidB keep their ids (first..first+n-1 in index order); vidC's (7, 5) are
    # not, so its clips get new consecutive ids after every existing one, in index order
    assert st.clips["id"].tolist() == [1, 2, 3, 4, 8, 9]
    assert st.clips["index"].tolist() == [0, 1, 2, 0, 0, 1]
    assert st.clips["video_id"].tolist() == [1, 1, 1, 2, 3, 3]
    assert st.clips["start"].tolist() == [0.0, 1.5, 3.0, 0.5, 5.0, 6.0]
    assert st.clips["end"].tolist() == [1.5, 3.0, 4.0, 2.0, 6.0, 7.5]
    assert st.texts("raw") == ["<i>um hello</i> there", "same text", None, "raw only",
                               "c0", "c1"]
    assert st.texts("clean") == ["um hello there", "same text", None, "raw only", "c0", None]
    assert st.texts("filtered") == ["hello there", "same text", None, "", "c0", None]
    # vidA's pack has token ids, so its clip that had none (NULL in v1) has an empty list;
    # vidB's and vidC's packs have none (NULL)
    assert st.clip_tokens(0).tolist() == [1, 2]
    assert st.clip_tokens(1).tolist() == []
    assert st.clip_tokens(2).tolist() == [0]
    assert [st.clip_tokens(i) for i in (3, 4, 5)] == [None] * 3
    assert st.vocab() == ["there", "hello", "um"]
    con = sqlite3.connect(f"file:{d}/meta.db?mode=ro", uri=True)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    tables = dict(con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    assert "clip" not in tables and "clip_pack" in tables
    assert [r[2:4] for r in con.execute("PRAGMA foreign_key_list(clip_rows)")] == \
        [("feature_set", "set_id")]                      # clip_id: no foreign key
    packs = con.execute("SELECT video_id, first_id, n, times, texts, tokens FROM clip_pack"
                        " ORDER BY video_id").fetchall()
    con.close()
    assert [p[:3] for p in packs] == [(1, 1, 3), (2, 4, 1), (3, 8, 2)]
    # texts equal to their neighbour share their bytes, whatever version 2 did (dup)
    ent = [[c[3] for c in unpack_blobs(p[2], *p[3:])] for p in packs]
    assert ent[0][1][0] == ent[0][1][1] == ent[0][1][2]       # "same text" once
    assert ent[1][0][0] == ent[1][0][1] != ent[1][0][2]       # raw = clean, filtered ""
    assert ent[2][0][0] == ent[2][0][1] == ent[2][0][2]
    assert packs[0][4].count(b"same text") == 1 and packs[1][4].count(b"raw only") == 1


# ---- schema 3: clip_pack BLOBs built by hand -------------------------------------------------

# The schema-3 tables as FORMAT.md §2 gives them (the readers only need these).
V3_SQL = """
PRAGMA application_id=1364546126; PRAGMA user_version=3;
CREATE TABLE store_info(key TEXT PRIMARY KEY, value ANY) STRICT;
CREATE TABLE video( id INTEGER PRIMARY KEY, ext_id TEXT NOT NULL UNIQUE, path TEXT, size INTEGER,
 mtime_ns INTEGER, sha256 TEXT, duration REAL, fps REAL, width INTEGER, height INTEGER,
 codec TEXT, status TEXT NOT NULL DEFAULT 'pending'
 CHECK (status IN ('pending','ok','rejected','failed')), reason TEXT,
 views INTEGER, rank INTEGER, task_id INTEGER, category1 TEXT, category2 TEXT,
 title TEXT, n_words INTEGER, meta_json TEXT) STRICT;
CREATE INDEX video_path ON video(path);
CREATE TABLE clip_pack( video_id INTEGER PRIMARY KEY REFERENCES video(id),
 first_id INTEGER NOT NULL UNIQUE, n INTEGER NOT NULL CHECK (n > 0),
 times BLOB NOT NULL CHECK (length(times) = 16 * n),
 texts BLOB NOT NULL CHECK (length(texts) >= 24 * n), tokens BLOB) STRICT;
CREATE TABLE feature_set( id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
 kind TEXT NOT NULL CHECK (kind IN ('per_step','per_clip','per_item')),
 model TEXT NOT NULL, weights_sha256 TEXT, dim INTEGER NOT NULL,
 dtype TEXT NOT NULL CHECK (dtype IN ('f16','f32')), rate REAL NOT NULL,
 file TEXT NOT NULL, committed_rows INTEGER NOT NULL DEFAULT 0) STRICT;
CREATE TABLE video_rows( set_id INTEGER NOT NULL REFERENCES feature_set(id),
 video_id INTEGER NOT NULL REFERENCES video(id), first_row INTEGER NOT NULL,
 n_rows INTEGER NOT NULL, PRIMARY KEY (set_id, video_id)) STRICT, WITHOUT ROWID;
CREATE TABLE clip_rows( set_id INTEGER NOT NULL REFERENCES feature_set(id),
 clip_id INTEGER NOT NULL, row INTEGER NOT NULL,
 PRIMARY KEY (set_id, clip_id)) STRICT, WITHOUT ROWID;
CREATE TABLE vocab(id INTEGER PRIMARY KEY, word TEXT NOT NULL UNIQUE) STRICT;
CREATE TABLE merged_store(uuid TEXT PRIMARY KEY, path TEXT, merged_at INTEGER) STRICT;
INSERT INTO store_info VALUES('uuid','6a1d0c2e-8f3b-4a5c-9d7e-0b1c2d3e4f50');
"""
NULL_TEXT = 0xFFFFFFFF


def pack_blobs(clips, share=True):
    """(times, texts, tokens) BLOBs of one video's clips, one plain loop per clip.
    clips: (start, end, raw, clean, filtered, token list or None); with share, a text equal
    to the previous kind's is stored once (same (offset, length) entry); every clip's
    tokens None gives a NULL tokens BLOB (a None among lists: no ids)."""
    n = len(clips)
    times = struct.pack(f"<{2 * n}d", *[c[0] for c in clips], *[c[1] for c in clips])
    body, table = bytearray(), []
    for c in clips:
        prev = None
        for k, t in enumerate(c[2:5]):
            if t is None:
                e = (NULL_TEXT, 0)
            elif share and prev is not None and t == c[1 + k]:
                e = prev
            else:
                e = (len(body), len(t.encode()))
                body += t.encode() + b"\0"
            table.append(e)
            prev = e if t is not None else None
    texts = struct.pack(f"<{6 * n}I", *[x for e in table for x in e]) + bytes(body)
    if all(c[5] is None for c in clips):
        return times, texts, None
    offs, ids = [0], []
    for c in clips:
        ids += c[5] or []
        offs.append(len(ids))
    return times, texts, struct.pack(f"<{n + 1}I{len(ids)}i", *offs, *ids)


def unpack_blobs(n, times, texts, tokens):
    """Plain-loop decoder (FORMAT.md §2): per clip (start, end, [raw, clean, filtered],
    [their (offset, length) entries], token list or None)."""
    t = struct.unpack(f"<{2 * n}d", times)
    ent = struct.unpack_from(f"<{6 * n}I", texts)
    body = texts[24 * n:]
    if tokens is not None:
        offs = struct.unpack_from(f"<{n + 1}I", tokens)
        ids = struct.unpack_from(f"<{offs[-1]}i", tokens, 4 * (n + 1))
        assert len(tokens) == 4 * (n + 1 + offs[-1])
    out = []
    for i in range(n):
        es = [(ent[6 * i + 2 * k], ent[6 * i + 2 * k + 1]) for k in range(3)]
        txt = []
        for o, ln in es:
            if o == NULL_TEXT:
                assert ln == 0
                txt.append(None)
            else:
                assert body[o + ln] == 0
                txt.append(body[o:o + ln].decode())
        tok = None if tokens is None else list(ids[offs[i]:offs[i + 1]])
        out.append((t[i], t[n + i], txt, es, tok))
    return out


def v3_store(d, videos, packs, check=True):
    """A schema-3 store made by SQL: videos (id, ext_id), packs (video_id, first_id, n, times,
    texts, tokens). check=False writes BLOBs the table's CHECKs would refuse (a doctored
    or damaged store)."""
    d.mkdir()
    con = sqlite3.connect(d / "meta.db")
    con.executescript(V3_SQL)
    con.executemany("INSERT INTO video(id, ext_id, status) VALUES (?, ?, 'ok')", videos)
    if not check:
        con.execute("PRAGMA ignore_check_constraints=ON")
    con.executemany("INSERT INTO clip_pack VALUES (?, ?, ?, ?, ?, ?)", packs)
    con.commit()
    con.close()
    return d


HAND_CLIPS = {
    # video 1: shared texts (clean = raw, filtered = clean), NULL texts, an empty token list
    1: (10, [(0.0, 1.5, "<i>um hi</i> there", "um hi there", "hi there", [4, 2]),
             (1.5, 3.25, "same", "same", "same", []),
             (3.0, 4.0, None, None, None, [0]),
             (4.0, 9.5, "raw ünï", "raw ünï", "", [1, 1, 3])]),
    # video 2: NULL tokens (not tokenised), an empty clean text
    2: (100, [(0.5, 2.0, "two", "", "", None)]),
    # video 3: no clips; video 4: ids right after video 1's
    4: (14, [(7.0, 7.0, "x", "x", "x", [5]), (8.0, 9.0, "y", None, None, [])]),
}


@pytest.fixture
def hand(tmp_path):
    packs = [(v, f, len(c), *pack_blobs(c)) for v, (f, c) in HAND_CLIPS.items()]
    return v3_store(tmp_path / "hand", [(1, "vidA"), (2, "vidB"), (3, "vidC"), (4, "vidD")],
                    packs)


def test_blob_builder_matches_format():
    """The test's own builder against FORMAT.md's numpy recipes."""
    times, texts, tokens = pack_blobs(HAND_CLIPS[1][1])
    n = 4
    np.testing.assert_array_equal(np.frombuffer(times, "<f8").reshape(2, n),
                                  [[0, 1.5, 3, 4], [1.5, 3.25, 4, 9.5]])
    t = np.frombuffer(texts, "<u4", 6 * n).reshape(n, 3, 2)
    assert (t[1, 0] == t[1, 1]).all() and (t[1, 1] == t[1, 2]).all()     # "same" once
    assert (t[3, 0] == t[3, 1]).all() and (t[3, 2] != t[3, 1]).any()
    assert (t[2] == [NULL_TEXT, 0]).all()
    assert texts[24 * n + t[0, 1, 0]:24 * n + t[0, 1, 0] + t[0, 1, 1]].decode() == "um hi there"
    assert texts.count(b"same") == 1 and texts.count("raw ünï".encode()) == 1
    assert len(tokens) == 4 * (n + 1 + 6)
    assert [c[4] for c in unpack_blobs(n, times, texts, tokens)] == [[4, 2], [], [0], [1, 1, 3]]


def test_hand_built_packs_read_back(hand):
    st = qs.Store(hand)
    want = [(v, f + i, i, c) for v, (f, cs) in sorted(HAND_CLIPS.items())
            for i, c in enumerate(cs)]
    assert st.clips["id"].tolist() == [w[1] for w in want] == [10, 11, 12, 13, 100, 14, 15]
    assert st.clips["video_id"].tolist() == [w[0] for w in want]
    assert st.clips["index"].tolist() == [w[2] for w in want]
    assert st.clips["video"].tolist() == [0, 0, 0, 0, 1, 3, 3]
    assert st.clips["start"].tolist() == [w[3][0] for w in want]
    assert st.clips["end"].tolist() == [w[3][1] for w in want]
    assert st.clip_count.tolist() == [4, 1, 0, 2] and st.clip_first.tolist() == [0, 4, 5, 5]
    for k, kind in enumerate(("raw", "clean", "filtered")):
        assert st.texts(kind) == [w[3][2 + k] for w in want], kind
    # a clip "has tokens" when its pack's tokens BLOB is not NULL: [] vs None
    got = [None if st.clip_tokens(i) is None else st.clip_tokens(i).tolist()
           for i in range(len(want))]
    assert got == [[4, 2], [], [0], [1, 1, 3], None, [5], []]
    assert st.clip_has_tokens.tolist() == [True] * 4 + [False] + [True] * 2
    assert st.token_offsets.tolist() == [0, 2, 2, 3, 6, 6, 7, 7]
    assert st.tokens.dtype == np.int32 and st.tokens.tolist() == [4, 2, 0, 1, 1, 3, 5]
    assert st.clip_pos([100, 10, 15]).tolist() == [4, 0, 6]
    # lazy reads of the same packs, in any order, with repeats and a video without clips
    lazy = qs.Store(hand, lazy_clips=True)
    assert lazy.clips is None and lazy.clip_count.tolist() == [4, 1, 0, 2]
    order = [3, 2, 0, 1, 0]
    a, b = st.video_clips(order), lazy.video_clips(order)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert b["count"].tolist() == [2, 0, 4, 1, 4] and b["first"].tolist() == [0, 2, 2, 6, 7]
    assert b["n_tokens"].tolist() == [1, 0, 2, 0, 1, 3, 0, 2, 0, 1, 3]
    assert b["tokens"].tolist() == [5, 4, 2, 0, 1, 1, 3, 4, 2, 0, 1, 1, 3]
    assert lazy.video_clips([2])["count"].tolist() == [0]


def test_texts_keep_the_snapshot(hand):
    """Clips a writer adds after the snapshot are not returned; a video whose clips were
    re-made (new ids) gets None for the snapshot's clips; the rest come back in clip order."""
    st = qs.Store(hand)
    con = sqlite3.connect(hand / "meta.db")
    con.execute("INSERT INTO video(id, ext_id) VALUES (5, 'vidE')")
    con.execute("INSERT INTO clip_pack VALUES (5, 200, 1, ?, ?, NULL)",
                pack_blobs([(0.0, 1.0, "new", "new", "new", None)])[:2])
    con.execute("INSERT INTO clip_pack VALUES (3, 300, 1, ?, ?, NULL)",
                pack_blobs([(0.0, 1.0, "late", "late", "late", None)])[:2])
    con.execute("UPDATE clip_pack SET first_id = 400 WHERE video_id = 4")
    con.commit()
    con.close()
    assert st.texts("raw") == ["<i>um hi</i> there", "same", None, "raw ünï", "two",
                               None, None]
    assert len(qs.Store(hand).texts("raw")) == 9


def _tok(*offs):
    return struct.pack(f"<{len(offs)}I", *offs)


BAD_PACKS = {
    # how video 1's (n, times, texts, tokens) is damaged, the message, refused at open?
    "times_short": (lambda n, ti, te, to: (n, ti[:-8], te, to),
                    "times is 56 bytes, not 16 x n = 64", True),
    "times_long": (lambda n, ti, te, to: (n, ti + ti[:16], te, to), "times is 80 bytes", True),
    "n_zero": (lambda n, ti, te, to: (0, b"", te, to), "n is 0", True),
    "tokens_short": (lambda n, ti, te, to: (n, ti, te, to[:12]), "too short for 5 offsets",
                     True),
    "tokens_len": (lambda n, ti, te, to: (n, ti, te, to + b"\0\0\0\0"), "its offsets say", True),
    "tokens_order": (lambda n, ti, te, to: (n, ti, te, _tok(0, 3, 2) + to[12:]),
                     "tokens offsets decrease", True),
    "tokens_first": (lambda n, ti, te, to: (n, ti, te, _tok(1) + to[4:]),
                     "tokens offset 0 is not 0", True),
    "text_offset": (lambda n, ti, te, to: (n, ti, te[:72] + _tok(10 ** 6) + te[76:], to),
                    "clip 3 raw text (offset 1000000", False),
    "text_length": (lambda n, ti, te, to: (n, ti, te[:4] + _tok(10 ** 5) + te[8:], to),
                    "clip 0 raw text (offset 0, length 100000) is outside", False),
    "text_table": (lambda n, ti, te, to: (n, ti, te[:24 * n - 4], to),
                   "shorter than its 96-byte table", False),
    "text_nul": (lambda n, ti, te, to: (n, ti, te[:96 + 18] + b"!" + te[96 + 19:], to),
                 "clip 0 raw text is not NUL-terminated", False),
    "text_inner_nul": (lambda n, ti, te, to: (n, ti, te[:98] + b"\0" + te[99:], to),
                       "clip 0 raw text holds a NUL byte", False),
    "text_utf8": (lambda n, ti, te, to: (n, ti, te.replace("ünï".encode(), b"\xff\xfe\xfd\xfc\xfb"),
                                         to), "raw text is not UTF-8", False),
}


@pytest.mark.parametrize("how", sorted(BAD_PACKS))
def test_malformed_pack_refused(tmp_path, how):
    """A BLOB whose sizes or offsets do not add up raises StoreError naming meta.db and the
    video (at open for times and tokens, at texts() for texts), never garbage."""
    damage, msg, at_open = BAD_PACKS[how]
    f, clips = HAND_CLIPS[1]
    n, ti, te, to = damage(len(clips), *pack_blobs(clips))
    f2, c2 = HAND_CLIPS[2]
    d = v3_store(tmp_path / how, [(1, "vidA"), (2, "vidB")],
                 [(1, f, n, ti, te, to), (2, f2, 1, *pack_blobs(c2))], check=False)
    where = f"{d / 'meta.db'}: clip_pack of video 1 ('vidA'): "
    with pytest.raises(qs.StoreError) as ei:
        qs.Store(d).texts("raw")
    assert where in str(ei.value) and msg in str(ei.value), str(ei.value)
    if at_open:
        with pytest.raises(qs.StoreError) as ei:
            qs.Store(d, lazy_clips=True).video_clips([1, 0])
        assert where in str(ei.value) and msg in str(ei.value), str(ei.value)
    elif how != "text_table":               # only the damaged kind is refused
        st = qs.Store(d)
        assert st.texts("filtered")[:4] == [c[4] for c in clips]
        assert qs.Store(d, lazy_clips=True).video_clips([0])["count"].tolist() == [4]


@pytest.mark.parametrize("first", [0, -5, 2 ** 63 - 3])
def test_first_id_out_of_range_refused(tmp_path, first):
    """Clip ids are first_id + i from 1: a first_id below 1 or one whose ids pass INT64_MAX
    is refused (numpy's int64 would wrap), as the C reader does."""
    f, clips = HAND_CLIPS[1]
    d = v3_store(tmp_path / "first", [(1, "vidA")], [(1, first, 4, *pack_blobs(clips))],
                 check=False)
    with pytest.raises(qs.StoreError, match=rf"clip_pack of video 1 \('vidA'\): first clip "
                                            rf"id {first}"):
        qs.Store(d)


def test_overlapping_id_ranges_refused(tmp_path):
    f, clips = HAND_CLIPS[1]
    d = v3_store(tmp_path / "overlap", [(1, "vidA"), (2, "vidB")],
                 [(1, 10, 4, *pack_blobs(clips)), (2, 13, 1, *pack_blobs(HAND_CLIPS[2][1]))])
    with pytest.raises(qs.StoreError, match=r"clip_pack of video 2 \('vidB'\): clip ids 13.. "
                                            r"overlap those of video 1"):
        qs.Store(d)


def test_older_schema_refused(tmp_path):
    d = v3_store(tmp_path / "v2", [(1, "a")], [])
    con = sqlite3.connect(d / "meta.db")
    con.execute("PRAGMA user_version=2")
    con.close()
    with pytest.raises(qs.StoreError, match=r"schema version 2 is older than 3: open it once "
                                            r"with a writer \(quern-store\) to migrate it"):
        qs.Store(d)


def test_read_only_file_system(small, tmp_path):
    """On a read-only file system the store is read whole: where SQLite cannot make the
    WAL's -shm file, the reader opens it as immutable by itself (no writer can be there).
    The mount is a read-only bind in a user namespace (unshare -rm). (The C reader's test
    also covers a pending WAL.)"""
    ro = tmp_path / "ro"
    ro.mkdir()
    mount = f"mount --bind {small} {ro} && mount -o remount,bind,ro {ro}"
    if not shutil.which("unshare") or subprocess.run(
            ["unshare", "-rm", "sh", "-c", mount], capture_output=True).returncode != 0:
        pytest.skip("no read-only mount here (unshare -rm refused: no user namespaces)")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import quern_store as qs\n"
            "try:\n    st = qs.Store(sys.argv[2]); print(len(st.videos['ext_id']))\n"
            "except qs.StoreError as e:\n    print('StoreError', e)\n")

    def in_ro():
        cp = subprocess.run(["unshare", "-rm", "sh", "-c", mount + ' && "$0" -c "$1" "$2" "$3"',
                             sys.executable, code, str(ROOT / "store" / "python"), str(ro)],
                            capture_output=True, text=True)
        assert cp.returncode == 0, cp.stderr
        return cp.stdout.strip()
    assert in_ro() == str(len(qs.Store(small).videos["ext_id"]))
