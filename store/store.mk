# store/: the quern store library (SQLite + feature files), the quern-store program and tests.
LIBS += store
store_SRCS := store/store_db.c store/store_schema.c store/store_lock.c store/store_uuid.c \
              store/store_convert.c store/store_featfile.c store/store_fset.c store/store_video.c \
              store/store_ckpt.c store/store_clip.c store/store_pack.c store/store_migrate3.c \
              store/store_pool.c store/store_vocab.c store/store_verify.c \
              store/store_merge.c store/store_export.c
store_PKGS := sqlite3

PROGRAMS += quern-store
quern-store_SRCS := store/store_main.c
quern-store_LIBS := store

CHECKS += check_store
check_store_SRCS := tests/check_store.c
check_store_LIBS := store
check_store_PKGS := sqlite3

CHECKS += check_store_kill
check_store_kill_SRCS := tests/check_store_kill.c
check_store_kill_LIBS := store

TEST_TOOLS += store_killer
store_killer_SRCS := tests/store_killer.c
store_killer_LIBS := store

TEST_TOOLS += store_bench
store_bench_SRCS := bench/store_ingest.c
store_bench_LIBS := store
