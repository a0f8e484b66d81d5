/*
 * prefault-check - can prefault take effect on COMMAND here?  Says so before
 * anything runs, and never runs COMMAND (`prefault --check COMMAND`,
 * `prefault check COMMAND`).
 *
 *   prefault-check [--json] [--companion] [--library PATH|--no-library WHY]
 *                  [--companion-path PATH|--no-companion PATH] [--] COMMAND [ARGS...]
 *
 * The wrapper runs it (tools/prefault --check) and passes what it found:
 * the library it would preload (or why there is none) and the companion.
 *
 * What it reads, and whose rule decides (the library's own functions, linked
 * from the objects in $(BUILD)/shim, so that every rule lives once):
 *   - COMMAND found in PATH as execvp(3) and the wrapper's `type -P` find it;
 *     a script (#!) is followed to its interpreter (through env(1) too), up
 *     to the kernel's four levels.
 *   - The ELF file on disk: PT_INTERP and PT_DYNAMIC (dynamic, static,
 *     static-pie); the setuid and setgid bits.  A command the loader will not
 *     preload into runs under prefault-companion (the wrapper's rule).
 *   - Go: the content of every PT_NOTE segment, read from the file, given to
 *     pf_go_note_in() (gonote.c); then the same for every library ldd(1)
 *     lists (a Go c-shared library); then the cgo runtime's symbols
 *     (x_cgo_init, _cgo_init) defined in the .dynsym of the program or a
 *     library, which is what pf_go_detect() finds with dlsym.  ldd (the one
 *     in PATH, else /usr/bin/ldd) runs the system's loader in its listing
 *     mode, which runs no code of the program's; for a setuid or setgid
 *     command (or interpreter) nothing at all is run.
 *     Discovery in auto mode is on when Go code is found (discover.c).
 *   - perf mmap records: pf_mapwatch_probe() (mapwatch.c), with the errno of
 *     a refusal and kernel.perf_event_paranoid; PROCMAP_QUERY:
 *     pf_procmap_probe() (procmap.c); MADV_POPULATE_READ:
 *     pf_populate_read_supported() (advise.c).  These are facts about this
 *     process, which the wrapper starts where COMMAND would start: the same
 *     user, cgroup and seccomp filter.
 *   - The cgroup's read limits: pf_iolimit_list() (iolimit.c); the budget:
 *     pf_options_load() on the PREFAULT_* environment, pf_budget_compute(),
 *     pf_mem_available(), pf_cgroup_headroom() (budget.c) and the room above
 *     the reserve (pressure.c).
 *
 * Output: one line a fact, "name: value" in plain words; --json prints one
 * JSON object with the same facts instead.  Nothing goes to stderr but one
 * line "prefault: ..." when the status is 1.
 *
 * Exit status: 0 when prefault can take effect by preload; 2 when only
 * through the companion (static or setuid/setgid, a script whose
 * interpreter is, or --companion); 1 on error (not found, not executable,
 * not a program) or when prefault cannot take effect at all (PREFAULT=0, the
 * library or the companion missing, a kernel the companion cannot use).
 */
#include "sys/advise.h"
#include "core/budget.h"
#include "lib/gonote.h"
#include "work/iolimit.h"
#include "lib/mapwatch.h"
#include "sys/meminfo.h"
#include "core/options.h"
#include "core/pressure.h"
#include "sys/procfs.h"
#include "sys/procmap.h"
#include "core/report.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_SCRIPT_DEPTH 4          /* the kernel's BINPRM_MAX_RECURSION */
#define MAX_LIBS 256
#define NOTE_MAX (1u << 20)         /* bytes of one PT_NOTE read */
#define TABLE_MAX (64u << 20)       /* bytes of .dynsym or its strings read */
#define LDD_OUT_MAX (256u << 10)

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("prefault: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		die("out of memory");
	return p;
}

static const char *errname(int err)
{
	const char *n = strerrorname_np(err);
	return n ? n : "unknown error";
}

/* "11.6 GiB" */
static const char *human(char *buf, size_t n, uint64_t v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int i = 0;
	while (d >= 1024 && i < 4) {
		d /= 1024;
		i++;
	}
	snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", d, unit[i]);
	return buf;
}

/* Reads exactly len bytes at off; false when the file is shorter. */
static bool read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Finding the command                                                 */

static bool is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* PATH lookup as execvp and bash's `type -P` do it (an empty entry is the
 * current directory); a name with a slash is taken as it is.  NULL when no
 * executable file is found. */
static char *find_in_path(const char *name)
{
	if (strchr(name, '/'))
		return is_exec_file(name) ? xstrdup(name) : NULL;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	size_t nl = strlen(name);
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t dl = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = xmalloc(dl + nl + 3);
		if (dl)
			snprintf(cand, dl + nl + 3, "%.*s/%s", (int)dl, p, name);
		else
			snprintf(cand, dl + nl + 3, "./%s", name);
		if (is_exec_file(cand))
			return cand;
		free(cand);
		if (!colon)
			return NULL;
		p = colon + 1;
	}
}

/* ------------------------------------------------------------------ */
/* ELF files                                                           */

struct elf_info {
	bool is_elf;
	bool foreign;           /* another byte order than this machine's */
	int bits;               /* 32 or 64 */
	unsigned type, machine;
	bool interp_seen, dynamic_seen, pie_flag;
	char interp[256];
	bool go_note;
	bool sections;          /* section headers were there to look in */
	bool dynsym;            /* and a .dynsym among them */
	const char *cgo_symbol; /* "x_cgo_init" or "_cgo_init" when defined */
};

struct phdr {
	uint32_t type;
	uint64_t offset, filesz, align;
};

struct shdr {
	uint32_t type, link;
	uint64_t offset, size, entsize;
};

static bool read_phdr(int fd, const struct elf_info *e, uint64_t off, struct phdr *p)
{
	if (e->bits == 64) {
		Elf64_Phdr ph;
		if (!read_at(fd, &ph, sizeof ph, off))
			return false;
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_align };
	} else {
		Elf32_Phdr ph;
		if (!read_at(fd, &ph, sizeof ph, off))
			return false;
		*p = (struct phdr){ ph.p_type, ph.p_offset, ph.p_filesz, ph.p_align };
	}
	return true;
}

static bool read_shdr(int fd, const struct elf_info *e, uint64_t off, struct shdr *s)
{
	if (e->bits == 64) {
		Elf64_Shdr sh;
		if (!read_at(fd, &sh, sizeof sh, off))
			return false;
		*s = (struct shdr){ sh.sh_type, sh.sh_link, sh.sh_offset, sh.sh_size, sh.sh_entsize };
	} else {
		Elf32_Shdr sh;
		if (!read_at(fd, &sh, sizeof sh, off))
			return false;
		*s = (struct shdr){ sh.sh_type, sh.sh_link, sh.sh_offset, sh.sh_size, sh.sh_entsize };
	}
	return true;
}

/* Reads [off, off+len) into a new buffer (len at most max), or NULL. */
static void *read_block(int fd, uint64_t off, uint64_t len, uint64_t max)
{
	if (len > max)
		return NULL;
	void *buf = xmalloc((size_t)len + 1);
	if (!read_at(fd, buf, (size_t)len, off)) {
		free(buf);
		return NULL;
	}
	((char *)buf)[len] = '\0';
	return buf;
}

/* The dynamic section: DF_1_PIE tells a static-pie program from a library. */
static void scan_dynamic(int fd, struct elf_info *e, const struct phdr *p)
{
	size_t ent = e->bits == 64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
	unsigned char *buf = read_block(fd, p->offset, p->filesz, 1u << 20);
	if (!buf)
		return;
	for (size_t i = 0; i + ent <= p->filesz; i += ent) {
		uint64_t tag, val;
		if (e->bits == 64) {
			Elf64_Dyn d;
			memcpy(&d, buf + i, sizeof d);
			tag = (uint64_t)d.d_tag;
			val = d.d_un.d_val;
		} else {
			Elf32_Dyn d;
			memcpy(&d, buf + i, sizeof d);
			tag = (uint64_t)(uint32_t)d.d_tag;
			val = d.d_un.d_val;
		}
		if (tag == DT_NULL)
			break;
		if (tag == DT_FLAGS_1 && (val & DF_1_PIE))
			e->pie_flag = true;
	}
	free(buf);
}

/* The cgo runtime's entry points among the symbols .dynsym defines. */
static void scan_dynsym(int fd, struct elf_info *e, uint64_t shoff, unsigned shnum,
			unsigned shentsize)
{
	size_t want = e->bits == 64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (!shoff || !shnum || shentsize != want)
		return;
	e->sections = true;
	for (unsigned i = 0; i < shnum; i++) {
		struct shdr sym, str;
		if (!read_shdr(fd, e, shoff + (uint64_t)i * shentsize, &sym))
			return;
		if (sym.type != SHT_DYNSYM)
			continue;
		e->dynsym = true;
		size_t ent = e->bits == 64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
		if (sym.link >= shnum || !read_shdr(fd, e, shoff + (uint64_t)sym.link * shentsize, &str))
			return;
		unsigned char *syms = read_block(fd, sym.offset, sym.size, TABLE_MAX);
		char *names = read_block(fd, str.offset, str.size, TABLE_MAX);
		for (size_t k = 0; syms && names && k + ent <= sym.size; k += ent) {
			uint64_t name;
			unsigned shndx;
			if (e->bits == 64) {
				Elf64_Sym s;
				memcpy(&s, syms + k, sizeof s);
				name = s.st_name;
				shndx = s.st_shndx;
			} else {
				Elf32_Sym s;
				memcpy(&s, syms + k, sizeof s);
				name = s.st_name;
				shndx = s.st_shndx;
			}
			/* Defined symbols only: those are what dlsym finds. */
			if (shndx == SHN_UNDEF || name >= str.size)
				continue;
			if (!strcmp(names + name, "x_cgo_init"))
				e->cgo_symbol = "x_cgo_init";
			else if (!strcmp(names + name, "_cgo_init") && !e->cgo_symbol)
				e->cgo_symbol = "_cgo_init";
		}
		free(syms);
		free(names);
		return;
	}
}

/* Reads what prefault-check needs from the ELF file open on fd. */
static void read_elf(int fd, struct elf_info *e)
{
	unsigned char ident[EI_NIDENT];
	memset(e, 0, sizeof *e);
	if (!read_at(fd, ident, sizeof ident, 0) || memcmp(ident, ELFMAG, SELFMAG))
		return;
	e->is_elf = true;
	const unsigned char native = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
	if (ident[EI_DATA] != native || (ident[EI_CLASS] != ELFCLASS32 && ident[EI_CLASS] != ELFCLASS64)) {
		e->foreign = true;
		return;
	}
	e->bits = ident[EI_CLASS] == ELFCLASS64 ? 64 : 32;
	uint64_t phoff, shoff;
	unsigned phnum, phentsize, shnum, shentsize;
	if (e->bits == 64) {
		Elf64_Ehdr h;
		if (!read_at(fd, &h, sizeof h, 0)) {
			e->foreign = true;
			return;
		}
		e->type = h.e_type, e->machine = h.e_machine;
		phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
		shoff = h.e_shoff, shnum = h.e_shnum, shentsize = h.e_shentsize;
	} else {
		Elf32_Ehdr h;
		if (!read_at(fd, &h, sizeof h, 0)) {
			e->foreign = true;
			return;
		}
		e->type = h.e_type, e->machine = h.e_machine;
		phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
		shoff = h.e_shoff, shnum = h.e_shnum, shentsize = h.e_shentsize;
	}
	size_t want = e->bits == 64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (phentsize == want) {
		for (unsigned i = 0; i < phnum; i++) {
			struct phdr p;
			if (!read_phdr(fd, e, phoff + (uint64_t)i * phentsize, &p))
				break;
			if (p.type == PT_INTERP) {
				e->interp_seen = true;
				size_t n = p.filesz < sizeof e->interp ? (size_t)p.filesz : sizeof e->interp - 1;
				if (!read_at(fd, e->interp, n, p.offset))
					n = 0;
				e->interp[n] = '\0';
			} else if (p.type == PT_DYNAMIC) {
				e->dynamic_seen = true;
				scan_dynamic(fd, e, &p);
			} else if (p.type == PT_NOTE && !e->go_note) {
				/* Go's rule, on the segment as it is in the file. */
				void *note = read_block(fd, p.offset, p.filesz, NOTE_MAX);
				if (note && pf_go_note_in(note, (size_t)p.filesz, (size_t)p.align))
					e->go_note = true;
				free(note);
			}
		}
	}
	scan_dynsym(fd, e, shoff, shnum, shentsize);
}

static bool read_elf_path(const char *path, struct elf_info *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(e, 0, sizeof *e);
		return false;
	}
	read_elf(fd, e);
	close(fd);
	return true;
}

static const char *machine_name(unsigned m)
{
	switch (m) {
	case EM_X86_64: return "x86-64";
	case EM_386: return "i386";
	case EM_AARCH64: return "aarch64";
	case EM_ARM: return "arm";
	case EM_RISCV: return "riscv";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	default: return "another machine";
	}
}

/* ------------------------------------------------------------------ */
/* Scripts                                                             */

struct hop {
	char *path;      /* the file at this level */
	char *line;      /* its #! line, or NULL for the ELF file at the end */
};

/* The #! line of fd (without "#!" and the newline), or NULL. */
static char *shebang(int fd)
{
	char buf[257];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return NULL;
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return xstrdup(buf + 2);
}

/* The interpreter the kernel runs for a #! line; through env(1), the
 * program env finds in PATH.  *via_env says so.  NULL when none. */
static char *interpreter_of(const char *line, bool *via_env)
{
	char *copy = xstrdup(line), *save = NULL;
	char *interp = strtok_r(copy, " \t", &save);
	char *arg = interp ? strtok_r(NULL, "", &save) : NULL;
	*via_env = false;
	if (!interp) {
		free(copy);
		return NULL;
	}
	char *out = xstrdup(interp);
	const char *base = strrchr(interp, '/');
	base = base ? base + 1 : interp;
	if (!strcmp(base, "env") && arg) {
		while (*arg == ' ' || *arg == '\t')
			arg++;
		if (!strncmp(arg, "-S", 2)) /* env -S 'prog args' */
			for (arg += 2; *arg == ' ' || *arg == '\t'; arg++)
				;
		char word[256];
		if (*arg != '-' && sscanf(arg, "%255s", word) == 1) {
			char *found = find_in_path(word);
			if (found) {
				free(out);
				out = found;
				*via_env = true;
			}
		}
	}
	free(copy);
	return out;
}

/* ------------------------------------------------------------------ */
/* Libraries (ldd)                                                     */

struct lib {
	char *name;
	char *path; /* NULL: not found */
};

static struct lib libs[MAX_LIBS];
static size_t nlibs;
static int ldd_status = -1; /* -1: not run */

/* Runs ldd on path and keeps what it lists. */
static void run_ldd(const char *path)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC))
		return;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	/* The ldd the user's PATH finds, as a shell would; else glibc's. */
	char *argv[] = { (char *)"ldd", (char *)"--", (char *)path, NULL };
	pid_t pid;
	int rc = posix_spawnp(&pid, "ldd", &fa, NULL, argv, environ);
	if (rc == ENOENT)
		rc = posix_spawn(&pid, "/usr/bin/ldd", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc) {
		close(pipefd[0]);
		return;
	}
	char *out = xmalloc(LDD_OUT_MAX + 1);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(pipefd[0], out + len, LDD_OUT_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == LDD_OUT_MAX) {
			char sink[4096]; /* keep ldd from blocking on a full pipe */
			while (read(pipefd[0], sink, sizeof sink) > 0)
				;
			break;
		}
	}
	out[len] = '\0';
	close(pipefd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ldd_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line && nlibs < MAX_LIBS;
	     line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		char *arrow = strstr(line, " => ");
		char name[PATH_MAX], where[PATH_MAX];
		if (arrow) {
			*arrow = '\0';
			if (sscanf(line, "%4095s", name) != 1)
				continue;
			if (!strncmp(arrow + 4, "not found", 9)) {
				libs[nlibs++] = (struct lib){ xstrdup(name), NULL };
			} else if (sscanf(arrow + 4, "%4095s", where) == 1 && where[0] == '/') {
				libs[nlibs++] = (struct lib){ xstrdup(name), xstrdup(where) };
			}
		} else if (line[0] == '/' && sscanf(line, "%4095s", where) == 1) {
			/* the loader, listed by its path */
			const char *base = strrchr(where, '/');
			libs[nlibs++] = (struct lib){ xstrdup(base + 1), xstrdup(where) };
		}
		/* anything else: linux-vdso.so.1 (no file), messages */
	}
	free(out);
}

/* ------------------------------------------------------------------ */
/* The report                                                          */

enum way { WAY_PRELOAD, WAY_COMPANION, WAY_NONE };

static struct {
	const char *command;
	char *path, *real;
	struct hop hops[MAX_SCRIPT_DEPTH + 1];
	int nhops;
	bool env_hop[MAX_SCRIPT_DEPTH + 1];
	const char *elf_path;   /* the ELF file that will run: path or the interpreter */
	struct elf_info elf;
	const char *linking;    /* "dynamic", "static", "static-pie" */
	bool setuid, setgid;    /* of the command file: the wrapper's rule */
	bool elf_setuid, elf_setgid; /* of the interpreter, for a script */
	const char *libs_skipped; /* why ldd was not run, or NULL */
	enum pf_go_seen go;
	const char *go_where, *go_symbol;
	bool discovery;
	const char *discovery_why;
	int perf_err, paranoid;
	int procmap_err;
	bool populate;
	struct pf_io_limit limits[PF_IOLIMIT_LIST_MAX];
	size_t nlimits;
	uint64_t budget, avail, headroom, room, reserve;
	const char *library;    /* from the wrapper; NULL when not told or missing */
	const char *library_missing; /* the wrapper's word for why there is none */
	const char *companion;  /* from the wrapper; NULL when not told */
	bool companion_found;
	bool force_companion;
	enum way way;
	char verdict[512];
	char error[512];        /* the stderr line when the status is 1 */
	int status;
} r;

/* Follows #! lines to the ELF file that will run; fills hops. */
static void resolve(void)
{
	const char *at = r.path;
	char *interp = NULL; /* the interpreter found last, owned here */
	for (int depth = 0;; depth++) {
		int fd = open(at, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die("%s: cannot read it: %s", at, strerror(errno));
		char *line = shebang(fd);
		r.hops[r.nhops].path = xstrdup(at);
		r.hops[r.nhops].line = line;
		r.nhops++;
		free(interp);
		interp = NULL;
		at = r.hops[r.nhops - 1].path;
		if (!line) {
			read_elf(fd, &r.elf);
			close(fd);
			r.elf_path = r.hops[r.nhops - 1].path;
			return;
		}
		close(fd);
		if (depth == MAX_SCRIPT_DEPTH)
			die("%s: more than %d levels of #! interpreters; the kernel refuses to run it",
				 r.path, MAX_SCRIPT_DEPTH);
		bool via_env;
		interp = interpreter_of(line, &via_env);
		if (!interp)
			die("%s: a script whose #! line names no interpreter", at);
		if (!is_exec_file(interp))
			die("%s: its interpreter %s is not an executable file", at, interp);
		r.env_hop[r.nhops - 1] = via_env;
		at = interp;
	}
}

static void analyse(void)
{
	struct stat st;
	if (stat(r.path, &st) == 0) {
		r.setuid = st.st_mode & S_ISUID;
		r.setgid = st.st_mode & S_ISGID;
	}
	resolve();
	if (!r.elf.is_elf)
		die("%s: neither an ELF program nor a #! script: the kernel refuses it (ENOEXEC); "
		    "a shell would run it itself, without the library", r.elf_path);
	if (r.elf.foreign)
		die("%s: an ELF file of another byte order or class than this machine's", r.elf_path);
	if (r.elf.type != ET_EXEC && r.elf.type != ET_DYN)
		die("%s: an ELF file that is not a program (type %u)", r.elf_path, r.elf.type);
	if (r.nhops > 1 && stat(r.elf_path, &st) == 0) {
		r.elf_setuid = st.st_mode & S_ISUID;
		r.elf_setgid = st.st_mode & S_ISGID;
	}
	if (r.elf.interp_seen)
		r.linking = "dynamic";
	else if (r.elf.dynamic_seen)
		r.linking = "static-pie";
	else
		r.linking = "static";

	/* Libraries: what the loader would load, listed without running the
	 * program; never for a setuid or setgid file. */
	if (r.setuid || r.setgid || r.elf_setuid || r.elf_setgid)
		r.libs_skipped = "setuid/setgid: nothing is run, not even ldd";
	else if (!r.elf.interp_seen)
		r.libs_skipped = "statically linked: none";
	else
		run_ldd(r.elf_path);

	/* Go: the same order as pf_go_detect(): the program's note, a loaded
	 * object's note, the cgo symbols anywhere. */
	r.go = PF_GO_NO;
	if (r.elf.go_note) {
		r.go = PF_GO_NOTE;
		r.go_where = r.elf_path;
	}
	if (r.elf.cgo_symbol) {
		r.go_symbol = r.elf.cgo_symbol;
		if (r.go == PF_GO_NO)
			r.go_where = r.elf_path;
	}
	for (size_t i = 0; i < nlibs && r.go != PF_GO_NOTE && r.go != PF_GO_LIBRARY; i++) {
		struct elf_info le;
		if (!libs[i].path || !read_elf_path(libs[i].path, &le) || le.foreign)
			continue;
		if (le.go_note) {
			r.go = PF_GO_LIBRARY;
			r.go_where = libs[i].path;
		} else if (le.cgo_symbol && !r.go_symbol) {
			r.go_symbol = le.cgo_symbol;
			r.go_where = libs[i].path;
		}
	}
	if (r.go == PF_GO_NO && r.go_symbol)
		r.go = PF_GO_CGO_SYM;

	r.perf_err = pf_mapwatch_probe();
	char buf[64];
	r.paranoid = INT_MIN;
	if (pf_read_small("/proc/sys/kernel/perf_event_paranoid", buf, sizeof buf) > 0)
		r.paranoid = atoi(buf);
	r.procmap_err = pf_procmap_probe();
	r.populate = pf_populate_read_supported();
	r.nlimits = pf_iolimit_list(r.limits, PF_IOLIMIT_LIST_MAX);

	if (pf_opt.enabled) {
		r.budget = pf_budget_compute();
		r.avail = pf_mem_available();
		r.headroom = pf_cgroup_headroom();
		r.room = pf_pressure_room();
		r.reserve = pf_pressure_reserve();
	}
}

static bool preload_ignored(void)
{
	return strcmp(r.linking, "dynamic") || r.setuid || r.setgid || r.elf_setuid || r.elf_setgid;
}

static void decide(void)
{
	const char *cmd = r.path;
	bool script = r.nhops > 1;
	const char *why = NULL;
	if (r.force_companion)
		why = "--companion";
	else if (r.setuid || r.setgid)
		why = r.setuid ? "setuid" : "setgid";
	else if (preload_ignored())
		why = "interp";

	/* Discovery: the library's own rule (gonote.c), worded for a person. */
	const char *dwhy;
	r.discovery = pf_go_discovery_wanted(pf_opt.enabled, pf_opt.discover, r.go, &dwhy);
	if (!pf_opt.enabled)
		r.discovery_why = "inert (PREFAULT=0)";
	else if (why) {
		r.discovery = false;
		r.discovery_why = "not used: the companion follows /proc/PID/maps, raw mmap calls included";
	} else if (!strcmp(dwhy, "forced"))
		r.discovery_why = "on (PREFAULT_DISCOVER=1)";
	else if (!strcmp(dwhy, "turned-off"))
		r.discovery_why = "off (PREFAULT_DISCOVER=0)";
	else
		r.discovery_why = r.discovery ? "on (auto: Go code found)" : "off (auto: no Go code found)";

	if (!pf_opt.enabled) {
		r.way = WAY_NONE;
		snprintf(r.verdict, sizeof r.verdict, "no effect: PREFAULT=0 makes prefault inert");
		snprintf(r.error, sizeof r.error, "PREFAULT=0: prefault would do nothing for %s", cmd);
	} else if (!why) {
		r.way = WAY_PRELOAD;
		if (r.library_missing) {
			r.way = WAY_NONE;
			snprintf(r.verdict, sizeof r.verdict, "no effect: the library is missing");
			snprintf(r.error, sizeof r.error, "%s", r.library_missing);
		} else {
			snprintf(r.verdict, sizeof r.verdict, "prefault can take effect: LD_PRELOAD applies%s",
				 r.discovery ? ", with discovery for Go's raw mmap calls" : "");
		}
	} else {
		r.way = WAY_COMPANION;
		if (!strcmp(why, "--companion"))
			snprintf(r.verdict, sizeof r.verdict,
				 "only through the companion: --companion asks for it");
		else if (!strcmp(why, "interp") && script)
			snprintf(r.verdict, sizeof r.verdict,
				 "only through the companion: the interpreter %s is %s, and `prefault --` "
				 "checks the script only; run prefault --companion -- %s",
				 r.elf_path, strcmp(r.linking, "dynamic") ? "statically linked" : "setuid/setgid",
				 cmd);
		else if (!strcmp(why, "interp"))
			snprintf(r.verdict, sizeof r.verdict,
				 "only through the companion: %s programs ignore LD_PRELOAD; `prefault --` "
				 "runs it under prefault-companion", r.linking);
		else
			snprintf(r.verdict, sizeof r.verdict,
				 "only through the companion: the loader ignores preloads with a path in %s "
				 "programs; `prefault --` runs it under prefault-companion", why);
		if (r.companion && !r.companion_found) {
			r.way = WAY_NONE;
			snprintf(r.verdict, sizeof r.verdict, "no effect: prefault-companion is missing");
			snprintf(r.error, sizeof r.error,
				 "prefault-companion not found at %s; run make (%s would run without prefault)",
				 r.companion, cmd);
		} else if (!r.populate) {
			r.way = WAY_NONE;
			snprintf(r.verdict, sizeof r.verdict,
				 "no effect: the companion needs MADV_POPULATE_READ (Linux 5.14)");
			snprintf(r.error, sizeof r.error,
				 "this kernel lacks MADV_POPULATE_READ (Linux 5.14); the companion would run %s without prefault",
				 cmd);
		}
	}
	r.status = r.way == WAY_PRELOAD ? 0 : r.way == WAY_COMPANION ? 2 : 1;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */

static void text_perf(char *buf, size_t n)
{
	if (!r.perf_err) {
		snprintf(buf, n, "yes (discovery is woken by them when the program maps a file)");
		return;
	}
	char par[48] = "";
	if (r.paranoid != INT_MIN)
		snprintf(par, sizeof par, " (kernel.perf_event_paranoid=%d)", r.paranoid);
	const char *who = "";
	if ((r.perf_err == EACCES || r.perf_err == EPERM) && r.paranoid != INT_MIN)
		who = r.paranoid > 2 ? ": the sysctl forbids it"
				     : ": refused by something else (seccomp, a container's profile, an LSM)";
	else if (r.perf_err == ENOSYS)
		who = ": no perf_event_open (or a seccomp filter)";
	else if (r.perf_err == EINVAL)
		who = ": the kernel is too old for these records (5.13+)";
	snprintf(buf, n, "no: perf_event_open: %s%s%s; discovery would poll /proc/self/maps",
		 errname(r.perf_err), par, who);
}

static void print_text(void)
{
	char a[32], b[32], c[32], line[1024];
	printf("command: %s\n", r.path);
	if (r.real && strcmp(r.real, r.path))
		printf("resolved: %s\n", r.real);
	for (int i = 0; i + 1 < r.nhops; i++)
		printf("script: %s: #!%s -> %s%s\n", r.hops[i].path, r.hops[i].line, r.hops[i + 1].path,
		       r.env_hop[i] ? " (found by env in PATH)" : "");
	printf("file: %s: ELF %d-bit %s %s\n", r.elf_path, r.elf.bits, machine_name(r.elf.machine),
	       r.elf.type == ET_EXEC ? "executable" : r.elf.pie_flag || r.elf.interp_seen ? "executable (PIE)"
											: "shared object");
	if (!strcmp(r.linking, "dynamic"))
		printf("linking: dynamic (PT_INTERP %s): preload applies\n", r.elf.interp);
	else
		printf("linking: %s (no PT_INTERP%s): LD_PRELOAD has no effect; prefault would use the companion (prefault --companion)\n",
		       r.linking, r.elf.dynamic_seen ? ", a PT_DYNAMIC" : ", no PT_DYNAMIC");
	if (r.setuid || r.setgid)
		printf("setuid: %s%s%s: the loader ignores preloads with a path; prefault would use the companion\n",
		       r.setuid ? "setuid" : "", r.setuid && r.setgid ? " and " : "", r.setgid ? "setgid" : "");
	else if (r.elf_setuid || r.elf_setgid)
		printf("setuid: the interpreter %s is %s: the loader ignores preloads with a path\n", r.elf_path,
		       r.elf_setuid ? "setuid" : "setgid");
	else
		printf("setuid: no\n");
	if (r.libs_skipped) {
		printf("libraries: not listed (%s)\n", r.libs_skipped);
	} else if (ldd_status < 0) {
		printf("libraries: unknown (ldd could not be run)\n");
	} else if (ldd_status > 0 && !nlibs) {
		printf("libraries: unknown (ldd failed, status %d)\n", ldd_status);
	} else {
		size_t n = 0, missing = 0;
		n += (size_t)snprintf(line + n, sizeof line - n, "libraries: %zu (ldd):", nlibs);
		for (size_t i = 0; i < nlibs && n < sizeof line; i++) {
			n += (size_t)snprintf(line + n, sizeof line - n, " %s%s", libs[i].name,
					      libs[i].path ? "" : " (not found)");
			missing += !libs[i].path;
		}
		if (n >= sizeof line)
			strcpy(line + sizeof line - 5, " ...");
		puts(line);
		if (missing)
			printf("warning: %zu librar%s not found: the program would not start\n", missing,
			       missing == 1 ? "y" : "ies");
	}
	switch (r.go) {
	case PF_GO_NOTE:
		printf("go: yes, Go's build-id note in the program (%s)\n", pf_go_seen_name(r.go));
		break;
	case PF_GO_LIBRARY:
		printf("go: yes, a Go library it loads carries Go's build-id note: %s (%s)\n", r.go_where,
		       pf_go_seen_name(r.go));
		break;
	case PF_GO_CGO_SYM:
		printf("go: yes, the cgo symbol %s is defined in the .dynsym of %s (%s)\n", r.go_symbol,
		       r.go_where, pf_go_seen_name(r.go));
		break;
	default:
		printf("go: no (%s%s)\n", pf_go_seen_name(r.go),
		       r.elf.sections || !r.elf.dynamic_seen ? "" : "; no section headers: cgo symbols not looked for");
	}
	printf("discovery: %s\n", r.discovery_why);
	text_perf(line, sizeof line);
	printf("perf mmap records: %s\n", line);
	if (!r.procmap_err)
		printf("PROCMAP_QUERY: yes (a mapping is looked up by address, without reading /proc/self/maps)\n");
	else
		printf("PROCMAP_QUERY: no: %s (Linux 6.11+ has it)\n", errname(r.procmap_err));
	printf("MADV_POPULATE_READ: %s\n",
	       r.populate ? "yes (pages are mapped in, not only read into the page cache)"
			  : "no: the helpers fall back to paced MADV_WILLNEED (Linux 5.14+ has it)");
	if (!r.nlimits) {
		printf("cgroup read limits: none (cgroup v1 blkio.throttle, v2 io.max)\n");
	} else {
		size_t n = (size_t)snprintf(line, sizeof line, "cgroup read limits:");
		for (size_t i = 0; i < r.nlimits && n < sizeof line; i++)
			n += (size_t)snprintf(line + n, sizeof line - n, "%s disk %u:%u rbps %" PRIu64 " riops %" PRIu64,
					      i ? ";" : "", r.limits[i].maj, r.limits[i].min, r.limits[i].rbps,
					      r.limits[i].riops);
		if (n < sizeof line)
			snprintf(line + n, sizeof line - n, "%s",
				 pf_opt.pace ? " (0: none); prefault keeps its reads at 95% of them"
					     : " (0: none); not paced (PREFAULT_PACE=0)");
		puts(line);
	}
	if (!pf_opt.enabled) {
		printf("budget: none (PREFAULT=0)\n");
	} else if (pf_opt.budget_bytes) {
		printf("budget: %" PRIu64 " bytes (%s), PREFAULT_BUDGET as a size; room now %s above a %s reserve\n",
		       r.budget, human(a, sizeof a, r.budget), human(b, sizeof b, r.room),
		       human(c, sizeof c, r.reserve));
	} else {
		char d[32], e[32], hr[64];
		if (r.headroom == UINT64_MAX)
			snprintf(hr, sizeof hr, "no cgroup memory limit");
		else
			snprintf(hr, sizeof hr, "cgroup headroom %s", human(d, sizeof d, r.headroom));
		uint64_t base = r.headroom < r.avail ? r.headroom : r.avail;
		printf("budget: %" PRIu64 " bytes (%s), %u%% of %s available (MemAvailable %s, %s); room now %s above a %s reserve\n",
		       r.budget, human(a, sizeof a, r.budget), pf_opt.budget_percent,
		       human(b, sizeof b, base), human(c, sizeof c, r.avail), hr,
		       human(d, sizeof d, r.room), human(e, sizeof e, r.reserve));
	}
	if (r.library)
		printf("library: %s\n", r.library);
	else if (r.library_missing)
		printf("library: missing: %s\n", r.library_missing);
	if (r.companion)
		printf("companion: %s%s\n", r.companion, r.companion_found ? "" : " (missing)");
	printf("verdict: %s\n", r.verdict);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

/* A string by the records' rule (pf_json_string): valid JSON and UTF-8. */
static void jstr(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	size_t size = 6 * strlen(s) + 4;
	char small[1024], *buf = size <= sizeof small ? small : malloc(size);
	if (!buf) {
		fputs("null", stdout);
		return;
	}
	pf_json_string(buf, size, s);
	fputs(buf, stdout);
	if (buf != small)
		free(buf);
}

static void jkey(const char *k)
{
	static bool first = true;
	fputs(first ? "{" : ",", stdout);
	first = false;
	jstr(k);
	putchar(':');
}

static void jbool(const char *k, bool v)
{
	jkey(k);
	fputs(v ? "true" : "false", stdout);
}

static void jskey(const char *k, const char *v)
{
	jkey(k);
	jstr(v);
}

static void ju64(const char *k, uint64_t v)
{
	jkey(k);
	printf("%" PRIu64, v);
}

static void print_json(void)
{
	jskey("command", r.command);
	jskey("path", r.path);
	jskey("resolved", r.real);
	jkey("scripts");
	putchar('[');
	for (int i = 0; i + 1 < r.nhops; i++) {
		printf("%s{\"path\":", i ? "," : "");
		jstr(r.hops[i].path);
		fputs(",\"line\":", stdout);
		jstr(r.hops[i].line);
		fputs(",\"interpreter\":", stdout);
		jstr(r.hops[i + 1].path);
		printf(",\"via_env\":%s}", r.env_hop[i] ? "true" : "false");
	}
	putchar(']');
	jskey("file", r.elf_path);
	jkey("bits");
	printf("%d", r.elf.bits);
	jskey("machine", machine_name(r.elf.machine));
	jskey("linking", r.linking);
	jskey("pt_interp", r.elf.interp_seen ? r.elf.interp : NULL);
	jbool("pt_dynamic", r.elf.dynamic_seen);
	jbool("preload_applies", !preload_ignored());
	jbool("setuid", r.setuid || r.elf_setuid);
	jbool("setgid", r.setgid || r.elf_setgid);
	jkey("libraries");
	if (r.libs_skipped || ldd_status < 0 || (ldd_status > 0 && !nlibs)) {
		fputs("null", stdout);
	} else {
		putchar('[');
		for (size_t i = 0; i < nlibs; i++) {
			printf("%s{\"name\":", i ? "," : "");
			jstr(libs[i].name);
			fputs(",\"path\":", stdout);
			jstr(libs[i].path);
			putchar('}');
		}
		putchar(']');
	}
	jskey("libraries_skipped", r.libs_skipped);
	jbool("is_go", r.go != PF_GO_NO);
	jskey("go", pf_go_seen_name(r.go));
	jskey("go_where", r.go_where);
	jskey("go_symbol", r.go_symbol);
	jskey("discover_mode", pf_opt.discover == PF_DISCOVER_ON ? "1" : pf_opt.discover == PF_DISCOVER_OFF ? "0" : "auto");
	jbool("discovery", r.discovery);
	jskey("discovery_why", r.discovery_why);
	jkey("perf");
	printf("{\"available\":%s,\"errno\":", r.perf_err ? "false" : "true");
	jstr(r.perf_err ? errname(r.perf_err) : NULL);
	fputs(",\"paranoid\":", stdout);
	if (r.paranoid == INT_MIN)
		fputs("null", stdout);
	else
		printf("%d", r.paranoid);
	putchar('}');
	jkey("procmap_query");
	printf("{\"available\":%s,\"errno\":", r.procmap_err ? "false" : "true");
	jstr(r.procmap_err ? errname(r.procmap_err) : NULL);
	putchar('}');
	jbool("populate_read", r.populate);
	jkey("io_limits");
	putchar('[');
	for (size_t i = 0; i < r.nlimits; i++)
		printf("%s{\"disk\":\"%u:%u\",\"rbps\":%" PRIu64 ",\"riops\":%" PRIu64 "}", i ? "," : "",
		       r.limits[i].maj, r.limits[i].min, r.limits[i].rbps, r.limits[i].riops);
	putchar(']');
	jbool("pace", pf_opt.pace);
	jbool("enabled", pf_opt.enabled);
	if (pf_opt.enabled) {
		ju64("budget", r.budget);
		jkey("budget_percent");
		if (pf_opt.budget_percent && !pf_opt.budget_bytes)
			printf("%u", pf_opt.budget_percent);
		else
			fputs("null", stdout);
		ju64("mem_available", r.avail);
		jkey("cgroup_headroom");
		if (r.headroom == UINT64_MAX)
			fputs("null", stdout);
		else
			printf("%" PRIu64, r.headroom);
		ju64("room", r.room);
		ju64("reserve", r.reserve);
	} else {
		jkey("budget");
		fputs("null", stdout);
	}
	jskey("library", r.library);
	jskey("library_missing", r.library_missing);
	jskey("companion", r.companion);
	if (r.companion)
		jbool("companion_found", r.companion_found);
	jskey("way", r.way == WAY_PRELOAD ? "preload" : r.way == WAY_COMPANION ? "companion" : "none");
	jskey("verdict", r.verdict);
	jkey("status");
	printf("%d}\n", r.status);
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f, "usage: prefault-check [--json] [--companion] [--library PATH|--no-library WHY]\n"
		   "                      [--companion-path PATH|--no-companion PATH] [--] COMMAND [ARGS...]\n"
		   "Says whether prefault can take effect on COMMAND here; never runs it.\n"
		   "Exit status: 0 by preload, 2 only through the companion, 1 on error or no effect.\n");
}

/* The settings, as the library reads them, without writing anywhere: a
 * malformed value is said on stderr (PREFAULT_LOG=stderr for the load), and
 * PREFAULT_STATS is left alone (the check writes no report). */
static void load_options(void)
{
	char *stats = getenv("PREFAULT_STATS"), *log = getenv("PREFAULT_LOG");
	char *saved_stats = stats ? xstrdup(stats) : NULL, *saved_log = log ? xstrdup(log) : NULL;
	unsetenv("PREFAULT_STATS");
	setenv("PREFAULT_LOG", "stderr", 1);
	pf_options_load();
	pf_opt.log_dest[0] = '\0';
	pf_opt.stats_dest[0] = '\0';
	if (saved_stats)
		setenv("PREFAULT_STATS", saved_stats, 1);
	if (saved_log)
		setenv("PREFAULT_LOG", saved_log, 1);
	else
		unsetenv("PREFAULT_LOG");
	free(saved_stats);
	free(saved_log);
}

int main(int argc, char **argv)
{
	bool json = false;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--companion")) {
			r.force_companion = true;
		} else if (!strcmp(a, "--library") || !strcmp(a, "--no-library") ||
			   !strcmp(a, "--companion-path") || !strcmp(a, "--no-companion")) {
			/* The wrapper's findings (tools/prefault: find_library,
			 * find_companion): a path found, or what is missing. */
			if (i + 1 >= argc)
				die("option %s needs a value", a);
			const char *v = argv[++i];
			if (!strcmp(a, "--library")) {
				r.library = v;
			} else if (!strcmp(a, "--no-library")) {
				r.library_missing = v;
			} else {
				r.companion = v;
				r.companion_found = !strcmp(a, "--companion-path");
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			die("unknown option '%s' (see prefault --help)", a);
		} else {
			break;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 1;
	}
	r.command = argv[i];
	if (!r.command[0])
		die("'': command not found");
	r.path = find_in_path(r.command);
	if (!r.path) {
		struct stat st;
		if (strchr(r.command, '/') && stat(r.command, &st) == 0)
			die("%s: not an executable file", r.command);
		die("%s: command not found", r.command);
	}
	r.real = realpath(r.path, NULL);

	load_options();
	analyse();
	decide();
	if (json)
		print_json();
	else
		print_text();
	fflush(stdout);
	if (r.status == 1)
		fprintf(stderr, "prefault: %s\n", r.error);
	return r.status;
}
