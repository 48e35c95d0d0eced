"""End-to-end tests of quern-via2coco.

Fixtures are generated here (every VIA flavour, every shape, every category
mode, every error case); images are minimal JPEG/PNG headers, which is all the
converter reads. ../shared/tools/gen_via.py data and the real files in
../shared/data/real/via are used when present (skipped, saying so, otherwise).
Every COCO file produced is loaded with pycocotools COCO(), and COCOeval fed the
ground truth as detections must give AP 1.0 for bbox and segm.
"""
import contextlib
import io
import json
import math
import os
import pathlib
import stat
import struct
import subprocess
import sys
import zlib

import pytest

from conftest import ROOT, SHARED, run, run_on_pty

pycocotools = pytest.importorskip("pycocotools")
from pycocotools import mask as mask_util  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

PROG = "quern-via2coco"
REAL = SHARED / "data" / "real" / "via"


# ---------------------------------------------------------------- image headers

def jpeg_bytes(w, h, orientation=None, little=False):
    """A minimal JPEG: SOI, optional EXIF APP1 with an orientation, SOF0, EOI."""
    out = b"\xff\xd8"
    if orientation is not None:
        if little:
            tiff = b"II" + struct.pack("<HI", 42, 8) + struct.pack("<H", 1) + \
                struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
        else:
            tiff = b"MM" + struct.pack(">HI", 42, 8) + struct.pack(">H", 1) + \
                struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
        payload = b"Exif\0\0" + tiff
        out += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    out += b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, h, w, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return out + b"\xff\xd9"


def png_bytes(w, h):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


# ---------------------------------------------------------------- helpers

def convert(bin_dir, *args, **kw):
    return run(PROG, *args, bin_dir=bin_dir, **kw)


def summary_counts(stderr):
    """Numbers of the one-line summary, by name."""
    line = [l for l in stderr.splitlines() if l.startswith(PROG + ": ")][-1]
    import re
    out = {}
    for num, name in re.findall(r"(\d+) (images|annotations|categories|points|polylines|unknown class|"
                                r"missing images|regions\)|outside|clipped)", line):
        out.setdefault(name, int(num))
    return out


def coco_eval_ok(path):
    """Loads path with COCO() and checks AP 1.0 for bbox and segm, GT as detections."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
    anns = gt.loadAnns(gt.getAnnIds())
    if not anns:
        return gt
    for iou_type in ("bbox", "segm"):
        dets = []
        for a in anns:
            d = {"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0}
            if iou_type == "bbox":
                d["bbox"] = a["bbox"]
            else:
                d["segmentation"] = gt.annToRLE(a)
            dets.append(d)
        with contextlib.redirect_stdout(io.StringIO()):
            dt = gt.loadRes(dets)
            ev = COCOeval(gt, dt, iou_type)
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
        assert ev.stats[0] == pytest.approx(1.0), (path, iou_type, ev.stats[0])
    return gt


def load(path):
    return json.loads(pathlib.Path(path).read_text())


# ---------------------------------------------------------------- fixtures: one data set, four flavours

# (file name, width, height, [(shape, class), ...]); shapes in VIA 2 form
IMAGES = [
    ("a.jpg", 640, 480, [
        ({"name": "polygon", "all_points_x": [10, 100, 60], "all_points_y": [10, 20, 90]}, "cat"),
        ({"name": "rect", "x": 200, "y": 100, "width": 50, "height": 40}, "dog"),
        ({"name": "point", "cx": 5, "cy": 5}, "cat"),
    ]),
    ("b.png", 320, 200, [
        ({"name": "circle", "cx": 100, "cy": 100, "r": 30}, "dog"),
        ({"name": "ellipse", "cx": 200, "cy": 100, "rx": 40, "ry": 20, "theta": 0}, "bird"),
        ({"name": "polyline", "all_points_x": [1, 50, 90], "all_points_y": [1, 40, 2]}, "cat"),
        ({"name": "polygon", "all_points_x": [250.5, 300.25, 300, 250], "all_points_y": [10, 10.5, 60, 60]},
         "bird"),
    ]),
    ("c.jpg", 100, 100, []),
]
CLASSES = ["bird", "cat", "dog"]


def write_images(d, images=IMAGES):
    for name, w, h, _ in images:
        (d / name).write_bytes(png_bytes(w, h) if name.endswith(".png") else jpeg_bytes(w, h))


def via2_meta(images=IMAGES, attr="label", as_list=True):
    meta = {}
    for name, w, h, regions in images:
        regs = [{"shape_attributes": s, "region_attributes": {attr: c} if c is not None else {}}
                for s, c in regions]
        key = name + "1234"
        if as_list:
            meta[key] = {"filename": name, "size": 1234, "regions": regs, "file_attributes": {}}
        else:
            meta[key] = {"fileref": "", "size": 1234, "filename": name, "base64_img_data": "",
                         "file_attributes": {}, "regions": {str(i): r for i, r in enumerate(regs)}}
    return meta


def via2_project(images=IMAGES, attr="label", atype="dropdown", options=None):
    meta = via2_meta(images, attr)
    if options is None:
        options = {c: c.upper() for c in CLASSES}
    return {"_via_settings": {"project": {"name": "t"}}, "_via_img_metadata": meta,
            "_via_attributes": {"region": {attr: {"type": atype, "description": "",
                                                  "options": options, "default_options": {}}},
                                "file": {}},
            "_via_data_format_version": "2.0.10",
            "_via_image_id_list": list(reversed(list(meta)))}


V3_SHAPE = {"point": 1, "rect": 2, "circle": 3, "ellipse": 4, "polyline": 6, "polygon": 7}


def v3_xy(s):
    n = s["name"]
    if n in ("polygon", "polyline"):
        xy = [v for p in zip(s["all_points_x"], s["all_points_y"]) for v in p]
    elif n == "rect":
        xy = [s["x"], s["y"], s["width"], s["height"]]
    elif n == "circle":
        xy = [s["cx"], s["cy"], s["r"]]
    elif n == "ellipse":
        xy = [s["cx"], s["cy"], s["rx"], s["ry"]]
    else:
        xy = [s["cx"], s["cy"]]
    return [V3_SHAPE[n]] + xy


def via3_project(images=IMAGES):
    files, views, meta, vids = {}, {}, {}, []
    opts = {str(i): c.upper() for i, c in enumerate(CLASSES)}
    for k, (name, w, h, regions) in enumerate(images, 1):
        files[str(k)] = {"fid": str(k), "fname": name, "type": 2, "loc": 1, "src": ""}
        views[str(k)] = {"fid_list": [str(k)]}
        vids.append(str(k))
        for j, (s, c) in enumerate(regions):
            meta["%d_r%d" % (k, j)] = {"vid": str(k), "flg": 0, "z": [], "xy": v3_xy(s),
                                       "av": {"1": str(CLASSES.index(c))}}
        meta["%d_file" % k] = {"vid": str(k), "flg": 0, "z": [], "xy": [], "av": {}}
    # a video view: skipped and counted
    files["99"] = {"fid": "99", "fname": "v.mp4", "type": 4, "loc": 1, "src": ""}
    views["99"] = {"fid_list": ["99"]}
    meta["99_x"] = {"vid": "99", "flg": 0, "z": [1.5], "xy": [2, 1, 1, 5, 5], "av": {}}
    return {"project": {"pid": "p", "rev": "1", "pname": "t", "data_format_version": "3.1.1",
                        "vid_list": vids + ["99"]},
            "config": {"file": {"loc_prefix": {"1": "", "2": "", "3": "", "4": ""}}, "ui": {}},
            "attribute": {"1": {"aname": "label", "anchor_id": "FILE1_Z0_XY1", "type": 4, "desc": "",
                                "options": opts, "default_option_id": ""}},
            "file": files, "view": views, "metadata": meta}


@pytest.fixture
def ds(tmp_path):
    write_images(tmp_path)
    return tmp_path


def dump(path, doc, **kw):
    path.write_text(json.dumps(doc, **kw))
    return path


def ann_key(doc):
    """Annotations as comparable tuples: (file, class name, segmentation, area, bbox)."""
    files = {i["id"]: i["file_name"] for i in doc["images"]}
    cats = {c["id"]: c["name"] for c in doc["categories"]}
    return sorted((files[a["image_id"]], cats[a["category_id"]].lower(), a["segmentation"],
                   a["area"], a["bbox"]) for a in doc["annotations"])


# ---------------------------------------------------------------- CLI basics

def test_help_and_version(bin_dir):
    cp = convert(bin_dir, "--help")
    assert cp.returncode == 0
    for opt in ("--output", "--format", "--class", "--category-attr", "--categories", "--attributes",
                "--skip-unknown", "--image-dir", "--skip-missing", "--area", "--clip", "--start-id",
                "--quiet", "--version", "Example", "72 vertices"):
        assert opt in cp.stdout, opt
    cp = convert(bin_dir, "--version")
    assert cp.returncode == 0 and cp.stdout.strip() == PROG + " 0.1.0"


@pytest.mark.parametrize("args,msg", [
    ([], "expected one input file, got 0"),
    (["a.json", "b.json", "-o", "x"], "expected one input file, got 2"),
    (["a.json", "-o", "x", "--bogus"], "unknown option --bogus"),
    (["a.json", "-o"], "option -o needs a value"),
    (["a.json", "-o", "x", "--format", "via4"], "--format: unknown format \"via4\""),
    (["a.json", "-o", "x", "--area", "box"], "--area: expected polygon or mask"),
    (["a.json", "-o", "x", "--start-id", "-1"], "--start-id: expected an integer"),
    (["a.json", "-o", "x"], "say where classes come from"),
    (["a.json", "-o", "x", "--class", "a", "--category-attr", "b"], "give --class or --category-attr, not both"),
    (["a.json", "--class", "a"], "need an input file and -o OUTPUT"),
    (["a.json", "-o", "x", "--class", "a", "--attributes", "f"], "--attributes is used with --category-attr"),
])
def test_usage_errors(bin_dir, tmp_path, args, msg):
    cp = convert(bin_dir, *args, cwd=tmp_path)
    assert cp.returncode == 2, cp.stderr
    assert cp.stderr.startswith(PROG + ": ") and msg in cp.stderr, cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- flavours, shapes, exact values

def test_every_flavour_gives_the_same_annotations(bin_dir, ds):
    v1 = dump(ds / "v1.json", via2_meta(as_list=False))
    v2 = dump(ds / "v2.json", via2_meta())
    p2 = dump(ds / "p2.json", via2_project())
    p3 = dump(ds / "p3.json", via3_project())
    keys = {}
    for src, fmt in ((v1, "via1"), (v2, "via2"), (p2, "via2-project"), (p3, "via3")):
        out = ds / (src.stem + ".coco.json")
        cp = convert(bin_dir, src, "-o", out, "--category-attr", "label")
        assert cp.returncode == 0, cp.stderr
        assert (PROG + ": " + fmt + ": 3 images, 5 annotations") in cp.stderr, cp.stderr
        c = summary_counts(cp.stderr)
        assert c["points"] == 1 and c["polylines"] == 1
        assert ("1 non-image views" in cp.stderr) == (fmt == "via3")
        coco_eval_ok(out)
        doc = load(out)
        keys[fmt] = ann_key(doc)
        # forced format gives the same
        cp2 = convert(bin_dir, src, "-o", ds / "forced.json", "--category-attr", "label", "--format", fmt)
        assert cp2.returncode == 0 and (ds / "forced.json").read_bytes() == out.read_bytes()
    assert keys["via1"] == keys["via2"] == keys["via2-project"] == keys["via3"]
    assert len(keys["via1"]) == 5


def test_exact_output_bytes_and_determinism(bin_dir, ds):
    src = dump(ds / "v1.json", via2_meta(IMAGES[:1], as_list=False))
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "-q")
    assert cp.returncode == 0 and cp.stderr == ""
    expected = (
        '{"info": {"description": "COCO instances converted from VIA by quern-via2coco", "version": "0.1.0"},\n'
        '"licenses": [],\n'
        '"images": [\n'
        '{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}\n'
        '],\n'
        '"annotations": [\n'
        '{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10.0,10.0,100.0,20.0,60.0,90.0]], '
        '"area": 3350.0, "bbox": [10.0,10.0,90.0,80.0], "iscrowd": 0},\n'
        '{"id": 2, "image_id": 1, "category_id": 2, "segmentation": '
        '[[200.0,100.0,250.0,100.0,250.0,140.0,200.0,140.0]], "area": 2000.0, "bbox": [200.0,100.0,50.0,40.0], '
        '"iscrowd": 0}\n'
        '],\n'
        '"categories": [\n'
        '{"id": 1, "name": "cat", "supercategory": "label"},\n'
        '{"id": 2, "name": "dog", "supercategory": "label"}\n'
        ']}\n')
    assert out.read_text() == expected
    first = out.read_bytes()
    for _ in range(2):
        assert convert(bin_dir, src, "-o", out, "--category-attr", "label", "-q").returncode == 0
        assert out.read_bytes() == first
    assert sorted(p.name for p in ds.iterdir()) == ["a.jpg", "b.png", "c.jpg", "out.json", "v1.json"]


def test_round_shapes_and_geometry(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label").returncode == 0
    doc = load(out)
    anns = doc["annotations"]
    by_file = {}
    for a in anns:
        by_file.setdefault(a["image_id"], []).append(a)
    circle, ellipse, quad = by_file[2]
    assert len(circle["segmentation"][0]) == 2 * 72
    assert circle["segmentation"][0][:2] == [130.0, 100.0]  # angle 0 first
    r2 = 30 * 30
    assert circle["area"] == pytest.approx(36 * r2 * math.sin(math.pi / 36), abs=0.05)
    assert circle["bbox"] == [70.0, 70.0, 60.0, 60.0]
    assert ellipse["bbox"] == [160.0, 80.0, 80.0, 40.0]
    xs, ys = quad["segmentation"][0][0::2], quad["segmentation"][0][1::2]
    assert xs == [250.5, 300.25, 300.0, 250.0] and ys == [10.0, 10.5, 60.0, 60.0]
    shoelace = abs(sum(xs[i] * ys[(i + 1) % 4] - xs[(i + 1) % 4] * ys[i] for i in range(4))) / 2
    assert quad["area"] == shoelace
    assert quad["bbox"] == [250.0, 10.0, 50.25, 50.0]
    for a in anns:
        assert a["iscrowd"] == 0
    # ids count from 1 in input order
    assert [a["id"] for a in anns] == list(range(1, len(anns) + 1))
    assert [i["id"] for i in doc["images"]] == [1, 2, 3]


def test_rotated_ellipse(bin_dir, ds):
    imgs = [("b.png", 320, 200, [({"name": "ellipse", "cx": 100, "cy": 100, "rx": 40, "ry": 10,
                                   "theta": math.pi / 2}, "cat")])]
    src = dump(ds / "v2.json", via2_meta(imgs))
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--class", "x").returncode == 0
    a = load(out)["annotations"][0]
    assert a["bbox"] == pytest.approx([90, 60, 20, 80], abs=1e-3)
    coco_eval_ok(out)


def test_area_mask_matches_pycocotools(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label", "--area", "mask").returncode == 0
    doc = coco_eval_ok(out)
    sizes = {i["id"]: (i["height"], i["width"]) for i in load(out)["images"]}
    for a in load(out)["annotations"]:
        h, w = sizes[a["image_id"]]
        rle = mask_util.merge(mask_util.frPyObjects(a["segmentation"], h, w))
        assert a["area"] == float(mask_util.area(rle))
    assert doc is not None


def test_start_id(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label", "--start-id", "1000").returncode == 0
    doc = load(out)
    assert [i["id"] for i in doc["images"]] == [1000, 1001, 1002]
    assert [a["id"] for a in doc["annotations"]] == [1000, 1001, 1002, 1003, 1004]
    assert {a["image_id"] for a in doc["annotations"]} == {1000, 1001}
    assert [c["id"] for c in doc["categories"]] == [1, 2, 3]
    coco_eval_ok(out)


def test_project_image_order_and_unlisted(bin_dir, ds):
    p = via2_project()
    p["_via_image_id_list"] = p["_via_image_id_list"][:2]  # c.jpg unlisted: appended
    src = dump(ds / "p.json", p)
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label").returncode == 0
    assert [i["file_name"] for i in load(out)["images"]] == ["c.jpg", "b.png", "a.jpg"]
    p["_via_image_id_list"].append("nope.jpg1")
    dump(src, p)
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label")
    assert cp.returncode == 2
    assert "\"_via_image_id_list\"[2] \"nope.jpg1\" is not in \"_via_img_metadata\"" in cp.stderr


# ---------------------------------------------------------------- categories

def test_class_mode(bin_dir, ds):
    src = dump(ds / "v1.json", via2_meta(as_list=False, attr="whatever"))
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--class", "balloon")
    assert cp.returncode == 0, cp.stderr
    doc = load(out)
    assert doc["categories"] == [{"id": 1, "name": "balloon", "supercategory": "balloon"}]
    assert {a["category_id"] for a in doc["annotations"]} == {1}
    coco_eval_ok(out)


def test_text_classes_sorted_by_name(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label").returncode == 0
    assert [(c["id"], c["name"]) for c in load(out)["categories"]] == [(1, "bird"), (2, "cat"), (3, "dog")]


def test_dropdown_labels_in_definition_order(bin_dir, ds):
    opts = {"dog": "Dog", "cat": "", "bird": "Bird", "fish": "Fish"}  # empty label -> option id
    src = dump(ds / "p.json", via2_project(options=opts))
    out = ds / "out.json"
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label").returncode == 0
    doc = load(out)
    assert [(c["id"], c["name"]) for c in doc["categories"]] == [(1, "Dog"), (2, "cat"), (3, "Bird"), (4, "Fish")]
    names = {c["id"]: c["name"] for c in doc["categories"]}
    # image order from _via_image_id_list (reversed here): c.jpg, b.png, a.jpg
    assert [names[a["category_id"]] for a in doc["annotations"]] == ["Dog", "Bird", "Bird", "cat", "Dog"]
    coco_eval_ok(out)


def test_radio_value_not_an_option(bin_dir, ds):
    src = dump(ds / "p.json", via2_project(atype="radio", options={"cat": "Cat", "dog": "Dog"}))
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label")
    assert cp.returncode == 2
    assert cp.stderr.strip() == (PROG + ": %s: image \"b.png\" region 1: \"label\" value \"bird\" is not one of "
                                 "its defined options (--skip-unknown skips such regions)" % src)
    assert not out.exists()
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--skip-unknown")
    assert cp.returncode == 1, cp.stderr
    assert summary_counts(cp.stderr)["unknown class"] == 2
    assert len(load(out)["annotations"]) == 3
    coco_eval_ok(out)


def test_checkbox(bin_dir, ds):
    imgs = [("a.jpg", 640, 480, [
        ({"name": "rect", "x": 1, "y": 1, "width": 5, "height": 5}, {"good": True}),
        ({"name": "rect", "x": 10, "y": 1, "width": 5, "height": 5}, {"good": True, "blur": True}),
        ({"name": "rect", "x": 20, "y": 1, "width": 5, "height": 5}, {}),
    ])]
    p = via2_project(imgs, attr="q", atype="checkbox", options={"good": "Good", "blur": "Blurred"})
    src = dump(ds / "p.json", p)
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "q")
    assert cp.returncode == 2
    assert ("image \"a.jpg\" region 1: checkbox \"q\" has 2 options checked (need exactly one)"
            in cp.stderr)
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "q", "--skip-unknown")
    assert cp.returncode == 1 and summary_counts(cp.stderr)["unknown class"] == 2
    doc = load(out)
    assert [c["name"] for c in doc["categories"]] == ["Good", "Blurred"]
    assert [a["category_id"] for a in doc["annotations"]] == [1]


def test_missing_attribute(bin_dir, ds):
    imgs = [("a.jpg", 640, 480, [({"name": "rect", "x": 1, "y": 1, "width": 5, "height": 5}, None)])]
    src = dump(ds / "v2.json", via2_meta(imgs))
    cp = convert(bin_dir, src, "-o", ds / "out.json", "--category-attr", "label")
    assert cp.returncode == 2
    assert cp.stderr.strip() == (PROG + ": %s: image \"a.jpg\" region 0: no \"label\" attribute "
                                 "(--skip-unknown skips such regions)" % src)


def test_attributes_file_for_exports(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    attrs = dump(ds / "attrs.json", {"region": {"label": {"type": "dropdown", "options": {
        "bird": "Bird", "cat": "Cat", "dog": "Dog"}}}, "file": {}})
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--attributes", attrs)
    assert cp.returncode == 0, cp.stderr
    assert [c["name"] for c in load(out)["categories"]] == ["Bird", "Cat", "Dog"]
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "nope", "--attributes", attrs)
    assert cp.returncode == 2 and "%s: no region attribute named \"nope\"" % attrs in cp.stderr


def test_categories_file_pins_ids(bin_dir, ds):
    src = dump(ds / "v2.json", via2_meta())
    cats = dump(ds / "cats.json", [{"id": 7, "name": "dog", "supercategory": "animal"},
                                   {"id": 3, "name": "cat", "supercategory": "animal"},
                                   {"id": 5, "name": "bird"}, {"id": 9, "name": "cow"}])
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", cats)
    assert cp.returncode == 0, cp.stderr
    doc = load(out)
    assert doc["categories"] == [{"id": 7, "name": "dog", "supercategory": "animal"},
                                 {"id": 3, "name": "cat", "supercategory": "animal"},
                                 {"id": 5, "name": "bird", "supercategory": "label"},
                                 {"id": 9, "name": "cow", "supercategory": "label"}]
    assert sorted(a["category_id"] for a in doc["annotations"]) == [3, 5, 5, 7, 7]
    coco_eval_ok(out)
    # a COCO file works as a categories file (train and val agree)
    out2 = ds / "out2.json"
    cp = convert(bin_dir, src, "-o", out2, "--category-attr", "label", "--categories", out)
    assert cp.returncode == 0 and load(out2)["categories"] == doc["categories"]
    # text: one name per line
    txt = ds / "cats.txt"
    txt.write_text("# names\ndog\ncat\n\nbird\n")
    assert convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", txt).returncode == 0
    assert [(c["id"], c["name"]) for c in load(out)["categories"]] == [(1, "dog"), (2, "cat"), (3, "bird")]
    # a class not in the file
    txt.write_text("dog\ncat\n")
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", txt)
    assert cp.returncode == 2
    assert "image \"b.png\" region 1: class \"bird\" is not in %s" % txt in cp.stderr
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", txt, "--skip-unknown")
    assert cp.returncode == 1 and summary_counts(cp.stderr)["unknown class"] == 2
    # a broken categories file: file:line:col
    bad = ds / "bad.json"
    bad.write_text('[{"id": 1, "name": "a"},\n {"id": 2 "name": "b"}]')
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", bad)
    assert cp.returncode == 2 and cp.stderr.startswith(PROG + ": %s:2:" % bad)
    dup = dump(ds / "dup.json", [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", dup)
    assert cp.returncode == 2 and "share id 1" in cp.stderr


def test_categories_file_with_bom(bin_dir, ds):
    """A UTF-8 byte order mark (Windows editors add one) is skipped before the JSON/text
    sniff: a JSON file with one pins its ids, a broken one says file:line:col, and a text
    list's first name does not carry it."""
    src = dump(ds / "v2.json", via2_meta())
    bom = b"\xef\xbb\xbf"
    cats = ds / "cats.json"
    cats.write_bytes(bom + json.dumps([{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"},
                                       {"id": 5, "name": "bird"}]).encode())
    out = ds / "out.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", cats)
    assert cp.returncode == 0, cp.stderr
    assert [(c["id"], c["name"]) for c in load(out)["categories"]] == [(7, "dog"), (3, "cat"), (5, "bird")]
    bad = ds / "bad.json"
    bad.write_bytes(bom + b'[{"id": 1, "name": "a"},\n {"id": 2 "name": "b"}]')
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", bad)
    assert cp.returncode == 2 and cp.stderr.startswith(PROG + ": %s:2:" % bad), cp.stderr
    txt = ds / "cats.txt"
    txt.write_bytes(bom + b"dog\ncat\nbird\n")
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--categories", txt)
    assert cp.returncode == 0, cp.stderr
    assert [(c["id"], c["name"]) for c in load(out)["categories"]] == [(1, "dog"), (2, "cat"), (3, "bird")]


def test_via3_checkbox_and_unknown_attribute(bin_dir, ds):
    p = via3_project()
    p["attribute"]["1"]["type"] = 2  # checkbox: "id,id"
    first = next(k for k in p["metadata"] if k.endswith("_r0"))
    p["metadata"][first]["av"]["1"] = "0,1"
    src = dump(ds / "p3.json", p)
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label")
    assert cp.returncode == 2
    assert "image \"a.jpg\" region \"1_r0\": checkbox \"label\" has 2 options checked" in cp.stderr
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "colour")
    assert cp.returncode == 2 and "no region attribute named \"colour\" in \"attribute\"" in cp.stderr
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label", "--skip-unknown")
    assert cp.returncode == 1 and summary_counts(cp.stderr)["unknown class"] == 1


# ---------------------------------------------------------------- image sizes

@pytest.mark.parametrize("orientation,little,size", [
    (1, False, (640, 480)), (3, True, (640, 480)), (5, False, (480, 640)), (6, True, (480, 640)),
    (8, False, (480, 640))])
def test_exif_orientation(bin_dir, tmp_path, orientation, little, size):
    (tmp_path / "r.jpg").write_bytes(jpeg_bytes(640, 480, orientation, little))
    imgs = [("r.jpg", 0, 0, [({"name": "rect", "x": 1, "y": 1, "width": 470, "height": 470}, "x")])]
    src = dump(tmp_path / "v.json", via2_meta(imgs))
    out = tmp_path / "o.json"
    assert convert(bin_dir, src, "-o", out, "--class", "x").returncode == 0
    im = load(out)["images"][0]
    assert (im["width"], im["height"]) == size


def test_image_dir_and_missing_images(bin_dir, tmp_path):
    imgdir = tmp_path / "imgs"
    imgdir.mkdir()
    write_images(imgdir)
    src = dump(tmp_path / "v.json", via2_meta())
    out = tmp_path / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label")
    assert cp.returncode == 2
    assert cp.stderr.strip() == (PROG + ": %s: image \"a.jpg\": %s/a.jpg: No such file or directory "
                                 "(--skip-missing skips such images)" % (src, tmp_path))
    assert not out.exists()
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--image-dir", imgdir)
    assert cp.returncode == 0, cp.stderr
    (imgdir / "b.png").write_bytes(b"not an image at all")
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--image-dir", imgdir)
    assert cp.returncode == 2 and "image \"b.png\": %s/b.png: not a JPEG or PNG file" % imgdir in cp.stderr
    (imgdir / "b.png").unlink()
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--image-dir", imgdir, "--skip-missing")
    assert cp.returncode == 1
    c = summary_counts(cp.stderr)
    assert c["missing images"] == 1 and c["regions)"] == 4 and c["images"] == 2
    doc = load(out)
    assert [i["file_name"] for i in doc["images"]] == ["a.jpg", "c.jpg"]
    assert len(doc["annotations"]) == 2
    coco_eval_ok(out)


# ---------------------------------------------------------------- geometry errors, clipping

@pytest.mark.parametrize("shape,msg", [
    ({"name": "polygon", "all_points_x": [1, 2], "all_points_y": [1, 2]}, "polygon has 2 points (need at least 3)"),
    ({"name": "polygon", "all_points_x": [1, 2, 3], "all_points_y": [1, 2]}, "polygon has 3 x but 2 y coordinates"),
    ({"name": "polygon", "all_points_x": [1, 2, 3], "all_points_y": [1, 2, 3]}, "polygon has zero area"),
    ({"name": "polygon", "all_points_x": [1, 2, None], "all_points_y": [1, 5, 3]}, "polygon point 2 is not a pair of numbers"),
    ({"name": "rect", "x": 1, "y": 1, "width": 0, "height": 5}, "polygon has zero area"),
    ({"name": "circle", "cx": 1, "cy": 1}, "circle has no \"r\""),
    ({"name": "hexagon"}, "unknown shape \"hexagon\""),
    ({"name": "rect", "x": 600, "y": 1, "width": 50, "height": 5},
     "point 1 (650, 1) lies outside the 640x480 image (use --clip to clip)"),
])
def test_geometry_rejects(bin_dir, ds, shape, msg):
    imgs = [("a.jpg", 640, 480, [({"name": "rect", "x": 1, "y": 1, "width": 5, "height": 5}, "ok"),
                                 (shape, "ok")])]
    src = dump(ds / "v.json", via2_meta(imgs, as_list=False))
    out = ds / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--class", "x")
    assert cp.returncode == 2
    assert cp.stderr.strip() == PROG + ": %s: image \"a.jpg\" region 1: %s" % (src, msg)
    assert not out.exists()


def test_clip(bin_dir, ds):
    imgs = [("a.jpg", 640, 480, [
        ({"name": "rect", "x": 600, "y": 400, "width": 100, "height": 100}, "x"),
        ({"name": "circle", "cx": 0, "cy": 0, "r": 20}, "x"),
        ({"name": "rect", "x": 700, "y": 10, "width": 10, "height": 10}, "x"),
    ])]
    src = dump(ds / "v.json", via2_meta(imgs))
    out = ds / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--class", "x", "--clip")
    assert cp.returncode == 1, cp.stderr
    c = summary_counts(cp.stderr)
    assert c["outside"] == 1 and c["clipped"] == 2
    a = load(out)["annotations"]
    assert a[0]["bbox"] == [600.0, 400.0, 40.0, 80.0] and a[0]["area"] == 3200.0
    assert a[1]["bbox"][:2] == [0.0, 0.0] and a[1]["bbox"][2] == pytest.approx(20, abs=1e-3)
    coco_eval_ok(out)


def test_unknown_class_skipped_before_geometry(bin_dir, ds):
    """--skip-unknown skips a region of unknown class before its geometry is looked at: one
    outside the image neither fails the run nor counts as clipped or outside; a class seen
    only in regions outside the image adds no category to an open table."""
    imgs = [("a.jpg", 640, 480, [
        ({"name": "rect", "x": 1, "y": 1, "width": 5, "height": 5}, "ok"),
        ({"name": "rect", "x": 600, "y": 400, "width": 100, "height": 100}, "stray"),
        ({"name": "rect", "x": 700, "y": 10, "width": 10, "height": 10}, "far"),
    ])]
    src = dump(ds / "v.json", via2_meta(imgs))
    cats = ds / "cats.txt"
    cats.write_text("ok\n")
    out = ds / "o.json"
    base = (src, "-o", out, "--category-attr", "label", "--categories", cats, "--skip-unknown")
    for extra in ((), ("--clip",), ("--clip", "--area", "mask")):
        cp = convert(bin_dir, *base, *extra)
        assert cp.returncode == 1, (extra, cp.stderr)
        c = summary_counts(cp.stderr)
        assert (c["annotations"], c["unknown class"], c.get("outside", 0), c.get("clipped", 0)) == \
            (1, 2, 0, 0), (extra, cp.stderr)
        assert [a["category_id"] for a in load(out)["annotations"]] == [1]
    # open table: "far" (outside) adds no category, "stray" (clipped) does
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--clip")
    assert cp.returncode == 1, cp.stderr
    assert [c["name"] for c in load(out)["categories"]] == ["ok", "stray"]
    c = summary_counts(cp.stderr)
    assert (c["outside"], c["clipped"]) == (1, 1)


# ---------------------------------------------------------------- malformed input, atomic output

@pytest.mark.parametrize("text,where", [
    ('{"a.jpg1": {"filename": "a.jpg",\n  "regions": [}', ":2:"),
    ('{"a": 1, "a": 2}', ":1:"),
    ("", ":1:"),
])
def test_json_errors_name_line_and_column(bin_dir, ds, text, where):
    src = ds / "bad.json"
    src.write_text(text)
    out = ds / "o.json"
    out.write_text("previous")
    cp = convert(bin_dir, src, "-o", out, "--class", "x")
    assert cp.returncode == 2
    assert cp.stderr.startswith(PROG + ": " + str(src) + where), cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1
    assert out.read_text() == "previous"  # untouched
    assert sorted(p.name for p in ds.iterdir()) == ["a.jpg", "b.png", "bad.json", "c.jpg", "o.json"]


def test_bom_and_missing_input(bin_dir, ds):
    src = ds / "bom.json"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(via2_meta()).encode())
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label")
    assert cp.returncode == 0, cp.stderr
    cp = convert(bin_dir, ds / "nope.json", "-o", ds / "o.json", "--category-attr", "label")
    assert cp.returncode == 2
    assert cp.stderr.strip() == PROG + ": %s: No such file or directory" % (ds / "nope.json")


@pytest.mark.parametrize("doc,msg", [
    ([1, 2], "top level is not a JSON object, so not a VIA file"),
    ({"k": 5}, "entry \"k\" is not an image record (object)"),
    ({"k": {"regions": []}}, "entry \"k\" has no \"filename\""),
    ({"k": {"filename": "a.jpg"}}, "image \"a.jpg\": no \"regions\""),
    ({"k": {"filename": "a.jpg", "regions": 3}}, "image \"a.jpg\": \"regions\" is neither a list nor an object"),
    ({"k": {"filename": "a.jpg", "regions": [{"region_attributes": {}}]}},
     "image \"a.jpg\" region 0: no \"shape_attributes\" object"),
])
def test_structure_errors(bin_dir, ds, doc, msg):
    src = dump(ds / "v.json", doc)
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--class", "x")
    assert cp.returncode == 2
    assert cp.stderr.strip().startswith(PROG + ": %s: %s" % (src, msg)), cp.stderr


def test_via3_structure_errors(bin_dir, ds):
    def conv(doc):
        src = dump(ds / "p3.json", doc)
        return src, convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label")
    p = via3_project()
    p["metadata"]["zz"] = {"vid": "42", "flg": 0, "z": [], "xy": [2, 1, 1, 2, 2], "av": {}}
    src, cp = conv(p)
    assert cp.returncode == 2 and cp.stderr.strip() == PROG + ": %s: metadata \"zz\": view \"42\" does not exist" % src
    p = via3_project()
    p["view"]["1"]["fid_list"] = ["77"]
    src, cp = conv(p)
    assert cp.returncode == 2 and "view \"1\" names a file that does not exist" in cp.stderr
    p = via3_project()
    p["metadata"]["1_r0"]["xy"] = [7, 1, 2, 3]
    src, cp = conv(p)
    assert cp.returncode == 2 and ("image \"a.jpg\" region \"1_r0\": polygon needs an even number >= 6 "
                                   "coordinates in xy, has 3") in cp.stderr
    p = via3_project()
    p["view"]["1"]["fid_list"] = ["1", "2"]  # a multi-file view is not an image
    src, cp = conv(p)
    assert cp.returncode == 0 and "2 non-image views" in cp.stderr


def test_forced_format_mismatch(bin_dir, ds):
    src = dump(ds / "v.json", via2_meta())
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--class", "x", "--format", "via1")
    assert cp.returncode == 2
    assert "image \"a.jpg\": \"regions\" is not an object as in VIA 1" in cp.stderr
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--class", "x", "--format", "via3")
    assert cp.returncode == 2 and "--format via3 given, but this looks like via2" in cp.stderr


@pytest.mark.parametrize("flavour,rounds", [("via2-project", 120), ("via3", 60), ("via1", 40),
                                             ("via2", 40)])
def test_mangled_input_never_crashes(bin_dir, ds, flavour, rounds):
    """Structural fuzzing of every flavour: any value of a valid file replaced by another
    type, an extreme number or a shape-like array gives exit 0, 1 or 2 with one line (no
    output file on 2), never a crash."""
    import random
    rng = random.Random(7)
    base = {"via2-project": via2_project, "via3": via3_project,
            "via1": lambda: via2_meta(as_list=False), "via2": via2_meta}[flavour]()
    repl = [None, "", "x", -1, 0, 1e308, -1e308, 1e20, 2 ** 63, [], [1], {}, {"a": True}, True, 0.5,
            "0,1", [7, 1, 2, 3, 4, 5, 6], [2, 1e308, 5]]

    def paths(o, prefix=()):
        yield prefix
        items = o.items() if isinstance(o, dict) else enumerate(o) if isinstance(o, list) else []
        for k, v in items:
            yield from paths(v, prefix + (k,))

    all_paths = [p for p in paths(base) if p]
    for i in range(rounds):
        doc = json.loads(json.dumps(base))
        for _ in range(rng.randint(1, 3)):
            p = rng.choice(all_paths)
            o = doc
            try:
                for k in p[:-1]:
                    o = o[k]
                o[p[-1]] = rng.choice(repl)
            except (KeyError, IndexError, TypeError):
                pass
        src = dump(ds / "f.json", doc)
        out = ds / "f.coco.json"
        if out.exists():
            out.unlink()
        cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--clip", "-q")
        assert cp.returncode in (0, 1, 2), (cp.returncode, cp.stderr, doc)
        assert "Sanitizer" not in cp.stderr and "runtime error" not in cp.stderr, cp.stderr
        if cp.returncode == 2:
            assert len(cp.stderr.strip().splitlines()) == 1 and str(src) in cp.stderr
            assert not out.exists()
        else:
            coco_eval_ok(out)
    # truncations of the file at every 97th byte
    text = json.dumps(base)
    for cut in range(0, len(text), 97):
        (ds / "t.json").write_text(text[:cut])
        cp = convert(bin_dir, ds / "t.json", "-o", ds / "t.coco.json", "--category-attr", "label", "-q")
        assert cp.returncode == 2 and cp.stderr.startswith(PROG + ": %s:" % (ds / "t.json")), cp.stderr


def test_progress_bar_only_on_a_terminal(bin_dir, ds):
    src = dump(ds / "v.json", via2_meta())
    rc, _, text = run_on_pty([bin_dir / PROG, src, "-o", ds / "o.json", "--category-attr", "label"])
    assert rc == 0
    assert "via2coco [" in text and "3/3" in text and "ETA" in text  # done/total, rate, ETA
    assert (PROG + ": via2: 3 images, 5 annotations") in text
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label")  # not a terminal
    assert "via2coco [" not in cp.stderr and cp.stderr.count("\n") == 1


def test_unwritable_output_dir(bin_dir, ds):
    src = dump(ds / "v.json", via2_meta())
    cp = convert(bin_dir, src, "-o", ds / "no" / "such" / "o.json", "--class", "x")
    assert cp.returncode in (2, 3) and str(ds / "no" / "such" / "o.json") in cp.stderr
    # said before any image is read (an image dir that does not exist is not reached)
    cp = convert(bin_dir, src, "-o", ds / "no" / "o.json", "--class", "x", "--image-dir", ds / "x")
    assert cp.returncode == 2
    assert cp.stderr == PROG + ": %s: cannot create output: No such file or directory\n" % (
        ds / "no" / "o.json")
    cp = convert(bin_dir, src, "-o", ds / "v.json" / "o.json", "--class", "x")
    assert cp.returncode == 2
    assert cp.stderr == PROG + ": %s: cannot create output: Not a directory\n" % (
        ds / "v.json" / "o.json")


def test_output_over_a_device_or_fifo_is_refused(bin_dir, ds):
    """-o names something that is not a regular file: refused, left as it was (renaming
    the temporary over /dev/null would have turned it into a regular file)."""
    src = dump(ds / "v.json", via2_meta())
    fifo = ds / "fifo"
    os.mkfifo(fifo)
    cp = convert(bin_dir, src, "-o", fifo, "--class", "x")
    assert cp.returncode == 2
    assert cp.stderr == PROG + ": %s: not a regular file (the output is written to a temporary " \
        "file renamed over it, which would replace it)\n" % fifo
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in ds.iterdir()) == ["a.jpg", "b.png", "c.jpg", "fifo", "v.json"]


def test_output_that_is_an_input_is_refused(bin_dir, ds):
    """-o naming the input (directly, via another path or a link) or the --categories file
    would replace it with the COCO output: refused before any work, the input intact."""
    src = dump(ds / "v.json", via2_meta())
    (ds / "link.json").symlink_to("v.json")
    cats = ds / "cats.txt"
    cats.write_text("balloon\n")
    before = src.read_bytes()
    for inp, out, extra in [(src, src, ()), (ds / "link.json", ds / "." / "v.json", ()),
                            (src, cats, ("--categories", cats))]:
        cp = convert(bin_dir, inp, "-o", out, "--category-attr", "label", *extra)
        assert cp.returncode == 2
        named = cats if extra else inp
        assert cp.stderr == PROG + ": %s: is also an input (%s); the output would replace " \
            "it\n" % (out, named), cp.stderr
    assert src.read_bytes() == before and cats.read_text() == "balloon\n"


def test_file_size_limit_is_an_error_without_leftovers(bin_dir, ds):
    """Past RLIMIT_FSIZE: one line, exit 3, no temporary left (not killed by SIGXFSZ)."""
    import resource
    src = dump(ds / "v.json", via2_meta())
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--class", "x",
                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200)))
    assert cp.returncode == 3, cp.stderr
    assert cp.stderr == PROG + ": %s: cannot write output: File too large\n" % (ds / "o.json")
    assert sorted(p.name for p in ds.iterdir()) == ["a.jpg", "b.png", "c.jpg", "v.json"]


def test_categories_file_is_a_directory(bin_dir, ds):
    src = dump(ds / "v.json", via2_meta())
    cp = convert(bin_dir, src, "-o", ds / "o.json", "--category-attr", "label", "--categories", ds)
    assert cp.returncode == 2
    assert cp.stderr == PROG + ": %s: Is a directory\n" % ds


def test_unreadable_input_is_an_environment_error(bin_dir):
    """Permission denied on the input (or --categories) file: exit 3 (environment), one line."""
    import tempfile
    d = pathlib.Path(tempfile.mkdtemp(prefix="quern-via-perm-"))
    try:
        os.chmod(d, 0o777)  # reachable by the unprivileged user below when we run as root
        src = dump(d / "v.json", via2_meta())
        write_images(d)
        cats = d / "cats.txt"
        cats.write_text("balloon\n")
        for f in (src, cats):
            os.chmod(f, 0o000)
        drop = (lambda: os.setuid(65534)) if os.geteuid() == 0 else None
        if drop is None and os.access(src, os.R_OK):
            pytest.skip("cannot make a file unreadable here")
        cp = convert(bin_dir, src, "-o", d / "o.json", "--class", "x", preexec_fn=drop)
        assert cp.returncode == 3
        assert cp.stderr == PROG + ": %s: Permission denied\n" % src
        os.chmod(src, 0o644)
        cp = convert(bin_dir, src, "-o", d / "o.json", "--category-attr", "label",
                     "--categories", cats, preexec_fn=drop)
        assert cp.returncode == 3
        assert cp.stderr == PROG + ": %s: Permission denied\n" % cats
        assert not (d / "o.json").exists()
    finally:
        import shutil
        shutil.rmtree(d)


# ---------------------------------------------------------------- gen_via.py data

def gen_via(tmp_path, *args):
    tool = SHARED / "tools" / "gen_via.py"
    if not tool.exists():
        pytest.skip("%s is absent" % tool)
    try:
        import numpy  # noqa: F401
        import PIL  # noqa: F401
    except ImportError:
        pytest.skip("gen_via.py needs numpy and PIL (pip install pillow)")
    subprocess.run([sys.executable, str(tool), str(tmp_path), "--images", "12", "--seed", "3",
                    "--max-side", "700", "-q", *args], check=True)


def shape_counts(meta):
    counts = {}
    for rec in meta.values():
        regs = rec["regions"].values() if isinstance(rec["regions"], dict) else rec["regions"]
        for r in regs:
            n = r["shape_attributes"]["name"]
            counts[n] = counts.get(n, 0) + 1
    return counts


def test_gen_via_balloon_style(bin_dir, tmp_path):
    gen_via(tmp_path, "--format", "via1", "--region-attrs", "none")
    src = tmp_path / "via_region_data.json"
    out = tmp_path / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--class", "balloon")
    assert cp.returncode == 0, cp.stderr
    doc = load(out)
    meta = load(src)
    assert len(doc["annotations"]) == shape_counts(meta)["polygon"]
    from PIL import Image
    for im in doc["images"]:
        with Image.open(tmp_path / im["file_name"]) as pil:
            assert (im["width"], im["height"]) == pil.size
    # bbox equals the MMDetection balloon converter's (both from the raw points)
    regs = [r for rec in meta.values() for r in rec["regions"].values()]
    for a, r in zip(doc["annotations"], regs):
        px, py = r["shape_attributes"]["all_points_x"], r["shape_attributes"]["all_points_y"]
        assert a["bbox"] == [min(px), min(py), max(px) - min(px), max(py) - min(py)]
    coco_eval_ok(out)


@pytest.mark.parametrize("fmt,name", [("via2", "via_project.json"), ("via2-export", "via_export_json.json")])
def test_gen_via_mixed_shapes(bin_dir, tmp_path, fmt, name):
    gen_via(tmp_path, "--format", fmt, "--shapes", "mixed")
    src = tmp_path / name
    out = tmp_path / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "label", "--clip")
    assert cp.returncode in (0, 1), cp.stderr
    c = summary_counts(cp.stderr)
    meta = load(src)
    if fmt == "via2":
        meta = meta["_via_img_metadata"]
    counts = shape_counts(meta)
    assert c["points"] == counts.get("point", 0) and c["polylines"] == counts.get("polyline", 0)
    kept = sum(counts.get(k, 0) for k in ("polygon", "rect", "circle", "ellipse"))
    assert c["annotations"] + c["outside"] == kept
    doc = coco_eval_ok(out)
    names = [cc["name"] for cc in load(out)["categories"]]
    if fmt == "via2":  # dropdown options with empty labels: the option ids, in definition order
        assert names == ["balloon", "car", "person", "dog", "bicycle"]
    else:
        assert names == sorted(names)
    assert doc is not None


# ---------------------------------------------------------------- real files

def real(sub):
    p = REAL / sub
    if not p.exists():
        pytest.skip("%s is absent: shared real data not available" % p)
    return p


def fake_images(dirpath, names, w=4000, h=4000):
    for n in names:
        p = dirpath / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(png_bytes(w, h))


def test_real_balloon_val(bin_dir, tmp_path):
    d = real("balloon/val")
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / "via_region_data.json", "-o", out, "--class", "balloon")
    assert cp.returncode == 2 and "No such file or directory (--skip-missing" in cp.stderr
    cp = convert(bin_dir, d / "via_region_data.json", "-o", out, "--class", "balloon", "--skip-missing")
    assert cp.returncode == 1, cp.stderr
    meta = load(d / "via_region_data.json")
    present = [v for v in meta.values() if (d / v["filename"]).exists()]
    doc = load(out)
    assert len(doc["images"]) == len(present) == 3
    assert len(doc["annotations"]) == sum(len(v["regions"]) for v in present)
    c = summary_counts(cp.stderr)
    assert c["missing images"] == 10
    try:
        from PIL import Image
        for im in doc["images"]:
            with Image.open(d / im["file_name"]) as pil:
                assert (im["width"], im["height"]) == pil.size
    except ImportError:
        pass
    coco_eval_ok(out)


def test_real_kudzu(bin_dir, tmp_path):
    d = real("kudzu")
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / "via_region_data.json", "-o", out, "--class", "kudzu", "--skip-missing")
    assert cp.returncode == 1 and "via2: 2 images" in cp.stderr
    coco_eval_ok(out)


def test_real_via1_unit_test(bin_dir, tmp_path):
    d = real("via1_unit_test")
    meta = load(d / "unit_test_annotation2.json")
    by_size = {p.stat().st_size: p for p in d.glob("*.jpg")}
    for v in meta.values():  # the repo stores the images under other names; same bytes
        os.symlink(by_size[int(v["size"])], tmp_path / v["filename"])
    out = tmp_path / "o.json"
    args = [d / "unit_test_annotation2.json", "-o", out, "--category-attr", "name", "--image-dir", tmp_path]
    cp = convert(bin_dir, *args)
    assert cp.returncode == 2
    assert "image \"test_pattern_qbist.jpg\" region 5: no \"name\" attribute" in cp.stderr
    cp = convert(bin_dir, *args, "--skip-unknown")
    assert cp.returncode == 1, cp.stderr
    assert "via1: 3 images" in cp.stderr
    c = summary_counts(cp.stderr)
    counts = shape_counts(meta)
    assert c["points"] == counts.get("point", 0) == 5 and c["unknown class"] == 2
    assert c["annotations"] + 2 == sum(counts.get(k, 0) for k in ("polygon", "rect", "circle", "ellipse"))
    doc = coco_eval_ok(out)
    names = [cc["name"] for cc in load(out)["categories"]]
    assert names == sorted(names, key=lambda s: s.encode())
    assert doc is not None


def test_real_via2_basic_demo(bin_dir, tmp_path):
    d = real("via2_basic_demo")
    src, attrs = d / "via2_basic_demo_annotations.json", d / "via2_basic_demo_attributes.json"
    out = tmp_path / "o.json"
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "type", "--attributes", attrs)
    assert cp.returncode == 0, cp.stderr
    doc = coco_eval_ok(out)
    assert [c["name"] for c in load(out)["categories"]] == ["Bird", "Human", "Cup (object)", "Unknown (object)"]
    assert len(doc.getAnnIds()) == 4
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "image_quality", "--attributes", attrs)
    assert cp.returncode == 2
    assert ("image \"wikimedia_death_of_socrates.jpg\" region 1: checkbox \"image_quality\" has 2 options "
            "checked") in cp.stderr
    cp = convert(bin_dir, src, "-o", out, "--category-attr", "name")
    assert cp.returncode == 0
    assert [c["name"] for c in load(out)["categories"]] == ["Hemlock", "Plato", "Socrates", "Swan"]


def test_real_receipts_match_via_own_coco_export(bin_dir, tmp_path):
    d = real("receipts_via2_export")
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / "via_export_json.json", "-o", out, "--category-attr", "Info", "--skip-missing")
    assert cp.returncode == 1, cp.stderr
    coco_eval_ok(out)
    ours, via = load(out), load(d / "via_export_coco.json")
    vimg = {str(i["id"]): i for i in via["images"]}
    vcat = {c["id"]: c["name"] for c in via["categories"]}
    for im in ours["images"]:  # sizes from headers equal the browser's
        v = next(i for i in via["images"] if i["file_name"] == im["file_name"])
        assert (im["width"], im["height"]) == (v["width"], v["height"])
    ocat = {c["id"]: c["name"] for c in ours["categories"]}
    oimg = {i["id"]: i["file_name"] for i in ours["images"]}
    mine = sorted((oimg[a["image_id"]], ocat[a["category_id"]], a["bbox"]) for a in ours["annotations"])
    theirs = sorted((vimg[str(a["image_id"])]["file_name"], vcat[a["category_id"]], [float(x) for x in a["bbox"]])
                    for a in via["annotations"] if vimg[str(a["image_id"])]["file_name"] in oimg.values())
    assert mine == theirs


def test_real_board_ocr_project(bin_dir, tmp_path):
    d = real("via2_project_board_ocr")
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / "via_project_test.json", "-o", out, "--category-attr", "number")
    assert cp.returncode == 0, cp.stderr
    assert "via2-project: 1 images, 262 annotations" in cp.stderr
    coco_eval_ok(out)
    assert [c["name"] for c in load(out)["categories"]] == [str(i) for i in range(10)] + ["OVER", "UNDER", "null"]


def test_real_points_only(bin_dir, tmp_path):
    d = real("points_crowd")
    meta = load(d / "via_export_json.json")
    fake_images(tmp_path, [v["filename"] for v in meta.values()])
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / "via_export_json.json", "-o", out, "--class", "head", "--image-dir", tmp_path)
    assert cp.returncode == 0, cp.stderr
    c = summary_counts(cp.stderr)
    assert c["points"] == 7898 and c["annotations"] == 0 and c["images"] == 63
    coco_eval_ok(out)


@pytest.mark.parametrize("sub,src,attr,ncats", [
    ("via2_face_tracks", "sherlock_ep01_tracks_FRCNN.json", "track", None),
    ("rect_dog_cat", "via_project.json", "name", 2),
    ("polygons_object_class", "via_export_json.json", "Object Class", None),
])
def test_real_exports_without_images(bin_dir, tmp_path, sub, src, attr, ncats):
    d = real(sub)
    meta = load(d / src)
    fake_images(tmp_path, [v["filename"] for v in meta.values()])
    out = tmp_path / "o.json"
    cp = convert(bin_dir, d / src, "-o", out, "--category-attr", attr, "--image-dir", tmp_path)
    assert cp.returncode == 0, cp.stderr
    doc = coco_eval_ok(out)
    assert len(doc.getAnnIds()) == sum(len(v["regions"]) for v in meta.values())
    if ncats:
        assert len(load(out)["categories"]) == ncats


def test_real_radio_definitions_disagree_with_values(bin_dir, tmp_path):
    d = real("polygons_object_class")
    meta = load(d / "via_export_json.json")
    fake_images(tmp_path, [v["filename"] for v in meta.values()])
    out = tmp_path / "o.json"
    args = [d / "via_export_json.json", "-o", out, "--category-attr", "Object Class", "--image-dir", tmp_path,
            "--attributes", d / "region_attributes.json"]
    cp = convert(bin_dir, *args)
    assert cp.returncode == 2 and "is not one of its defined options" in cp.stderr
    cp = convert(bin_dir, *args, "--skip-unknown")
    assert cp.returncode == 1 and summary_counts(cp.stderr)["unknown class"] >= 1
