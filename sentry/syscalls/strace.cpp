// strace-style formatting of guest syscalls. See strace.h.
//
// Flag values are Linux x86-64's, written out here rather than taken from the
// host's libc headers: glibc defines some of them differently for user space
// (O_LARGEFILE is 0 there) and the guest's values are the kernel's.

#include "sentry/syscalls/strace.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <initializer_list>

namespace moat {
namespace {

struct FlagName {
  uint64_t bits;
  const char* name;
};

std::string hex(uint64_t v) {
  if (v == 0) return "0";
  char buf[32];
  snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

std::string pointer(uint64_t v) { return v == 0 ? "NULL" : hex(v); }

// Appends the names of every flag set in value (in table order), then any
// remaining bits in hex. Returns "" when value is 0.
std::string flag_list(uint64_t value, std::initializer_list<FlagName> names, std::string out = "") {
  for (const FlagName& f : names) {
    if (f.bits != 0 && (value & f.bits) == f.bits) {
      if (!out.empty()) out += '|';
      out += f.name;
      value &= ~f.bits;
    }
  }
  if (value != 0) {
    if (!out.empty()) out += '|';
    out += hex(value);
  }
  return out;
}

const char* lookup(uint64_t value, std::initializer_list<FlagName> names) {
  for (const FlagName& f : names)
    if (f.bits == value) return f.name;
  return nullptr;
}

std::string named_or_decimal(int64_t value, const char* name) {
  return name ? std::string(name) : std::to_string(value);
}

}  // namespace

std::string format_open_flags(uint64_t flags) {
  static constexpr const char* kAccess[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  std::string out = kAccess[flags & 3];
  flags &= ~uint64_t{3};
  // O_SYNC and O_TMPFILE contain O_DSYNC and O_DIRECTORY: listed first so the
  // smaller flag is not printed on its own.
  return flag_list(flags,
                   {{04010000, "O_SYNC"},
                    {020200000, "O_TMPFILE"},
                    {0100, "O_CREAT"},
                    {0200, "O_EXCL"},
                    {0400, "O_NOCTTY"},
                    {01000, "O_TRUNC"},
                    {02000, "O_APPEND"},
                    {04000, "O_NONBLOCK"},
                    {010000, "O_DSYNC"},
                    {020000, "O_ASYNC"},
                    {040000, "O_DIRECT"},
                    {0100000, "O_LARGEFILE"},
                    {0200000, "O_DIRECTORY"},
                    {0400000, "O_NOFOLLOW"},
                    {01000000, "O_NOATIME"},
                    {02000000, "O_CLOEXEC"},
                    {010000000, "O_PATH"}},
                   out);
}

std::string format_prot(uint64_t prot) {
  if (prot == 0) return "PROT_NONE";
  return flag_list(prot, {{0x1, "PROT_READ"},
                          {0x2, "PROT_WRITE"},
                          {0x4, "PROT_EXEC"},
                          {0x8, "PROT_SEM"},
                          {0x01000000, "PROT_GROWSDOWN"},
                          {0x02000000, "PROT_GROWSUP"}});
}

std::string format_mmap_flags(uint64_t flags) {
  std::string out;
  switch (flags & 0xf) {
    case 0x1: out = "MAP_SHARED"; break;
    case 0x2: out = "MAP_PRIVATE"; break;
    case 0x3: out = "MAP_SHARED_VALIDATE"; break;
    default: out = hex(flags & 0xf); break;
  }
  flags &= ~uint64_t{0xf};
  // With MAP_HUGETLB, bits 26..31 encode log2 of the huge page size.
  std::string huge;
  if ((flags & 0x40000) && (flags >> 26) != 0) {
    huge = std::to_string((flags >> 26) & 0x3f) + "<<MAP_HUGE_SHIFT";
    flags &= (uint64_t{1} << 26) - 1;
  }
  out = flag_list(flags,
                  {{0x10, "MAP_FIXED"},
                   {0x20, "MAP_ANONYMOUS"},
                   {0x40, "MAP_32BIT"},
                   {0x100, "MAP_GROWSDOWN"},
                   {0x800, "MAP_DENYWRITE"},
                   {0x1000, "MAP_EXECUTABLE"},
                   {0x2000, "MAP_LOCKED"},
                   {0x4000, "MAP_NORESERVE"},
                   {0x8000, "MAP_POPULATE"},
                   {0x10000, "MAP_NONBLOCK"},
                   {0x20000, "MAP_STACK"},
                   {0x40000, "MAP_HUGETLB"},
                   {0x80000, "MAP_SYNC"},
                   {0x100000, "MAP_FIXED_NOREPLACE"},
                   {0x4000000, "MAP_UNINITIALIZED"}},
                  out);
  if (!huge.empty()) out += "|" + huge;
  return out;
}

std::string format_at_flags(uint64_t flags, uint64_t nr) {
  if (flags == 0) return "0";
  // 0x200 is AT_REMOVEDIR for unlinkat and AT_EACCESS for faccessat2.
  const char* x200 = nr == 439 ? "AT_EACCESS" : "AT_REMOVEDIR";
  return flag_list(flags, {{0x100, "AT_SYMLINK_NOFOLLOW"},
                           {0x200, x200},
                           {0x400, "AT_SYMLINK_FOLLOW"},
                           {0x800, "AT_NO_AUTOMOUNT"},
                           {0x1000, "AT_EMPTY_PATH"},
                           {0x2000, "AT_STATX_FORCE_SYNC"},
                           {0x4000, "AT_STATX_DONT_SYNC"},
                           {0x8000, "AT_RECURSIVE"}});
}

std::string format_access_mode(uint64_t mode) {
  if (mode == 0) return "F_OK";
  return flag_list(mode, {{4, "R_OK"}, {2, "W_OK"}, {1, "X_OK"}});
}

std::string format_signal(int64_t sig) {
  static constexpr const char* kNames[] = {
      nullptr,   "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",    "SIGTRAP", "SIGABRT", "SIGBUS",
      "SIGFPE",  "SIGKILL", "SIGUSR1",   "SIGSEGV", "SIGUSR2",   "SIGPIPE", "SIGALRM", "SIGTERM",
      "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU", "SIGURG",
      "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",  "SIGIO",   "SIGPWR",  "SIGSYS"};
  if (sig >= 1 && sig <= 31) return kNames[sig];
  if (sig == 32) return "SIGRTMIN";
  if (sig > 32 && sig <= 64) return "SIGRT_" + std::to_string(sig - 32);
  return std::to_string(sig);
}

std::string format_clone_flags(uint64_t flags, bool with_signal) {
  std::string sig;
  if (with_signal && (flags & 0xff)) {
    sig = format_signal(static_cast<int64_t>(flags & 0xff));
    flags &= ~uint64_t{0xff};
  }
  std::string out = flag_list(flags, {{0x100, "CLONE_VM"},
                                      {0x200, "CLONE_FS"},
                                      {0x400, "CLONE_FILES"},
                                      {0x800, "CLONE_SIGHAND"},
                                      {0x1000, "CLONE_PIDFD"},
                                      {0x2000, "CLONE_PTRACE"},
                                      {0x4000, "CLONE_VFORK"},
                                      {0x8000, "CLONE_PARENT"},
                                      {0x10000, "CLONE_THREAD"},
                                      {0x20000, "CLONE_NEWNS"},
                                      {0x40000, "CLONE_SYSVSEM"},
                                      {0x80000, "CLONE_SETTLS"},
                                      {0x100000, "CLONE_PARENT_SETTID"},
                                      {0x200000, "CLONE_CHILD_CLEARTID"},
                                      {0x400000, "CLONE_DETACHED"},
                                      {0x800000, "CLONE_UNTRACED"},
                                      {0x1000000, "CLONE_CHILD_SETTID"},
                                      {0x2000000, "CLONE_NEWCGROUP"},
                                      {0x4000000, "CLONE_NEWUTS"},
                                      {0x8000000, "CLONE_NEWIPC"},
                                      {0x10000000, "CLONE_NEWUSER"},
                                      {0x20000000, "CLONE_NEWPID"},
                                      {0x40000000, "CLONE_NEWNET"},
                                      {0x80000000, "CLONE_IO"}});
  if (!sig.empty()) out += (out.empty() ? "" : "|") + sig;
  return out.empty() ? "0" : out;
}

std::string format_mode(uint64_t mode) {
  char buf[32];
  snprintf(buf, sizeof buf, "%#03" PRIo64, mode);
  return buf;
}

std::string format_stat_mode(uint64_t mode) {
  const char* type = lookup(mode & S_IFMT, {{S_IFREG, "S_IFREG"},
                                            {S_IFDIR, "S_IFDIR"},
                                            {S_IFLNK, "S_IFLNK"},
                                            {S_IFCHR, "S_IFCHR"},
                                            {S_IFBLK, "S_IFBLK"},
                                            {S_IFIFO, "S_IFIFO"},
                                            {S_IFSOCK, "S_IFSOCK"}});
  std::string perm = format_mode(mode & 07777);
  if (!type) return format_mode(mode);
  return std::string(type) + "|" + perm;
}

std::string format_clock_id(int64_t clock) {
  const char* name = lookup(static_cast<uint64_t>(clock), {{0, "CLOCK_REALTIME"},
                                                           {1, "CLOCK_MONOTONIC"},
                                                           {2, "CLOCK_PROCESS_CPUTIME_ID"},
                                                           {3, "CLOCK_THREAD_CPUTIME_ID"},
                                                           {4, "CLOCK_MONOTONIC_RAW"},
                                                           {5, "CLOCK_REALTIME_COARSE"},
                                                           {6, "CLOCK_MONOTONIC_COARSE"},
                                                           {7, "CLOCK_BOOTTIME"},
                                                           {8, "CLOCK_REALTIME_ALARM"},
                                                           {9, "CLOCK_BOOTTIME_ALARM"},
                                                           {11, "CLOCK_TAI"}});
  return named_or_decimal(clock, name);
}

std::string format_futex_op(uint64_t op) {
  static constexpr const char* kOps[] = {
      "FUTEX_WAIT",       "FUTEX_WAKE",         "FUTEX_FD",          "FUTEX_REQUEUE",       "FUTEX_CMP_REQUEUE",
      "FUTEX_WAKE_OP",    "FUTEX_LOCK_PI",      "FUTEX_UNLOCK_PI",   "FUTEX_TRYLOCK_PI",    "FUTEX_WAIT_BITSET",
      "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI", "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2"};
  uint64_t cmd = op & 127;
  std::string out;
  if (cmd < std::size(kOps)) {
    out = kOps[cmd];
    if (op & 128) out += "_PRIVATE";
  } else {
    out = hex(cmd);
    if (op & 128) out += "|FUTEX_PRIVATE_FLAG";
  }
  if (op & 256) out += "|FUTEX_CLOCK_REALTIME";
  uint64_t rest = op & ~uint64_t{511};
  if (rest) out += "|" + hex(rest);
  return out;
}

std::string format_fcntl_cmd(uint64_t cmd) {
  const char* name = lookup(cmd, {{0, "F_DUPFD"},          {1, "F_GETFD"},          {2, "F_SETFD"},
                                  {3, "F_GETFL"},          {4, "F_SETFL"},          {5, "F_GETLK"},
                                  {6, "F_SETLK"},          {7, "F_SETLKW"},         {8, "F_SETOWN"},
                                  {9, "F_GETOWN"},         {10, "F_SETSIG"},        {11, "F_GETSIG"},
                                  {15, "F_SETOWN_EX"},     {16, "F_GETOWN_EX"},     {17, "F_GETOWNER_UIDS"},
                                  {36, "F_OFD_GETLK"},     {37, "F_OFD_SETLK"},     {38, "F_OFD_SETLKW"},
                                  {1024, "F_SETLEASE"},    {1025, "F_GETLEASE"},    {1026, "F_NOTIFY"},
                                  {1030, "F_DUPFD_CLOEXEC"}, {1031, "F_SETPIPE_SZ"}, {1032, "F_GETPIPE_SZ"},
                                  {1033, "F_ADD_SEALS"},   {1034, "F_GET_SEALS"}});
  return name ? name : hex(cmd);
}

std::string format_resource(uint64_t resource) {
  static constexpr const char* kNames[] = {
      "RLIMIT_CPU",     "RLIMIT_FSIZE",  "RLIMIT_DATA",       "RLIMIT_STACK",    "RLIMIT_CORE",  "RLIMIT_RSS",
      "RLIMIT_NPROC",   "RLIMIT_NOFILE", "RLIMIT_MEMLOCK",    "RLIMIT_AS",       "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
      "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO",     "RLIMIT_RTTIME"};
  if (resource < std::size(kNames)) return kNames[resource];
  return hex(resource);
}

std::string escape_bytes(std::string_view bytes, bool truncated) {
  std::string out = "\"";
  for (size_t i = 0; i < bytes.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\t': out += "\\t"; continue;
      case '\n': out += "\\n"; continue;
      case '\v': out += "\\v"; continue;
      case '\f': out += "\\f"; continue;
      case '\r': out += "\\r"; continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    // Octal, in full when an octal digit follows so that it is not absorbed.
    bool digit_follows = i + 1 < bytes.size() && bytes[i + 1] >= '0' && bytes[i + 1] <= '7';
    char buf[8];
    snprintf(buf, sizeof buf, digit_follows ? "\\%03o" : "\\%o", c);
    out += buf;
  }
  out += '"';
  if (truncated) out += "...";
  return out;
}

std::string format_error_result(int err) {
  const char* name = strerrorname_np(err);
  const char* desc = strerrordesc_np(err);
  std::string out = " = -1 ";
  out += name ? name : ("E" + std::to_string(err)).c_str();
  if (desc) {
    out += " (";
    out += desc;
    out += ")";
  }
  return out;
}

namespace {

std::string format_ioctl_cmd(uint64_t cmd) {
  const char* name = lookup(cmd & 0xffffffff, {{0x5401, "TCGETS"},
                                               {0x5402, "TCSETS"},
                                               {0x5403, "TCSETSW"},
                                               {0x5404, "TCSETSF"},
                                               {0x540b, "TCFLSH"},
                                               {0x540e, "TIOCSCTTY"},
                                               {0x540f, "TIOCGPGRP"},
                                               {0x5410, "TIOCSPGRP"},
                                               {0x5413, "TIOCGWINSZ"},
                                               {0x5414, "TIOCSWINSZ"},
                                               {0x541b, "FIONREAD"},
                                               {0x5421, "FIONBIO"},
                                               {0x5450, "FIONCLEX"},
                                               {0x5451, "FIOCLEX"},
                                               {0x5452, "FIOASYNC"},
                                               {0x80045430, "TIOCGPTN"},
                                               {0x40045431, "TIOCSPTLCK"}});
  return name ? name : hex(cmd);
}

std::string format_arch_prctl(uint64_t code) {
  const char* name = lookup(code, {{0x1001, "ARCH_SET_GS"},
                                   {0x1002, "ARCH_SET_FS"},
                                   {0x1003, "ARCH_GET_FS"},
                                   {0x1004, "ARCH_GET_GS"},
                                   {0x1011, "ARCH_GET_CPUID"},
                                   {0x1012, "ARCH_SET_CPUID"},
                                   {0x1021, "ARCH_GET_XCOMP_SUPP"},
                                   {0x1022, "ARCH_GET_XCOMP_PERM"},
                                   {0x1023, "ARCH_REQ_XCOMP_PERM"},
                                   {0x1024, "ARCH_GET_XCOMP_GUEST_PERM"},
                                   {0x1025, "ARCH_REQ_XCOMP_GUEST_PERM"},
                                   {0x2001, "ARCH_MAP_VDSO_X32"},
                                   {0x2002, "ARCH_MAP_VDSO_32"},
                                   {0x2003, "ARCH_MAP_VDSO_64"},
                                   {0x5001, "ARCH_SHSTK_ENABLE"},
                                   {0x5002, "ARCH_SHSTK_DISABLE"},
                                   {0x5003, "ARCH_SHSTK_LOCK"},
                                   {0x5004, "ARCH_SHSTK_UNLOCK"},
                                   {0x5005, "ARCH_SHSTK_STATUS"}});
  return name ? name : hex(code);
}

}  // namespace

std::string format_scalar_arg(ArgKind kind, uint64_t value, uint64_t nr) {
  auto as_int = static_cast<int32_t>(value);
  switch (kind) {
    case ArgKind::Int:
    case ArgKind::Fd:
    case ArgKind::Pid: return std::to_string(as_int);
    case ArgKind::Long:
    case ArgKind::Offset: return std::to_string(static_cast<int64_t>(value));
    case ArgKind::UInt: return std::to_string(static_cast<uint32_t>(value));
    case ArgKind::Size: return std::to_string(value);
    case ArgKind::Hex: return hex(value);
    case ArgKind::DirFd: return as_int == -100 ? "AT_FDCWD" : std::to_string(as_int);
    case ArgKind::OpenFlags: return format_open_flags(static_cast<uint32_t>(value));
    case ArgKind::Mode: return format_mode(static_cast<uint32_t>(value));
    case ArgKind::Prot: return format_prot(value);
    case ArgKind::MapFlags: return format_mmap_flags(value);
    case ArgKind::Signal: return format_signal(as_int);
    case ArgKind::SigHow: {
      const char* name = lookup(value, {{0, "SIG_BLOCK"}, {1, "SIG_UNBLOCK"}, {2, "SIG_SETMASK"}});
      return named_or_decimal(as_int, name);
    }
    case ArgKind::AtFlags: return format_at_flags(static_cast<uint32_t>(value), nr);
    case ArgKind::AccessMode: return format_access_mode(static_cast<uint32_t>(value));
    case ArgKind::ClockId: return format_clock_id(as_int);
    case ArgKind::Whence: {
      const char* name = lookup(value, {{0, "SEEK_SET"}, {1, "SEEK_CUR"}, {2, "SEEK_END"}, {3, "SEEK_DATA"},
                                        {4, "SEEK_HOLE"}});
      return named_or_decimal(as_int, name);
    }
    case ArgKind::FcntlCmd: return format_fcntl_cmd(static_cast<uint32_t>(value));
    case ArgKind::FutexOp: return format_futex_op(static_cast<uint32_t>(value));
    case ArgKind::ArchPrctl: return format_arch_prctl(value);
    // unshare and setns take namespace flags without clone's exit signal.
    case ArgKind::CloneFlags: return format_clone_flags(value, nr == 56);
    case ArgKind::Resource: return format_resource(static_cast<uint32_t>(value));
    case ArgKind::IoctlCmd: return format_ioctl_cmd(value);
    // Everything that points into guest memory, shown as a pointer.
    case ArgKind::Path:
    case ArgKind::String:
    case ArgKind::OutBuf:
    case ArgKind::InBuf:
    case ArgKind::OutString:
    case ArgKind::Ptr:
    case ArgKind::StatPtr:
    case ArgKind::Timespec:
    case ArgKind::StrArray: return pointer(value);
  }
  return hex(value);
}

namespace {

constexpr size_t kMaxPath = 4096;
constexpr size_t kMaxArrayElements = 32;

// A guest NUL-terminated string, cut at max bytes ("..." appended), or the
// pointer when nothing can be read.
std::string guest_string(const SyscallContext& ctx, uint64_t addr, size_t max) {
  if (addr == 0) return "NULL";
  std::string buf(max + 1, '\0');
  size_t n = ctx.mem().read_partial(addr, buf.data(), buf.size());
  if (n == 0) return hex(addr);
  buf.resize(n);
  size_t nul = buf.find('\0');
  if (nul != std::string::npos) return escape_bytes(std::string_view(buf).substr(0, nul));
  // No NUL in what could be read: a longer string, or one running into an
  // unmapped page (strace shows the pointer then).
  if (n <= max) return hex(addr);
  return escape_bytes(std::string_view(buf).substr(0, max), true);
}

// len bytes of guest memory, shown up to kStraceMaxString.
std::string guest_bytes(const SyscallContext& ctx, uint64_t addr, uint64_t len, size_t max = kStraceMaxString) {
  if (addr == 0) return "NULL";
  size_t want = len < max ? static_cast<size_t>(len) : max;
  std::string buf(want, '\0');
  if (want > 0 && ctx.mem().read(addr, buf.data(), want).is_error()) return hex(addr);
  return escape_bytes(buf, len > max);
}

std::string guest_timespec(const SyscallContext& ctx, uint64_t addr) {
  if (addr == 0) return "NULL";
  struct timespec ts;
  if (ctx.mem().read(addr, &ts, sizeof ts).is_error()) return hex(addr);
  return "{tv_sec=" + std::to_string(ts.tv_sec) + ", tv_nsec=" + std::to_string(ts.tv_nsec) + "}";
}

std::string guest_stat(const SyscallContext& ctx, uint64_t addr) {
  if (addr == 0) return "NULL";
  struct stat st;  // the x86-64 kernel's struct stat is glibc's on x86-64
  if (ctx.mem().read(addr, &st, sizeof st).is_error()) return hex(addr);
  std::string out = "{st_mode=" + format_stat_mode(st.st_mode);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    char buf[64];
    snprintf(buf, sizeof buf, ", st_rdev=makedev(%#x, %#x)", major(st.st_rdev), minor(st.st_rdev));
    out += buf;
  } else {
    out += ", st_size=" + std::to_string(st.st_size);
  }
  return out + ", ...}";
}

std::string guest_string_array(const SyscallContext& ctx, uint64_t addr) {
  if (addr == 0) return "NULL";
  std::string out = "[";
  for (size_t i = 0;; ++i) {
    uint64_t p;
    if (ctx.mem().read(addr + i * 8, &p, sizeof p).is_error()) return hex(addr);
    if (p == 0) break;
    if (i == kMaxArrayElements) {
      out += ", ...";
      break;
    }
    if (i) out += ", ";
    out += guest_string(ctx, p, kStraceMaxString);
  }
  return out + "]";
}

bool is_error_result(int64_t result) { return result < 0 && result >= -4095; }

// One argument. result is null at entry (output buffers not filled yet).
std::string format_arg(const SyscallContext& ctx, const SyscallEntry& e, int i, const int64_t* result) {
  uint64_t v = ctx.args[i];
  bool filled = result && !is_error_result(*result);
  switch (e.args[i]) {
    case ArgKind::Path: return guest_string(ctx, v, kMaxPath);
    case ArgKind::String: return guest_string(ctx, v, kStraceMaxString);
    case ArgKind::InBuf: return i + 1 < e.nargs ? guest_bytes(ctx, v, ctx.args[i + 1]) : pointer(v);
    case ArgKind::OutBuf:
      return filled ? guest_bytes(ctx, v, static_cast<uint64_t>(*result)) : pointer(v);
    case ArgKind::OutString: {
      if (!filled) return pointer(v);
      std::string s = guest_bytes(ctx, v, static_cast<uint64_t>(*result), kMaxPath);
      // getcwd's result counts the NUL; strace does not show it.
      if (s.size() >= 4 && s.compare(s.size() - 3, 3, "\\0\"") == 0) s.erase(s.size() - 3, 2);
      return s;
    }
    case ArgKind::StatPtr: return filled ? guest_stat(ctx, v) : pointer(v);
    case ArgKind::Timespec: return guest_timespec(ctx, v);
    case ArgKind::StrArray: return guest_string_array(ctx, v);
    default: return format_scalar_arg(e.args[i], v, ctx.nr);
  }
}

// fcntl's third argument depends on the command (F_GETFL takes none).
std::string format_fcntl_args(const SyscallContext& ctx) {
  std::string out = std::to_string(ctx.arg_int(0)) + ", " + format_fcntl_cmd(static_cast<uint32_t>(ctx.args[1]));
  switch (static_cast<uint32_t>(ctx.args[1])) {
    case 1: case 3: case 9: case 11: case 1025: case 1032: case 1034:  // no argument
      return out;
    case 2: return out + ", " + (ctx.args[2] == 1 ? std::string("FD_CLOEXEC") : hex(ctx.args[2]));
    case 4: return out + ", " + format_open_flags(static_cast<uint32_t>(ctx.args[2]));
    case 0: case 1030: case 8: case 10: case 1031: return out + ", " + std::to_string(ctx.arg_int(2));
    default: return out + ", " + hex(ctx.args[2]);
  }
}

// Like strace, omit arguments the call ignores: open's mode without O_CREAT
// or O_TMPFILE, futex's trailing arguments for the simple operations.
int shown_args(const SyscallContext& ctx, const SyscallEntry& e) {
  constexpr uint64_t kCreatOrTmpfile = 0100 | 020000000;
  switch (ctx.nr) {
    case 2: return (ctx.args[1] & kCreatOrTmpfile) ? 3 : 2;    // open
    case 257: return (ctx.args[2] & kCreatOrTmpfile) ? 4 : 3;  // openat
    case 202:                                                  // futex
      switch (ctx.args[1] & 127) {
        case 1: return 3;          // FUTEX_WAKE
        case 7: case 8: return 2;  // FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI
        case 0: case 6: case 13: return 4;  // FUTEX_WAIT, FUTEX_LOCK_PI(2)
        default: return 6;
      }
    default: return e.nargs;
  }
}

std::string format_call(const SyscallContext& ctx, const int64_t* result) {
  const SyscallEntry* e = syscall_entry(ctx.nr);
  std::string out;
  if (!e) {
    char buf[32];
    snprintf(buf, sizeof buf, "syscall_%#" PRIx64 "(", ctx.nr);
    out = buf;
    for (int i = 0; i < 6; ++i) out += (i ? ", " : "") + hex(ctx.args[i]);
    return out + ")";
  }
  out = e->name;
  out += '(';
  if (ctx.nr == 72) {
    out += format_fcntl_args(ctx);
  } else {
    int nargs = shown_args(ctx, *e);
    for (int i = 0; i < nargs; ++i) {
      if (i) out += ", ";
      out += format_arg(ctx, *e, i, result);
    }
  }
  return out + ")";
}

}  // namespace

std::string format_syscall_entry(const SyscallContext& ctx) { return format_call(ctx, nullptr); }

std::string format_syscall_exit(const SyscallContext& ctx, int64_t result) {
  const SyscallEntry* e = syscall_entry(ctx.nr);
  if (e && e->ret == RetKind::NoReturn) return " = ?";
  if (is_error_result(result)) return format_error_result(static_cast<int>(-result));
  if (e && e->ret == RetKind::Hex) return " = " + hex(static_cast<uint64_t>(result));
  return " = " + std::to_string(result);
}

std::string format_syscall(const SyscallContext& ctx, int64_t result) {
  return format_call(ctx, &result) + format_syscall_exit(ctx, result);
}

}  // namespace moat
