// The BPF program's flow hash (bpf/lib/jhash.h) for C++: tests predict the program's picks
// with the very same code. That header is C; its casts are C casts.
#pragma once

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#include "lib/jhash.h"
#pragma GCC diagnostic pop
