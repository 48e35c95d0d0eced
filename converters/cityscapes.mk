# converters/cityscapes.mk — quern-cityscapes2coco and its libraries.
#   png16:      fast strict 16-bit greyscale PNG reader (libdeflate + own unfiltering,
#               libspng fallback)
#   cityscapes: file discovery, per-image annotation, polygon rasterising, COCO JSON
LIBS += png16
png16_SRCS := converters/png16.c
png16_PKGS := libdeflate spng

CHECKS += check_png16
check_png16_SRCS := tests/check_png16.c
check_png16_LIBS := png16

LIBS += cityscapes
cityscapes_SRCS := converters/cityscapes.c converters/cityscapes_json.c \
                   converters/cityscapes_labels.c converters/cityscapes_poly.c
cityscapes_PKGS := jansson

PROGRAMS += quern-cityscapes2coco
quern-cityscapes2coco_SRCS := converters/cityscapes2coco_main.c
quern-cityscapes2coco_LIBS := cityscapes png16 imgsize mask
quern-cityscapes2coco_PKGS := jansson libdeflate spng

# the bare PNG-decode floor, for bench/parts/cityscapes.sh
TEST_TOOLS += cs_decode_floor
cs_decode_floor_SRCS := converters/cityscapes_floor.c
cs_decode_floor_LIBS := png16

CHECKS += check_cityscapes
check_cityscapes_SRCS := tests/check_cityscapes.c
check_cityscapes_LIBS := cityscapes png16 imgsize mask
check_cityscapes_PKGS := jansson libdeflate spng
