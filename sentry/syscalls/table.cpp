// The x86-64 syscall table. Numbers and names follow the kernel's
// arch/x86/entry/syscalls/syscall_64.tbl (Linux 6.17); argument counts follow
// the kernel's SYSCALL_DEFINEn. Support levels and notes are data: the
// coverage document is generated from them (see syscall_coverage_markdown).

#include "sentry/syscalls/table.h"

#include <array>
#include <cstdio>
#include <initializer_list>

#include "sentry/syscalls/handlers.h"

namespace moat {
namespace {

constexpr const char* kNotImplemented = "not implemented";
constexpr const char* kSignalsRecorded = "handlers run when a syscall returns; no interruption of running or sleeping threads yet";
constexpr const char* kXattrs =
    "user, trusted and security namespaces, kept by tmpfs and the overlay (host files: read through the host); "
    "system.* (POSIX ACLs) is EOPNOTSUPP";
constexpr const char* kAnonAttrs = "pipes and stdio: EPERM (their owner and times are the host's)";
constexpr const char* kMknod =
    "regular files, FIFOs and sockets; device nodes are EPERM (no CAP_MKNOD in the sandbox)";

constexpr const char* kSocket =
    "AF_UNIX (stream, datagram, seqpacket), AF_INET and AF_INET6 (TCP, UDP, ICMP ping sockets) as host sockets in "
    "the sentry's network namespace, AF_NETLINK NETLINK_ROUTE read-only (GET requests); SOCK_RAW is EPERM, other "
    "families EAFNOSUPPORT";
constexpr const char* kSendmsg =
    "SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX; SOL_SOCKET control messages other than those are EINVAL";
constexpr const char* kRecvmsg =
    "AF_UNIX SCM_CREDENTIALS name the guest process that last wrote to the sending socket, unless the sender "
    "passed its own";
constexpr const char* kSockopt =
    "an allow-list: SOL_SOCKET options that need no privilege, TCP, IP, IPv6, UDP and netlink options; others "
    "ENOPROTOOPT, privileged ones EPERM";

// Builds one entry. Without a handler an entry is Unimplemented (ENOSYS).
struct Def {
  SyscallEntry e;

  constexpr Def(uint16_t nr, const char* name, std::initializer_list<ArgKind> args)
      : e{nr, name, nullptr, nullptr, Support::Unimplemented, kNotImplemented,
          static_cast<uint8_t>(args.size()), {}, RetKind::Int, Errno::NOSYS} {
    int i = 0;
    for (ArgKind k : args) e.args[i++] = k;
  }
  constexpr Def sync(SyncHandler h) const {
    Def d = *this;
    d.e.sync = h;
    d.e.support = Support::Full;
    d.e.note = nullptr;
    return d;
  }
  constexpr Def async(AsyncHandler h) const {
    Def d = *this;
    d.e.async = h;
    d.e.support = Support::Full;
    d.e.note = nullptr;
    return d;
  }
  constexpr Def partial(const char* note) const {
    Def d = *this;
    d.e.support = Support::Partial;
    d.e.note = note;
    return d;
  }
  // An unimplemented call that answers err instead of ENOSYS, by design.
  constexpr Def fails(Errno err, const char* why) const {
    Def d = *this;
    d.e.unimplemented_errno = err;
    d.e.note = why;
    return d;
  }
  constexpr Def hex() const {
    Def d = *this;
    d.e.ret = RetKind::Hex;
    return d;
  }
  constexpr Def noreturn() const {
    Def d = *this;
    d.e.ret = RetKind::NoReturn;
    return d;
  }
  constexpr operator SyscallEntry() const { return e; }
};

using enum ArgKind;

constexpr SyscallEntry kTable[] = {
    Def(0, "read", {Fd, OutBuf, Size}).async(sys_read),
    Def(1, "write", {Fd, InBuf, Size}).async(sys_write),
    Def(2, "open", {Path, OpenFlags, Mode}).sync(sys_open),
    Def(3, "close", {Fd}).sync(sys_close),
    Def(4, "stat", {Path, StatPtr}).sync(sys_stat),
    Def(5, "fstat", {Fd, StatPtr}).sync(sys_fstat),
    Def(6, "lstat", {Path, StatPtr}).sync(sys_lstat),
    Def(7, "poll", {Ptr, UInt, Int}).async(sys_poll).partial("host-backed files (pipes, stdio, eventfd, timerfd, signalfd, epoll, pidfd) polled on the host; other in-sentry files always ready"),
    Def(8, "lseek", {Fd, Offset, Whence}).sync(sys_lseek),
    Def(9, "mmap", {Ptr, Size, Prot, MapFlags, Fd, Hex}).async(sys_mmap).hex(),
    Def(10, "mprotect", {Ptr, Size, Prot}).async(sys_mprotect),
    Def(11, "munmap", {Ptr, Size}).async(sys_munmap),
    Def(12, "brk", {Ptr}).async(sys_brk).hex(),
    Def(13, "rt_sigaction", {Signal, Ptr, Ptr, Size}).sync(sys_rt_sigaction).partial(kSignalsRecorded),
    Def(14, "rt_sigprocmask", {SigHow, Ptr, Ptr, Size}).sync(sys_rt_sigprocmask).partial(kSignalsRecorded),
    Def(15, "rt_sigreturn", {}).sync(sys_rt_sigreturn).noreturn(),
    Def(16, "ioctl", {Fd, IoctlCmd, Hex}).sync(sys_ioctl).partial("FIOCLEX, FIONBIO and what each file type implements; no SIGIO"),
    Def(17, "pread64", {Fd, OutBuf, Size, Offset}).async(sys_pread64),
    Def(18, "pwrite64", {Fd, InBuf, Size, Offset}).async(sys_pwrite64),
    Def(19, "readv", {Fd, Ptr, Int}).async(sys_readv),
    Def(20, "writev", {Fd, Ptr, Int}).async(sys_writev),
    Def(21, "access", {Path, AccessMode}).sync(sys_access),
    Def(22, "pipe", {Ptr}).sync(sys_pipe),
    Def(23, "select", {Int, Ptr, Ptr, Ptr, Ptr}).async(sys_select).partial("host-backed files (pipes, stdio, eventfd, timerfd, signalfd, epoll, pidfd) polled on the host; other in-sentry files always ready"),
    Def(24, "sched_yield", {}).sync(sys_sched_yield),
    Def(25, "mremap", {Ptr, Size, Size, Hex, Ptr}).async(sys_mremap).hex(),
    Def(26, "msync", {Ptr, Size, Hex}).sync(sys_msync),
    Def(27, "mincore", {Ptr, Size, Ptr}).sync(sys_mincore).partial("every mapped page is reported resident"),
    Def(28, "madvise", {Ptr, Size, Int}).async(sys_madvise),
    Def(29, "shmget", {Hex, Size, Hex}),
    Def(30, "shmat", {Int, Ptr, Hex}).hex(),
    Def(31, "shmctl", {Int, Int, Ptr}),
    Def(32, "dup", {Fd}).sync(sys_dup),
    Def(33, "dup2", {Fd, Fd}).sync(sys_dup2),
    Def(34, "pause", {}).async(sys_pause),
    Def(35, "nanosleep", {Timespec, Ptr}).async(sys_nanosleep),
    Def(36, "getitimer", {Int, Ptr}).sync(sys_getitimer),
    Def(37, "alarm", {UInt}).sync(sys_alarm),
    Def(38, "setitimer", {Int, Ptr, Ptr}).sync(sys_setitimer).partial("ITIMER_VIRTUAL and ITIMER_PROF fire within about 1 ms of CPU time (polled)"),
    Def(39, "getpid", {}).sync(sys_getpid),
    Def(40, "sendfile", {Fd, Fd, Ptr, Size}).async(sys_sendfile),
    Def(41, "socket", {Int, Int, Int}).sync(sys_socket).partial(kSocket),
    Def(42, "connect", {Fd, Ptr, Int}).async(sys_connect).partial("a blocking AF_UNIX connect to a full backlog polls for room every 5 ms"),
    Def(43, "accept", {Fd, Ptr, Ptr}).async(sys_accept),
    Def(44, "sendto", {Fd, InBuf, Size, Hex, Ptr, Int}).async(sys_sendto),
    Def(45, "recvfrom", {Fd, OutBuf, Size, Hex, Ptr, Ptr}).async(sys_recvfrom),
    Def(46, "sendmsg", {Fd, Ptr, Hex}).async(sys_sendmsg).partial(kSendmsg),
    Def(47, "recvmsg", {Fd, Ptr, Hex}).async(sys_recvmsg).partial(kRecvmsg),
    Def(48, "shutdown", {Fd, Int}).sync(sys_shutdown),
    Def(49, "bind", {Fd, Ptr, Int}).sync(sys_bind),
    Def(50, "listen", {Fd, Int}).sync(sys_listen),
    Def(51, "getsockname", {Fd, Ptr, Ptr}).sync(sys_getsockname),
    Def(52, "getpeername", {Fd, Ptr, Ptr}).sync(sys_getpeername),
    Def(53, "socketpair", {Int, Int, Int, Ptr}).sync(sys_socketpair),
    Def(54, "setsockopt", {Fd, Int, Int, Ptr, Int}).sync(sys_setsockopt).partial(kSockopt),
    Def(55, "getsockopt", {Fd, Int, Int, Ptr, Ptr}).sync(sys_getsockopt).partial(kSockopt),
    Def(56, "clone", {CloneFlags, Ptr, Ptr, Ptr, Hex}).async(sys_clone).partial("threads and processes; a process sharing memory (CLONE_VM) only with CLONE_VFORK (the child runs on a copy of its parent's memory; what it wrote is copied back when it execs or exits; with other threads running, only its parent's stack frames)"),
    Def(57, "fork", {}).async(sys_fork),
    Def(58, "vfork", {}).async(sys_vfork).partial("the child runs on a copy of the parent's memory; what it wrote is copied back when it execs or exits (with other threads running, only its parent's stack frames)"),
    Def(59, "execve", {Path, StrArray, Ptr}).async(sys_execve).partial("single-threaded processes"),
    Def(60, "exit", {Int}).async(sys_exit).noreturn(),
    Def(61, "wait4", {Pid, Ptr, Hex, Ptr}).async(sys_wait4),
    Def(62, "kill", {Pid, Signal}).sync(sys_kill),
    Def(63, "uname", {Ptr}).sync(sys_uname),
    Def(64, "semget", {Hex, Int, Hex}),
    Def(65, "semop", {Int, Ptr, Size}),
    Def(66, "semctl", {Int, Int, Int, Hex}),
    Def(67, "shmdt", {Ptr}),
    Def(68, "msgget", {Hex, Hex}),
    Def(69, "msgsnd", {Int, Ptr, Size, Hex}),
    Def(70, "msgrcv", {Int, Ptr, Size, Long, Hex}),
    Def(71, "msgctl", {Int, Int, Ptr}),
    Def(72, "fcntl", {Fd, FcntlCmd, Hex}).async(sys_fcntl_locks).partial("F_SETOWN and F_SETSIG signal only for dnotify (F_NOTIFY); O_ASYNC sends no SIGIO; no leases"),
    Def(73, "flock", {Fd, Int}).async(sys_flock),
    Def(74, "fsync", {Fd}).async(sys_fsync),
    Def(75, "fdatasync", {Fd}).async(sys_fdatasync),
    Def(76, "truncate", {Path, Offset}).sync(sys_truncate),
    Def(77, "ftruncate", {Fd, Offset}).sync(sys_ftruncate).partial("not a host file behind stdio (EINVAL)"),
    Def(78, "getdents", {Fd, Ptr, UInt}),
    Def(79, "getcwd", {OutString, Size}).sync(sys_getcwd),
    Def(80, "chdir", {Path}).sync(sys_chdir),
    Def(81, "fchdir", {Fd}).sync(sys_fchdir),
    Def(82, "rename", {Path, Path}).sync(sys_rename),
    Def(83, "mkdir", {Path, Mode}).sync(sys_mkdir),
    Def(84, "rmdir", {Path}).sync(sys_rmdir),
    Def(85, "creat", {Path, Mode}).sync(sys_creat),
    Def(86, "link", {Path, Path}).sync(sys_link),
    Def(87, "unlink", {Path}).sync(sys_unlink),
    Def(88, "symlink", {Path, Path}).sync(sys_symlink),
    Def(89, "readlink", {Path, OutString, Size}).sync(sys_readlink),
    Def(90, "chmod", {Path, Mode}).sync(sys_chmod),
    Def(91, "fchmod", {Fd, Mode}).sync(sys_fchmod),
    Def(92, "chown", {Path, Int, Int}).sync(sys_chown).partial(kAnonAttrs),
    Def(93, "fchown", {Fd, Int, Int}).sync(sys_fchown).partial(kAnonAttrs),
    Def(94, "lchown", {Path, Int, Int}).sync(sys_lchown).partial(kAnonAttrs),
    Def(95, "umask", {Mode}).sync(sys_umask),
    Def(96, "gettimeofday", {Ptr, Ptr}).sync(sys_gettimeofday),
    Def(97, "getrlimit", {Resource, Ptr}).sync(sys_getrlimit).partial("limits are recorded; each subsystem enforces its own"),
    Def(98, "getrusage", {Int, Ptr}).sync(sys_getrusage).partial("CPU times, ru_maxrss and page faults only; the sentry's time serving syscalls is not counted"),
    Def(99, "sysinfo", {Ptr}).sync(sys_sysinfo),
    Def(100, "times", {Ptr}).sync(sys_times),
    Def(101, "ptrace", {Int, Pid, Ptr, Ptr}),
    Def(102, "getuid", {}).sync(sys_getuid),
    Def(103, "syslog", {Int, Ptr, Int}),
    Def(104, "getgid", {}).sync(sys_getgid),
    Def(105, "setuid", {Int}).sync(sys_setuid),
    Def(106, "setgid", {Int}).sync(sys_setgid),
    Def(107, "geteuid", {}).sync(sys_geteuid),
    Def(108, "getegid", {}).sync(sys_getegid),
    Def(109, "setpgid", {Pid, Pid}).sync(sys_setpgid),
    Def(110, "getppid", {}).sync(sys_getppid),
    Def(111, "getpgrp", {}).sync(sys_getpgrp),
    Def(112, "setsid", {}).sync(sys_setsid).partial("no controlling terminal yet"),
    Def(113, "setreuid", {Int, Int}).sync(sys_setreuid),
    Def(114, "setregid", {Int, Int}).sync(sys_setregid),
    Def(115, "getgroups", {Int, Ptr}).sync(sys_getgroups),
    Def(116, "setgroups", {Int, Ptr}).sync(sys_setgroups).partial("supplementary groups are not kept"),
    Def(117, "setresuid", {Int, Int, Int}).sync(sys_setresuid),
    Def(118, "getresuid", {Ptr, Ptr, Ptr}).sync(sys_getresuid),
    Def(119, "setresgid", {Int, Int, Int}).sync(sys_setresgid),
    Def(120, "getresgid", {Ptr, Ptr, Ptr}).sync(sys_getresgid),
    Def(121, "getpgid", {Pid}).sync(sys_getpgid),
    Def(122, "setfsuid", {Int}).sync(sys_setfsuid).partial("fsuid follows the effective uid"),
    Def(123, "setfsgid", {Int}).sync(sys_setfsgid).partial("fsgid follows the effective gid"),
    Def(124, "getsid", {Pid}).sync(sys_getsid),
    Def(125, "capget", {Ptr, Ptr}).sync(sys_capget).partial("the guest's own sets; no file capabilities, no bounding or ambient sets"),
    Def(126, "capset", {Ptr, Ptr}).sync(sys_capset).partial("as capget; the host process holds none of them"),
    Def(127, "rt_sigpending", {Ptr, Size}).sync(sys_rt_sigpending),
    Def(128, "rt_sigtimedwait", {Ptr, Ptr, Ptr, Size}).async(sys_rt_sigtimedwait),
    Def(129, "rt_sigqueueinfo", {Pid, Signal, Ptr}).sync(sys_rt_sigqueueinfo),
    Def(130, "rt_sigsuspend", {Ptr, Size}).async(sys_rt_sigsuspend),
    Def(131, "sigaltstack", {Ptr, Ptr}).sync(sys_sigaltstack).partial(kSignalsRecorded),
    Def(132, "utime", {Path, Ptr}).sync(sys_utime).partial(kAnonAttrs),
    Def(133, "mknod", {Path, Mode, Hex}).sync(sys_mknod).partial(kMknod),
    Def(134, "uselib", {Path}),
    Def(135, "personality", {Hex}),
    Def(136, "ustat", {Hex, Ptr}),
    Def(137, "statfs", {Path, Ptr}).sync(sys_statfs),
    Def(138, "fstatfs", {Fd, Ptr}).sync(sys_fstatfs),
    Def(139, "sysfs", {Int, Hex, Hex}),
    Def(140, "getpriority", {Int, Int}).sync(sys_getpriority).partial("recorded per thread; the host thread keeps the sentry's nice value"),
    Def(141, "setpriority", {Int, Int, Int}).sync(sys_setpriority).partial("recorded per thread; the host thread keeps the sentry's nice value"),
    Def(142, "sched_setparam", {Pid, Ptr}).sync(sys_sched_setparam).partial("recorded, not applied to the host thread; not inherited by fork"),
    Def(143, "sched_getparam", {Pid, Ptr}).sync(sys_sched_getparam),
    Def(144, "sched_setscheduler", {Pid, Int, Ptr}).sync(sys_sched_setscheduler).partial("recorded, not applied to the host thread; not inherited by fork"),
    Def(145, "sched_getscheduler", {Pid}).sync(sys_sched_getscheduler),
    Def(146, "sched_get_priority_max", {Int}).sync(sys_sched_get_priority_max),
    Def(147, "sched_get_priority_min", {Int}).sync(sys_sched_get_priority_min),
    Def(148, "sched_rr_get_interval", {Pid, Ptr}).sync(sys_sched_rr_get_interval),
    Def(149, "mlock", {Ptr, Size}).sync(sys_mlock).partial("checks the range; guest memory is not locked"),
    Def(150, "munlock", {Ptr, Size}).sync(sys_munlock).partial("checks the range"),
    Def(151, "mlockall", {Hex}),
    Def(152, "munlockall", {}),
    Def(153, "vhangup", {}),
    Def(154, "modify_ldt", {Int, Ptr, Size}),
    Def(155, "pivot_root", {Path, Path}).sync(sys_pivot_root),
    Def(156, "_sysctl", {Ptr}),
    Def(157, "prctl", {Int, Hex, Hex, Hex, Hex}).sync(sys_prctl),
    Def(158, "arch_prctl", {ArchPrctl, Hex}).async(sys_arch_prctl),
    Def(159, "adjtimex", {Ptr}),
    Def(160, "setrlimit", {Resource, Ptr}).sync(sys_setrlimit).partial("limits are recorded; each subsystem enforces its own"),
    Def(161, "chroot", {Path}).sync(sys_chroot),
    Def(162, "sync", {}).sync(sys_sync),
    Def(163, "acct", {Path}),
    Def(164, "settimeofday", {Ptr, Ptr}).sync(sys_settimeofday).partial("EPERM: a sandbox never sets the host's clock"),
    Def(165, "mount", {String, Path, String, Hex, Ptr}).sync(sys_mount).partial("tmpfs, proc and sysfs, bind (MS_REC), remount (ro), MS_MOVE; propagation flags are accepted and every mount is private"),
    Def(166, "umount2", {Path, Hex}).sync(sys_umount2).partial("no EBUSY for mounts in use; MNT_EXPIRE never expires"),
    Def(167, "swapon", {Path, Hex}),
    Def(168, "swapoff", {Path}),
    Def(169, "reboot", {Hex, Hex, Hex, Ptr}),
    Def(170, "sethostname", {InBuf, Size}).sync(sys_sethostname),
    Def(171, "setdomainname", {InBuf, Size}).sync(sys_setdomainname),
    Def(172, "iopl", {Int}),
    Def(173, "ioperm", {Hex, Hex, Int}),
    Def(174, "create_module", {String, Size}),
    Def(175, "init_module", {Ptr, Size, String}),
    Def(176, "delete_module", {String, Hex}),
    Def(177, "get_kernel_syms", {Ptr}),
    Def(178, "query_module", {String, Int, Ptr, Size, Ptr}),
    Def(179, "quotactl", {Hex, Path, Int, Ptr}),
    Def(180, "nfsservctl", {Int, Ptr, Ptr}),
    Def(181, "getpmsg", {Hex, Hex, Hex, Hex, Hex}),
    Def(182, "putpmsg", {Hex, Hex, Hex, Hex, Hex}),
    Def(183, "afs_syscall", {Hex, Hex, Hex, Hex, Hex}),
    Def(184, "tuxcall", {Hex, Hex, Hex}),
    Def(185, "security", {Hex, Hex, Hex}),
    Def(186, "gettid", {}).sync(sys_gettid),
    Def(187, "readahead", {Fd, Offset, Size}).sync(sys_readahead),
    Def(188, "setxattr", {Path, String, InBuf, Size, Hex}).sync(sys_setxattr).partial(kXattrs),
    Def(189, "lsetxattr", {Path, String, InBuf, Size, Hex}).sync(sys_lsetxattr).partial(kXattrs),
    Def(190, "fsetxattr", {Fd, String, InBuf, Size, Hex}).sync(sys_fsetxattr).partial(kXattrs),
    Def(191, "getxattr", {Path, String, OutBuf, Size}).sync(sys_getxattr).partial(kXattrs),
    Def(192, "lgetxattr", {Path, String, OutBuf, Size}).sync(sys_lgetxattr).partial(kXattrs),
    Def(193, "fgetxattr", {Fd, String, OutBuf, Size}).sync(sys_fgetxattr).partial(kXattrs),
    Def(194, "listxattr", {Path, OutBuf, Size}).sync(sys_listxattr).partial(kXattrs),
    Def(195, "llistxattr", {Path, OutBuf, Size}).sync(sys_llistxattr).partial(kXattrs),
    Def(196, "flistxattr", {Fd, OutBuf, Size}).sync(sys_flistxattr).partial(kXattrs),
    Def(197, "removexattr", {Path, String}).sync(sys_removexattr).partial(kXattrs),
    Def(198, "lremovexattr", {Path, String}).sync(sys_lremovexattr).partial(kXattrs),
    Def(199, "fremovexattr", {Fd, String}).sync(sys_fremovexattr).partial(kXattrs),
    Def(200, "tkill", {Pid, Signal}).sync(sys_tkill),
    Def(201, "time", {Ptr}).sync(sys_time),
    Def(202, "futex", {Ptr, FutexOp, Int, Ptr, Ptr, Int}).async(sys_futex).partial("no PI futexes (ENOSYS); FUTEX_WAKE_OP changes the word by copies, not atomically against guest threads writing it"),
    Def(203, "sched_setaffinity", {Pid, Size, Ptr}).sync(sys_sched_setaffinity).partial("recorded, not applied to the host thread; not inherited by fork"),
    Def(204, "sched_getaffinity", {Pid, Size, Ptr}).sync(sys_sched_getaffinity),
    Def(205, "set_thread_area", {Ptr}),
    Def(206, "io_setup", {UInt, Ptr}),
    Def(207, "io_destroy", {Hex}),
    Def(208, "io_getevents", {Hex, Long, Long, Ptr, Ptr}),
    Def(209, "io_submit", {Hex, Long, Ptr}),
    Def(210, "io_cancel", {Hex, Ptr, Ptr}),
    Def(211, "get_thread_area", {Ptr}),
    Def(212, "lookup_dcookie", {Hex, Ptr, Size}),
    Def(213, "epoll_create", {Int}).sync(sys_epoll_create).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(214, "epoll_ctl_old", {Hex, Hex, Hex, Hex}),
    Def(215, "epoll_wait_old", {Hex, Hex, Hex, Hex}),
    Def(216, "remap_file_pages", {Ptr, Size, Prot, Size, MapFlags}),
    Def(217, "getdents64", {Fd, Ptr, UInt}).sync(sys_getdents64),
    Def(218, "set_tid_address", {Ptr}).sync(sys_set_tid_address),
    Def(219, "restart_syscall", {}),
    Def(220, "semtimedop", {Int, Ptr, Size, Ptr}),
    Def(221, "fadvise64", {Fd, Offset, Size, Int}).sync(sys_fadvise64),
    Def(222, "timer_create", {ClockId, Ptr, Ptr}).sync(sys_timer_create).partial("CPU-time timers fire within about 1 ms of CPU time (polled)"),
    Def(223, "timer_settime", {Int, Hex, Ptr, Ptr}).sync(sys_timer_settime).partial("a signal still pending from before is not dropped"),
    Def(224, "timer_gettime", {Int, Ptr}).sync(sys_timer_gettime),
    Def(225, "timer_getoverrun", {Int}).sync(sys_timer_getoverrun),
    Def(226, "timer_delete", {Int}).sync(sys_timer_delete),
    Def(227, "clock_settime", {ClockId, Timespec}).sync(sys_clock_settime).partial("EPERM: a sandbox never sets the host's clock"),
    Def(228, "clock_gettime", {ClockId, Ptr}).sync(sys_clock_gettime),
    Def(229, "clock_getres", {ClockId, Ptr}).sync(sys_clock_getres),
    Def(230, "clock_nanosleep", {ClockId, Hex, Timespec, Ptr}).async(sys_clock_nanosleep).partial("process CPU-time sleeps wake within about 1 ms of CPU time (polled)"),
    Def(231, "exit_group", {Int}).async(sys_exit_group).noreturn(),
    Def(232, "epoll_wait", {Fd, Ptr, Int, Int}).async(sys_epoll_wait).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(233, "epoll_ctl", {Fd, Int, Fd, Ptr}).sync(sys_epoll_ctl).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(234, "tgkill", {Pid, Pid, Signal}).sync(sys_tgkill),
    Def(235, "utimes", {Path, Ptr}).sync(sys_utimes).partial(kAnonAttrs),
    Def(236, "vserver", {Hex, Hex, Hex, Hex, Hex}),
    Def(237, "mbind", {Ptr, Size, Int, Ptr, UInt, Hex}),
    Def(238, "set_mempolicy", {Int, Ptr, UInt}),
    Def(239, "get_mempolicy", {Ptr, Ptr, UInt, Ptr, Hex}),
    Def(240, "mq_open", {String, OpenFlags, Mode, Ptr}),
    Def(241, "mq_unlink", {String}),
    Def(242, "mq_timedsend", {Fd, InBuf, Size, UInt, Ptr}),
    Def(243, "mq_timedreceive", {Fd, OutBuf, Size, Ptr, Ptr}),
    Def(244, "mq_notify", {Fd, Ptr}),
    Def(245, "mq_getsetattr", {Fd, Ptr, Ptr}),
    Def(246, "kexec_load", {Hex, UInt, Ptr, Hex}),
    Def(247, "waitid", {Int, Pid, Ptr, Hex, Ptr}).async(sys_waitid),
    Def(248, "add_key", {String, String, InBuf, Size, Int}),
    Def(249, "request_key", {String, String, String, Int}),
    Def(250, "keyctl", {Int, Hex, Hex, Hex, Hex}),
    Def(251, "ioprio_set", {Int, Int, Int}),
    Def(252, "ioprio_get", {Int, Int}),
    Def(253, "inotify_init", {}).sync(sys_inotify_init),
    Def(254, "inotify_add_watch", {Fd, Path, Hex}).sync(sys_inotify_add_watch).partial("changes made inside the sandbox; IN_DELETE_SELF comes at the last unlink even while the file is open"),
    Def(255, "inotify_rm_watch", {Fd, Int}).sync(sys_inotify_rm_watch),
    Def(256, "migrate_pages", {Pid, UInt, Ptr, Ptr}),
    Def(257, "openat", {DirFd, Path, OpenFlags, Mode}).sync(sys_openat),
    Def(258, "mkdirat", {DirFd, Path, Mode}).sync(sys_mkdirat),
    Def(259, "mknodat", {DirFd, Path, Mode, Hex}).sync(sys_mknodat).partial(kMknod),
    Def(260, "fchownat", {DirFd, Path, Int, Int, AtFlags}).sync(sys_fchownat).partial(kAnonAttrs),
    Def(261, "futimesat", {DirFd, Path, Ptr}).sync(sys_futimesat).partial(kAnonAttrs),
    Def(262, "newfstatat", {DirFd, Path, StatPtr, AtFlags}).sync(sys_newfstatat),
    Def(263, "unlinkat", {DirFd, Path, AtFlags}).sync(sys_unlinkat),
    Def(264, "renameat", {DirFd, Path, DirFd, Path}).sync(sys_renameat),
    Def(265, "linkat", {DirFd, Path, DirFd, Path, AtFlags}).sync(sys_linkat),
    Def(266, "symlinkat", {Path, DirFd, Path}).sync(sys_symlinkat),
    Def(267, "readlinkat", {DirFd, Path, OutString, Size}).sync(sys_readlinkat),
    Def(268, "fchmodat", {DirFd, Path, Mode}).sync(sys_fchmodat),
    Def(269, "faccessat", {DirFd, Path, AccessMode}).sync(sys_faccessat),
    Def(270, "pselect6", {Int, Ptr, Ptr, Ptr, Ptr, Ptr}).async(sys_pselect6).partial("host-backed files (pipes, stdio, eventfd, timerfd, signalfd, epoll, pidfd) polled on the host; other in-sentry files always ready"),
    Def(271, "ppoll", {Ptr, UInt, Ptr, Ptr, Size}).async(sys_ppoll).partial("host-backed files (pipes, stdio, eventfd, timerfd, signalfd, epoll, pidfd) polled on the host; other in-sentry files always ready"),
    Def(272, "unshare", {CloneFlags}).sync(sys_unshare).partial("CLONE_NEWNS, CLONE_FS, CLONE_FILES; other namespaces are EINVAL"),
    Def(273, "set_robust_list", {Ptr, Size}).sync(sys_set_robust_list),
    Def(274, "get_robust_list", {Pid, Ptr, Ptr}).sync(sys_get_robust_list).partial("the caller's own list only; other tids are ESRCH"),
    Def(275, "splice", {Fd, Ptr, Fd, Ptr, Size, Hex}).async(sys_splice),
    Def(276, "tee", {Fd, Fd, Size, Hex}).async(sys_tee),
    Def(277, "sync_file_range", {Fd, Offset, Offset, Hex}).sync(sys_sync_file_range),
    Def(278, "vmsplice", {Fd, Ptr, Size, Hex}).async(sys_vmsplice).partial("copies (SPLICE_F_GIFT is ignored); with SPLICE_F_NONBLOCK a write larger than the pipe's room may wait"),
    Def(279, "move_pages", {Pid, Size, Ptr, Ptr, Ptr, Hex}),
    Def(280, "utimensat", {DirFd, Path, Ptr, AtFlags}).sync(sys_utimensat).partial(kAnonAttrs),
    Def(281, "epoll_pwait", {Fd, Ptr, Int, Int, Ptr, Size}).async(sys_epoll_pwait).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(282, "signalfd", {Fd, Ptr, Size}).sync(sys_signalfd).partial("readiness follows the creating thread's pending signals, not the poller's"),
    Def(283, "timerfd_create", {ClockId, Hex}).sync(sys_timerfd_create),
    Def(284, "eventfd", {UInt}).sync(sys_eventfd),
    Def(285, "fallocate", {Fd, Hex, Offset, Offset}).sync(sys_fallocate).partial("files the sandbox holds (tmpfs, the overlay), with tmpfs's modes; EOPNOTSUPP for a host file behind stdio"),
    Def(286, "timerfd_settime", {Fd, Hex, Ptr, Ptr}).sync(sys_timerfd_settime),
    Def(287, "timerfd_gettime", {Fd, Ptr}).sync(sys_timerfd_gettime),
    Def(288, "accept4", {Fd, Ptr, Ptr, Hex}).async(sys_accept4),
    Def(289, "signalfd4", {Fd, Ptr, Size, Hex}).sync(sys_signalfd4).partial("readiness follows the creating thread's pending signals, not the poller's"),
    Def(290, "eventfd2", {UInt, Hex}).sync(sys_eventfd2),
    Def(291, "epoll_create1", {Hex}).sync(sys_epoll_create1).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(292, "dup3", {Fd, Fd, OpenFlags}).sync(sys_dup3),
    Def(293, "pipe2", {Ptr, OpenFlags}).sync(sys_pipe2),
    Def(294, "inotify_init1", {Hex}).sync(sys_inotify_init1),
    Def(295, "preadv", {Fd, Ptr, Int, Offset, Offset}).async(sys_preadv),
    Def(296, "pwritev", {Fd, Ptr, Int, Offset, Offset}).async(sys_pwritev),
    Def(297, "rt_tgsigqueueinfo", {Pid, Pid, Signal, Ptr}).sync(sys_rt_tgsigqueueinfo),
    Def(298, "perf_event_open", {Ptr, Pid, Int, Fd, Hex}),
    Def(299, "recvmmsg", {Fd, Ptr, UInt, Hex, Ptr}).async(sys_recvmmsg).partial(kRecvmsg),
    Def(300, "fanotify_init", {Hex, Hex}),
    Def(301, "fanotify_mark", {Fd, Hex, Hex, DirFd, Path}),
    Def(302, "prlimit64", {Pid, Resource, Ptr, Ptr}).sync(sys_prlimit64).partial("limits are recorded; each subsystem enforces its own"),
    Def(303, "name_to_handle_at", {DirFd, Path, Ptr, Ptr, AtFlags}),
    Def(304, "open_by_handle_at", {Fd, Ptr, OpenFlags}),
    Def(305, "clock_adjtime", {ClockId, Ptr}),
    Def(306, "syncfs", {Fd}).sync(sys_syncfs),
    Def(307, "sendmmsg", {Fd, Ptr, UInt, Hex}).async(sys_sendmmsg).partial(kSendmsg),
    Def(308, "setns", {Fd, CloneFlags}),
    Def(309, "getcpu", {Ptr, Ptr, Ptr}).sync(sys_getcpu),
    Def(310, "process_vm_readv", {Pid, Ptr, Size, Ptr, Size, Hex}),
    Def(311, "process_vm_writev", {Pid, Ptr, Size, Ptr, Size, Hex}),
    Def(312, "kcmp", {Pid, Pid, Int, Hex, Hex}),
    Def(313, "finit_module", {Fd, String, Hex}),
    Def(314, "sched_setattr", {Pid, Ptr, Hex}),
    Def(315, "sched_getattr", {Pid, Ptr, UInt, Hex}),
    Def(316, "renameat2", {DirFd, Path, DirFd, Path, Hex}).sync(sys_renameat2),
    Def(317, "seccomp", {UInt, Hex, Ptr}),
    Def(318, "getrandom", {OutBuf, Size, Hex}).sync(sys_getrandom),
    Def(319, "memfd_create", {String, Hex}).sync(sys_memfd_create),
    Def(320, "kexec_file_load", {Fd, Fd, Size, String, Hex}),
    Def(321, "bpf", {Int, Ptr, UInt}),
    Def(322, "execveat", {DirFd, Path, StrArray, Ptr, AtFlags}).async(sys_execveat).partial("single-threaded processes"),
    Def(323, "userfaultfd", {Hex}),
    Def(324, "membarrier", {Int, Hex, Int}),
    Def(325, "mlock2", {Ptr, Size, Hex}),
    Def(326, "copy_file_range", {Fd, Ptr, Fd, Ptr, Size, Hex}).async(sys_copy_file_range),
    Def(327, "preadv2", {Fd, Ptr, Int, Offset, Offset, Hex}).async(sys_preadv2).partial("RWF_NOWAIT on a pipe or tty, RWF_ATOMIC and RWF_DONTCACHE are EOPNOTSUPP"),
    Def(328, "pwritev2", {Fd, Ptr, Int, Offset, Offset, Hex}).async(sys_pwritev2).partial("RWF_NOWAIT on a pipe or tty, RWF_ATOMIC and RWF_DONTCACHE are EOPNOTSUPP; RWF_NOAPPEND is ignored"),
    Def(329, "pkey_mprotect", {Ptr, Size, Prot, Int}),
    Def(330, "pkey_alloc", {Hex, Hex}),
    Def(331, "pkey_free", {Int}),
    Def(332, "statx", {DirFd, Path, AtFlags, Hex, Ptr}).sync(sys_statx),
    Def(333, "io_pgetevents", {Hex, Long, Long, Ptr, Ptr, Ptr}),
    Def(334, "rseq", {Ptr, UInt, Hex, Hex}).sync(sys_rseq).partial("returns ENOSYS: glibc falls back"),
    // 335..423 are unassigned on x86-64 (they are used by other architectures).
    Def(424, "pidfd_send_signal", {Fd, Signal, Ptr, Hex}).sync(sys_pidfd_send_signal),
    Def(425, "io_uring_setup", {UInt, Ptr}),
    Def(426, "io_uring_enter", {Fd, UInt, UInt, Hex, Ptr, Size}),
    Def(427, "io_uring_register", {Fd, UInt, Ptr, UInt}),
    Def(428, "open_tree", {DirFd, Path, Hex}),
    Def(429, "move_mount", {DirFd, Path, DirFd, Path, Hex}),
    Def(430, "fsopen", {String, Hex}),
    Def(431, "fsconfig", {Fd, UInt, String, Ptr, Int}),
    Def(432, "fsmount", {Fd, Hex, Hex}),
    Def(433, "fspick", {DirFd, Path, Hex}),
    Def(434, "pidfd_open", {Pid, Hex}).sync(sys_pidfd_open).partial("processes, not PIDFD_THREAD"),
    Def(435, "clone3", {Ptr, Size}).async(sys_clone3).partial("as clone; no CLONE_PIDFD, set_tid or CLONE_INTO_CGROUP"),
    Def(436, "close_range", {UInt, UInt, Hex}).sync(sys_close_range),
    Def(437, "openat2", {DirFd, Path, Ptr, Size}).sync(sys_openat2),
    Def(438, "pidfd_getfd", {Fd, Fd, Hex}).sync(sys_pidfd_getfd),
    Def(439, "faccessat2", {DirFd, Path, AccessMode, AtFlags}).sync(sys_faccessat2),
    Def(440, "process_madvise", {Fd, Ptr, Size, Int, Hex}),
    Def(441, "epoll_pwait2", {Fd, Ptr, Int, Ptr, Ptr, Size}).async(sys_epoll_pwait2).partial("watches host-backed files (pipes, sockets, stdio, eventfd, timerfd, signalfd, epoll, pidfd), other in-sentry files EPERM"),
    Def(442, "mount_setattr", {DirFd, Path, AtFlags, Ptr, Size}),
    Def(443, "quotactl_fd", {Fd, Hex, Int, Ptr}),
    Def(444, "landlock_create_ruleset", {Ptr, Size, Hex}),
    Def(445, "landlock_add_rule", {Fd, Int, Ptr, Hex}),
    Def(446, "landlock_restrict_self", {Fd, Hex}),
    Def(447, "memfd_secret", {Hex}),
    Def(448, "process_mrelease", {Fd, Hex}),
    Def(449, "futex_waitv", {Ptr, UInt, Hex, Ptr, ClockId}).async(sys_futex_waitv),
    Def(450, "set_mempolicy_home_node", {Ptr, Size, UInt, Hex}),
    Def(451, "cachestat", {Fd, Ptr, Ptr, Hex}),
    Def(452, "fchmodat2", {DirFd, Path, Mode, AtFlags}).sync(sys_fchmodat2),
    Def(453, "map_shadow_stack", {Ptr, Size, Hex}).hex(),
    Def(454, "futex_wake", {Ptr, Hex, Int, Hex}).sync(sys_futex_wake),
    Def(455, "futex_wait", {Ptr, Hex, Hex, Hex, Ptr, ClockId}).async(sys_futex_wait),
    Def(456, "futex_requeue", {Ptr, Hex, Int, Int}).sync(sys_futex_requeue),
    Def(457, "statmount", {Ptr, Ptr, Size, Hex}),
    Def(458, "listmount", {Ptr, Ptr, Size, Hex}),
    Def(459, "lsm_get_self_attr", {UInt, Ptr, Ptr, Hex}),
    Def(460, "lsm_set_self_attr", {UInt, Ptr, UInt, Hex}),
    Def(461, "lsm_list_modules", {Ptr, Ptr, Hex}),
    Def(462, "mseal", {Ptr, Size, Hex}),
};

constexpr bool table_is_sorted() {
  for (size_t i = 1; i < std::size(kTable); ++i)
    if (kTable[i].nr <= kTable[i - 1].nr) return false;
  return kTable[std::size(kTable) - 1].nr < kSyscallTableSize;
}
static_assert(table_is_sorted(), "syscall table entries must be in increasing order");

// nr -> index into kTable, or -1 for an unassigned number.
constexpr std::array<int16_t, kSyscallTableSize> kIndex = [] {
  std::array<int16_t, kSyscallTableSize> index{};
  for (auto& i : index) i = -1;
  for (size_t i = 0; i < std::size(kTable); ++i) index[kTable[i].nr] = static_cast<int16_t>(i);
  return index;
}();

const char* support_name(Support s) {
  switch (s) {
    case Support::Full: return "full";
    case Support::Partial: return "partial";
    case Support::Unimplemented: return "unimplemented";
  }
  return "?";
}

}  // namespace

const SyscallEntry* syscall_entry(uint64_t nr) {
  if (nr >= kSyscallTableSize || kIndex[nr] < 0) return nullptr;
  return &kTable[kIndex[nr]];
}

std::span<const SyscallEntry> syscall_table() { return kTable; }

const char* syscall_name(uint64_t nr) {
  const SyscallEntry* e = syscall_entry(nr);
  return e ? e->name : nullptr;
}

std::string syscall_coverage_markdown() {
  size_t full = 0, partial = 0, unimplemented = 0;
  for (const SyscallEntry& e : kTable) {
    switch (e.support) {
      case Support::Full: ++full; break;
      case Support::Partial: ++partial; break;
      case Support::Unimplemented: ++unimplemented; break;
    }
  }
  std::string out;
  out += "# Syscall coverage\n\n";
  out += "Generated from sentry/syscalls/table.cpp by gen_docs; do not edit by hand.\n\n";
  char line[256];
  snprintf(line, sizeof line,
           "%zu x86-64 syscalls: %zu full, %zu partial, %zu unimplemented.\n\n",
           std::size(kTable), full, partial, unimplemented);
  out += line;
  out += "| nr | name | support | note |\n";
  out += "|---:|------|---------|------|\n";
  for (const SyscallEntry& e : kTable) {
    std::string note = e.note ? e.note : "";
    if (e.support == Support::Unimplemented) {
      // Say what the guest gets back; "not implemented" alone adds nothing.
      if (note == kNotImplemented) note.clear();
      note = std::string("returns ") + errno_name(e.unimplemented_errno) + (note.empty() ? "" : ": ") + note;
    }
    // A '|' inside a note would split the Markdown cell.
    for (char& c : note)
      if (c == '|') c = '/';
    out += "| " + std::to_string(e.nr) + " | " + e.name + " | " + support_name(e.support) + " | " + note + " |\n";
  }
  snprintf(line, sizeof line, "\nTotals: %zu full, %zu partial, %zu unimplemented (%zu entries).\n", full, partial,
           unimplemented, std::size(kTable));
  out += line;
  return out;
}

}  // namespace moat
