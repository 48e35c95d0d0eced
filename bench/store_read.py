#!/usr/bin/env python3
"""Training-read benchmark: quern's ClipDataset vs the HowTo100M layout, one run, same data.

    python3 bench/store_read.py STORE WORKDIR [--batches N] [--batch-size 32] [--n-pair 64]

STORE is a store made by store_synth (bench/store.sh makes one of 2,000 videos). WORKDIR gets
the HowTo100M layout of the same data, written once from the store:
    WORKDIR/h100m/feature_2d/EXT.npy   per video (T2d, 2048) float16 (np.save)
    WORKDIR/h100m/feature_3d/EXT.npy   per video (T3d, 2048) float16
    WORKDIR/h100m/caption.pickle       {EXT: {"start": [..], "end": [..], "text": [..]}}
    WORKDIR/h100m/vocab.pickle         {word: id} (stands in for the word2vec KeyedVectors)
The peer is HowTo100M's Youtube_DataLoader (antoine77340/howto100m youtube_dataloader.py at
50af0ff, the commit that reads features with th.from_numpy(np.load(..))): per item, np.load of
the whole 2D and 3D files, .float(), a Python loop over the n_pair clips that slices, takes
th.max over time and F.normalize per modality, th.cat of the two; captions merged to
min_time by its _get_single_text loop, words tokenised with its regex and looked up in the
vocabulary; a batch is 32 items stacked (torch's default collate). It runs with torch when
the interpreter has it (one thread, as in a DataLoader worker), else as a line-by-line numpy
port (np.max, np.linalg.norm); --peer both times the two. Changes, so both produce the same
numbers: a window past the last row takes the last row (DESIGN.md) where HowTo100M prints a
warning and leaves zeros; and token ids are returned where it returns 300-d word2vec vectors
(the lookup of 2048 x 20 words is left out of the peer's time: that favours the peer).

Both loaders are first checked to return identical batches from the same caption draws;
then each serves random batches of batch_size videos × n_pair clips from the page cache
(both layouts read once before timing). Prints clips/s for each, then the ratio.
"""
import argparse
import os
import pickle
import re
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "store", "python"))
import quern_store as qs  # noqa: E402


# ---- the peer: HowTo100M's Youtube_DataLoader (numpy port, then torch as released) --------------------------------

class HowTo100MLoader:
    """youtube_dataloader.Youtube_DataLoader, numpy port (np ops for the th ones)."""

    def __init__(self, video_ids, features_path, features_path_3d, caption, vocab,
                 min_time=5.0, max_words=20, min_words=0, n_pair=64,
                 feature_framerate=1.0, feature_framerate_3d=24.0 / 16.0, seed=0):
        self.video_ids = video_ids
        self.caption = caption
        self.vocab = vocab
        self.min_time, self.max_words, self.min_words = min_time, max_words, min_words
        self.n_pair = n_pair
        self.fps = {"2d": feature_framerate, "3d": feature_framerate_3d}
        self.feature_path = {"2d": features_path, "3d": features_path_3d}
        self.rng = np.random.RandomState(seed)

    def __len__(self):
        return len(self.video_ids)

    def _tokenize_text(self, sentence):
        return re.findall(r"[\w']+", str(sentence))

    def _words_to_ids(self, words):
        ids = [self.vocab[w] for w in words if w in self.vocab]
        out = np.full(self.max_words, -1, np.int64)
        ids = ids[:self.max_words]
        out[:len(ids)] = ids
        return out

    def _get_text(self, caption, n_pair_max, r_ind=None):
        n_caption = len(caption["start"])
        k = n_pair_max
        starts = np.zeros(k)
        ends = np.zeros(k)
        text = np.zeros((k, self.max_words), np.int64)
        if r_ind is None:
            r_ind = self.rng.choice(range(n_caption), k, replace=True)
        for i in range(k):
            text[i], starts[i], ends[i] = self._get_single_text(caption, r_ind[i])
        return text, starts, ends

    def _get_single_text(self, caption, ind):
        start, end = ind, ind
        words = self._tokenize_text(caption["text"][ind])
        diff = caption["end"][end] - caption["start"][start]
        while len(words) < self.min_words or diff < self.min_time:
            if start > 0 and end < len(caption["end"]) - 1:
                next_words = self._tokenize_text(caption["text"][end + 1])
                prev_words = self._tokenize_text(caption["text"][start - 1])
                d1 = caption["end"][end + 1] - caption["start"][start]
                d2 = caption["end"][end] - caption["start"][start - 1]
                if (self.min_time > 0 and d2 <= d1) or \
                        (self.min_time == 0 and len(next_words) <= len(prev_words)):
                    start -= 1
                    words.extend(prev_words)
                else:
                    end += 1
                    words.extend(next_words)
            elif start > 0:
                words.extend(self._tokenize_text(caption["text"][start - 1]))
                start -= 1
            elif end < len(caption["end"]) - 1:
                words.extend(self._tokenize_text(caption["text"][end + 1]))
                end += 1
            else:
                break
            diff = caption["end"][end] - caption["start"][start]
        return self._words_to_ids(words), caption["start"][start], caption["end"][end]

    def _get_video(self, vid_path, s, e):
        output = {}
        for k in self.feature_path:
            video = np.load(os.path.join(self.feature_path[k], vid_path)).astype(np.float32)
            output[k] = np.zeros((len(s), video.shape[-1]), np.float32)
            for i in range(len(s)):
                start = int(s[i] * self.fps[k])
                end = int(e[i] * self.fps[k]) + 1
                start = min(start, len(video) - 1)      # DESIGN.md: past the end → last row
                sl = video[start:end]
                m = sl.max(axis=0)
                output[k][i] = m / max(np.linalg.norm(m), 1e-12)     # F.normalize
        return np.concatenate([output[k] for k in output], axis=1)

    def item(self, idx, r_ind=None):
        video_id = self.video_ids[idx]
        text, starts, ends = self._get_text(self.caption[video_id], self.n_pair, r_ind)
        video = self._get_video(video_id + ".npy", starts, ends)
        return {"video": video, "text": text, "video_id": video_id}

    def batch(self, indices, r_inds=None):
        items = [self.item(i, None if r_inds is None else r_inds[j])
                 for j, i in enumerate(indices)]
        return {"video": np.stack([it["video"] for it in items]),
                "text": np.stack([it["text"] for it in items]),
                "video_id": [it["video_id"] for it in items]}


class HowTo100MTorchLoader(HowTo100MLoader):
    """youtube_dataloader.Youtube_DataLoader as released (commit 50af0ff): torch tensors,
    th.from_numpy(np.load(..)).float() per modality, per clip th.max over the window slice
    and F.normalize, th.cat of the modalities; a batch is torch's default collate
    (th.stack of the items). One thread, as in a DataLoader worker."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        import torch
        import torch.nn.functional as F
        self.th, self.F = torch, F
        torch.set_num_threads(1)

    def _get_video(self, vid_path, s, e):
        th, F = self.th, self.F
        video, output = {}, {}
        for k in self.feature_path:
            path = os.path.join(self.feature_path[k], vid_path)
            video[k] = th.from_numpy(np.load(path)).float()
            output[k] = th.zeros(len(s), video[k].shape[-1])
            for i in range(len(s)):
                start = int(s[i] * self.fps[k])
                end = int(e[i] * self.fps[k]) + 1
                start = min(start, len(video[k]) - 1)    # DESIGN.md: past the end → last row
                slice = video[k][start:end]
                output[k][i] = F.normalize(th.max(slice, dim=0)[0], dim=0)
        return th.cat([output[k] for k in output], dim=1)

    def batch(self, indices, r_inds=None):
        th = self.th
        items = [self.item(i, None if r_inds is None else r_inds[j])
                 for j, i in enumerate(indices)]
        return {"video": th.stack([it["video"] for it in items]),
                "text": th.stack([th.from_numpy(it["text"]) for it in items]),
                "video_id": [it["video_id"] for it in items]}


# ---- the HowTo100M layout of the same data ------------------------------------------------

def write_layout(st, ds, out):
    """Writes the per-video .npy files, the caption pickle and the vocabulary from the store."""
    d2, d3 = (os.path.join(out, "feature_2d"), os.path.join(out, "feature_3d"))
    os.makedirs(d2, exist_ok=True)
    os.makedirs(d3, exist_ok=True)
    s2, s3 = st.per_step_sets()[:2]
    texts = st.texts("filtered")
    caption = {}
    for p in ds._videos:
        vid, ext = st.videos["id"][p], st.videos["ext_id"][p]
        np.save(os.path.join(d2, ext + ".npy"), np.asarray(st.video_rows(s2, vid)))
        np.save(os.path.join(d3, ext + ".npy"), np.asarray(st.video_rows(s3, vid)))
        a, n = st.clip_first[p], st.clip_count[p]
        caption[ext] = {"start": st.clips["start"][a:a + n].tolist(),
                        "end": st.clips["end"][a:a + n].tolist(),
                        "text": texts[a:a + n]}
    with open(os.path.join(out, "caption.pickle"), "wb") as f:
        pickle.dump(caption, f, protocol=4)
    with open(os.path.join(out, "vocab.pickle"), "wb") as f:
        pickle.dump({w: i for i, w in enumerate(st.vocab())}, f, protocol=4)
    with open(os.path.join(out, "done"), "w") as f:
        f.write("ok\n")


def read_all(paths):
    n = 0
    for p in paths:
        with open(p, "rb") as f:
            while True:
                b = f.read(1 << 22)
                if not b:
                    break
                n += len(b)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("store")
    ap.add_argument("workdir")
    ap.add_argument("--batches", type=int, default=20, help="quern batches to time")
    ap.add_argument("--peer-batches", type=int, default=5, help="HowTo100M batches to time")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--n-pair", type=int, default=64)
    ap.add_argument("--min-time", type=float, default=5.0)
    ap.add_argument("--max-words", type=int, default=20)
    ap.add_argument("--peer", choices=("auto", "torch", "numpy", "both"), default="auto",
                    help="HowTo100M loader to time: the torch original when torch imports "
                         "(auto), or its numpy port, or both")
    a = ap.parse_args()

    ds = qs.ClipDataset(a.store, n_pair=a.n_pair, min_time=a.min_time,
                        max_words=a.max_words, seed=1)
    ds.store                      # the Dataset's own (lazy_clips) store, opened before timing
    st = qs.Store(a.store)        # the whole clip table, to write the peer's layout
    lay = os.path.join(a.workdir, "h100m")
    if not os.path.exists(os.path.join(lay, "done")):
        t0 = time.perf_counter()
        write_layout(st, ds, lay)
        print(f"howto100m layout: {len(ds)} videos written in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    with open(os.path.join(lay, "caption.pickle"), "rb") as f:
        caption = pickle.load(f)
    with open(os.path.join(lay, "vocab.pickle"), "rb") as f:
        vocab = pickle.load(f)
    exts = [st.videos["ext_id"][p] for p in ds._videos]
    peers = []                    # (label, loader, batches to time)
    kinds = {"auto": ("torch", "numpy"), "torch": ("torch",), "numpy": ("numpy",),
             "both": ("torch", "numpy")}[a.peer]
    for kind in kinds:
        if kind == "torch":
            try:
                import torch
            except ImportError as e:
                if a.peer == "torch":
                    print(f"store_read: --peer torch: {e}", file=sys.stderr)
                    return 2
                print(f"howto100m peer: torch is not installed for {sys.executable}: "
                      "using the numpy port of youtube_dataloader.py", file=sys.stderr)
                continue
            cls, label = HowTo100MTorchLoader, f"HowTo100M loader (torch {torch.__version__})"
        else:
            cls, label = HowTo100MLoader, "HowTo100M loader, numpy port"
        peers.append((kind, label, cls(exts, os.path.join(lay, "feature_2d"),
                                       os.path.join(lay, "feature_3d"), caption, vocab,
                                       min_time=a.min_time, max_words=a.max_words,
                                       n_pair=a.n_pair)))
        if a.peer == "auto":
            break

    # both hot in the page cache before timing
    files = [os.path.join(lay, d, e + ".npy") for d in ("feature_2d", "feature_3d") for e in exts]
    nb = read_all(files)
    nb += read_all([fs.path for fs in st.sets.values()])
    print(f"page cache warmed: {nb / 2**30:.2f} GiB read", file=sys.stderr)

    # same caption draws → same batch, value by value
    rng = np.random.default_rng(3)
    idx = rng.choice(len(ds), a.batch_size, replace=False)
    seeds = rng.integers(0, st.clip_count[ds._videos[idx]][:, None], (a.batch_size, a.n_pair))
    ours = ds.get_batch(idx, seeds=seeds)
    for kind, label, peer in peers:
        theirs = peer.batch(idx, r_inds=seeds)
        tv, tt = np.asarray(theirs["video"]), np.asarray(theirs["text"])
        diff = float(np.abs(ours["video"] - tv).max())
        same_tok = bool(np.array_equal(ours["tokens"], tt))
        print(f"check vs {label}: max |quern - howto100m| = {diff:.2e}, tokens equal: {same_tok}",
              file=sys.stderr)
        if diff > 1e-5 or not same_tok or ours["video_id"] != theirs["video_id"]:
            print("store_read: the two loaders disagree; not timing", file=sys.stderr)
            return 1
    del ours

    clips_per_batch = a.batch_size * a.n_pair

    def timed(fn, batches, seed):
        """Wall and CPU (user+sys of this process) seconds for `batches` random batches
        (each batch dropped before the next, as a training step would)."""
        sampler = qs.VideoBatchSampler(ds, a.batch_size, seed=seed, drop_last=True)
        it = iter(sampler)
        fn(next(it))                           # first call: lazy setup
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(batches):
            try:
                b = next(it)
            except StopIteration:
                it = iter(sampler)
                b = next(it)
            fn(b)
        return time.perf_counter() - w0, time.process_time() - c0

    print(f"python {sys.version.split()[0]} ({sys.executable}), numpy {np.__version__}; "
          f"peers: {', '.join(p[1] for p in peers)}")
    ow, oc = timed(ds.get_batch, a.batches, 5)
    ours = a.batches * clips_per_batch
    print(f"quern ClipDataset: {ours / ow:,.0f} clips/s wall, {ours / oc:,.0f} clips/s of CPU "
          f"({ow / a.batches * 1e3:.1f} ms wall, {oc / a.batches * 1e3:.1f} ms CPU per batch of "
          f"{a.batch_size}x{a.n_pair})")
    # the same without recycled output buffers: a fresh 32 MiB array per batch
    fresh = qs.ClipDataset(a.store, n_pair=a.n_pair, min_time=a.min_time,
                           max_words=a.max_words, seed=1, recycle=False)
    fresh.store
    fw, fc = timed(fresh.get_batch, a.batches, 5)
    print(f"quern ClipDataset, recycle=False: {ours / fw:,.0f} clips/s wall, {ours / fc:,.0f} "
          f"clips/s of CPU ({fw / a.batches * 1e3:.1f} ms wall, {fc / a.batches * 1e3:.1f} ms CPU "
          f"per batch)")
    ratios = []
    for kind, label, peer in peers:
        pw, pc = timed(peer.batch, a.peer_batches, 6)
        theirs = a.peer_batches * clips_per_batch
        print(f"{label}: {theirs / pw:,.0f} clips/s wall, {theirs / pc:,.0f} clips/s of CPU "
              f"({pw / a.peer_batches * 1e3:.1f} ms wall, {pc / a.peer_batches * 1e3:.1f} ms "
              f"CPU per batch)")
        tag = "" if kind == peers[0][0] else "_" + kind + "_port"
        ratios.append(f"ratio training_reads{tag}: {(ours / ow) / (theirs / pw):.1f}x "
                      f"(target >= 10x; vs {label}; wall clock)")
        ratios.append(f"ratio training_reads{tag}_cpu: {(ours / oc) / (theirs / pc):.1f}x "
                      f"(target >= 10x; vs {label}; CPU time, steadier on a shared machine)")
        if not tag:
            ratios.append(f"ratio training_reads_no_recycle_cpu: "
                          f"{(ours / fc) / (theirs / pc):.1f}x (target >= 10x; vs {label}; "
                          f"CPU time, a fresh output array per batch)")
    print("\n".join(ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
