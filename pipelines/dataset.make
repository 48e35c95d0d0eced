# pipelines/dataset.make — `make dataset`: the whole chain on the sample shipped in
# data/sample/, into out/ (override with OUT=...). The top-level Makefile runs
# `deps` and `all` first, then this file with BIN set to the programs' folder.
#
#   out/coco/via_sample.json                          quern-via2coco (VIA 2 project)
#   out/coco/instancesonly_filtered_gtFine_val.json   quern-cityscapes2coco
#   out/clips.jsonl, out/caption.json                 quern-store export
#   out/store/                                        quern-store vocab import (a tiny sample
#                                                     word2vec file), then quern-clips: videos,
#                                                     clips, captions, token ids
#                                                     quern-features: only when WEIGHTS_2D
#                                                     and WEIGHTS_3D name safetensors files
# Each step that writes a file is a file target, so a second `make dataset` rewrites
# nothing: the exports depend on the stamp quern-clips' step leaves, and quern-features
# (a phony step, run when the weights are set) computes only videos without features.
# The summary (quern-store info and verify) reads the store and prints it every time.

BIN ?= bin
OUT ?= out
SAMPLE := data/sample
WEIGHTS_2D ?=
WEIGHTS_3D ?=

.PHONY: dataset features summary
dataset: $(OUT)/coco/via_sample.json $(OUT)/coco/instancesonly_filtered_gtFine_val.json \
         $(OUT)/store/.clips.done features $(OUT)/clips.jsonl $(OUT)/caption.json summary

$(OUT)/coco/via_sample.json: $(SAMPLE)/via/via_project.json $(BIN)/quern-via2coco
	@mkdir -p $(@D)
	$(BIN)/quern-via2coco $< -o $@ --category-attr label --clip

$(OUT)/coco/instancesonly_filtered_gtFine_val.json: $(BIN)/quern-cityscapes2coco \
        $(wildcard $(SAMPLE)/cityscapes/gtFine/val/*/*_instanceIds.png)
	@mkdir -p $(@D)
	$(BIN)/quern-cityscapes2coco $(SAMPLE)/cityscapes -o $(@D) --splits val

$(OUT)/store/.clips.done: $(BIN)/quern-clips $(BIN)/quern-store $(wildcard $(SAMPLE)/videos/*)
	@mkdir -p $(OUT)
	@[ -f $(OUT)/store/meta.db ] || { $(BIN)/quern-store init $(OUT)/store && \
	  $(BIN)/quern-store vocab import $(OUT)/store $(SAMPLE)/vocab.bin; }
	$(BIN)/quern-clips --store $(OUT)/store $(SAMPLE)/videos
	@touch $@

features: $(OUT)/store/.clips.done
ifneq ($(and $(WEIGHTS_2D),$(WEIGHTS_3D)),)
	$(BIN)/quern-features --store $(OUT)/store --weights-2d $(WEIGHTS_2D) --weights-3d $(WEIGHTS_3D)
else
	@echo "dataset: features skipped: set WEIGHTS_2D=resnet152.safetensors WEIGHTS_3D=resnext101.safetensors (README, 'Weights')"
endif

# Clips and captions only (no features in them): redone when quern-clips' step is.
# After features (order only: never a reason to redo), so no two steps share the store.
$(OUT)/clips.jsonl $(OUT)/caption.json &: $(OUT)/store/.clips.done | features
	$(BIN)/quern-store export $(OUT)/store --clips $(OUT)/clips.jsonl --captions $(OUT)/caption.json

summary: $(OUT)/clips.jsonl $(OUT)/caption.json features
	@$(BIN)/quern-store info $(OUT)/store
	@$(BIN)/quern-store verify $(OUT)/store
