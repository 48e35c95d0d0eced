# extract/captions.mk — the caption text core of quern-clips (parsers, cleaning, YouTube
# dedupe, stop words, tokens, streaming caption.json / CSV / info.json readers).
LIBS += captions
captions_SRCS := extract/cap_track.c extract/cap_time.c extract/cap_clean.c \
                 extract/cap_charset.c extract/cap_vtt.c extract/cap_srt.c extract/cap_ass.c \
                 extract/cap_parse.c extract/cap_finish.c extract/cap_youtube.c \
                 extract/cap_stopwords.c extract/cap_stopwords_table.c extract/cap_tokens.c \
                 extract/cap_csv.c extract/cap_jsonscan.c extract/cap_json_stream.c \
                 extract/cap_info.c extract/cap_textbuf.c
captions_PKGS :=

CHECKS += check_captions check_captions_real check_captions_json
check_captions_SRCS := tests/check_captions.c
check_captions_LIBS := captions
check_captions_real_SRCS := tests/check_captions_real.c
check_captions_real_LIBS := captions
check_captions_json_SRCS := tests/check_captions_json.c
check_captions_json_LIBS := captions

# Bench helper: parses+cleans+dedupes caption files through the API, prints bytes and seconds.
TEST_TOOLS += cap_bench
cap_bench_SRCS := extract/fuzz/cap_bench.c
cap_bench_LIBS := captions

# The stop-word table is generated from the shipped list (and committed, so a fresh checkout
# builds without awk); edit extract/data/stopwords.txt, not the .c.
extract/cap_stopwords_table.c: extract/data/stopwords.txt
	{ echo "/* Generated from extract/data/stopwords.txt by extract/captions.mk: do not edit. */"; \
	  echo "#include <stddef.h>"; echo "const char *const cap_stopword_table[] = {"; \
	  grep -v '^#' $< | grep . | LC_ALL=C sort -u | sed 's/.*/    "&",/'; echo "};"; \
	  echo "const size_t cap_stopword_table_n = sizeof cap_stopword_table / sizeof cap_stopword_table[0];"; \
	} > $@.tmp && mv $@.tmp $@

# Fuzz targets (libFuzzer, clang): make fuzz -> build/fuzz/fuzz_<target>.
FUZZ_TARGETS := vtt srt ass caption_json info_json csv
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. -Icommon -Iextract
.PHONY: fuzz
fuzz: $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
build/fuzz/fuzz_%: extract/fuzz/fuzz_%.c extract/fuzz/fuzz_common.h $(captions_SRCS) common/qn_error.c extract/captions.h extract/cap_priv.h extract/cap_jsonscan.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(captions_SRCS) common/qn_error.c -lm
