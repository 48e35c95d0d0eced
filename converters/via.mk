# converters/via.mk — quern-via2coco and its libraries.
#   imgsize: image width/height from JPEG SOF / PNG IHDR headers, EXIF orientation
#   via:     VIA 1/2/3 parsing, shapes, geometry, categories, COCO writer
LIBS += imgsize
imgsize_SRCS := converters/imgsize.c
imgsize_PKGS :=

LIBS += via
via_SRCS := converters/via_util.c converters/via_detect.c converters/via_v3.c \
            converters/via_shapes.c converters/via_geom.c converters/via_attrs.c \
            converters/via_cats.c converters/via_write.c converters/via_convert.c
via_PKGS := jansson

PROGRAMS += quern-via2coco
quern-via2coco_SRCS := converters/via2coco_main.c
quern-via2coco_LIBS := via imgsize mask
quern-via2coco_PKGS := jansson

CHECKS += check_imgsize
check_imgsize_SRCS := tests/check_imgsize.c
check_imgsize_LIBS := imgsize
check_imgsize_PKGS := libturbojpeg

CHECKS += check_via
check_via_SRCS := tests/check_via.c
check_via_LIBS := via imgsize mask
check_via_PKGS := jansson
