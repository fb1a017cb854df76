/* refsim's hardware shim: Py_INCREF's race, on the learner's own CPU.
 *
 * refsim_race() increments one shared 64-bit word n times, in one of three ways:
 *
 *   0  plain:  load, add, store (a volatile word, so the compiler keeps the three steps
 *              and one of each per increment: `ob_refcnt++` as refsim's model has it);
 *   1  add:    one x86 `add` instruction with a memory operand (what gcc -O2 emits for
 *              `op->ob_refcnt++`), not atomic across cores without the lock prefix;
 *   2  atomic: __atomic_fetch_add, sequentially consistent: `lock add` on x86, as
 *              CPython's free-threaded build uses for a shared count (_Py_atomic_add_ssize).
 *
 * Python threads call it through cffi, which releases the GIL around the call, so two
 * threads run it at the same time on two cores. A start gate (each caller adds itself to
 * *gate, then spins until `parties` callers have arrived) lines the threads up, so the
 * loops overlap from the first increment instead of one thread finishing before the
 * other has started. Each caller writes when its loop began and ended (monotonic ns)
 * into span[0] and span[1].
 */
#include <stdint.h>

#if defined(_MSC_VER)
#include <windows.h>
static int64_t now_ns(void) {
    LARGE_INTEGER f, t;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&t);
    return (int64_t)((double)t.QuadPart * 1e9 / (double)f.QuadPart);
}
#define ARRIVE(gate) InterlockedIncrement((volatile LONG *)(gate))
#define ARRIVED(gate) InterlockedCompareExchange((volatile LONG *)(gate), 0, 0)
#define ATOMIC_INCREMENT(word) InterlockedIncrement64((volatile LONG64 *)(word))
#else
#include <time.h>
static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
#define ARRIVE(gate) __atomic_fetch_add((gate), 1, __ATOMIC_SEQ_CST)
#define ARRIVED(gate) __atomic_load_n((gate), __ATOMIC_ACQUIRE)
#define ATOMIC_INCREMENT(word) __atomic_fetch_add((word), 1, __ATOMIC_SEQ_CST)
#endif

#if (defined(__x86_64__) || defined(__i386__)) && !defined(_MSC_VER)
#define HAS_ADD 1
#else
#define HAS_ADD 0
#endif

int refsim_has_add(void) { return HAS_ADD; }

static void plain(volatile int64_t *word, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t value = *word; /* LOAD */
        value = value + 1;     /* ADD */
        *word = value;         /* STORE */
    }
}

static void add(int64_t *word, int64_t n) {
#if HAS_ADD
    for (int64_t i = 0; i < n; i++) {
        __asm__ volatile("addq $1, %0" : "+m"(*word));
    }
#else
    (void)word;
    (void)n;
#endif
}

static void atomic(int64_t *word, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        ATOMIC_INCREMENT(word);
    }
}

void refsim_race(int kind, int64_t *word, int64_t n, int32_t *gate, int32_t parties,
                 int64_t *span) {
    ARRIVE(gate);
    while (ARRIVED(gate) < parties) {
    }
    span[0] = now_ns();
    if (kind == 0) {
        plain(word, n);
    } else if (kind == 1) {
        add(word, n);
    } else {
        atomic(word, n);
    }
    span[1] = now_ns();
}
