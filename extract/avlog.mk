# extract/: the one FFmpeg log capture shared by every module that calls FFmpeg.
LIBS += avlog
avlog_SRCS := extract/av_log_capture.c
avlog_PKGS := libavutil
