# converters/coco_mask: COCO RLE masks bit-compatible with pycocotools (used by both converters).
LIBS += mask
mask_SRCS := converters/coco_mask.c
mask_PKGS :=
