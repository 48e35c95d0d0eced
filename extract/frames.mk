# extract/frames: one demux+decode pass per video -> 2D (1 fps, short side 224) and
# 3D (24 fps, 112x112 centre crop, 16-frame chunks) rgb24 frames, as HowTo100M's
# two ffmpeg runs would sample and scale them. NVDEC via FFmpeg's cuda hwaccel at
# run time (no CUDA needed to build).
LIBS += frames
frames_SRCS := extract/frames_open.c extract/frames_fps.c extract/frames_scale.c \
               extract/frames_hw.c extract/frames_conv.c extract/frames_decode.c \
               extract/frames_rotate.c
frames_PKGS := libavformat libavcodec libavutil libswscale

CHECKS += check_frames
check_frames_SRCS := tests/check_frames.c
check_frames_LIBS := frames avlog

TEST_TOOLS += frames_dump
frames_dump_SRCS := tests/frames_dump.c
frames_dump_LIBS := frconvert frames avlog kernels   # --convert ref|cuda (kn_convert.h)
