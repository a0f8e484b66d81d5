# tools/ahead.mk - the moving-window benchmark (issue 8).
#
#   make bench-ahead          tools/ahead/run $(AHEAD_ARGS)   (root: loop device, throttle)
#
# Included by the top Makefile; uses its CC, CFLAGS, WARN and BUILD.

AHEAD_ARGS ?=

$(BUILD)/tools/ahead-sample: tools/ahead/sample.c tools/ahead.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -O2 -std=gnu11 -D_GNU_SOURCE -o $@ $< $(LDFLAGS)

.PHONY: bench-ahead bench-ahead-tools
bench-ahead-tools: $(BUILD)/tools/ahead-sample $(BUILD)/tests/ahead_scan

bench-ahead: all bench-ahead-tools
	@tools/ahead/run $(AHEAD_ARGS)
