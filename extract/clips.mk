# extract/clips.mk — quern-clips: videos + subtitles (or caption.json) -> clip-caption pairs in
# a store. Caption text work is the captions lib (captions.mk), storage the store lib.
PROGRAMS += quern-clips
quern-clips_SRCS := extract/clips_main.c extract/clips_probe.c extract/clips_map.c \
                    extract/clips_meta.c extract/clips_write.c extract/clips_captions.c \
                    extract/clips_video.c extract/clips_import.c extract/clips_scan.c
quern-clips_LIBS := captions store
quern-clips_PKGS := libavformat libavcodec libavutil sqlite3
