/*
 * pressure.c - memory-pressure manners for reading ahead: prefault backs off
 * when MemAvailable or the cgroup's headroom drops, so what it brings in
 * never pushes the program's working set out.
 *
 * Design: available = min(MemAvailable, cgroup limit - usage), re-read at
 * most every PRESSURE_PERIOD_NS (one /proc/meminfo read and, under a
 * limited cgroup, two small sysfs reads: ~20-40 us).  The room prefault may
 * use is what is available above a reserve: MemTotal/64 within
 * [RESERVE_MIN, RESERVE_MAX], or CGROUP_RESERVE when the cgroup's headroom
 * is what binds (a small cgroup has no room for a machine-sized reserve).
 * Readers take the cached value, less what prefault has charged since it
 * was read (so that 200 ms of reading cannot spend the same room twice).
 *
 * Lock rule: no lock.  The cache is three atomics; two helpers that re-read
 * at once both store a valid value.
 */
#include "core/pressure.h"
#include "core/budget.h"
#include "sys/meminfo.h"
#include "core/account.h"
#include "sys/clock.h"


#define PRESSURE_PERIOD_NS (200ll * 1000000ll)
#define RESERVE_MIN (64ull << 20)
#define RESERVE_MAX (512ull << 20)
#define CGROUP_RESERVE (32ull << 20)

static int64_t last_read_ns;
static uint64_t last_avail, last_reserve, machine_reserve, charged_at_read;

static void refresh(void)
{
	int64_t now = pf_now_ns();
	if (now - __atomic_load_n(&last_read_ns, __ATOMIC_ACQUIRE) < PRESSURE_PERIOD_NS)
		return;
	uint64_t avail = pf_mem_available(), room = pf_cgroup_headroom();
	uint64_t reserve = __atomic_load_n(&machine_reserve, __ATOMIC_RELAXED);
	if (!reserve) {
		reserve = pf_mem_total() / 64;
		reserve = reserve < RESERVE_MIN ? RESERVE_MIN : reserve > RESERVE_MAX ? RESERVE_MAX : reserve;
		__atomic_store_n(&machine_reserve, reserve, __ATOMIC_RELAXED);
	}
	if (room < avail) {
		avail = room;
		reserve = CGROUP_RESERVE;
	}
	__atomic_store_n(&last_reserve, reserve, __ATOMIC_RELAXED);
	__atomic_store_n(&last_avail, avail, __ATOMIC_RELAXED);
	__atomic_store_n(&charged_at_read, pf_account_brought_in(), __ATOMIC_RELAXED);
	__atomic_store_n(&last_read_ns, now, __ATOMIC_RELEASE);
}

uint64_t pf_pressure_avail(void)
{
	refresh();
	return __atomic_load_n(&last_avail, __ATOMIC_RELAXED);
}

uint64_t pf_pressure_reserve(void)
{
	refresh();
	return __atomic_load_n(&last_reserve, __ATOMIC_RELAXED);
}

static uint64_t room_of(uint64_t avail, uint64_t reserve)
{
	if (avail == 0)
		return UINT64_MAX;
	/* brought_in can go down: a charge counted high is cut to what was
	 * read (charge.c). */
	uint64_t now = pf_account_brought_in(), at = __atomic_load_n(&charged_at_read, __ATOMIC_RELAXED);
	uint64_t since = now > at ? now - at : 0;
	return avail > reserve + since ? avail - reserve - since : 0;
}

uint64_t pf_pressure_room_cached(void)
{
	if (!__atomic_load_n(&last_read_ns, __ATOMIC_ACQUIRE))
		return UINT64_MAX;
	return room_of(__atomic_load_n(&last_avail, __ATOMIC_RELAXED),
		       __atomic_load_n(&last_reserve, __ATOMIC_RELAXED));
}

uint64_t pf_pressure_room(void)
{
	uint64_t avail = pf_pressure_avail(), reserve = pf_pressure_reserve();
	/* MemAvailable unreadable (0 with no cgroup limit): do not guess. */
	return room_of(avail, reserve);
}
