#!/usr/bin/env python3
"""The peer for bench/parts/via.sh: MMDetection's balloon tutorial converter.

This is `convert_balloon_to_coco` from MMDetection 3.x's docs/en/user_guides/train.md
("Train with customized datasets"), reproduced faithfully: mmengine loads the VIA 1
JSON, every image is read in full with mmcv.imread (OpenCV) only to learn its
height and width, polygons get +0.5, bbox/area come from the raw points, and
mmengine dumps the COCO dict. The only change is `list(...)` around
`data_infos.values()`, the fix MMDetection merged into that page (PR #11251 /
#11546) because mmengine's track_iter_progress rejects a dict_values view
(mmdet #11281, #11469). Its progress bar goes to stdout as in the tutorial.

Usage: balloon_convert.py ANN_FILE OUT_FILE IMAGE_PREFIX
"""
import os.path as osp
import sys

import mmcv
from mmengine.fileio import dump, load
from mmengine.utils import track_iter_progress


def convert_balloon_to_coco(ann_file, out_file, image_prefix):
    data_infos = load(ann_file)

    annotations = []
    images = []
    obj_count = 0
    for idx, v in enumerate(track_iter_progress(list(data_infos.values()))):
        filename = v['filename']
        img_path = osp.join(image_prefix, filename)
        height, width = mmcv.imread(img_path).shape[:2]

        images.append(
            dict(id=idx, file_name=filename, height=height, width=width))

        for _, obj in v['regions'].items():
            assert not obj['region_attributes']
            obj = obj['shape_attributes']
            px = obj['all_points_x']
            py = obj['all_points_y']
            poly = [(x + 0.5, y + 0.5) for x, y in zip(px, py)]
            poly = [p for x in poly for p in x]

            x_min, y_min, x_max, y_max = (min(px), min(py), max(px), max(py))

            data_anno = dict(
                image_id=idx,
                id=obj_count,
                category_id=0,
                bbox=[x_min, y_min, x_max - x_min, y_max - y_min],
                area=(x_max - x_min) * (y_max - y_min),
                segmentation=[poly],
                iscrowd=0)
            annotations.append(data_anno)
            obj_count += 1

    coco_format_json = dict(
        images=images,
        annotations=annotations,
        categories=[{
            'id': 0,
            'name': 'balloon'
        }])
    dump(coco_format_json, out_file)


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    convert_balloon_to_coco(sys.argv[1], sys.argv[2], sys.argv[3])
