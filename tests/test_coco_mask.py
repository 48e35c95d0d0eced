"""converters/coco_mask against pip-installed pycocotools, through tests/mask_driver.

Randomised (fixed seeds): >= 10,000 masks and polygons plus boxes, merges, IoUs,
label images and string round trips must give exactly pycocotools' strings, areas
and boxes. Real data from ../shared/data/real is used when present.
"""
import json
import struct
import subprocess
import zlib

import numpy as np
import pytest
from pycocotools import mask as M


def drive(tools_dir, lines):
    """Runs mask_driver once over all command lines; returns its answer lines."""
    exe = tools_dir / "mask_driver"
    if not exe.exists():
        pytest.fail(f"{exe} is not built (make tests-built)")
    cp = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True,
                        text=True, timeout=120)
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout.split("\n")[:-1]
    assert len(out) == len(lines)
    return out


def ref_line(rle):
    """pycocotools' string, area and box in the driver's answer format."""
    s = rle["counts"].decode() or "-"
    bb = M.toBbox(rle)
    return "%s %d %s" % (s, int(M.area(rle)), " ".join(repr(float(v)) for v in bb))


def got_line(line):
    """Normalises the driver's %.17g boxes to repr() for comparison."""
    parts = line.split()
    if parts[0] == "err":
        return line
    return "%s %s %s" % (parts[0], parts[1], " ".join(repr(float(v)) for v in parts[2:]))


def random_mask(rng):
    h, w = (int(v) for v in rng.integers(1, 48, 2))
    kind = rng.integers(0, 5)
    if kind == 0:  # noise of any density
        m = rng.random((h, w)) < rng.random()
    elif kind == 1:  # rectangles: long runs
        m = np.zeros((h, w), bool)
        for _ in range(rng.integers(0, 4)):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = True
    elif kind == 2:  # all empty or all full
        m = np.full((h, w), bool(rng.integers(0, 2)))
    elif kind == 3:  # vertical stripes: runs that span whole columns
        m = np.repeat(rng.random((1, w)) < 0.5, h, 0)
    else:  # blocky
        b = rng.random((h // 4 + 1, w // 4 + 1)) < 0.5
        m = np.kron(b, np.ones((4, 4), bool))[:h, :w]
    return np.asfortranarray(m.astype(np.uint8))


def test_random_masks(tools_dir):
    rng = np.random.default_rng(20260101)
    masks = [random_mask(rng) for _ in range(5000)]
    lines = ["enc %d %d %s" % (m.shape[0], m.shape[1], "".join("01"[v] for v in m.ravel(order="F")))
             for m in masks]
    out = drive(tools_dir, lines)
    for m, got in zip(masks, out):
        assert got_line(got) == ref_line(M.encode(m)), m


def random_polygon(rng):
    h, w = (int(v) for v in rng.integers(1, 80, 2))
    k = int(rng.integers(3, 25))
    style = rng.integers(0, 5)
    if style == 0:  # integer vertices, the Cityscapes way
        xy = np.stack([rng.integers(0, w + 1, k), rng.integers(0, h + 1, k)], 1).astype(float)
    elif style == 1:  # two decimals, partly outside the image
        xy = np.stack([rng.uniform(-0.2 * w, 1.2 * w, k), rng.uniform(-0.2 * h, 1.2 * h, k)], 1)
        xy = np.round(xy, 2)
    elif style == 2:  # on the half and fifth pixel grid, where rounding ties live
        xy = np.stack([rng.integers(-5, 5 * w + 5, k), rng.integers(-5, 5 * h + 5, k)], 1) / 5.0
        xy += rng.choice([0.0, 0.5, 0.1, -0.1], size=(k, 1))
    elif style == 3:  # a star-shaped polygon (VIA style), full double precision
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0.2, 0.6, k) * min(h, w)
        xy = np.stack([w / 2 + r * np.cos(ang), h / 2 + r * np.sin(ang)], 1)
    else:  # repeated vertices and axis-aligned edges
        xy = np.stack([rng.integers(0, w + 1, k), rng.integers(0, h + 1, k)], 1).astype(float)
        for i in range(1, k):
            c = rng.integers(0, 3)
            if c < 2:
                xy[i, c] = xy[i - 1, c]
            if rng.random() < 0.2:
                xy[i] = xy[i - 1]
    return h, w, [float(v) for v in xy.ravel()]


def test_random_polygons(tools_dir):
    rng = np.random.default_rng(7)
    polys = [random_polygon(rng) for _ in range(6000)]
    lines = ["poly %d %d %s" % (h, w, " ".join(repr(v) for v in xy)) for h, w, xy in polys]
    out = drive(tools_dir, lines)
    for (h, w, xy), got in zip(polys, out):
        ref = M.frPyObjects([xy], h, w)[0]
        assert got_line(got) == ref_line(ref), (h, w, xy)


def test_random_polygons_large(tools_dir):
    """Cityscapes-sized images, and coordinates far outside them (clipping)."""
    rng = np.random.default_rng(8)
    polys = []
    for i in range(1500):
        h, w = int(rng.integers(1, 1100)), int(rng.integers(1, 2100))
        k = int(rng.integers(3, 40))
        if i % 3 == 0:
            xy = np.stack([rng.uniform(-1e4, 1e4, k), rng.uniform(-1e4, 1e4, k)], 1)
        elif i % 3 == 1:
            xy = np.stack([rng.uniform(-0.5 * w, 1.5 * w, k), rng.uniform(-0.5 * h, 1.5 * h, k)], 1)
        else:
            xy = np.stack([rng.integers(0, 5 * w, k), rng.integers(0, 5 * h, k)], 1) / 5.0 + 0.5
        polys.append((h, w, [float(v) for v in np.round(xy.ravel(), int(rng.integers(0, 6)))]))
    out = drive(tools_dir, ["poly %d %d %s" % (h, w, " ".join(repr(v) for v in xy)) for h, w, xy in polys])
    for (h, w, xy), got in zip(polys, out):
        assert got_line(got) == ref_line(M.frPyObjects([xy], h, w)[0]), (h, w, xy)


def test_random_boxes(tools_dir):
    rng = np.random.default_rng(11)
    cases = []
    for _ in range(1000):
        h, w = (int(v) for v in rng.integers(1, 60, 2))
        bb = [float(v) for v in np.round(rng.uniform(-5, max(h, w), 4), int(rng.integers(0, 3)))]
        bb[2], bb[3] = abs(bb[2]), abs(bb[3])
        cases.append((h, w, bb))
    out = drive(tools_dir, ["bbox %d %d %s" % (h, w, " ".join(map(repr, bb))) for h, w, bb in cases])
    for (h, w, bb), got in zip(cases, out):
        ref = M.frPyObjects(np.array([bb]), h, w)[0]
        assert got_line(got) == ref_line(ref), (h, w, bb)


def test_merge_and_iou(tools_dir):
    rng = np.random.default_rng(3)
    merges, ious = [], []
    for _ in range(600):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        n = int(rng.integers(1, 5))
        rles = []
        for _ in range(n):
            m = np.zeros((h, w), np.uint8)
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = 1
            if rng.random() < 0.3:
                m ^= (rng.random((h, w)) < 0.1).astype(np.uint8)
            rles.append(M.encode(np.asfortranarray(m)))
        merges.append((h, w, rles, int(rng.integers(0, 2))))
        ious.append((h, w, rles[: (n + 1) // 2], rles[(n + 1) // 2:] or rles[:1],
                     [int(v) for v in rng.integers(0, 2, n)]))
    lines = ["merge %d %d %d %s" % (h, w, i, " ".join(r["counts"].decode() for r in rles))
             for h, w, rles, i in merges]
    for h, w, dt, gt, crowd in ious:
        lines.append("iou %d %d %d %d %s %s" % (
            h, w, len(dt), len(gt), " ".join(r["counts"].decode() for r in dt + gt),
            "".join(map(str, crowd[: len(gt)]))))
    out = drive(tools_dir, lines)
    for (h, w, rles, i), got in zip(merges, out):
        assert got_line(got) == ref_line(M.merge(rles, intersect=i))
    for (h, w, dt, gt, crowd), got in zip(ious, out[len(merges):]):
        ref = M.iou(dt, gt, crowd[: len(gt)])
        want = [float(ref[i, j]) for j in range(len(gt)) for i in range(len(dt))]
        assert [float(v) for v in got.split()] == want


def test_merge_keeps_zero_runs_and_rejects_mismatch(tools_dir):
    out = drive(tools_dir, ["merge 5 2 0 3025 :", "merge 10 10 0 T3 d0",
                            "merge 10 10 1 T3 T3", "iou 10 10 1 1 0T3 d0 0"])
    # counts [3,0,2,5] | [10]: pycocotools keeps the zero-length run
    ref = M.merge([M.frPyObjects([{"counts": [3, 0, 2, 5], "size": [5, 2]}], 5, 2)[0],
                   M.frPyObjects([{"counts": [10], "size": [5, 2]}], 5, 2)[0]])
    assert got_line(out[0]) == ref_line(ref)
    assert out[1] == "err -1"  # runs short of the image: rejected, not looped over
    assert got_line(out[2]) == ref_line(M.merge([{"size": [10, 10], "counts": b"T3"}] * 2, 1))
    assert out[3] == "err -1"


def test_labels(tools_dir):
    rng = np.random.default_rng(5)
    imgs = []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        base = rng.choice([0, 7, 23, 24000, 24001, 26000, 26, 33001], size=(h // 3 + 1, w // 3 + 1))
        img = np.kron(base, np.ones((3, 3), np.int64))[:h, :w]
        noise = rng.random((h, w)) < rng.uniform(0, 0.2)
        img[noise] = rng.choice([24000, 26001, 65535, 5], size=int(noise.sum()))
        imgs.append((img.astype(np.uint16), int(rng.choice([0, 1, 24, 26000]))))
    lines = ["labels %d %d %d %s" % (im.shape[0], im.shape[1], mn, " ".join(map(str, im.ravel())))
             for im, mn in imgs]
    out = drive(tools_dir, lines)
    for (im, mn), got in zip(imgs, out):
        ids = sorted(int(v) for v in np.unique(im) if v >= mn)
        want = " ".join("%d:%s" % (i, M.encode(np.asfortranarray((im == i).astype(np.uint8)))["counts"].decode())
                        for i in ids)
        assert got == want


def test_strings_round_trip_and_malformed(tools_dir):
    rng = np.random.default_rng(9)
    masks = [random_mask(rng) for _ in range(500)]
    lines = []
    for m in masks:
        lines.append("str %d %d %s" % (m.shape[0], m.shape[1], M.encode(m)["counts"].decode()))
        lines.append("decode %d %d %s" % (m.shape[0], m.shape[1], M.encode(m)["counts"].decode()))
    bad = ["str 10 10 P1#", "str 10 10 T3p", "str 10 10 P", "str 10 10 T31",
           "str 2 2 PPPP2", "str 10 10 PPPPPPPP", "decode 2 2 T3"]
    out = drive(tools_dir, lines + bad)
    for i, m in enumerate(masks):
        counts = [int(v) for v in out[2 * i].split()[1:]]
        ref = M.frPyObjects([{"counts": counts, "size": list(m.shape)}], *m.shape)[0]
        assert ref["counts"] == M.encode(m)["counts"]
        assert out[2 * i + 1] == "".join("01"[v] for v in m.ravel(order="F"))
    assert out[len(lines):] == ["err -1"] * len(bad)


def read_png16(path):
    """Minimal PNG reader for 8/16-bit greyscale (zlib + row unfiltering)."""
    data = path.read_bytes()
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = hdr[:4]
    assert ctype == 0 and depth in (8, 16)
    bpp = depth // 8
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                row[i] = (row[i] + a) & 255
            elif f == 2:
                row[i] = (row[i] + b) & 255
            elif f == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride:(y + 1) * stride] = row
        prev = row
    return np.frombuffer(bytes(out), ">u2" if bpp == 2 else "u1").reshape(h, w).astype(np.uint16)


def test_real_cityscapes_labels(tools_dir, shared_dir):
    pngs = sorted((shared_dir / "data/real/cityscapes").glob("*/gtFine/*/*/*_instanceIds.png"))
    if not pngs:
        pytest.skip("no instanceIds PNG under ../shared/data/real/cityscapes")
    imgs = [read_png16(p) for p in pngs]
    out = drive(tools_dir, ["labels %d %d 24 %s" % (im.shape[0], im.shape[1], " ".join(map(str, im.ravel())))
                            for im in imgs])
    for p, im, got in zip(pngs, imgs, out):
        ids = sorted(int(v) for v in np.unique(im) if v >= 24)
        want = " ".join("%d:%s" % (i, M.encode(np.asfortranarray((im == i).astype(np.uint8)))["counts"].decode())
                        for i in ids)
        assert got == want, p


def test_real_coco_results_strings(tools_dir, shared_dir):
    path = shared_dir / "data/real/coco/cocoapi_results/instances_val2014_fakesegm100_results.json"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    segs = [d["segmentation"] for d in json.loads(path.read_text())]
    lines = ["str %d %d %s" % (s["size"][0], s["size"][1], s["counts"]) for s in segs]
    out = drive(tools_dir, lines)
    assert len(segs) >= 100
    cnt_lines = ["counts %d %d %s" % (s["size"][0], s["size"][1], o.split(" ", 1)[1])
                 for s, o in zip(segs, out)]
    again = drive(tools_dir, cnt_lines)
    for s, got in zip(segs, again):
        rle = {"size": s["size"], "counts": s["counts"].encode()}
        assert got_line(got) == ref_line(rle)
