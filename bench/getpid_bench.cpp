// The cost of one guest syscall round trip: getpid natively against getpid
// inside moat.
//
// BM_getpid_native       syscall(SYS_getpid) in this process.
// BM_getpid_loop_native  the getpid_loop fixture run natively as a child process
//                        (the same measurement as below, without moat).
// BM_getpid_moat         `moat do -- getpid_loop N`: the fixture times N getpid
//                        calls inside the sandbox and prints ns per call.
//
// The child-process benchmarks use manual time: each iteration reports the
// fixture's own ns per call, so "Time" is ns per getpid, not the cost of
// starting a sandbox. Each benchmark runs several repetitions; the summary line
// at the end compares the medians.
//
// Paths default to the build tree (../moat and ../tests/getpid_loop relative to
// this executable) and can be overridden with the environment variables MOAT
// and GETPID_LOOP; GETPID_CALLS sets N (default 200000).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr int kRepetitions = 5;
constexpr int kChildRunsPerRepetition = 3;
constexpr long kDefaultCalls = 200000;

std::string exe_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

std::string path_from_env(const char* var, const std::string& fallback) {
  const char* value = std::getenv(var);
  return value && *value ? std::string(value) : fallback;
}

std::string moat_path() { return path_from_env("MOAT", exe_dir() + "/../moat"); }
std::string getpid_loop_path() { return path_from_env("GETPID_LOOP", exe_dir() + "/../tests/getpid_loop"); }

long getpid_calls() {
  const char* value = std::getenv("GETPID_CALLS");
  long n = value ? std::atol(value) : 0;
  return n > 0 ? n : kDefaultCalls;
}

struct ChildResult {
  std::optional<double> ns_per_call;
  std::string error;
};

// Runs argv with stdout on a pipe (stderr inherited, so moat's own messages
// show) and parses the last line of stdout as ns per call.
ChildResult run_and_parse(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {std::nullopt, std::string("pipe: ") + std::strerror(errno)};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> cargv;
  for (auto& arg : argv) cargv.push_back(const_cast<char*>(arg.c_str()));
  cargv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return {std::nullopt, argv[0] + ": " + std::strerror(rc)};
  }
  std::string output;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      output.append(buf, n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    return {std::nullopt, argv[0] + " killed by signal " + std::to_string(WTERMSIG(status))};
  if (WEXITSTATUS(status) != 0)
    return {std::nullopt, argv[0] + " exited " + std::to_string(WEXITSTATUS(status))};
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  auto last_line =
      output.substr(output.find_last_of('\n') == std::string::npos ? 0 : output.find_last_of('\n') + 1);
  char* end = nullptr;
  double ns = std::strtod(last_line.c_str(), &end);
  if (end == last_line.c_str() || !std::isfinite(ns) || ns <= 0)
    return {std::nullopt, "cannot parse ns per call from output: '" + last_line + "'"};
  return {ns, {}};
}

// Runs argv once per iteration and reports its ns per call as the iteration time.
void run_child_benchmark(benchmark::State& state, const std::vector<std::string>& argv) {
  double total_ns = 0;
  for (auto _ : state) {
    auto result = run_and_parse(argv);
    if (!result.ns_per_call) {
      state.SkipWithError(result.error.c_str());
      return;
    }
    state.SetIterationTime(*result.ns_per_call * 1e-9);
    total_ns += *result.ns_per_call;
  }
  state.counters["ns_per_call"] = benchmark::Counter(total_ns, benchmark::Counter::kAvgIterations);
}

void BM_getpid_native(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getpid));
}

void BM_getpid_loop_native(benchmark::State& state) {
  run_child_benchmark(state, {getpid_loop_path(), std::to_string(getpid_calls())});
}

void BM_getpid_moat(benchmark::State& state) {
  run_child_benchmark(state, {moat_path(), "do", "--", getpid_loop_path(), std::to_string(getpid_calls())});
}

BENCHMARK(BM_getpid_native)
    ->Unit(benchmark::kNanosecond)
    ->Repetitions(kRepetitions)
    ->DisplayAggregatesOnly(true);
BENCHMARK(BM_getpid_loop_native)
    ->Unit(benchmark::kNanosecond)
    ->UseManualTime()
    ->Iterations(kChildRunsPerRepetition)
    ->Repetitions(kRepetitions)
    ->DisplayAggregatesOnly(true);
BENCHMARK(BM_getpid_moat)
    ->Unit(benchmark::kNanosecond)
    ->UseManualTime()
    ->Iterations(kChildRunsPerRepetition)
    ->Repetitions(kRepetitions)
    ->DisplayAggregatesOnly(true);

// Process and thread operations (issue 4): the proc_bench fixture times N of
// one operation natively and inside moat; each pair is reported as a ratio.
struct ProcOp {
  const char* name;
  long count;
};
constexpr ProcOp kProcOps[] = {{"forkexec", 200}, {"thread", 2000}, {"signal", 20000}, {"futex", 20000}};

std::string proc_bench_path() { return path_from_env("PROC_BENCH", exe_dir() + "/../tests/proc_bench"); }

void register_proc_benchmarks() {
  for (const ProcOp& op : kProcOps) {
    std::vector<std::string> args = {proc_bench_path(), op.name, std::to_string(op.count)};
    std::vector<std::string> in_moat = {moat_path(), "do", "--"};
    in_moat.insert(in_moat.end(), args.begin(), args.end());
    for (auto& [suffix, argv] : {std::pair{"native", args}, std::pair{"moat", in_moat}}) {
      benchmark::RegisterBenchmark((std::string("BM_") + op.name + "_" + suffix).c_str(),
                                   [argv = argv](benchmark::State& state) { run_child_benchmark(state, argv); })
          ->Unit(benchmark::kMicrosecond)
          ->UseManualTime()
          ->Iterations(1)
          ->Repetitions(kRepetitions)
          ->DisplayAggregatesOnly(true);
    }
  }
}

// File operations (issue 5): the fs_bench fixture, natively and inside moat,
// on the sandbox's tmpfs (/tmp) and on a host directory (reached read-write
// through the memory overlay inside moat). The inputs (a 1 GiB host file, an
// archive of 10,000 files) are made once under kFsBenchDir.
constexpr const char* kFsBenchDir = "/var/tmp/moat-bench";
struct FsOp {
  std::string name;  // the benchmark's name: BM_<name>_native / _moat
  std::string op;    // fs_bench's operation
  std::string where;
  long count;
  const char* unit;  // what one "operation" is, for the summary
};

std::string fs_bench_path() { return path_from_env("FS_BENCH", exe_dir() + "/../tests/fs_bench"); }

// Makes the 1 GiB file and the 10,000-file archive if they are not there yet.
std::string prepare_fs_inputs() {
  std::error_code ec;
  std::filesystem::create_directories(std::string(kFsBenchDir) + "/host", ec);
  if (ec) return "cannot make " + std::string(kFsBenchDir) + ": " + ec.message();
  std::string big = std::string(kFsBenchDir) + "/1g.bin";
  if (std::filesystem::file_size(big, ec) != (1ull << 30)) {
    std::string cmd = "head -c 1073741824 /dev/zero > " + big;
    if (std::system(cmd.c_str()) != 0) return "cannot write " + big;
  }
  std::string tgz = std::string(kFsBenchDir) + "/10k.tgz";
  if (!std::filesystem::exists(tgz)) {
    std::string tree = std::string(kFsBenchDir) + "/tree";
    std::filesystem::remove_all(tree, ec);
    for (int d = 0; d < 100; d++) {
      std::string dir = tree + "/d" + std::to_string(d);
      std::filesystem::create_directories(dir, ec);
      for (int f = 0; f < 100; f++) {
        FILE* out = std::fopen((dir + "/f" + std::to_string(f)).c_str(), "w");
        if (!out) return "cannot write under " + tree;
        for (int i = 0; i < f; i++) std::fprintf(out, "%d.%d\n", d, f);
        std::fclose(out);
      }
    }
    std::string cmd = "tar -C " + tree + " -czf " + tgz + " . && rm -rf " + tree;
    if (std::system(cmd.c_str()) != 0) return "cannot make " + tgz;
  }
  return {};
}

std::vector<FsOp> fs_ops() {
  std::string host = std::string(kFsBenchDir) + "/host";
  return {
      {"openclose_tmpfs", "openclose", "/tmp", 20000, "open+close"},
      {"openclose_host", "openclose", host, 20000, "open+close"},
      {"stat_tmpfs", "stat", "/tmp", 20000, "stat"},
      {"stat_host", "stat", host, 20000, "stat"},
      {"read4k_tmpfs", "read4k", "/tmp", 20000, "4 KiB pread"},
      {"read4k_host", "read4k", host, 20000, "4 KiB pread"},
      {"write4k_tmpfs", "write4k", "/tmp", 20000, "4 KiB pwrite"},
      {"write4k_host", "write4k", host, 20000, "4 KiB pwrite"},
      {"seqread_1g_host", "seqread", std::string(kFsBenchDir) + "/1g.bin", 1, "MiB read"},
      {"tarx_10k", "tarx", std::string(kFsBenchDir) + "/10k.tgz", 1, "extraction"},
  };
}

void register_fs_benchmarks() {
  std::string error = prepare_fs_inputs();
  for (const FsOp& op : fs_ops()) {
    std::vector<std::string> args = {fs_bench_path(), op.op, op.where, std::to_string(op.count)};
    std::vector<std::string> in_moat = {moat_path(), "do", "--"};
    in_moat.insert(in_moat.end(), args.begin(), args.end());
    for (auto& [suffix, argv] : {std::pair{"native", args}, std::pair{"moat", in_moat}}) {
      benchmark::RegisterBenchmark(("BM_" + op.name + "_" + suffix).c_str(),
                                   [argv = argv, error](benchmark::State& state) {
                                     if (!error.empty()) {
                                       state.SkipWithError(error.c_str());
                                       return;
                                     }
                                     run_child_benchmark(state, argv);
                                   })
          ->Unit(benchmark::kMicrosecond)
          ->UseManualTime()
          ->Iterations(1)
          ->Repetitions(kRepetitions)
          ->DisplayAggregatesOnly(true);
    }
  }
}

// Console output as usual, plus the median of each benchmark (in ns) and the
// first error of each, for the summary line.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(OutputOptions options) : ConsoleReporter(options) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (auto& run : runs) {
      auto& name = run.run_name.function_name;
      if (run.error_occurred) {
        m_errors.emplace(name, run.error_message);
      } else if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
        m_medians_ns[name] = run.GetAdjustedRealTime();
      }
    }
  }

  std::optional<double> median_ns(const std::string& name) const {
    auto it = m_medians_ns.find(name);
    return it == m_medians_ns.end() ? std::nullopt : std::optional<double>(it->second);
  }

  std::string error(const std::string& name) const {
    auto it = m_errors.find(name);
    return it == m_errors.end() ? std::string("not run") : it->second;
  }

 private:
  std::map<std::string, double> m_medians_ns;
  std::map<std::string, std::string> m_errors;
};

}  // namespace

int main(int argc, char** argv) {
  register_proc_benchmarks();
  register_fs_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // A custom reporter does not see --benchmark_color: colour only a terminal.
  const char* term = std::getenv("TERM");
  bool color = isatty(STDOUT_FILENO) && term && std::strcmp(term, "dumb") != 0;
  SummaryReporter reporter(color ? benchmark::ConsoleReporter::OO_Defaults
                                 : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  auto native = reporter.median_ns("BM_getpid_native");
  auto moat = reporter.median_ns("BM_getpid_moat");
  auto loop_native = reporter.median_ns("BM_getpid_loop_native");
  std::printf("\n");
  if (loop_native) std::printf("getpid_loop natively (same method as moat): %.1f ns\n", *loop_native);
  if (!moat) std::printf("moat: %s\n", reporter.error("BM_getpid_moat").c_str());
  auto show = [](std::optional<double> ns) {
    return ns ? std::to_string(std::lround(*ns)) : std::string("n/a");
  };
  std::string ratio = "n/a";
  if (native && moat && *native > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *moat / *native);
    ratio = buf;
  }
  std::printf("getpid round trip: native %s ns, moat %s ns, ratio %s\n", show(native).c_str(),
              show(moat).c_str(), ratio.c_str());
  for (const ProcOp& op : kProcOps) {
    auto n = reporter.median_ns(std::string("BM_") + op.name + "_native");
    auto m = reporter.median_ns(std::string("BM_") + op.name + "_moat");
    if (!n || !m) {
      std::printf("%-9s n/a (%s)\n", op.name, reporter.error(std::string("BM_") + op.name + "_moat").c_str());
      continue;
    }
    // These benchmarks report in microseconds (their unit).
    std::printf("%-9s native %.1f us, moat %.1f us, ratio %.1f\n", op.name, *n, *m, *m / *n);
  }
  for (const FsOp& op : fs_ops()) {
    auto n = reporter.median_ns("BM_" + op.name + "_native");
    auto m = reporter.median_ns("BM_" + op.name + "_moat");
    if (!n || !m) {
      std::printf("%-16s n/a (%s)\n", op.name.c_str(), reporter.error("BM_" + op.name + "_moat").c_str());
      continue;
    }
    std::printf("%-16s native %.2f us, moat %.2f us per %s, ratio %.1f\n", op.name.c_str(), *n, *m, op.unit,
                *m / *n);
  }
  return 0;
}
