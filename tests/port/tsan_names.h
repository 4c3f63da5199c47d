/*
 * Force-included (-include) by the ThreadSanitizer build of the drop-in
 * malloc and of its thread stress (mk/port.mk, check-port-tsan): TSan's
 * runtime is the process's malloc (it intercepts it), so the port's entry
 * points take other names here, in the port and in the test alike; the C
 * library and TSan itself keep the real ones.
 */
#define malloc hht_malloc
#define free hht_free
#define calloc hht_calloc
#define realloc hht_realloc
#define reallocarray hht_reallocarray
#define posix_memalign hht_posix_memalign
#define aligned_alloc hht_aligned_alloc
#define memalign hht_memalign
#define valloc hht_valloc
#define pvalloc hht_pvalloc
#define malloc_usable_size hht_malloc_usable_size
