#pragma once
// Starting a program in a stub process: resolving the executable (#! scripts
// included), checking it, then mapping it and its interpreter, building the
// initial stack and entering it.

#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/ref_ptr.h"
#include "sentry/io/coro.h"
#include "sentry/loader/elf.h"

namespace moat {

namespace fs {
class File;
}
class Process;
class Thread;

struct LoadedElf {
  RefPtr<fs::File> file;
  std::string path;
  loader::ElfImage image;
};

struct ExecPlan {
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string execfn;  // the path as given (AT_EXECFN)
  LoadedElf main;
  std::optional<LoadedElf> interp;
};

// Everything that can fail before the stub process exists: lookup, access,
// #! resolution and ELF validation. Errors are Linux execve's.
ErrorOr<ExecPlan> prepare_exec(Process& process, const std::string& path, std::vector<std::string> argv,
                               std::vector<std::string> envp);

struct EntryPoint {
  uint64_t rip;
  uint64_t rsp;
};

// Maps the plan's images and initial stack into the thread's (empty) address
// space and records them; returns where the program starts.
Coro<ErrorOr<EntryPoint>> load_plan(Thread& thread, ExecPlan& plan);

// Unmaps every guest mapping (the stub region, vDSO and vvar stay).
Coro<ErrorOr<void>> unmap_guest(Thread& thread);

// Waits for thread 0 of a fresh stub process, loads the plan and lets the
// thread run the guest's first instruction.
Coro<ErrorOr<int64_t>> start_guest(Thread& thread, ExecPlan plan);

}  // namespace moat
