# tools/tools.mk - the benchmark programs and the `bench` and `demo` targets.
#
#   make bench-tools          build/tools/bench-{random,seq,anon,direct,evict,many,startup,workset}
#   make bench                tools/bench/run $(BENCH_ARGS)   (e.g. BENCH_ARGS=--throttle)
#   make bench-compare        tools/bench/compare $(BENCH_COMPARE_ARGS)  (issue 6: the alternatives)
#   make bench-remember       tools/bench/remember $(BENCH_REMEMBER_ARGS)  (issue 17: working-set memory)
#   make demo                 tools/demo $(DEMO_ARGS)
#
# Included by the top Makefile; uses its CC, CFLAGS, WARN and BUILD.  The
# benchmarks are never built with a sanitizer: they measure time.

TOOLS_OUT     := $(BUILD)/tools
TOOLS_CFLAGS   = $(CPPFLAGS) $(CFLAGS) $(WARN) -O2 -std=gnu11 -D_GNU_SOURCE
TOOLS_COMMON  := tools/bench/common.c tools/bench/common.h
TOOLS_BENCH   := $(addprefix $(TOOLS_OUT)/bench-,random seq anon direct evict many startup workset)
BENCH_ARGS    ?=
DEMO_ARGS     ?=

.PHONY: bench-tools
bench-tools: $(TOOLS_BENCH)

$(TOOLS_OUT)/bench-%: tools/bench/%.c $(TOOLS_COMMON) tools/tools.mk
	@mkdir -p $(dir $@)
	$(CC) $(TOOLS_CFLAGS) -o $@ $< tools/bench/common.c $(LDFLAGS)

bench: all bench-tools
	@tools/bench/run $(BENCH_ARGS)

demo: all bench-tools
	@tools/demo $(DEMO_ARGS)

# make bench-compare: prefault against MAP_POPULATE, vmtouch, pread, hot memory and
# the disk's limit, plus the sqlite3 shell (issue 6); BENCH_COMPARE_ARGS=--throttle.
BENCH_COMPARE_ARGS ?=
.PHONY: bench-compare
bench-compare: all bench-tools
	@tools/bench/compare $(BENCH_COMPARE_ARGS)

# make bench-remember: working-set memory against plain and prefault without it
# (issue 17); BENCH_REMEMBER_ARGS=--quick for a smoke test.
BENCH_REMEMBER_ARGS ?=
.PHONY: bench-remember
bench-remember: all bench-tools
	@tools/bench/remember $(BENCH_REMEMBER_ARGS)
