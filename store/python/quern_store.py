"""quern_store: read a quern store (store/FORMAT.md) from Python with numpy and sqlite3 only.

    import quern_store as qs
    st = qs.Store("out/store")                  # read-only snapshot of what is committed
    st.videos["ext_id"], st.clips["start"]      # columns as numpy arrays
    st.clip_tokens(i)                           # int32 ids of clip i (a view)
    rows = st.video_rows("resnet152-2d", vid)   # np.memmap view of the rows, no copy
    x = st.pool(vid, starts, ends)              # (n, 4096) float32, HowTo100M rule
    ds = qs.ClipDataset("out/store", n_pair=64, min_time=5.0, max_words=20)

Reading
- The SQLite database is opened with `mode=ro` and every table is read in ONE read
  transaction, so the metadata and the committed row counts form one consistent snapshot:
  rows a writer appends later (or an uncommitted tail left by a crash) are invisible. The
  row counts come from SQLite only, never from the feature files' sizes. The connection is
  closed at the end of the constructor, so a Store may be used after fork().
  (SQLite itself may create empty meta.db-wal / meta.db-shm files beside a WAL database a
  read-only connection opens; nothing else is ever written. `immutable=True` avoids even
  that for stores that no writer touches; on a read-only file system it is chosen by
  itself.)
- Clips: a video's clips are one clip_pack row (times, texts and token ids as BLOBs,
  FORMAT.md §2), decoded for all videos at once with numpy (no per-clip Python); texts are
  read only when texts() asks. A BLOB whose sizes or offsets do not add up raises
  StoreError naming meta.db and the video.
- Store(path, lazy_clips=True) skips the clips (only the count per video is read) and
  video_clips() queries the clip_pack rows of given videos when asked: for corpus-size
  stores.
- Feature files are mapped with numpy.memmap (mode 'r') after their 4096-byte header has
  been checked against the feature_set row; every array handed out is a view of the map.

Pooling (FORMAT.md §5, HowTo100M's youtube_dataloader.py): window [s, e] of a per_step set
of rate r over a video of n rows uses rows [floor(s·r), floor(e·r)+1) clamped so that a
window past the end gets the last row, max over time, divided by its L2 norm (kept as is
when the norm is 0); the per-set vectors are concatenated (2D‖3D → 4096). A video with no
rows in a set gets zeros there (HowTo100M leaves zeros for an empty slice too).

Dataset (HowTo100M's Youtube_DataLoader): item i is video i; n_pair caption indices drawn
uniformly with replacement; each grown by merging neighbours until it lasts ≥ min_time
seconds and has ≥ min_words tokens (the side whose merge gives the shorter span, ties to
the earlier one; with min_time == 0 the earlier one unless the later has more tokens);
tokens in merge order (seed caption first), cut or padded (pad_id) to max_words; features
pooled over the merged window. Differences: token ids instead of word2vec vectors (Store.word_vectors()
gives the table), min_words counts in-vocabulary tokens, and the RNG is a numpy Generator.

Half of the negatives from the same video: a batch holds B whole videos × n_pair clips
(pass a list of indices, or use batch_size=None with a BatchSampler, or VideoBatchSampler),
so flattening it to B·n_pair pairs puts each clip's n_pair − 1 same-video clips next to it;
weight the similarity matrix with negative_weights(B, n_pair, 0.5) (HowTo100M's
MaxMarginRankingLoss mask): intra-video negatives then carry half of the total weight.

    from torch.utils.data import DataLoader
    ds = ClipDataset(path, n_pair=64)
    dl = DataLoader(ds, batch_size=None, sampler=VideoBatchSampler(ds, 32, seed=0),
                    num_workers=0)
    w = torch.from_numpy(negative_weights(32, 64))
    for b in dl:                     # b["video"]: (32, 64, 4096), b["tokens"]: (32, 64, 20)
        v = b["video"].view(-1, b["video"].shape[-1])      # (2048, 4096)
        ...                           # loss = (max_margin(sim) * w).mean()

Open the Dataset's store lazily per worker (it does so itself: pickling drops the Store).
Output buffers: get_batch(..., out=arr) fills your array; otherwise (recycle=True) the
buffer of an earlier batch is reused once nothing references it (ClipDataset._video_buffer),
so a batch that is still held is never overwritten.
"""
import os
import sqlite3
import struct
import sys
import threading
import urllib.parse

import numpy as np

__all__ = ["StoreError", "Store", "FeatureSet", "ClipDataset", "VideoBatchSampler",
           "negative_weights", "pool_rows", "merge_windows", "gather_tokens"]

APPLICATION_ID = 0x5155524E
SCHEMA_VERSION = 3
_TEXT_KINDS = ("raw", "clean", "filtered")     # entry 3i + k of a texts BLOB (FORMAT.md §2)
_NULL_TEXT = 0xFFFFFFFF
HEADER_SIZE = 4096
MAGIC = b"QUERNFT\0"
_DTYPES = {"f16": (1, np.dtype("<f2")), "f32": (2, np.dtype("<f4"))}
_KINDS = {"per_step": 1, "per_clip": 2, "per_item": 3}
_STATUS = {"pending": 0, "ok": 1, "rejected": 2, "failed": 3}


class StoreError(Exception):
    """A store that cannot be read; the message names the file and what is wrong."""


class Table(dict):
    """Columns (numpy arrays) of one table, all of the same length, in id order."""

    def __len__(self):
        for v in self.values():
            return len(v)
        return 0

    def row(self, i):
        return {k: (v[i].item() if isinstance(v[i], np.generic) else v[i])
                for k, v in self.items()}


# ---- SQLite snapshot ------------------------------------------------------------------------

def _connect(path, immutable):
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    if immutable:
        uri += "&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA busy_timeout=30000")
        if not immutable:
            try:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
            except sqlite3.OperationalError:
                # a WAL database on read-only media: its readers need a -shm file SQLite
                # cannot create there; no writer can be there either (as the C reader,
                # store_db.c)
                top = os.path.dirname(os.path.abspath(path))
                if os.access(top, os.W_OK):
                    raise
                con.close()
                if not os.statvfs(top).f_flag & os.ST_RDONLY:
                    # only this user cannot write there: a writer may, which an immutable
                    # connection would not see
                    raise StoreError(f"{os.path.dirname(path)}: cannot read: SQLite must make "
                                     "meta.db-shm in the store's directory, which this user "
                                     "cannot write (its owner can read it, or a copy can be)")
                wal = path + "-wal"
                if os.path.exists(wal) and os.path.getsize(wal) > 0:
                    raise StoreError(f"{os.path.dirname(path)}: read-only, with commits still "
                                     f"in its write-ahead log ({wal}): open the store once "
                                     "where it can be written (quern-store vacuum does)")
                return _connect(path, True)
        return con
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot open: {e}") from None


def _column(rows, i, dtype, null):
    return np.fromiter((null if r[i] is None else r[i] for r in rows), dtype=dtype,
                       count=len(rows))


def _text(rows, i):
    a = np.empty(len(rows), dtype=object)
    a[:] = [r[i] for r in rows]
    return a


# ---- clip_pack BLOBs (FORMAT.md §2) ---------------------------------------------------------
#
# A video's clips are one clip_pack row: times (2n f64), texts (3n (offset, length) u32 pairs,
# then the bytes) and tokens (n + 1 u32 offsets, then the ids; NULL: not tokenised). The
# decoders below work on many packs at once: one join and one np.frombuffer per BLOB column,
# then index arithmetic, no loop over clips (a corpus store holds millions). A BLOB whose
# sizes or offsets do not add up raises StoreError (via `fail(pack, what)`) instead of
# handing out bytes of a neighbour.

def _blob_lens(rows, col):
    return np.fromiter((-1 if r[col] is None else len(r[col]) for r in rows), np.int64,
                       len(rows))


def _first_bad(mask, fail, what):
    """fail(pack, what(pack)) for the first pack where mask holds."""
    bad = np.flatnonzero(mask)
    if bad.size:
        k = int(bad[0])
        fail(k, what(k))


def _decode_packs(rows, fail):
    """Clips of clip_pack rows (video_id, first_id, n, times, tokens), in the rows' order.

    Returns a dict: per pack video_id, first_id, n, clip_first (position of its first clip
    in the per-clip arrays); per clip id, video_id, index, start, end, has_tokens, n_tokens;
    token_offsets (total + 1, into tokens) and tokens (int32)."""
    m = len(rows)
    vid = np.fromiter((r[0] for r in rows), np.int64, m)
    first = np.fromiter((r[1] for r in rows), np.int64, m)
    n = np.fromiter((r[2] for r in rows), np.int64, m)
    _first_bad(n <= 0, fail, lambda k: f"n is {n[k]}, not > 0")
    # ids are first_id + i from 1 (int64 arithmetic must not wrap, as in the C reader)
    _first_bad((first < 1) | (first > np.iinfo(np.int64).max - n), fail,
               lambda k: f"first clip id {first[k]}")
    tl = _blob_lens(rows, 3)
    _first_bad(tl != 16 * n, fail,
               lambda k: f"times is {tl[k]} bytes, not 16 x n = {16 * n[k]}")
    total = int(n.sum())
    cfirst = np.cumsum(n) - n                   # clip position of each pack's first clip
    pack = np.repeat(np.arange(m), n)           # pack of each clip
    local = np.arange(total, dtype=np.int64) - cfirst[pack]
    times = np.frombuffer(b"".join(r[3] for r in rows), "<f8")
    tbase = 2 * cfirst[pack] + local            # a pack's times: n starts, then n ends
    out = {"video_id": vid, "first_id": first, "n": n, "clip_first": cfirst,
           "id": first[pack] + local, "clip_video_id": vid[pack], "index": local,
           "start": times[tbase], "end": times[tbase + n[pack]]}

    # tokens: (n + 1) u32 offsets o_0 = 0 <= ... <= o_n, then o_n int32 ids
    kl = _blob_lens(rows, 4)
    has = kl >= 0
    h = np.flatnonzero(has)
    hn = n[h]
    _first_bad(has & ((kl % 4 != 0) | (kl < 4 * (n + 1))), fail,
               lambda k: f"tokens is {kl[k]} bytes, too short for {n[k] + 1} offsets")
    words = kl[h] // 4
    u = np.frombuffer(b"".join(r[4] for r in rows if r[4] is not None), "<u4")
    ubase = np.cumsum(words) - words            # where each tokenised pack starts in u
    o_n = u[ubase + hn].astype(np.int64)
    bad = np.zeros(m, bool)
    bad[h] = words != hn + 1 + o_n
    _first_bad(bad, fail, lambda k: f"tokens is {kl[k]} bytes, its offsets say "
               f"{4 * (n[k] + 1 + int(u[ubase[np.searchsorted(h, k)] + n[k]]))}")
    offs = u[_ranges(ubase, hn + 1)].astype(np.int64)
    ostart = np.cumsum(hn + 1) - (hn + 1)
    bad[h] = offs[ostart] != 0
    _first_bad(bad, fail, lambda k: "tokens offset 0 is not 0")
    lens_h = np.delete(np.diff(offs), ostart[1:] - 1)     # within each pack
    if len(h):
        bad[h] = np.minimum.reduceat(lens_h, np.cumsum(hn) - hn) < 0    # n > 0: no empty
    _first_bad(bad, fail, lambda k: "tokens offsets decrease")
    lens = np.zeros(total, np.int64)
    lens[_ranges(cfirst[h], hn)] = lens_h
    token_offsets = np.zeros(total + 1, np.int64)
    np.cumsum(lens, out=token_offsets[1:])
    out["has_tokens"] = has[pack]
    out["n_tokens"] = lens
    out["token_offsets"] = token_offsets
    tokens = u[_ranges(ubase + hn + 1, o_n)].view("<i4")
    tokens.flags.writeable = False              # handed out as views (clip_tokens)
    out["tokens"] = tokens
    return out


def _decode_texts(blob, n, kind, fail):
    """Text `kind` (0 raw, 1 clean, 2 filtered) of each clip of one texts BLOB: a list of
    str, None where NULL."""
    if blob is None or len(blob) < 24 * n:
        fail(f"texts is {-1 if blob is None else len(blob)} bytes, shorter than its "
             f"{24 * n}-byte table")
    t = np.frombuffer(blob, "<u4", 6 * n).reshape(n, 3, 2)[:, kind].astype(np.int64)
    off, ln = t[:, 0], t[:, 1]
    null = off == _NULL_TEXT
    base, body = 24 * n, len(blob) - 24 * n
    bad = np.flatnonzero(np.where(null, ln != 0, off + ln >= body))
    if bad.size:
        i = int(bad[0])
        fail(f"clip {i} {_TEXT_KINDS[kind]} text (offset {off[i]}, length {ln[i]}) "
             f"is outside the {body} text bytes")
    end = base + off[~null] + ln[~null]
    bad = np.flatnonzero(np.frombuffer(blob, np.uint8)[end] != 0)
    if bad.size:
        i = int(np.flatnonzero(~null)[bad[0]])
        fail(f"clip {i} {_TEXT_KINDS[kind]} text is not NUL-terminated")
    mv = memoryview(blob)
    try:
        out = [None if z else str(mv[base + a:base + a + b], "utf-8")
               for z, a, b in zip(null.tolist(), off.tolist(), ln.tolist())]
    except UnicodeDecodeError as e:
        fail(f"a {_TEXT_KINDS[kind]} text is not UTF-8 ({e.reason})")
    for i, t in enumerate(out):   # the C reader stops at a NUL: the two would disagree
        if t is not None and "\0" in t:
            fail(f"clip {i} {_TEXT_KINDS[kind]} text holds a NUL byte")
    return out


class FeatureSet:
    """One feature set: its feature_set row plus, lazily, the memmap of its committed rows."""

    def __init__(self, store, row):
        (self.id, self.name, kind, self.model, self.weights_sha256, self.dim, dtype,
         self.rate, self.file, self.n_rows) = row
        self.kind = kind
        self.dtype = _DTYPES[dtype][1]
        self._dtype_code = _DTYPES[dtype][0]
        # Only features/NAME.qnf, as `quern-store verify` demands: a doctored row must not
        # make the reader map a file outside the store.
        if self.file != f"features/{self.name}.qnf":
            raise StoreError(f"{os.path.join(store.path, 'meta.db')}: feature set "
                             f"'{self.name}': file '{self.file}' is not features/{self.name}.qnf")
        self.path = os.path.join(store.path, self.file)
        self._store = store
        self._rows = None
        self._pid = None
        self.video_first = None   # per_step: per video position, first row (-1: none)
        self.video_n = None       # per_step: per video position, row count
        self.clip_row = None      # per_clip: per clip position, row (-1: none)

    @property
    def row_bytes(self):
        return self.dim * self.dtype.itemsize

    def __getstate__(self):     # never pickle the mapped rows: the unpickler maps the file
        d = dict(self.__dict__)
        d["_rows"] = d["_pid"] = None
        return d

    def _check_header(self):
        try:
            with open(self.path, "rb") as f:
                h = f.read(HEADER_SIZE)
                size = os.fstat(f.fileno()).st_size
        except OSError as e:
            raise StoreError(f"{self.path}: {e.strerror}") from None
        if len(h) < HEADER_SIZE or h[:8] != MAGIC:
            raise StoreError(f"{self.path}: not a quern feature file (bad magic)")
        ver, hsize, dt, dim, rb, kind, set_id, _rate = struct.unpack_from("<IIIIIIqd", h, 8)
        uuid = h[56:96].split(b"\0", 1)[0].decode("ascii", "replace")
        want = (1, HEADER_SIZE, self._dtype_code, self.dim, self.row_bytes,
                _KINDS[self.kind], self.id)
        names = ("version", "header size", "dtype", "dim", "row_bytes", "kind", "set id")
        for n, got, exp in zip(names, (ver, hsize, dt, dim, rb, kind, set_id), want):
            if got != exp:
                raise StoreError(f"{self.path}: header {n} is {got}, feature_set says {exp}")
        if uuid != self._store.uuid:
            raise StoreError(f"{self.path}: store uuid {uuid} is not this store's "
                             f"({self._store.uuid})")
        need = HEADER_SIZE + self.n_rows * self.row_bytes
        if size < need:
            raise StoreError(f"{self.path}: {size} bytes, shorter than its {self.n_rows} "
                             f"committed rows ({need} bytes)")

    @property
    def rows(self):
        """(n_rows, dim) read-only np.memmap of the committed rows (mapped once per process)."""
        if self._rows is None or self._pid != os.getpid():
            self._check_header()
            if self.n_rows == 0:
                self._rows = np.empty((0, self.dim), self.dtype)
            else:
                self._rows = np.memmap(self.path, dtype=self.dtype, mode="r",
                                       offset=HEADER_SIZE, shape=(self.n_rows, self.dim))
            self._pid = os.getpid()
        return self._rows

    def __repr__(self):
        return (f"FeatureSet({self.name!r}, {self.kind}, dim={self.dim}, "
                f"dtype={self.dtype.name}, rate={self.rate}, rows={self.n_rows})")


class Store:
    """A read-only snapshot of a quern store directory."""

    def __init__(self, path, immutable=False, lazy_clips=False):
        self.path = os.fspath(path)
        self.immutable = immutable
        self.lazy_clips = lazy_clips
        self._con, self._con_pid = None, None
        db = os.path.join(self.path, "meta.db")
        if not os.path.isfile(db):
            raise StoreError(f"{db}: no such file (not a quern store)")
        con = _connect(db, immutable)
        try:
            con.execute("BEGIN")   # one read transaction: one consistent snapshot
            self._check_schema(db, con)
            self._load(con)
            con.execute("COMMIT")
        except sqlite3.Error as e:
            raise StoreError(f"{db}: {e}") from None
        finally:
            con.close()

    @staticmethod
    def _check_schema(db, con):
        app = con.execute("PRAGMA application_id").fetchone()[0]
        if app != APPLICATION_ID:
            raise StoreError(f"{db}: not a quern store (application_id {app:#x})")
        ver = con.execute("PRAGMA user_version").fetchone()[0]
        if ver > SCHEMA_VERSION:
            raise StoreError(f"{db}: schema version {ver} is newer than this reader's "
                             f"{SCHEMA_VERSION}: upgrade quern")
        if ver < SCHEMA_VERSION:
            raise StoreError(f"{db}: schema version {ver} is older than {SCHEMA_VERSION}: "
                             f"open it once with a writer (quern-store) to migrate it")

    def _load(self, con):
        info = dict(con.execute("SELECT key, value FROM store_info"))
        self.uuid = info.get("uuid")
        self.info = info
        self._load_videos(con)
        if self.lazy_clips:
            self._count_clips(con)
        else:
            self._load_clips(con)
        self.sets = {}
        for r in con.execute("SELECT id, name, kind, model, weights_sha256, dim, dtype, rate,"
                             " file, committed_rows FROM feature_set ORDER BY id"):
            self.sets[r[1]] = FeatureSet(self, r)
        for fs in self.sets.values():
            self._load_mapping(con, fs)
        self.n_vocab = con.execute("SELECT count(*) FROM vocab").fetchone()[0]

    def _load_videos(self, con):
        rows = con.execute(
            "SELECT id, ext_id, path, size, mtime_ns, sha256, duration, fps, width, height,"
            " codec, status, reason, views, rank, task_id, category1, category2, title,"
            " n_words, meta_json FROM video ORDER BY id").fetchall()
        v = Table()
        v["id"] = _column(rows, 0, np.int64, 0)
        for i, name in ((1, "ext_id"), (2, "path"), (5, "sha256"), (10, "codec"),
                        (12, "reason"), (16, "category1"), (17, "category2"),
                        (18, "title"), (20, "meta_json")):
            v[name] = _text(rows, i)
        for i, name in ((3, "size"), (4, "mtime_ns"), (8, "width"), (9, "height"),
                        (13, "views"), (14, "rank"), (15, "task_id"), (19, "n_words")):
            v[name] = _column(rows, i, np.int64, -1)          # -1: unknown (NULL)
        for i, name in ((6, "duration"), (7, "fps")):
            v[name] = _column(rows, i, np.float64, np.nan)    # NaN: unknown (NULL)
        v["status"] = np.fromiter((_STATUS[r[11]] for r in rows), np.int8, len(rows))
        self.videos = v
        self._ext_pos = {e: i for i, e in enumerate(v["ext_id"])}

    def _pack_fail(self, video_id):
        """A fail(what) that raises StoreError naming meta.db and the pack's video."""
        def fail(what):
            p = np.searchsorted(self.videos["id"], video_id)
            ext = (f" ('{self.videos['ext_id'][p]}')" if p < len(self.videos) and
                   self.videos["id"][p] == video_id else "")
            raise StoreError(f"{os.path.join(self.path, 'meta.db')}: clip_pack of video "
                             f"{video_id}{ext}: {what}")
        return fail

    def _decode(self, rows):
        return _decode_packs(rows, lambda k, what: self._pack_fail(int(rows[k][0]))(what))

    def _load_clips(self, con):
        rows = con.execute("SELECT video_id, first_id, n, times, tokens FROM clip_pack"
                           " ORDER BY video_id").fetchall()
        d = self._decode(rows)
        # clip ids must be unique (clip_pos, clip_rows): the packs' ranges are disjoint
        order = np.argsort(d["first_id"], kind="stable")
        f, e = d["first_id"][order], (d["first_id"] + d["n"])[order]
        over = np.flatnonzero(f[1:] < e[:-1])
        if over.size:
            k = order[over[0] + 1]
            self._pack_fail(int(d["video_id"][k]))(
                f"clip ids {f[over[0] + 1]}.. overlap those of video "
                f"{d['video_id'][order[over[0]]]}")
        c = Table()
        c["id"] = d["id"]
        c["video_id"] = d["clip_video_id"]
        c["index"] = d["index"].astype(np.int32)
        c["start"] = d["start"]
        c["end"] = d["end"]
        c["video"] = self.video_pos(c["video_id"])              # position in self.videos
        self.clips = c
        self.clip_has_tokens = d["has_tokens"]
        self.token_offsets = d["token_offsets"]
        self.tokens = d["tokens"]
        # per video: its clips are positions [clip_first, clip_first + clip_count)
        nv = len(self.videos)
        self.clip_count = np.zeros(nv, np.int64)
        self.clip_count[self.video_pos(d["video_id"])] = d["n"]
        self.clip_first = np.zeros(nv, np.int64)
        np.cumsum(self.clip_count[:-1], out=self.clip_first[1:])
        self._clip_pos = None

    def _count_clips(self, con):
        """lazy_clips: only the number of clips per video (clips are read per batch)."""
        self.clips = None
        nv = len(self.videos)
        self.clip_count = np.zeros(nv, np.int64)
        m = np.array(con.execute("SELECT video_id, n FROM clip_pack").fetchall(),
                     dtype=np.int64).reshape(-1, 2)
        self.clip_count[self.video_pos(m[:, 0])] = m[:, 1]
        self.clip_first = None

    def _conn(self):
        """A connection of this process for lazy reads (never shared across fork)."""
        if self._con is None or self._con_pid != os.getpid():
            self._con = _connect(os.path.join(self.path, "meta.db"), self.immutable)
            self._con_pid = os.getpid()
        return self._con

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_con"] = d["_con_pid"] = None
        return d

    def video_clips(self, video_positions):
        """Clips of some videos, concatenated in the order given: a dict of start, end
        (float64), n_tokens, token_offsets (into tokens, local), tokens (int32) per clip,
        and first / count per video (positions in these local arrays). Eager stores slice
        their arrays; lazy_clips stores run one SQL query (a newer snapshot than the
        Store's: a video re-processed since then comes back with its new clips)."""
        vpos = np.asarray(video_positions, np.int64)
        if not self.lazy_clips:
            count = self.clip_count[vpos]
            gi = _ranges(self.clip_first[vpos], count)
            off = self.token_offsets
            lens = off[gi + 1] - off[gi]
            tok = self.tokens[_ranges(off[gi], lens)]
            start, end = self.clips["start"][gi], self.clips["end"][gi]
        else:
            ids = self.videos["id"][vpos]
            uniq = np.unique(ids)
            rows = []
            for k in range(0, len(uniq), 900):        # SQLite's bound-parameter limit
                part = uniq[k:k + 900].tolist()
                rows += self._conn().execute(
                    "SELECT video_id, first_id, n, times, tokens FROM clip_pack WHERE video_id"
                    f" IN ({','.join('?' * len(part))}) ORDER BY video_id", part).fetchall()
            d = self._decode(rows)
            have = np.searchsorted(d["video_id"], uniq)   # packs of the uniq ids (or none)
            hit = np.flatnonzero(have < len(rows))
            hit = hit[d["video_id"][have[hit]] == uniq[hit]]
            ucount = np.zeros(len(uniq), np.int64)          # 0: the video has no pack
            ufirst = np.zeros(len(uniq), np.int64)
            ucount[hit] = d["n"][have[hit]]
            ufirst[hit] = d["clip_first"][have[hit]]
            where = np.searchsorted(uniq, ids)
            count = ucount[where]
            gi = _ranges(ufirst[where], count)
            off = d["token_offsets"]
            lens = d["n_tokens"][gi]
            tok = d["tokens"][_ranges(off[gi], lens)]
            start, end = d["start"][gi], d["end"][gi]
        offsets = np.zeros(len(lens) + 1, np.int64)
        np.cumsum(lens, out=offsets[1:])
        first = np.zeros(len(vpos), np.int64)
        np.cumsum(count[:-1], out=first[1:])
        return {"start": start, "end": end, "n_tokens": lens, "token_offsets": offsets,
                "tokens": tok, "first": first, "count": count}

    def _load_mapping(self, con, fs):
        nv = len(self.videos)
        nc = 0 if self.clips is None else len(self.clips)
        if fs.kind == "per_step":
            m = np.array(con.execute("SELECT video_id, first_row, n_rows FROM video_rows"
                                     " WHERE set_id = ?", (fs.id,)).fetchall(),
                         dtype=np.int64).reshape(-1, 3)
            fs.video_first = np.full(nv, -1, np.int64)
            fs.video_n = np.zeros(nv, np.int64)
            pos = self.video_pos(m[:, 0])
            fs.video_first[pos] = m[:, 1]
            fs.video_n[pos] = m[:, 2]
        elif fs.kind == "per_clip" and not self.lazy_clips:
            m = np.array(con.execute("SELECT clip_id, row FROM clip_rows WHERE set_id = ?",
                                     (fs.id,)).fetchall(), dtype=np.int64).reshape(-1, 2)
            fs.clip_row = np.full(nc, -1, np.int64)
            fs.clip_row[self.clip_pos(m[:, 0])] = m[:, 1]

    # ---- ids and positions ----------------------------------------------------------------

    def video_pos(self, video_ids):
        """Positions in self.videos of store video ids (array or int)."""
        ids = self.videos["id"]
        p = np.searchsorted(ids, video_ids)
        if np.size(p) and (len(ids) == 0 or np.any(p >= len(ids)) or
                           np.any(ids[np.minimum(p, len(ids) - 1)] != video_ids)):
            raise KeyError(f"video id not in the store: {video_ids}")
        return p

    def _need_clips(self, what):
        if self.clips is None:
            raise StoreError(f"{self.path}: {what} needs the clips loaded: open the Store "
                             f"without lazy_clips")

    def clip_pos(self, clip_ids):
        """Positions in self.clips of store clip ids."""
        self._need_clips("clip_pos")
        if self._clip_pos is None:
            order = np.argsort(self.clips["id"], kind="stable")
            self._clip_pos = (self.clips["id"][order], order)
        ids, order = self._clip_pos
        p = np.searchsorted(ids, clip_ids)
        if np.size(p) and (len(ids) == 0 or np.any(p >= len(ids)) or
                           np.any(ids[np.minimum(p, len(ids) - 1)] != clip_ids)):
            raise KeyError(f"clip id not in the store: {clip_ids}")
        return order[p]

    def find(self, ext_id):
        """Position in self.videos of an external id, or None."""
        return self._ext_pos.get(ext_id)

    # ---- texts and tokens -------------------------------------------------------------

    def clip_tokens(self, i):
        """Token ids of clip position i (int32 view; None when the clip has none)."""
        self._need_clips("clip_tokens")
        if not self.clip_has_tokens[i]:
            return None
        return self.tokens[self.token_offsets[i]:self.token_offsets[i + 1]]

    def texts(self, kind="filtered"):
        """One text column of the clips ('raw', 'clean' or 'filtered'), in clip order.
        Read on demand (texts are the bulk of meta.db); None where the text is NULL. Texts
        that share their bytes in a pack's texts BLOB (FORMAT.md §2) come back equal.
        Clips a writer added after the snapshot are left out; a clip since removed or
        re-made (its id no longer in its video's pack) gets None."""
        if kind not in _TEXT_KINDS:
            raise ValueError(f"unknown text kind {kind!r}")
        k = _TEXT_KINDS.index(kind)
        self._need_clips("texts")
        con = _connect(os.path.join(self.path, "meta.db"), False)
        try:
            rows = con.execute("SELECT video_id, first_id, n, texts FROM clip_pack"
                               " ORDER BY first_id").fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"{os.path.join(self.path, 'meta.db')}: {e}") from None
        finally:
            con.close()
        m = len(rows)
        first = np.fromiter((r[1] for r in rows), np.int64, m)
        n = np.fromiter((r[2] for r in rows), np.int64, m)
        vid = np.fromiter((r[0] for r in rows), np.int64, m)
        ids, cvid = self.clips["id"], self.clips["video_id"]
        p = np.searchsorted(first, ids, "right") - 1       # the pack whose range holds id
        pc = np.maximum(p, 0)
        ok = (p >= 0) & (ids < first[pc] + n[pc]) & (vid[pc] == cvid) if m else \
            np.zeros(len(ids), bool)
        flat, base = [], np.zeros(m, np.int64)
        for q in np.unique(p[ok]).tolist():        # one decode per pack, not per clip
            r = rows[q]
            base[q] = len(flat)
            flat += _decode_texts(r[3], r[2], k, self._pack_fail(r[0]))
        at = base[pc] + ids - first[pc] if m else np.zeros(len(ids), np.int64)
        return [flat[j] if o else None for j, o in zip(at.tolist(), ok.tolist())]

    def vocab(self):
        """The vocabulary: list of words, index = token id."""
        con = _connect(os.path.join(self.path, "meta.db"), False)
        try:
            words = [w for (w,) in con.execute("SELECT word FROM vocab ORDER BY id"
                                               " LIMIT ?", (self.n_vocab,))]
        finally:
            con.close()
        return words

    def word_vectors(self):
        """(n_vocab, dim) memmap of the word vectors (store_info 'vocab_set'), or None."""
        name = self.info.get("vocab_set")
        return self.sets[name].rows if name in self.sets else None

    # ---- features ---------------------------------------------------------------------

    def features(self, name):
        """(committed_rows, dim) read-only memmap of a feature set."""
        return self._set(name).rows

    def _set(self, name):
        try:
            return self.sets[name]
        except KeyError:
            raise KeyError(f"{self.path}: no feature set {name!r} "
                           f"(have {', '.join(self.sets) or 'none'})") from None

    def per_step_sets(self):
        """Names of the per_step sets in id order (HowTo100M: 2D then 3D)."""
        return [n for n, fs in self.sets.items() if fs.kind == "per_step"]

    def video_rows(self, name, video_id):
        """The rows of one video in a per_step set: a view of the memmap, no copy."""
        fs = self._set(name)
        p = int(self.video_pos(video_id))
        first, n = fs.video_first[p], fs.video_n[p]
        if first < 0:
            return fs.rows[0:0]
        return fs.rows[first:first + n]

    def clip_features(self, name):
        """(memmap, row per clip position (-1: none)) of a per_clip set."""
        self._need_clips("clip_features")
        fs = self._set(name)
        return fs.rows, fs.clip_row

    def pool(self, video_id, starts, ends, sets=None):
        """Pooled windows of one video: (len(starts), sum of dims) float32."""
        p = int(self.video_pos(video_id))
        starts = np.atleast_1d(np.asarray(starts, np.float64))
        ends = np.atleast_1d(np.asarray(ends, np.float64))
        return self.pool_windows(np.full(len(starts), p), starts, ends, sets)

    def pool_windows(self, video_positions, starts, ends, sets=None, out=None,
                     dtype=np.float32):
        """Pooled windows of any videos at once (video_positions index self.videos):
        (n, sum of dims), each set's block pooled with the HowTo100M rule, written into
        `out` when given ((n, sum of dims), any float dtype; C-contiguous float32 is the
        fast path). Windows that cover the same rows in every set are pooled once."""
        names = self.per_step_sets() if sets is None else list(sets)
        fss = [self._set(n) for n in names]
        dims = sum(fs.dim for fs in fss)
        v = np.asarray(video_positions, np.int64)
        if out is None:
            out = np.empty((len(v), dims), dtype)
        if len(v) == 0:
            return out
        ranges = [window_rows(fs.video_first[v], fs.video_n[v], starts, ends, fs.rate)
                  for fs in fss]
        pooled, inv = _pool_distinct([np.asarray(fs.rows) for fs in fss], ranges)
        _expand(pooled, inv, out)
        return out

    def __repr__(self):
        return (f"Store({self.path!r}: {len(self.videos)} videos, "
                f"{int(self.clip_count.sum())} clips, "
                f"sets {list(self.sets)})")


def _ranges(first, count):
    """Concatenated aranges [first_i, first_i + count_i) (int64)."""
    first = np.asarray(first, np.int64)
    count = np.asarray(count, np.int64)
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    start = np.cumsum(count) - count
    return np.repeat(first - start, count) + np.arange(total)


# ---- pooling ------------------------------------------------------------------------------

def window_rows(first, count, starts, ends, rate):
    """Global row ranges [lo, hi) of windows (FORMAT.md §5); rows of videos without rows
    (count 0) come back as lo = hi = -1."""
    first = np.asarray(first, np.int64)
    count = np.asarray(count, np.int64)
    a = np.floor(np.asarray(starts, np.float64) * rate).astype(np.int64)
    b = np.floor(np.asarray(ends, np.float64) * rate).astype(np.int64) + 1
    last = count - 1
    a = np.clip(a, 0, np.maximum(last, 0))
    b = np.maximum(np.minimum(b, count), a + 1)
    empty = count <= 0
    lo = np.where(empty, -1, first + a)
    hi = np.where(empty, -1, first + b)
    return lo, hi


def _max_windows(rows, lo, length, out):
    """out[i] = max over rows[lo_i : lo_i + length_i] (out: (m, dim), rows' dtype; rows a
    plain ndarray, not a memmap: slicing a memmap builds a memmap object per window).

    One np.maximum.reduce per window over its block of rows: the block is contiguous, so
    numpy folds it row by row with SIMD maxima straight into out[i], no gathered copy (a
    Python call per window, ~1 us, is cheaper than gathering the rows first; reduceat is
    no help: along axis 0 it walks column by column). float16 maxima are taken on the bit
    patterns: for non-negative halves uint16 order is float order, and a negative value
    sets the sign bit of the uint16 maximum, so only those windows are redone as floats
    (exact either way; numpy's float16 max converts every element)."""
    half = rows.dtype == np.float16
    src = rows.view(np.uint16) if half else rows
    dst = out.view(np.uint16) if half else out
    mx = np.maximum.reduce
    hi = (lo + length).tolist()
    for i, a in enumerate(lo.tolist()):
        mx(src[a:hi[i]], 0, None, dst[i])
    if half:
        for i in np.flatnonzero(dst.max(axis=1) >= 0x8000):
            out[i] = rows[lo[i]:lo[i] + length[i]].max(axis=0)
    return out


class _Scratch(threading.local):
    """Work arrays reused from one call to the next (per thread): fresh multi-megabyte
    arrays cost page faults and zeroing on every batch. Never handed out."""

    def get(self, name, shape, dtype):
        n = int(np.prod(shape))
        a = self.__dict__.get(name)
        if a is None or a.dtype != dtype or a.size < n:
            a = np.empty(max(n, 1), dtype)
            self.__dict__[name] = a
        return a[:n].reshape(shape)


_SCRATCH = _Scratch()


def _pool_distinct(rows, ranges, scratch=_SCRATCH):
    """Pools the windows given per set as global row ranges (lo, hi) (lo = -1: no rows,
    a zero block), each distinct combination once. Returns (pooled, inv): pooled (u, sum
    of dims) float32 (a scratch array, valid until the next call of this thread), each
    set's block max-pooled and L2-normalised (FORMAT.md §5), and inv (n,) the row of pooled
    for each window."""
    n = len(ranges[0][0])
    if len(ranges) == 1:
        key = ranges[0][0] * (rows[0].shape[0] + 1) + ranges[0][1]
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    else:
        cols = np.stack([c for r in ranges for c in r])
        order = np.lexsort(cols[::-1])
        cs = cols[:, order]
        new = np.ones(n, bool)
        new[1:] = (cs[:, 1:] != cs[:, :-1]).any(axis=0)
        first = order[new]
        inv = np.empty(n, np.int64)
        inv[order] = np.cumsum(new) - 1
    inv = inv.ravel()
    u = len(first)
    dims = sum(r.shape[1] for r in rows)
    pooled = scratch.get("pooled", (u, dims), np.float32)
    off = 0
    for src, (lo, hi) in zip(rows, ranges):
        dim = src.shape[1]
        ulo, uhi = lo[first], hi[first]
        ok = ulo >= 0
        m = scratch.get("max", (u, dim), src.dtype)
        if ok.all():
            _max_windows(src, ulo, uhi - ulo, m)
        else:                      # videos without rows in this set: zeros
            m[~ok] = 0
            if ok.any():
                k = np.flatnonzero(ok)
                m[k] = _max_windows(src, ulo[k], uhi[k] - ulo[k],
                                    np.empty((len(k), dim), src.dtype))
        _normalise(m, pooled[:, off:off + dim], scratch)
        off += dim
    return pooled, inv


def _to_float32(m, scratch):
    """float16 → float32 of an (u, dim) array. Rows of finite non-negative halves (all of
    them for post-ReLU features) by their bits: (h << 13) as float32 times 2^112 is exact
    for zeros, subnormals and normals, and twice as fast as numpy's cast; other rows
    (a sign bit or an all-ones exponent: max bit pattern >= 0x7C00) by numpy's cast."""
    h = m.view(np.uint16)
    x = scratch.get("f32", m.shape, np.uint32)
    np.left_shift(h, 13, out=x, dtype=np.uint32)
    f = x.view(np.float32)
    np.multiply(f, np.float32(2.0 ** 112), out=f)
    odd = np.flatnonzero(h.max(axis=1) >= 0x7C00) if len(h) else []
    if len(odd):
        f[odd] = m[odd].astype(np.float32)
    return f


def _normalise(m, out, scratch=_SCRATCH):
    """out = m / ||m|| per row as float32 (FORMAT.md §5: left as is when the norm is 0);
    float32 sums of squares (numpy's SIMD partial sums) agree with the C library's double
    sums to ~1e-7."""
    if m.dtype == np.float16:
        x = _to_float32(m, scratch)
    else:
        x = m if m.dtype == np.float32 else m.astype(np.float32)
    ss = np.einsum("ij,ij->i", x, x, dtype=np.float32)
    ss[ss <= 0] = 1.0
    np.multiply(x, (1.0 / np.sqrt(ss.astype(np.float64))).astype(np.float32)[:, None],
                out=out)
    return out


def _expand(pooled, inv, out):
    """out[j] = pooled[inv[j]] (out: any float dtype, contiguous or a strided block)."""
    if out.flags.c_contiguous and out.dtype == pooled.dtype:
        np.take(pooled, inv, axis=0, out=out, mode="clip")
    elif out.flags.c_contiguous:
        np.take(pooled.astype(out.dtype), inv, axis=0, out=out, mode="clip")
    else:
        out[...] = pooled[inv]
    return out


def pool_rows(rows, first, count, starts, ends, rate, out=None, expand=None):
    """Pools windows [starts_i, ends_i] (seconds) of videos whose rows are
    rows[first_i : first_i + count_i] (rows: a (N, dim) array or memmap of one per_step
    set). Returns (n, dim) float32, or writes into `out` (any float dtype, may be a strided
    block). Windows that cover the same rows are pooled once. With `expand` (indices into
    the windows), out[j] gets window expand[j] instead."""
    n = len(starts)
    dim = rows.shape[1]
    if out is None:
        out = np.empty((n if expand is None else len(expand), dim), np.float32)
    if n == 0:
        return out
    lo, hi = window_rows(first, count, starts, ends, rate)
    pooled, inv = _pool_distinct([np.asarray(rows)], [(lo, hi)])
    if expand is not None:
        inv = inv[np.asarray(expand, np.int64)]
    return _expand(pooled, inv, out)


# ---- caption merging and tokens (HowTo100M _get_single_text, vectorised) ----------------

def merge_windows(seed, lo, hi, start, end, ntok, min_time=5.0, min_words=0):
    """Grows captions by merging neighbours, all samples at once, one merge per round.

    seed: clip positions; lo/hi: the first/last clip position of each seed's video; start,
    end, ntok: per clip position. Returns (first, last, order): merged span [first, last]
    and `order` (n, rounds) the clip merged at each round (-1: none), for token order."""
    s = np.array(seed, np.int64)
    e = s.copy()
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    words = ntok[s].astype(np.int64)
    active = (words < min_words) | (end[e] - start[s] < min_time)
    order = []
    while active.any():
        a = np.flatnonzero(active)
        sa, ea = s[a], e[a]
        can_prev, can_next = sa > lo[a], ea < hi[a]
        prev = np.maximum(sa - 1, 0)
        nxt = np.minimum(ea + 1, len(start) - 1)
        if min_time > 0:
            d1 = end[nxt] - start[sa]
            d2 = end[ea] - start[prev]
            pick_prev = d2 <= d1
        else:
            pick_prev = ntok[nxt] <= ntok[prev]
        both = can_prev & can_next
        take_prev = (both & pick_prev) | (can_prev & ~can_next)
        take_next = (both & ~pick_prev) | (can_next & ~can_prev)
        merged = np.where(take_prev, prev, np.where(take_next, nxt, -1))
        col = np.full(len(s), -1, np.int64)
        col[a] = merged
        order.append(col)
        s[a] = np.where(take_prev, prev, sa)
        e[a] = np.where(take_next, nxt, ea)
        grew = merged >= 0
        words[a] += np.where(grew, ntok[np.maximum(merged, 0)], 0)
        still = (words[a] < min_words) | (end[e[a]] - start[s[a]] < min_time)
        active[a] = grew & still
    order = np.stack(order, axis=1) if order else np.zeros((len(s), 0), np.int64)
    return s, e, order


def gather_tokens(seed, order, tokens, offsets, max_words, pad_id=-1):
    """Token ids of merged captions in merge order (seed first, then each merged neighbour),
    cut at max_words: (n, max_words) int64 padded with pad_id, and lengths (n,)."""
    n = len(seed)
    seq = np.concatenate([np.asarray(seed, np.int64)[:, None], order], axis=1)  # (n, R+1)
    valid = seq >= 0
    c = np.where(valid, seq, 0)
    lens = np.where(valid, offsets[c + 1] - offsets[c], 0).ravel()
    starts = offsets[c].ravel()
    total = int(lens.sum())
    out = np.full((n, max_words), pad_id, np.int64)
    if total == 0:
        return out, np.zeros(n, np.int64)
    seg_end = np.cumsum(lens)
    seg_first = seg_end - lens
    src = np.repeat(starts - seg_first, lens) + np.arange(total)
    per_sample = lens.reshape(n, -1).sum(axis=1)
    sample_first = np.cumsum(per_sample) - per_sample
    sample = np.repeat(np.arange(n), per_sample)
    pos = np.arange(total) - sample_first[sample]
    keep = pos < max_words
    out[sample[keep], pos[keep]] = tokens[src[keep]]
    return out, np.minimum(per_sample, max_words)


def negative_weights(batch_size, n_pair, hard_negative_rate=0.5):
    """HowTo100M's MaxMarginRankingLoss weights for a (B·n_pair)² similarity matrix whose
    rows are grouped by video: intra-video negatives carry `hard_negative_rate` of the
    total negative weight (0.5: half of the negatives from the same video)."""
    easy = 1.0 - hard_negative_rate
    if batch_size < 2 or n_pair < 2:
        return np.ones((batch_size * n_pair,) * 2, np.float32)
    alpha = easy / ((batch_size - 1) * (1.0 - easy))
    m = (1.0 - alpha) * np.eye(batch_size) + alpha
    m = np.kron(m, np.ones((n_pair, n_pair))) * (batch_size * (1.0 - easy))
    return m.astype(np.float32)


# ---- Dataset --------------------------------------------------------------------------------

try:  # a real torch Dataset when torch is there; the same class works without it
    from torch.utils.data import Dataset as _DatasetBase
    from torch.utils.data import Sampler as _SamplerBase
except ImportError:  # pragma: no cover - depends on the environment
    _DatasetBase = object
    _SamplerBase = object


class ClipDataset(_DatasetBase):
    """HowTo100M's training loader over a quern store (see the module docstring).

    ds[i]           one video: dict of numpy arrays, video (n_pair, D), tokens (n_pair,
                    max_words), n_tokens, start, end (merged window), clip (seed clip
                    position), plus video_id (ext id) and index
    ds[[i, j, ..]]  a batch of whole videos in one vectorised call: the same keys with a
                    leading batch axis (video (B, n_pair, D)); video_id is a list
    Videos are those with status ok, at least one clip and rows in every pooled set.
    lazy_clips (default): each batch reads its videos' clip_pack rows with one SQL query
    instead of every video's clips being decoded at open (gigabytes at HowTo100M's 136M
    clips); the batches are the same either way."""

    def __init__(self, path, n_pair=64, min_time=5.0, min_words=0, max_words=20, sets=None,
                 seed=None, dtype=np.float32, pad_id=-1, lazy_clips=True, recycle=True):
        self.path = os.fspath(path)
        self.recycle = recycle
        self._spare = []          # output buffers of earlier batches (see _video_buffer)
        self.lazy_clips = lazy_clips
        self.n_pair, self.min_time, self.min_words = n_pair, float(min_time), min_words
        self.max_words, self.sets, self.seed = max_words, sets, seed
        self.dtype, self.pad_id = np.dtype(dtype), pad_id
        self._st = None
        self._rng = None
        self._len = len(self._eligible(self.store))

    def __getstate__(self):   # the store and RNG are per process: workers reopen them
        d = dict(self.__dict__)
        d["_st"] = d["_rng"] = None
        d["_spare"] = []
        return d

    @property
    def store(self):
        if self._st is None:
            self._st = Store(self.path, lazy_clips=self.lazy_clips)
            self._videos = self._eligible(self._st)
        return self._st

    def _eligible(self, st):
        names = st.per_step_sets() if self.sets is None else list(self.sets)
        ok = (st.videos["status"] == _STATUS["ok"]) & (st.clip_count > 0)
        for n in names:
            ok &= st._set(n).video_n > 0
        if not names:
            raise StoreError(f"{st.path}: no per_step feature set to pool")
        return np.flatnonzero(ok)

    @property
    def rng(self):
        if self._rng is None:
            extra = 0
            try:
                from torch.utils.data import get_worker_info
                wi = get_worker_info()
                extra = wi.id if wi is not None else 0
            except ImportError:
                pass
            self._rng = np.random.default_rng(None if self.seed is None
                                              else [self.seed, extra])
        return self._rng

    def __len__(self):
        return self._len

    def __getitem__(self, idx):
        if np.ndim(idx) == 0:
            b = self.get_batch([int(idx)])
            return {k: v[0] for k, v in b.items()}
        return self.get_batch(idx)

    def _video_buffer(self, shape):
        """The (B·n_pair, D) array a batch's features go to. With recycle, the buffer of an
        earlier batch that nothing references any more (its only references are this
        Dataset's: every numpy view, torch.from_numpy tensor or memoryview of a batch holds
        one on the buffer) is reused instead of a fresh one: a 2048 x 4096 float32 batch is
        32 MiB, and mapping and zeroing fresh pages for it costs about as much as pooling.
        Up to 3 buffers are kept, so a loop holding the previous batch still recycles."""
        if self.recycle:
            for buf, refs in zip(self._spare, _refcounts(self._spare)):
                if refs <= _ONLY_LISTED and buf.shape == shape and buf.dtype == self.dtype:
                    return buf
        buf = np.empty(shape, self.dtype)
        if self.recycle:
            self._spare = [buf] + self._spare[:2]
        return buf

    def get_batch(self, indices, seeds=None, out=None):
        """A batch of videos. seeds (B, n_pair) clip numbers within each video replace the
        random draw (for tests and for comparing with other loaders). out: a (B, n_pair, D)
        C-contiguous array of the Dataset's dtype for the features (returned as "video")."""
        st = self.store
        idx = np.asarray(indices, np.int64)
        if np.any((idx < 0) | (idx >= self._len)):
            raise IndexError(f"video index out of range 0..{self._len - 1}")
        vpos = self._videos[idx]
        B, P = len(idx), self.n_pair
        c = st.video_clips(vpos)
        first, count = c["first"], c["count"]
        if np.any(count == 0):
            raise StoreError(f"{st.path}: a video lost its clips since the store was opened")
        if seeds is None:
            seeds = self.rng.integers(0, count[:, None], size=(B, P))
        seed = (first[:, None] + np.asarray(seeds, np.int64)).ravel()
        lo = np.repeat(first, P)
        hi = lo + np.repeat(count, P) - 1
        s, e, order = merge_windows(seed, lo, hi, c["start"], c["end"], c["n_tokens"],
                                    self.min_time, self.min_words)
        tok, ntok = gather_tokens(seed, order, c["tokens"], c["token_offsets"],
                                  self.max_words, self.pad_id)
        starts, ends = c["start"][s], c["end"][e]
        dims = sum(st._set(n).dim for n in
                   (st.per_step_sets() if self.sets is None else self.sets))
        if out is None:
            buf = self._video_buffer((B * P, dims))
        else:
            if out.shape != (B, P, dims) or out.dtype != self.dtype or not out.flags.c_contiguous:
                raise ValueError(f"out must be a C-contiguous {self.dtype.name} array of shape "
                                 f"{(B, P, dims)}")
            buf = out.reshape(B * P, dims)
        video = st.pool_windows(np.repeat(vpos, P), starts, ends, self.sets, out=buf)
        return {
            "video": video.reshape(B, P, -1),
            "tokens": tok.reshape(B, P, -1),
            "n_tokens": ntok.reshape(B, P),
            "start": starts.reshape(B, P),
            "end": ends.reshape(B, P),
            "clip": (seed - np.repeat(first, P)).reshape(B, P),
            "index": idx,
            "video_id": [st.videos["ext_id"][p] for p in vpos],
        }


def _refcounts(objs):
    """sys.getrefcount of each object of a list, all taken the same way, so that the count
    of an object only the list holds (_ONLY_LISTED) is measured rather than assumed (what
    the interpreter's own temporaries add differs between Python versions)."""
    return [sys.getrefcount(o) for o in objs]


_ONLY_LISTED = _refcounts([np.empty(0)])[0]


class VideoBatchSampler(_SamplerBase):
    """Yields lists of batch_size distinct video indices (a shuffled pass over the dataset),
    for DataLoader(ds, batch_size=None, sampler=VideoBatchSampler(ds, 32))."""

    def __init__(self, dataset, batch_size, shuffle=True, drop_last=False, seed=None):
        self.n, self.batch_size = len(dataset), batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self._rng = np.random.default_rng(seed)

    def __iter__(self):
        order = self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)
        for i in range(0, self.n, self.batch_size):
            b = order[i:i + self.batch_size]
            if len(b) < self.batch_size and self.drop_last:
                return
            yield b.tolist()

    def __len__(self):
        if self.drop_last:
            return self.n // self.batch_size
        return (self.n + self.batch_size - 1) // self.batch_size
