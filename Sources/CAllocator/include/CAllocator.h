// glibc's allocator controls (mallopt, malloc_trim), which Swift's Glibc module does not export. Elsewhere (macOS,
// musl) both functions do nothing.
#ifndef EMQX_AUTOREBALANCER_C_ALLOCATOR_H
#define EMQX_AUTOREBALANCER_C_ALLOCATOR_H

#if defined(__linux__)
#include <malloc.h>
#endif

/// At most `arenas` arenas; allocations of `mmapThreshold` bytes and more in their own mappings; free space at the
/// top of the heap over `mmapThreshold` given back. Fixing the thresholds also stops glibc from raising them.
static inline void autorebalancer_tune_allocator(int arenas, int mmapThreshold) {
#if defined(__GLIBC__)
    mallopt(M_ARENA_MAX, arenas);
    mallopt(M_MMAP_THRESHOLD, mmapThreshold);
    mallopt(M_TRIM_THRESHOLD, mmapThreshold);
#else
    (void)arenas;
    (void)mmapThreshold;
#endif
}

/// Gives the free whole pages anywhere in the heap back to the system.
static inline void autorebalancer_return_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

#endif
