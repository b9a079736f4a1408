#pragma once
// sysfs, minimal and read-only: what programs read to size themselves.
//
//   /sys/devices/system/cpu/{online,possible,present}  the host's CPU lists
//   /sys/devices/system/cpu/cpuN/                      one empty directory per CPU
//   /sys/fs/cgroup/                                    empty
//
// glibc's get_nprocs() reads cpu/online and get_nprocs_conf() counts the
// cpuN directories, so sysconf(_SC_NPROCESSORS_*) inside the sandbox agrees
// with /proc/cpuinfo. The filesystem is read-only (EROFS for writes, as a
// container's /sys mounted ro).

#include "base/ref_ptr.h"
#include "fs/node.h"

namespace moat::fs {

RefPtr<Node> create_sysfs();

}  // namespace moat::fs
