"""End-to-end tests of quern-cityscapes2coco.

The reference is computed here the way MMDetection 3.3's
tools/dataset_converters/cityscapes.py does it (load_img_info + cvt_annotations:
numpy unique of ids >= 24, label table filter, pycocotools encode/area/toBbox,
json.dump), with images sorted by file name as quern sorts them; quern's bytes must
equal json.dumps of that. Every JSON quern writes is loaded with pycocotools COCO()
and evaluated with COCOeval using the ground truth as detections (AP must be 1.0 for
bbox and segm). Data: shared/tools/gen_cityscapes.py, small PNGs written here, and
shared/data/real/cityscapes when present.
"""
import json
import pathlib
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from conftest import run, run_on_pty

PROG = "quern-cityscapes2coco"
# cityscapesScripts helpers/labels.py: id -> (name, hasInstances, ignoreInEval)
LABELS = {0: ("unlabeled", 0, 1), 1: ("ego vehicle", 0, 1), 2: ("rectification border", 0, 1),
          3: ("out of roi", 0, 1), 4: ("static", 0, 1), 5: ("dynamic", 0, 1),
          6: ("ground", 0, 1), 7: ("road", 0, 0), 8: ("sidewalk", 0, 0), 9: ("parking", 0, 1),
          10: ("rail track", 0, 1), 11: ("building", 0, 0), 12: ("wall", 0, 0),
          13: ("fence", 0, 0), 14: ("guard rail", 0, 1), 15: ("bridge", 0, 1),
          16: ("tunnel", 0, 1), 17: ("pole", 0, 0), 18: ("polegroup", 0, 1),
          19: ("traffic light", 0, 0), 20: ("traffic sign", 0, 0), 21: ("vegetation", 0, 0),
          22: ("terrain", 0, 0), 23: ("sky", 0, 0), 24: ("person", 1, 0), 25: ("rider", 1, 0),
          26: ("car", 1, 0), 27: ("truck", 1, 0), 28: ("bus", 1, 0), 29: ("caravan", 1, 1),
          30: ("trailer", 1, 1), 31: ("train", 1, 0), 32: ("motorcycle", 1, 0),
          33: ("bicycle", 1, 0), -1: ("license plate", 0, 1)}
NAME2ID = {v[0]: k for k, v in LABELS.items()}
EVAL_IDS = [24, 25, 26, 27, 28, 31, 32, 33]
GEN = None  # set by the gen_tool fixture


# ----------------------------------------------------------------------------- PNG

def png_bytes(arr, filter_type=0):
    """uint16 (H,W) -> 16-bit grey; uint8 (H,W) -> 8-bit grey; uint8 (H,W,3) -> RGB."""
    if arr.dtype == np.uint16:
        depth, ctype, raw = 16, 0, arr.astype(">u2").view(np.uint8).reshape(arr.shape[0], -1)
    elif arr.ndim == 2:
        depth, ctype, raw = 8, 0, arr
    else:
        depth, ctype, raw = 8, 2, arr.reshape(arr.shape[0], -1)
    h, w = arr.shape[:2]
    rows = np.concatenate([np.full((h, 1), filter_type, np.uint8), raw], axis=1)
    data = zlib.compress(rows.tobytes(), 6)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def read_png(path):
    """A small independent decoder (16/8-bit grey, all five filters) for references."""
    d = pathlib.Path(path).read_bytes()
    pos, idat = 8, b""
    while pos < len(d):
        n, = struct.unpack(">I", d[pos:pos + 4])
        t = d[pos + 4:pos + 8]
        if t == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", d[pos + 8:pos + 18])
        elif t == b"IDAT":
            idat += d[pos + 8:pos + 8 + n]
        pos += 12 + n
    assert ctype == 0
    bpp = depth // 8
    rb = w * bpp
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, rb + 1)
    out = np.zeros((h, rb), np.uint8)
    prev = np.zeros(rb, np.int64)
    for y in range(h):
        f, x = raw[y, 0], raw[y, 1:].astype(np.int64)
        if f == 0:
            cur = x
        elif f == 2:
            cur = (x + prev) & 255
        else:
            cur = np.zeros(rb, np.int64)
            for i in range(rb):
                a = cur[i - bpp] if i >= bpp else 0
                c = prev[i - bpp] if i >= bpp else 0
                p = a if f == 1 else ((a + prev[i]) >> 1 if f == 3 else _paeth(a, prev[i], c))
                cur[i] = (x[i] + p) & 255
        out[y] = cur
        prev = cur
    if depth == 16:
        return out.view(">u2").astype(np.uint16).reshape(h, w)
    return out.astype(np.uint16)


# ----------------------------------------------------------------------------- reference

def mmdet_image(inst_img):
    """MMDetection load_img_info's annotations of one instance image."""
    import pycocotools.mask as mu
    anns = []
    for inst_id in np.unique(inst_img[inst_img >= 24]):
        label_id = inst_id // 1000 if inst_id >= 1000 else inst_id
        _, has_inst, ignore = LABELS[int(label_id)]
        if not has_inst or ignore:
            continue
        mask = np.asarray(inst_img == inst_id, dtype=np.uint8, order="F")
        rle = mu.encode(mask[:, :, None])[0]
        area, bbox = mu.area(rle), mu.toBbox(rle)
        rle["counts"] = rle["counts"].decode()
        anns.append(dict(iscrowd=int(inst_id < 1000), category_id=int(label_id),
                         bbox=bbox.tolist(), area=area.tolist(), segmentation=rle))
    return anns


def mmdet_reference(root, split, images=None):
    """The JSON text MMDetection writes for a split, images sorted by file name.
    images: optional {file_name: label image} to use instead of reading PNGs."""
    img_dir = pathlib.Path(root, "leftImg8bit", split)
    out = {"images": [], "categories": [], "annotations": []}
    ann_id = 0
    files = sorted(str(p.relative_to(img_dir)) for p in img_dir.glob("*/*.png"))
    for img_id, rel in enumerate(files):
        stem = rel[:-len("leftImg8bit.png")]
        if images is not None:
            inst = images[rel]
        else:
            inst = read_png(pathlib.Path(root, "gtFine", split, stem + "gtFine_instanceIds.png"))
        for a in mmdet_image(inst):
            a["image_id"], a["id"] = img_id, ann_id
            ann_id += 1
            out["annotations"].append(a)
        out["images"].append(dict(file_name=rel, height=inst.shape[0], width=inst.shape[1],
                                  segm_file=stem + "gtFine_labelIds.png", id=img_id))
    out["categories"] = [dict(id=i, name=LABELS[i][0]) for i in EVAL_IDS]
    return json.dumps(out)


def coco_check(path):
    """pycocotools loads it, and GT-as-detections gives AP 1.0 (bbox and segm).

    COCOeval records a match as the matched GT's annotation id and reads 0 as "no
    match" (cocoeval.py evaluateImg/accumulate), so the annotation with id 0 that
    MMDetection's numbering starts with can never count as found. The evaluation
    therefore runs on a copy with annotation ids + 1; nothing else is changed."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        COCO(str(path))
        data = json.loads(pathlib.Path(path).read_text())
        for a in data.get("annotations", []):
            a["id"] += 1
        gt = COCO()
        gt.dataset = data
        gt.createIndex()
        dets = [dict(image_id=a["image_id"], category_id=a["category_id"], bbox=a["bbox"],
                     segmentation=a["segmentation"], score=1.0)
                for a in gt.dataset["annotations"] if not a["iscrowd"]]
        if not dets:
            return gt
        for kind in ("bbox", "segm"):
            dt = gt.loadRes([dict(d) for d in dets])
            ev = COCOeval(gt, dt, kind)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0), (path, kind, ev.stats[:3])
    return gt


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def gen_tool(shared_dir):
    p = shared_dir / "tools" / "gen_cityscapes.py"
    if not p.exists():
        pytest.skip(f"{p} is absent")
    return p


@pytest.fixture(scope="session")
def gen_root(tmp_path_factory, gen_tool):
    """6 train, 2 val, 1 test image of 512x256 from the shared generator."""
    root = tmp_path_factory.mktemp("gen")
    for split, n, seed in (("train", 6, 1), ("val", 2, 2), ("test", 1, 3)):
        subprocess.run([sys.executable, str(gen_tool), str(root), "--images", str(n),
                        "--seed", str(seed), "--width", "512", "--height", "256",
                        "--split", split, "-q"], check=True)
    return root


def make_root(tmp_path, images, split="val", city="city"):
    """A tiny dataset: images = {stem: uint16 array or raw bytes of the GT PNG}."""
    for stem, content in images.items():
        img = tmp_path / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
        gt = tmp_path / "gtFine" / split / city / f"{stem}_gtFine_instanceIds.png"
        img.parent.mkdir(parents=True, exist_ok=True)
        gt.parent.mkdir(parents=True, exist_ok=True)
        shape = content.shape if isinstance(content, np.ndarray) else (12, 10)
        img.write_bytes(png_bytes(np.zeros(shape[:2] + (3,), np.uint8)))
        gt.write_bytes(content if isinstance(content, bytes) else png_bytes(content))
    return tmp_path


def sample_ids(h=12, w=10):
    a = np.full((h, w), 7, np.uint16)          # road
    a[1:4, 1:5] = 26000                          # car 0
    a[5:9, 2:3] = 24001                          # person 1
    a[0:2, 7:10] = 26                            # car crowd
    a[9:12, 6:9] = 29000                         # caravan: not evaluated
    a[10, 0] = 33005                             # bicycle, a single pixel
    return a


def outputs(d):
    return sorted(p.name for p in pathlib.Path(d).iterdir()) if pathlib.Path(d).exists() else []


# ----------------------------------------------------------------------------- tests

def test_generated_matches_mmdetection_bytes(bin_dir, gen_root, tmp_path):
    out = tmp_path / "out"
    cp = run(PROG, gen_root, "-o", out, "-j", "2", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr.startswith(f"{PROG}: 3 splits, 9 images, ")
    for split in ("train", "val", "test"):
        path = out / f"instancesonly_filtered_gtFine_{split}.json"
        assert path.read_text() == mmdet_reference(gen_root, split), split
        gt = coco_check(path)
        assert len(gt.dataset["images"]) == {"train": 6, "val": 2, "test": 1}[split]
    assert outputs(out) == [f"instancesonly_filtered_gtFine_{s}.json" for s in ("test", "train", "val")]


def test_threads_and_default_outdir(bin_dir, gen_root, tmp_path):
    ref = None
    for j in ("1", "3", "16"):
        out = tmp_path / f"j{j}"
        assert run(PROG, gen_root, "-o", out, "-j", j, "-q", bin_dir=bin_dir).returncode == 0
        data = (out / "instancesonly_filtered_gtFine_train.json").read_bytes()
        assert ref is None or data == ref
        ref = data
    # default OUTDIR = ROOT/annotations; -q prints nothing
    import shutil
    root = tmp_path / "copy"
    shutil.copytree(gen_root, root)
    cp = run(PROG, root, "-q", "--splits", "val", bin_dir=bin_dir)
    assert (cp.returncode, cp.stdout, cp.stderr) == (0, "", "")
    assert outputs(root / "annotations") == ["instancesonly_filtered_gtFine_val.json"]


def test_tiny_semantics_and_contiguous_ids(bin_dir, tmp_path):
    ids = sample_ids()
    root = make_root(tmp_path / "d", {"b_000001_000019": ids, "a_000000_000019": ids[::-1].copy()})
    cp = run(PROG, root, "-o", tmp_path / "o", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    text = (tmp_path / "o" / "instancesonly_filtered_gtFine_val.json").read_text()
    images = {"city/a_000000_000019_leftImg8bit.png": ids[::-1].copy(),
              "city/b_000001_000019_leftImg8bit.png": ids}
    assert text == mmdet_reference(root, "val", images)
    d = json.loads(text)
    first = [a for a in d["annotations"] if a["image_id"] == 1]
    # ascending pixel id: crowd 26, then 24001, 26000, 33005; caravan dropped
    assert [(a["category_id"], a["iscrowd"], a["area"]) for a in first] == [
        (26, 1, 6), (24, 0, 4), (26, 0, 12), (33, 0, 1)]
    assert first[2]["bbox"] == [1.0, 1.0, 4.0, 3.0]
    assert [a["id"] for a in d["annotations"]] == list(range(8))
    coco_check(tmp_path / "o" / "instancesonly_filtered_gtFine_val.json")

    cp = run(PROG, root, "-o", tmp_path / "c", "--contiguous-ids", bin_dir=bin_dir)
    assert cp.returncode == 0
    c = json.loads((tmp_path / "c" / "instancesonly_filtered_gtFine_val.json").read_text())
    assert c["categories"] == [{"id": i + 1, "name": LABELS[k][0]} for i, k in enumerate(EVAL_IDS)]
    assert [a["category_id"] for a in c["annotations"]] == [
        EVAL_IDS.index(a["category_id"]) + 1 for a in d["annotations"]]
    coco_check(tmp_path / "c" / "instancesonly_filtered_gtFine_val.json")


def test_empty_split_keeps_annotations_key(bin_dir, tmp_path):
    a = np.zeros((6, 8), np.uint16)
    a[4:, :] = 1                                  # ego vehicle only, like the test split
    root = make_root(tmp_path / "d", {"x_000000_000019": a}, split="test")
    cp = run(PROG, root, "-o", tmp_path / "o", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    text = (tmp_path / "o" / "instancesonly_filtered_gtFine_test.json").read_text()
    assert text.endswith('"annotations": []}')
    assert json.loads(text)["images"][0]["height"] == 6
    coco_check(tmp_path / "o" / "instancesonly_filtered_gtFine_test.json")


def test_unicode_file_names(bin_dir, tmp_path):
    root = make_root(tmp_path / "d", {"zürich_000000_000019": sample_ids()}, city="zürich")
    cp = run(PROG, root, "-o", tmp_path / "o", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    text = (tmp_path / "o" / "instancesonly_filtered_gtFine_val.json").read_text()
    assert "z\\u00fcrich/z\\u00fcrich_000000_000019_leftImg8bit.png" in text
    assert text == mmdet_reference(root, "val")


def bad_case(tmp_path, name, content):
    good = sample_ids()
    return make_root(tmp_path / name, {"a_000000_000019": good, "b_000000_000019": content})


BAD = {
    "8bit": (png_bytes(np.full((12, 10), 26, np.uint8)),
             "8-bit greyscale PNG, expected 16-bit (instance ids >= 1000 need 16 bits)"),
    "rgb": (png_bytes(np.zeros((12, 10, 3), np.uint8)), "RGB PNG, expected 16-bit greyscale"),
    "truncated": (png_bytes(sample_ids())[:-30], "truncated PNG"),
    "badcrc": (png_bytes(sample_ids())[:45] + b"\xff" + png_bytes(sample_ids())[46:],
               "bad CRC in chunk IDAT"),
    "notpng": (b"hello", "not a PNG file"),
    "unknown_id": (png_bytes(np.full((12, 10), 50001, np.uint16)),
                   "pixel value 50001 is not a Cityscapes id (no label 50)"),
    "size": (png_bytes(np.zeros((5, 5), np.uint16)),
             "size 5x5 does not match"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_gt_file(bin_dir, tmp_path, case):
    content, msg = BAD[case]
    root = bad_case(tmp_path, case, content)
    if case == "size":   # the image says 10x12, the GT 5x5
        pass
    gt = root / "gtFine" / "val" / "city" / "b_000000_000019_gtFine_instanceIds.png"
    out = tmp_path / "o"
    cp = run(PROG, root, "-o", out, bin_dir=bin_dir)
    assert cp.returncode == 2, cp.stderr
    assert cp.stderr.startswith(f"{PROG}: {gt}: ") and msg in cp.stderr, cp.stderr
    assert cp.stderr.count("\n") == 1
    assert outputs(out) == []                    # atomic: nothing written
    cp = run(PROG, root, "-o", out, "--skip-missing", bin_dir=bin_dir)
    assert cp.returncode == 1, cp.stderr
    assert f"{PROG}: skipped: {gt}: " in cp.stderr
    assert ", 1 images, 4 annotations (1 crowd), 1 skipped, " in cp.stderr
    d = json.loads((out / "instancesonly_filtered_gtFine_val.json").read_text())
    assert [i["file_name"] for i in d["images"]] == ["city/a_000000_000019_leftImg8bit.png"]
    coco_check(out / "instancesonly_filtered_gtFine_val.json")


def test_allow_8bit(bin_dir, tmp_path):
    root = bad_case(tmp_path, "eight", BAD["8bit"][0])
    cp = run(PROG, root, "-o", tmp_path / "o", "--allow-8bit", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    d = json.loads((tmp_path / "o" / "instancesonly_filtered_gtFine_val.json").read_text())
    # value 26 in an 8-bit file is a car crowd region, as OpenCV's IMREAD_UNCHANGED reads it
    assert [(a["image_id"], a["category_id"], a["iscrowd"], a["area"]) for a in d["annotations"]][-1] == (1, 26, 1, 120)


def test_missing_gt_and_bad_names(bin_dir, tmp_path):
    root = make_root(tmp_path / "d", {"a_000000_000019": sample_ids(), "b_000000_000019": sample_ids()})
    gt = root / "gtFine" / "val" / "city" / "b_000000_000019_gtFine_instanceIds.png"
    gt.unlink()
    cp = run(PROG, root, "-o", tmp_path / "o", bin_dir=bin_dir)
    assert cp.returncode == 2
    assert cp.stderr == f"{PROG}: {gt}: No such file or directory\n"
    assert outputs(tmp_path / "o") == []
    cp = run(PROG, root, "-o", tmp_path / "o", "--skip-missing", bin_dir=bin_dir)
    assert cp.returncode == 1 and ", 1 skipped, " in cp.stderr

    root2 = make_root(tmp_path / "e", {"a_000000_000019": sample_ids()})
    stray = root2 / "leftImg8bit" / "val" / "city" / "notes.png"
    stray.write_bytes(b"x")
    (root2 / "leftImg8bit" / "val" / "city" / ".hidden.png").write_bytes(b"x")
    cp = run(PROG, root2, "-o", tmp_path / "o2", bin_dir=bin_dir)
    assert cp.returncode == 2
    assert cp.stderr == f"{PROG}: {stray}: not a *_leftImg8bit.png file\n"
    cp = run(PROG, root2, "-o", tmp_path / "o2", "--skip-missing", bin_dir=bin_dir)
    assert cp.returncode == 1


def test_splits_and_layout_errors(bin_dir, tmp_path):
    root = make_root(tmp_path / "d", {"a_000000_000019": sample_ids()})
    cp = run(PROG, root, "-o", tmp_path / "o", "--splits", "val,train", bin_dir=bin_dir)
    assert cp.returncode == 2
    assert cp.stderr == f"{PROG}: {root}/leftImg8bit/train: split folder not found\n"
    assert outputs(tmp_path / "o") == []
    cp = run(PROG, tmp_path / "nowhere", bin_dir=bin_dir)
    assert cp.returncode == 2 and f"{tmp_path}/nowhere: No such file or directory" in cp.stderr
    (tmp_path / "empty" / "leftImg8bit" / "val").mkdir(parents=True)
    cp = run(PROG, tmp_path / "empty", bin_dir=bin_dir)
    assert cp.returncode == 2
    assert cp.stderr == f"{PROG}: {tmp_path}/empty/leftImg8bit/val: no images (<city>/*_leftImg8bit.png)\n"
    cp = run(PROG, tmp_path, bin_dir=bin_dir)
    assert cp.returncode == 2 and "no leftImg8bit folder" in cp.stderr
    (tmp_path / "file").write_text("x")
    cp = run(PROG, root, "-o", tmp_path / "file", bin_dir=bin_dir)
    assert cp.returncode == 2 and "cannot create output folder" in cp.stderr


def test_usage(bin_dir):
    cp = run(PROG, "--help", bin_dir=bin_dir)
    assert cp.returncode == 0 and "Usage: quern-cityscapes2coco ROOT" in cp.stdout
    for opt in ("--out-dir", "--jobs", "--splits", "--contiguous-ids", "--from", "--skip-missing",
                "--allow-8bit", "--quiet", "--version", "Example:"):
        assert opt in cp.stdout
    cp = run(PROG, "--version", bin_dir=bin_dir)
    assert cp.returncode == 0 and cp.stdout.startswith("quern-cityscapes2coco ")
    for args, msg in ((["x", "-j", "0"], "-j wants a number"), ([], "missing ROOT"),
                      (["a", "b"], "one ROOT only"), (["x", "--bogus"], "unknown option '--bogus'"),
                      (["x", "--from", "json"], "--from wants"), (["x", "-o"], "needs a value"),
                      (["x", "--splits", "../x"], "is not a split name")):
        cp = run(PROG, *args, bin_dir=bin_dir)
        assert cp.returncode == 2 and msg in cp.stderr, (args, cp.stderr)


# ----------------------------------------------------------------------------- polygons

def json2instance(doc):
    """cityscapesScripts json2instanceImg.createInstanceImage with Pillow."""
    from PIL import Image, ImageDraw
    img = Image.new("I", (doc["imgWidth"], doc["imgHeight"]), 0)
    draw = ImageDraw.Draw(img)
    count = {}
    for obj in doc["objects"]:
        if obj.get("deleted", 0):
            continue
        label, group = obj["label"], False
        if label not in NAME2ID and label.endswith("group"):
            label, group = label[:-5], True
        lid = NAME2ID[label]
        if LABELS[lid][1] and not group:
            k = count.get(label, 0)
            count[label] = k + 1
            lid = lid * 1000 + k
        if lid < 0:
            continue
        draw.polygon([tuple(p) for p in obj["polygon"]], fill=lid)
    return np.array(img).astype(np.uint16)


def random_polygons(rng, w, h, n):
    names = ["road", "sky", "car", "person", "rider", "bicycle", "bus", "cargroup",
             "persongroup", "truck", "train", "motorcycle", "caravan", "license plate"]
    objs = []
    for i in range(n):
        k = int(rng.integers(2, 12))
        cx, cy = rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)
        r = rng.uniform(1, max(w, h) / 2)
        pts = [[cx + r * rng.uniform(-1, 1), cy + r * rng.uniform(-1, 1)] for _ in range(k)]
        style = i % 4
        if style == 0:       # integer corners (the real data)
            pts = [[int(round(x)), int(round(y))] for x, y in pts]
        elif style == 1:     # axis-aligned steps: runs of horizontal edges
            pts = [[int(x), int(y)] for x, y in pts]
            pts = [p for a, b in zip(pts, pts[1:] + pts[:1]) for p in (a, [b[0], a[1]])]
        elif style == 2:     # floats, truncated by Pillow
            pts = [[round(x, 2), round(y, 2)] for x, y in pts]
        obj = {"label": names[int(rng.integers(len(names)))], "polygon": pts}
        if i % 9 == 8:
            obj["deleted"] = 1
        objs.append(obj)
    return {"imgHeight": h, "imgWidth": w, "objects": objs}


def write_poly_root(root, docs, split="train"):
    for stem, doc in docs.items():
        img = root / "leftImg8bit" / split / "c" / f"{stem}_leftImg8bit.png"
        gt = root / "gtFine" / split / "c" / f"{stem}_gtFine_polygons.json"
        img.parent.mkdir(parents=True, exist_ok=True)
        gt.parent.mkdir(parents=True, exist_ok=True)
        img.write_bytes(png_bytes(np.zeros((doc["imgHeight"], doc["imgWidth"], 3), np.uint8)))
        gt.write_text(json.dumps(doc, indent=2))


def need_pillow13():
    PIL = pytest.importorskip("PIL", reason="Pillow is not installed: no polygon reference")
    if int(PIL.__version__.split(".")[0]) != 13:
        pytest.skip(f"Pillow {PIL.__version__}: the fill ported is Pillow 13's")


def test_polygons_match_pillow(bin_dir, tmp_path):
    need_pillow13()
    rng = np.random.default_rng(5)
    docs = {f"p_{i:06d}_000019": random_polygons(rng, int(rng.integers(8, 90)),
                                                 int(rng.integers(8, 70)), 14)
            for i in range(40)}
    docs["big_000000_000019"] = {"imgHeight": 30, "imgWidth": 40, "objects": [
        {"label": "car", "polygon": [[-1000000, -1000000], [1000000, 5], [3, 1000000]]},
        {"label": "bus", "polygon": [[-999999.9, 7], [39, -1e6], [20.5, 29.9]]}]}
    write_poly_root(tmp_path, docs)
    cp = run(PROG, tmp_path, "-o", tmp_path / "o", "--from", "polygons", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    images = {f"c/{s}_leftImg8bit.png": json2instance(d) for s, d in docs.items()}
    text = (tmp_path / "o" / "instancesonly_filtered_gtFine_train.json").read_text()
    assert text == mmdet_reference(tmp_path, "train", images)
    coco_check(tmp_path / "o" / "instancesonly_filtered_gtFine_train.json")


def test_polygons_generated(bin_dir, gen_root, tmp_path):
    need_pillow13()
    cp = run(PROG, gen_root, "-o", tmp_path, "--from", "polygons", "--splits", "train",
             bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    gt = gen_root / "gtFine" / "train"
    images = {f"{p.parent.name}/{p.name[:-len('gtFine_polygons.json')]}leftImg8bit.png":
              json2instance(json.loads(p.read_text())) for p in gt.glob("*/*_polygons.json")}
    text = (tmp_path / "instancesonly_filtered_gtFine_train.json").read_text()
    assert text == mmdet_reference(gen_root, "train", images)
    coco_check(tmp_path / "instancesonly_filtered_gtFine_train.json")


POLY_BAD = {
    "syntax": ('{"imgHeight": 4, "imgWidth": 4, "objects": [}', ":1:45: "),
    "label": ({"imgHeight": 4, "imgWidth": 4, "objects": [
        {"label": "car", "polygon": [[0, 0], [2, 0], [2, 2]]},
        {"label": "spaceship", "polygon": [[0, 0], [2, 0], [2, 2]]}]},
        "object 1: unknown label 'spaceship'"),
    "size": ({"imgHeight": 0, "imgWidth": 4, "objects": []}, "'imgHeight' missing or not a positive integer"),
    "onepoint": ({"imgHeight": 4, "imgWidth": 4, "objects": [{"label": "car", "polygon": [[1, 1]]}]},
                 "object 0: polygon has 1 point, needs at least 2"),
    "point": ({"imgHeight": 4, "imgWidth": 4, "objects": [{"label": "car", "polygon": [[1, "a"], [2, 2]]}]},
              "object 0: point 0 is not a pair of numbers within +-1e6"),
    "objects": ({"imgHeight": 4, "imgWidth": 4}, "'objects' missing or not a list"),
    "huge": ({"imgHeight": 65535, "imgWidth": 65535, "objects": []}, "image too large (65535x65535)"),
    "notobject": ("[1, 2]", "top level is not an object"),
    "labeltype": ({"imgHeight": 4, "imgWidth": 4, "objects": [{"label": 3, "polygon": []}]},
                  "object 0: 'label' missing or not a string"),
}


@pytest.mark.parametrize("case", sorted(POLY_BAD))
def test_polygons_bad(bin_dir, tmp_path, case):
    doc, msg = POLY_BAD[case]
    write_poly_root(tmp_path, {"a_000000_000019": {"imgHeight": 4, "imgWidth": 4, "objects": []}})
    gt = tmp_path / "gtFine" / "train" / "c" / "a_000000_000019_gtFine_polygons.json"
    gt.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    cp = run(PROG, tmp_path, "-o", tmp_path / "o", "--from", "polygons", bin_dir=bin_dir)
    assert cp.returncode == 2, cp.stderr
    assert cp.stderr.startswith(f"{PROG}: {gt}") and msg in cp.stderr, cp.stderr
    assert outputs(tmp_path / "o") == []


def test_polygons_deleted_group_plate(bin_dir, tmp_path):
    doc = {"imgHeight": 6, "imgWidth": 6, "objects": [
        {"label": "car", "polygon": [[0, 0], [3, 0], [3, 3], [0, 3]]},
        {"label": "car", "polygon": [[0, 0], [6, 0], [6, 6]], "deleted": 1},
        {"label": "cargroup", "polygon": [[3, 3], [6, 3], [6, 6], [3, 6]]},
        {"label": "license plate", "polygon": [[0, 0], [6, 0], [6, 6], [0, 6]]},
        {"label": "car", "polygon": [[4, 0], [6, 0], [6, 2], [4, 2]]}]}
    write_poly_root(tmp_path, {"a_000000_000019": doc})
    cp = run(PROG, tmp_path, "-o", tmp_path / "o", "--from", "polygons", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    d = json.loads((tmp_path / "o" / "instancesonly_filtered_gtFine_train.json").read_text())
    # crowd car first (pixel id 26), then 26000 and 26001 (the deleted object takes no k)
    assert [(a["iscrowd"], a["category_id"]) for a in d["annotations"]] == [(1, 26), (0, 26), (0, 26)]


# ----------------------------------------------------------------------------- real files

def test_real_mmseg_pseudo(bin_dir, shared_dir, tmp_path):
    root = shared_dir / "data" / "real" / "cityscapes" / "mmseg_pseudo"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    cp = run(PROG, root, "-o", tmp_path, bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr.startswith(f"{PROG}: 1 split, 1 images, 7 annotations (0 crowd), 0 skipped")
    text = (tmp_path / "instancesonly_filtered_gtFine_val.json").read_text()
    assert text == mmdet_reference(root, "val")
    coco_check(tmp_path / "instancesonly_filtered_gtFine_val.json")


def test_real_datumaro_8bit(bin_dir, shared_dir, tmp_path):
    root = shared_dir / "data" / "real" / "cityscapes" / "datumaro_synthetic"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    gt = root / "gtFine" / "val" / "defaultcity" / "defaultcity_000001_000019_gtFine_instanceIds.png"
    cp = run(PROG, root, "-o", tmp_path, bin_dir=bin_dir)
    assert cp.returncode == 2
    assert cp.stderr == (f"{PROG}: {gt}: 8-bit greyscale PNG, expected 16-bit "
                         "(instance ids >= 1000 need 16 bits)\n")
    cp = run(PROG, root, "-o", tmp_path, "--allow-8bit", bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    text = (tmp_path / "instancesonly_filtered_gtFine_val.json").read_text()
    assert text == mmdet_reference(root, "val")        # values 1 and 3: no annotations
    assert json.loads(text)["annotations"] == []


def test_progress_bar_on_a_terminal(bin_dir, gen_root, tmp_path):
    """On a terminal stderr gets a progress bar (split, done/total, rate, ETA) and then the
    summary line; with -q nothing; stdout stays empty either way."""
    for quiet in (False, True):
        args = [bin_dir / PROG, gen_root, "-o", tmp_path / "o", "--splits", "train"]
        rc, out, err = run_on_pty(args + (["-q"] if quiet else []))
        assert rc == 0
        if quiet:
            assert (out, err) == ("", "")
        else:
            assert "train [" in err and "/6 " in err and "/s ETA " in err
            assert out == "" and f"{PROG}: 1 split, 6 images, " in err


def test_split_named_twice(bin_dir, tmp_path):
    root = make_root(tmp_path / "d", {"a_000000_000019": sample_ids()})
    cp = run(PROG, root, "-o", tmp_path / "o", "--splits", "val,val", bin_dir=bin_dir)
    assert cp.returncode == 2 and "--splits: 'val' named twice" in cp.stderr


def test_start_id_for_cocoeval(bin_dir, gen_root, tmp_path):
    """--start-id 1 shifts image and annotation ids (nothing else), and pycocotools'
    COCOeval scores the file as written: AP 1.0 without renumbering."""
    base, shifted = tmp_path / "b", tmp_path / "s"
    assert run(PROG, gen_root, "-o", base, "--splits", "val", "-q", bin_dir=bin_dir).returncode == 0
    cp = run(PROG, gen_root, "-o", shifted, "--splits", "val", "-q", "--start-id", "1",
             bin_dir=bin_dir)
    assert cp.returncode == 0, cp.stderr
    name = "instancesonly_filtered_gtFine_val.json"
    a = json.loads((base / name).read_text())
    b = json.loads((shifted / name).read_text())
    assert [i["id"] for i in b["images"]] == [i["id"] + 1 for i in a["images"]]
    assert [x["id"] for x in b["annotations"]] == list(range(1, len(a["annotations"]) + 1))
    for x, y in zip(a["annotations"], b["annotations"]):
        assert {**x, "id": 0, "image_id": 0} == {**y, "id": 0, "image_id": 0}
        assert y["image_id"] == x["image_id"] + 1
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(shifted / name))
        dets = [dict(image_id=x["image_id"], category_id=x["category_id"], bbox=x["bbox"],
                     segmentation=x["segmentation"], score=1.0)
                for x in gt.dataset["annotations"] if not x["iscrowd"]]
        for kind in ("bbox", "segm"):
            ev = COCOeval(gt, gt.loadRes(dets), kind)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
            assert ev.stats[0] == pytest.approx(1.0), kind
    bad = run(PROG, gen_root, "-o", tmp_path / "x", "--start-id", "-3", bin_dir=bin_dir)
    assert bad.returncode == 2 and "--start-id wants a number" in bad.stderr


def busy_ids(seed):
    """A 64x64 GT with 40 small cars: enough annotation text to size the outputs."""
    rng = np.random.default_rng(seed)
    a = np.full((64, 64), 7, np.uint16)
    for k in range(40):
        y, x = rng.integers(0, 60, 2)
        a[y:y + rng.integers(1, 5), x:x + rng.integers(1, 5)] = 26000 + k
    return a


def output_sizes(bin_dir, root, out):
    """Converts root into out unhindered; the size of each split's output."""
    assert run(PROG, root, "-o", out, "-q", bin_dir=bin_dir).returncode == 0
    return {s: (out / f"instancesonly_filtered_gtFine_{s}.json").stat().st_size
            for s in ("train", "val")}


def run_size_limited(bin_dir, root, out, cap):
    """Converts root into out with files limited to cap bytes (SIGXFSZ ignored: writes
    past it fail with EFBIG, as on a full disk)."""
    import resource
    import signal

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return run(PROG, root, "-o", out, bin_dir=bin_dir, preexec_fn=limit)


def test_write_error_leaves_no_split(bin_dir, tmp_path):
    """A file-size limit that only the val output exceeds (SIGXFSZ ignored, writes fail with
    EFBIG as on a full disk): exit 3 naming val, and the train output, though written
    whole, is not committed either; no temporary is left."""
    root = make_root(tmp_path / "d", {"a_000000_000019": busy_ids(1)}, split="train")
    make_root(root, {"b_000000_000019": busy_ids(2), "c_000000_000019": busy_ids(3)})
    size = output_sizes(bin_dir, root, tmp_path / "ok")
    # under the val file's size but over its annotations alone (the spilled temporary)
    cap = size["val"] - 100
    assert size["train"] < cap
    out = tmp_path / "o"
    cp = run_size_limited(bin_dir, root, out, cap)
    assert cp.returncode == 3, cp.stderr
    assert cp.stderr.startswith(f"{PROG}: {out}/instancesonly_filtered_gtFine_val.json: "
                                "cannot write output: File too large\n")
    assert outputs(out) == []


def test_write_error_in_the_image_list_names_its_cause(bin_dir, tmp_path):
    """The train output fails in its image list (120 images without instances, so no
    spilled annotations to copy), and val is converted after it: the message still
    gives that write's cause, not whatever a later call left in errno."""
    empty = np.full((16, 16), 7, np.uint16)   # road only: no instances
    root = make_root(tmp_path / "d", {f"a_{i:06d}_000019": empty for i in range(120)},
                     split="train")
    make_root(root, {"b_000000_000019": busy_ids(2)}, split="val")
    size = output_sizes(bin_dir, root, tmp_path / "ok")
    cap = 8000
    assert size["val"] < cap < size["train"]
    out = tmp_path / "o"
    cp = run_size_limited(bin_dir, root, out, cap)
    assert cp.returncode == 3, cp.stderr
    assert cp.stderr == (f"{PROG}: {out}/instancesonly_filtered_gtFine_train.json: "
                         "cannot write output: File too large\n")
    assert outputs(out) == []


def test_failed_run_leaves_no_new_folder(bin_dir, tmp_path):
    """The output folder a failed run created is removed again; one that was there stays."""
    root = bad_case(tmp_path, "d", BAD["notpng"][0])
    cp = run(PROG, root, bin_dir=bin_dir)
    assert cp.returncode == 2 and "not a PNG file" in cp.stderr
    assert not (root / "annotations").exists()
    cp = run(PROG, root, "-o", tmp_path / "a" / "b", bin_dir=bin_dir)
    assert cp.returncode == 2 and not (tmp_path / "a" / "b").exists()
    (root / "annotations").mkdir()
    cp = run(PROG, root, bin_dir=bin_dir)
    assert cp.returncode == 2 and (root / "annotations").is_dir()
