# extract/clips.mk — quern-clips: videos + subtitles (or caption.json) -> clip-caption pairs in
# a store. Caption text work is the captions lib (captions.mk), storage the store lib; the
# clips lib holds everything but main so the Check test links the same code.
LIBS += clips
clips_SRCS := extract/clips_probe.c extract/clips_map.c extract/clips_meta.c \
              extract/clips_write.c extract/clips_captions.c extract/clips_video.c \
              extract/clips_import.c extract/clips_scan.c extract/clips_hash.c
clips_PKGS := libavformat libavcodec libavutil sqlite3

PROGRAMS += quern-clips
quern-clips_SRCS := extract/clips_main.c
quern-clips_LIBS := clips captions store avlog

CHECKS += check_clips
check_clips_SRCS := tests/check_clips.c
check_clips_LIBS := clips captions store avlog
