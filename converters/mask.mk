# converters/coco_mask: COCO RLE masks bit-compatible with pycocotools (used by both converters).
LIBS += mask
mask_SRCS := converters/coco_mask.c
mask_PKGS :=

CHECKS += check_coco_mask
check_coco_mask_SRCS := tests/check_coco_mask.c
check_coco_mask_LIBS := mask
check_coco_mask_PKGS := jansson

TEST_TOOLS += mask_driver
mask_driver_SRCS := tests/mask_driver.c
mask_driver_LIBS := mask

TEST_TOOLS += bench_mask_labels
bench_mask_labels_SRCS := bench/mask_labels.c
bench_mask_labels_LIBS := mask
