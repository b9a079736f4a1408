#pragma once
// Every syscall handler of the table, one block per family file.
// Sync handlers never block; async handlers are coroutines (see context.h).

#include "sentry/syscalls/context.h"

namespace moat {

#define MOAT_SYNC(name) ErrorOr<int64_t> sys_##name(SyscallContext&)
#define MOAT_ASYNC(name) Coro<ErrorOr<int64_t>> sys_##name(SyscallContext&)

// mm.cpp: memory mappings (the stub performs the host mapping).
MOAT_ASYNC(brk);
MOAT_ASYNC(mmap);
MOAT_ASYNC(munmap);
MOAT_ASYNC(mprotect);
MOAT_ASYNC(mremap);
MOAT_ASYNC(madvise);
MOAT_SYNC(msync);
MOAT_SYNC(mincore);
MOAT_SYNC(mlock);
MOAT_SYNC(munlock);

// read_write.cpp
MOAT_ASYNC(read);
MOAT_ASYNC(write);
MOAT_ASYNC(pread64);
MOAT_ASYNC(pwrite64);
MOAT_ASYNC(readv);
MOAT_ASYNC(writev);
MOAT_ASYNC(preadv);
MOAT_ASYNC(pwritev);
MOAT_ASYNC(preadv2);
MOAT_ASYNC(pwritev2);
MOAT_ASYNC(vmsplice);
MOAT_SYNC(fadvise64);
MOAT_SYNC(readahead);
MOAT_SYNC(lseek);

// open.cpp: opening, closing, duplicating, pipes
MOAT_SYNC(open);
MOAT_SYNC(openat);
MOAT_SYNC(openat2);
MOAT_SYNC(creat);
MOAT_SYNC(close);
MOAT_SYNC(dup);
MOAT_SYNC(dup2);
MOAT_SYNC(dup3);
MOAT_SYNC(fcntl);
MOAT_SYNC(ioctl);
MOAT_SYNC(pipe);
MOAT_SYNC(pipe2);

// stat.cpp: metadata and directories
MOAT_SYNC(stat);
MOAT_SYNC(fstat);
MOAT_SYNC(lstat);
MOAT_SYNC(newfstatat);
MOAT_SYNC(statx);
MOAT_SYNC(getdents64);
MOAT_SYNC(readlink);
MOAT_SYNC(readlinkat);
MOAT_SYNC(access);
MOAT_SYNC(faccessat);
MOAT_SYNC(faccessat2);
MOAT_SYNC(statfs);
MOAT_SYNC(fstatfs);

// fs_context.cpp: cwd and namespace-level operations
MOAT_SYNC(getcwd);
MOAT_SYNC(chdir);
MOAT_SYNC(fchdir);
MOAT_SYNC(umask);
MOAT_SYNC(mkdir);
MOAT_SYNC(mkdirat);
MOAT_SYNC(symlink);
MOAT_SYNC(symlinkat);
MOAT_SYNC(unlink);
MOAT_SYNC(unlinkat);
MOAT_SYNC(rmdir);
MOAT_SYNC(rename);
MOAT_SYNC(renameat);
MOAT_SYNC(renameat2);

// xattr.cpp: extended attributes
MOAT_SYNC(getxattr);
MOAT_SYNC(lgetxattr);
MOAT_SYNC(fgetxattr);
MOAT_SYNC(listxattr);
MOAT_SYNC(llistxattr);
MOAT_SYNC(flistxattr);
MOAT_SYNC(setxattr);
MOAT_SYNC(lsetxattr);
MOAT_SYNC(fsetxattr);
MOAT_SYNC(removexattr);
MOAT_SYNC(lremovexattr);
MOAT_SYNC(fremovexattr);

// splice.cpp: sendfile, splice, tee, copy_file_range
MOAT_ASYNC(sendfile);
MOAT_ASYNC(splice);
MOAT_ASYNC(tee);
MOAT_ASYNC(copy_file_range);

// memfd.cpp
MOAT_SYNC(memfd_create);

// identity.cpp: ids and system information
MOAT_SYNC(getpid);
MOAT_SYNC(gettid);
MOAT_SYNC(getppid);
MOAT_SYNC(getuid);
MOAT_SYNC(geteuid);
MOAT_SYNC(getgid);
MOAT_SYNC(getegid);
MOAT_SYNC(getresuid);
MOAT_SYNC(getresgid);
MOAT_SYNC(getgroups);
MOAT_SYNC(uname);
MOAT_SYNC(sethostname);
MOAT_SYNC(setdomainname);
MOAT_SYNC(sysinfo);
MOAT_SYNC(getrandom);
MOAT_SYNC(prlimit64);
MOAT_SYNC(getrlimit);
MOAT_SYNC(setrlimit);
MOAT_SYNC(getrusage);
MOAT_SYNC(sched_getaffinity);
MOAT_SYNC(sched_setaffinity);
MOAT_SYNC(sched_yield);
MOAT_SYNC(getcpu);
MOAT_SYNC(sched_getscheduler);
MOAT_SYNC(sched_getparam);
MOAT_SYNC(sched_setscheduler);
MOAT_SYNC(sched_setparam);
MOAT_SYNC(sched_get_priority_max);
MOAT_SYNC(sched_get_priority_min);
MOAT_SYNC(sched_rr_get_interval);
MOAT_SYNC(getpriority);
MOAT_SYNC(setpriority);

// time.cpp
MOAT_SYNC(clock_gettime);
MOAT_SYNC(clock_getres);
MOAT_SYNC(clock_settime);
MOAT_SYNC(settimeofday);
MOAT_SYNC(gettimeofday);
MOAT_SYNC(time);
MOAT_SYNC(times);
MOAT_ASYNC(nanosleep);
MOAT_ASYNC(clock_nanosleep);

// process.cpp: process set-up, signals recorded, exit
MOAT_ASYNC(arch_prctl);
MOAT_SYNC(set_tid_address);
MOAT_SYNC(set_robust_list);
MOAT_SYNC(get_robust_list);
MOAT_SYNC(rseq);
MOAT_SYNC(rt_sigaction);
MOAT_SYNC(rt_sigprocmask);
MOAT_SYNC(sigaltstack);
MOAT_SYNC(rt_sigreturn);
MOAT_SYNC(rt_sigpending);
MOAT_ASYNC(pause);
MOAT_ASYNC(rt_sigsuspend);
MOAT_SYNC(prctl);
MOAT_ASYNC(exit);
MOAT_ASYNC(exit_group);

// exec.cpp: replacing the process image
MOAT_ASYNC(execve);
MOAT_ASYNC(execveat);

// fork.cpp: new processes, waiting for them, signalling them
MOAT_ASYNC(clone);
MOAT_ASYNC(clone3);
MOAT_ASYNC(fork);
MOAT_ASYNC(vfork);
MOAT_ASYNC(wait4);
MOAT_ASYNC(waitid);

// kill.cpp: sending signals
MOAT_SYNC(kill);
MOAT_SYNC(tkill);
MOAT_SYNC(tgkill);
MOAT_SYNC(rt_sigqueueinfo);
MOAT_SYNC(rt_tgsigqueueinfo);
MOAT_SYNC(pidfd_send_signal);

// sigwait.cpp
MOAT_ASYNC(rt_sigtimedwait);

// pidfd.cpp
MOAT_SYNC(pidfd_open);
MOAT_SYNC(pidfd_getfd);

// poll.cpp: waiting for file readiness
MOAT_ASYNC(poll);
MOAT_ASYNC(ppoll);
MOAT_ASYNC(select);
MOAT_ASYNC(pselect6);

// creds.cpp: the set*id family
MOAT_SYNC(setresuid);
MOAT_SYNC(setresgid);
MOAT_SYNC(setuid);
MOAT_SYNC(setgid);
MOAT_SYNC(setreuid);
MOAT_SYNC(setregid);
MOAT_SYNC(setgroups);
MOAT_SYNC(setfsuid);
MOAT_SYNC(setfsgid);
MOAT_SYNC(capget);
MOAT_SYNC(capset);

// chmod.cpp: mode and owner changes
MOAT_SYNC(chmod);
MOAT_SYNC(fchmod);
MOAT_SYNC(fchmodat);
MOAT_SYNC(fchmodat2);
MOAT_SYNC(chown);
MOAT_SYNC(fchown);
MOAT_SYNC(lchown);
MOAT_SYNC(fchownat);

// file_ops.cpp: links, mknod, file times, space, sync, flock and record locks
MOAT_SYNC(link);
MOAT_SYNC(linkat);
MOAT_SYNC(mknod);
MOAT_SYNC(mknodat);
MOAT_SYNC(utime);
MOAT_SYNC(utimes);
MOAT_SYNC(futimesat);
MOAT_SYNC(utimensat);
MOAT_SYNC(fallocate);
MOAT_ASYNC(fsync);
MOAT_ASYNC(fdatasync);
MOAT_SYNC(syncfs);
MOAT_SYNC(sync);
MOAT_SYNC(sync_file_range);
MOAT_ASYNC(flock);
MOAT_ASYNC(fcntl_locks);  // fcntl: the lock commands, then sys_fcntl for the rest

// futex.cpp
MOAT_ASYNC(futex);
MOAT_ASYNC(futex_wait);
MOAT_SYNC(futex_wake);
MOAT_SYNC(futex_requeue);
MOAT_ASYNC(futex_waitv);

// epoll.cpp
MOAT_SYNC(epoll_create);
MOAT_SYNC(epoll_create1);
MOAT_SYNC(epoll_ctl);
MOAT_ASYNC(epoll_wait);
MOAT_ASYNC(epoll_pwait);
MOAT_ASYNC(epoll_pwait2);

// event_fds.cpp: eventfd, timerfd, signalfd
MOAT_SYNC(eventfd);
MOAT_SYNC(eventfd2);
MOAT_SYNC(timerfd_create);
MOAT_SYNC(timerfd_settime);
MOAT_SYNC(timerfd_gettime);
MOAT_SYNC(signalfd);
MOAT_SYNC(signalfd4);

// mount.cpp: the mount table and the root
MOAT_SYNC(mount);
MOAT_SYNC(umount2);
MOAT_SYNC(chroot);
MOAT_SYNC(pivot_root);
MOAT_SYNC(unshare);

// inotify.cpp
MOAT_SYNC(inotify_init);
MOAT_SYNC(inotify_init1);
MOAT_SYNC(inotify_add_watch);
MOAT_SYNC(inotify_rm_watch);

// itimer.cpp
MOAT_SYNC(alarm);
MOAT_SYNC(setitimer);
MOAT_SYNC(getitimer);

// posix_timer.cpp: timer_create and friends
MOAT_SYNC(timer_create);
MOAT_SYNC(timer_settime);
MOAT_SYNC(timer_gettime);
MOAT_SYNC(timer_getoverrun);
MOAT_SYNC(timer_delete);

// pgrp.cpp: process groups and sessions
MOAT_SYNC(setpgid);
MOAT_SYNC(getpgid);
MOAT_SYNC(getpgrp);
MOAT_SYNC(setsid);
MOAT_SYNC(getsid);

// fd_ops.cpp
MOAT_SYNC(close_range);
MOAT_SYNC(ftruncate);
MOAT_SYNC(truncate);

// socket.cpp: sockets (net/)
MOAT_SYNC(socket);
MOAT_SYNC(socketpair);
MOAT_SYNC(bind);
MOAT_SYNC(listen);
MOAT_ASYNC(accept);
MOAT_ASYNC(accept4);
MOAT_ASYNC(connect);
MOAT_SYNC(getsockname);
MOAT_SYNC(getpeername);
MOAT_ASYNC(sendto);
MOAT_ASYNC(recvfrom);
MOAT_ASYNC(sendmsg);
MOAT_ASYNC(recvmsg);
MOAT_ASYNC(sendmmsg);
MOAT_ASYNC(recvmmsg);
MOAT_SYNC(shutdown);
MOAT_SYNC(setsockopt);
MOAT_SYNC(getsockopt);

#undef MOAT_SYNC
#undef MOAT_ASYNC

}  // namespace moat
