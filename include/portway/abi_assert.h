/* Compile-time layout checks that read the same in C (BPF side, clang -target bpf) and C++.
 * Every struct that crosses the kernel/user boundary asserts its size here, so a field
 * added on one side without the other fails both builds instead of corrupting map values. */
#pragma once

#ifdef __cplusplus
#define PORTWAY_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define PORTWAY_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

#define PORTWAY_ABI_SIZE(type, bytes) \
  PORTWAY_ABI_ASSERT(sizeof(type) == (bytes), #type " must be " #bytes " bytes on both sides")
