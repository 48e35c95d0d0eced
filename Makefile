# quern — top-level, non-recursive Makefile.
#
# Each component describes itself in a fragment <stage>/<component>.mk that appends to:
#   LIBS     += name   with name_SRCS (C/CUDA sources), name_PKGS (pkg-config packages)
#                      -> $(B)/lib/libquern_<name>.a
#   PROGRAMS += prog   with prog_SRCS, prog_LIBS (quern libs, dependents first),
#                      prog_PKGS, prog_LDLIBS (extra -l flags)        -> $(BIN)/prog
#   CHECKS   += check  with check_SRCS, check_LIBS, check_PKGS, check_LDLIBS
#                      (Check unit tests, one binary each)           -> $(B)/tests/check
#   TEST_TOOLS += tool with tool_SRCS, tool_LIBS, tool_PKGS, tool_LDLIBS
#                      (helpers that pytest tests drive; built, not run) -> $(B)/tests/tool
# Targets: all (default), check (= check-c, the Check binaries, then check-py, pytest),
# tests-built, dataset, bench, fuzz (extract/captions.mk), install, clean, deps.
# SANITIZE=1 builds everything under ASan+UBSan into build/san/ and runs the same tests.

PREFIX ?= /usr/local
CC ?= cc
NVCC ?= nvcc
# sm_90 (H100/H200) machine code plus PTX for anything newer; override for other GPUs.
CUDA_ARCH ?= -gencode arch=compute_90,code=[sm_90,compute_90]
PYTHON ?= $(if $(wildcard .venv/bin/python3),.venv/bin/python3,python3)

CFLAGS_BASE := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
               -fno-strict-aliasing -pthread -I. -Icommon
ifeq ($(SANITIZE),1)
  B := build/san
  BIN := build/san/bin
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
  B := build/rel
  BIN := bin
  SANFLAGS :=
endif
CFLAGS_ALL := $(CFLAGS_BASE) $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)

# CUDA is optional: fragments test HAVE_CUDA and add .cu sources only when it is 1.
HAVE_CUDA := $(if $(shell command -v $(NVCC) 2>/dev/null),1,0)
ifeq ($(NOCUDA),1)
  HAVE_CUDA := 0
endif

.DEFAULT_GOAL := all
LIBS :=
PROGRAMS :=
CHECKS :=
TEST_TOOLS :=
include common/common.mk
include $(sort $(filter-out common/common.mk,$(wildcard */*.mk)))

pkg_cflags = $(if $(strip $(1)),$(shell pkg-config --cflags $(1)))
pkg_libs = $(if $(strip $(1)),$(shell pkg-config --libs $(1)))
objs_of = $(patsubst %.c,$(B)/obj/%.o,$(filter %.c,$(1))) $(patsubst %.cu,$(B)/obj/%.cu.o,$(filter %.cu,$(1)))
lib_file = $(B)/lib/libquern_$(1).a
# all pkg-config packages and CUDA link flags of a list of quern libs
libs_pkgs = $(foreach l,$(1),$($(l)_PKGS))
libs_ldlibs = $(foreach l,$(1),$($(l)_LDLIBS))

define LIB_template
$(1)_OBJS := $$(call objs_of,$$($(1)_SRCS))
$$(call lib_file,$(1)): $$($(1)_OBJS)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$$($(1)_OBJS): PKG_CFLAGS := $$(call pkg_cflags,$$($(1)_PKGS))
endef

define LINK_template
$(1)_OBJS := $$(call objs_of,$$($(1)_SRCS))
$(1)_ALLPKGS := $$(sort $$($(1)_PKGS) $$(call libs_pkgs,$$($(1)_LIBS) common) $(3))
$$($(1)_OBJS): PKG_CFLAGS := $$(call pkg_cflags,$$($(1)_ALLPKGS))
$(2)/$(1): $$($(1)_OBJS) $$(foreach l,$$($(1)_LIBS) common,$$(call lib_file,$$(l)))
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$($(1)_OBJS) \
	  $$(foreach l,$$($(1)_LIBS) common,$$(call lib_file,$$(l))) \
	  $$(call pkg_libs,$$($(1)_ALLPKGS)) $$($(1)_LDLIBS) $$(call libs_ldlibs,$$($(1)_LIBS)) -lm
endef

$(foreach l,$(LIBS),$(eval $(call LIB_template,$(l))))
$(foreach p,$(PROGRAMS),$(eval $(call LINK_template,$(p),$(BIN),)))
$(foreach t,$(CHECKS),$(eval $(call LINK_template,$(t),$(B)/tests,check)))
$(foreach t,$(TEST_TOOLS),$(eval $(call LINK_template,$(t),$(B)/tests,)))

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(PKG_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/obj/%.cu.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) -O3 -std=c++17 $(CUDA_ARCH) -MMD -MP -I. -Icommon -Xcompiler -Wall,-Wextra,-Werror,-fPIC -c -o $@ $<

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

PROGRAM_FILES := $(addprefix $(BIN)/,$(PROGRAMS))
CHECK_FILES := $(addprefix $(B)/tests/,$(CHECKS))
TOOL_FILES := $(addprefix $(B)/tests/,$(TEST_TOOLS))

.PHONY: all deps check check-c check-py dataset bench install clean
all: $(PROGRAM_FILES) $(foreach l,$(LIBS),$(call lib_file,$(l)))
	@if [ "$(HAVE_CUDA)" = 1 ]; then echo "quern: built with CUDA ($(NVCC))"; \
	 else echo "quern: built without CUDA (nvcc not found or NOCUDA=1)"; fi

deps:
	@pipelines/deps.sh

# Unit tests (Check) then end-to-end tests (pytest drives the programs in $(BIN)).
check: deps
	@$(MAKE) --no-print-directory all tests-built
	@$(MAKE) --no-print-directory check-c check-py

tests-built: $(CHECK_FILES) $(TOOL_FILES)
.PHONY: tests-built

check-c: $(CHECK_FILES)
	@fail=0; for t in $(CHECK_FILES); do \
	  echo "== $$t"; QUERN_BIN=$(CURDIR)/$(BIN) QUERN_TEST_TOOLS=$(CURDIR)/$(B)/tests $$t || fail=1; done; \
	  [ $$fail = 0 ] || { echo "check: unit tests FAILED"; exit 1; }

check-py: $(PROGRAM_FILES) $(TOOL_FILES)
	QUERN_BIN=$(CURDIR)/$(BIN) QUERN_TEST_TOOLS=$(CURDIR)/$(B)/tests QUERN_SANITIZE=$(SANITIZE) $(PYTHON) -m pytest -q tests

dataset: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -f pipelines/dataset.make BIN=$(BIN)

# The issue-named benchmarks; each runs its parts (bench/parts, *_decode, *_cnn, ...)
# and prints its ratios last. bench/gpu_check.sh is for a GPU machine only.
BENCHES := converters store clips features
bench: deps
	@$(MAKE) --no-print-directory all tests-built
	@pipelines/deps.sh --bench
	@for s in $(BENCHES); do echo "== bench/$$s.sh"; bash bench/$$s.sh || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROGRAM_FILES) $(DESTDIR)$(PREFIX)/bin/

clean:
	rm -rf build bin out
