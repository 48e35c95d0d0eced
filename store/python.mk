# store/python: the Python reader (quern_store.py) needs no build; its tests and bench use
# store_synth, a TEST_TOOL that writes synthetic stores through store.h and dumps what the
# C reader sees (tests/test_store_python.py, bench/store.sh).
TEST_TOOLS += store_synth
store_synth_SRCS := tests/store_synth.c
store_synth_LIBS := store
