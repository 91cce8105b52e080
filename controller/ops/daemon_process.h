// Whether a process is a running `portway daemon`: `portway sync` asks it about the holder of
// the pin-folder lock, to fail at once instead of waiting for a lock a daemon holds for its
// whole life (docs/daemon.md "One daemon per pin folder").
#pragma once

#include <sys/types.h>

namespace portway::ops {

// From /proc/PID/cmdline: the program is named portway* and its first argument is "daemon".
// false when the process is gone or not visible.
bool is_portway_daemon(pid_t pid);

}  // namespace portway::ops
