// `moat batch PROFILE.toml`: many short jobs, each in a fresh sandbox under
// the profile's limits, `parallel` at a time, one JSON result per job in
// the profile's order (docs/batch.md).
//
// The batch process is single-threaded: one poll loop watches every running
// job (runtime/batch_job.h), and each job's sandbox runs in a process forked
// from it, so no sentry state is ever shared between jobs.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/batch_profile.h"
#include "runtime/batch_job.h"
#include "runtime/cli.h"

namespace moat::cli {

void print_batch_usage(FILE* out) {
  fprintf(out,
          "Usage: moat batch [--jsonl] [-o FILE] [-j N] [--] PROFILE.toml\n"
          "\n"
          "Runs every [[job]] of the TOML profile, each in a fresh sandbox (as `moat do`\n"
          "runs a command) under the limits of its [sandbox] table and its own, N at a\n"
          "time, and prints one JSON result per job in the profile's order: a document\n"
          "{\"profile\": ..., \"jobs\": [...]} at the end. See docs/batch.md.\n"
          "\n"
          "  --jsonl            one JSON object per line and job instead, each printed as\n"
          "                     soon as it and every job before it have finished\n"
          "  -o, --output FILE  write the results to FILE instead of stdout\n"
          "  -j, --parallel N   jobs at once (default: the profile's `parallel`, else the\n"
          "                     number of CPUs)\n"
          "\n"
          "A job's status is exited, signaled, timeout, cpu_time, memory or error.\n"
          "Exit status: 0 when every job ran (whatever it returned), 1 when some job\n"
          "has status error (moat could not run it), 2 for a bad profile or usage\n"
          "(no job runs), 130 when interrupted.\n");
}

namespace {

using ojson = nlohmann::ordered_json;

int g_wake_pipe = -1;

void on_interrupt(int) {
  char c = 'i';
  (void)!write(g_wake_pipe, &c, 1);
}

std::string signal_text(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::to_string(sig);
}

ojson result_json(const batch::JobResult& r) {
  ojson j;
  j["name"] = r.name;
  j["status"] = batch::status_name(r.status);
  j["exit_code"] = r.exit_code ? ojson(*r.exit_code) : ojson(nullptr);
  j["signal"] = r.signal ? ojson(signal_text(r.signal)) : ojson(nullptr);
  j["wall_ms"] = r.wall_ms;
  j["cpu_ms"] = r.cpu_ms ? ojson(*r.cpu_ms) : ojson(nullptr);
  j["max_rss_kb"] = r.max_rss_kb ? ojson(*r.max_rss_kb) : ojson(nullptr);
  j["memory_peak_kb"] = r.memory_peak_kb ? ojson(*r.memory_peak_kb) : ojson(nullptr);
  j["stdout"] = r.out;
  j["stdout_truncated"] = r.out_truncated;
  j["stderr"] = r.err;
  j["stderr_truncated"] = r.err_truncated;
  j["error"] = r.error.empty() ? ojson(nullptr) : ojson(r.error);
  j["unenforced"] = r.unenforced;
  return j;
}

// Output is UTF-8: bytes that are not become U+FFFD (docs/batch.md).
std::string dump(const ojson& j, int indent) { return j.dump(indent, ' ', false, ojson::error_handler_t::replace); }

bool write_all(FILE* out, const std::string& text) {
  return fwrite(text.data(), 1, text.size(), out) == text.size() && fflush(out) == 0;
}

}  // namespace

int run_batch(const std::vector<std::string>& args) {
  bool jsonl = false;
  std::string output_path, profile_path;
  unsigned parallel = 0;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      size_t len = strlen(flag);
      if (a.size() > len + 1 && a.compare(0, len, flag) == 0 && a[len] == '=') return a.substr(len + 1);
      if (a != flag) return std::nullopt;
      if (i + 1 >= args.size()) return std::string();
      return args[++i];
    };
    if (a == "-h" || a == "--help") {
      print_batch_usage(stdout);
      return 0;
    }
    if (a == "--jsonl") {
      jsonl = true;
    } else if (auto v = a.rfind("--output", 0) == 0 ? value("--output") : value("-o")) {
      if (v->empty()) {
        fprintf(stderr, "moat batch: %s needs a file name\n", a.c_str());
        return kUsageError;
      }
      output_path = *v;
    } else if (auto v = a.rfind("--parallel", 0) == 0 ? value("--parallel") : value("-j")) {
      char* end = nullptr;
      long n = strtol(v->c_str(), &end, 10);
      if (v->empty() || *end || n < 1 || n > 4096) {
        fprintf(stderr, "moat batch: %s: want a number of jobs from 1 to 4096, not '%s'\n", a.c_str(), v->c_str());
        return kUsageError;
      }
      parallel = static_cast<unsigned>(n);
    } else if (a == "--") {
      if (i + 1 < args.size()) profile_path = args[++i];
      if (i + 1 < args.size()) {
        fprintf(stderr, "moat batch: one profile at a time (see 'moat batch --help')\n");
        return kUsageError;
      }
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "moat batch: unknown flag %s (see 'moat batch --help')\n", a.c_str());
      return kUsageError;
    } else if (profile_path.empty()) {
      profile_path = a;
    } else {
      fprintf(stderr, "moat batch: one profile at a time (see 'moat batch --help')\n");
      return kUsageError;
    }
  }
  if (profile_path.empty()) {
    fprintf(stderr, "moat batch: no profile given (see 'moat batch --help')\n");
    return kUsageError;
  }
  auto loaded = batch::load_profile(profile_path);
  if (auto* error = std::get_if<batch::ProfileError>(&loaded)) {
    fprintf(stderr, "moat batch: %s\n", error->message.c_str());
    return kUsageError;
  }
  const batch::Profile& profile = std::get<batch::Profile>(loaded);
  if (!parallel) parallel = profile.parallel;
  if (!parallel) parallel = std::max(1u, std::thread::hardware_concurrency());

  FILE* out = stdout;
  if (!output_path.empty()) {
    out = fopen(output_path.c_str(), "we");
    if (!out) {
      fprintf(stderr, "moat batch: -o %s: %s\n", output_path.c_str(), strerror(errno));
      return kUsageError;
    }
  }

  // ^C, a CI runner's SIGTERM: every sandbox goes, the results so far are printed.
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    fprintf(stderr, "moat batch: pipe: %s\n", strerror(errno));
    return 1;
  }
  g_wake_pipe = wake[1];
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  batch::BatchHost host;
  host.cgroup_prefix = "/moat/batch-" + std::to_string(getpid()) + "-";
  host.warn = [](const std::string& line) { fprintf(stderr, "moat batch: %s\n", line.c_str()); };

  const size_t n = profile.jobs.size();
  std::vector<std::unique_ptr<batch::JobRun>> runs(n);
  size_t next_start = 0, next_print = 0;
  bool interrupted = false;
  bool any_error = false;
  auto batch_start = batch::Clock::now();
  ojson jobs = ojson::array();
  bool output_ok = true;
  std::vector<pollfd> fds;
  std::vector<batch::JobRun*> polled;
  while (next_print < n) {
    size_t active = 0;
    for (size_t i = next_print; i < next_start; i++) active += runs[i] && !runs[i]->done();
    while (!interrupted && active < parallel && next_start < n) {
      runs[next_start] = std::make_unique<batch::JobRun>(profile, profile.jobs[next_start], next_start, host);
      runs[next_start]->start();
      active += !runs[next_start]->done();
      next_start++;
    }
    // Results go out in the profile's order, as soon as they can.
    while (next_print < next_start && runs[next_print]->done()) {
      ojson r = result_json(runs[next_print]->result());
      any_error |= runs[next_print]->result().status == batch::JobStatus::Error;
      if (jsonl)
        output_ok &= write_all(out, dump(r, -1) + "\n");
      else
        jobs.push_back(std::move(r));
      runs[next_print].reset();
      next_print++;
    }
    if (next_print >= n) break;
    if (interrupted && next_start < n) {
      // Jobs not started yet get a result that says so.
      runs[next_start] = std::make_unique<batch::JobRun>(profile, profile.jobs[next_start], next_start, host);
      runs[next_start]->skip("not run: moat batch was interrupted");
      next_start++;
      continue;
    }

    fds.assign(1, pollfd{wake[0], POLLIN, 0});
    polled.clear();
    auto now = batch::Clock::now();
    auto wake_at = batch::Clock::time_point::max();
    for (size_t i = next_print; i < next_start; i++) {
      batch::JobRun* run = runs[i].get();
      if (!run || run->done()) continue;
      wake_at = std::min(wake_at, run->tick(now));
      if (run->done()) continue;
      polled.push_back(run);
      fds.resize(fds.size() + batch::JobRun::kSlots);
      run->poll_fds(&fds[fds.size() - batch::JobRun::kSlots]);
    }
    if (polled.empty()) continue;
    int timeout = -1;
    if (wake_at != batch::Clock::time_point::max())
      timeout = static_cast<int>(
          std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now).count() + 1));
    int ready = poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) {
      fprintf(stderr, "moat batch: poll: %s\n", strerror(errno));
      interrupted = true;
    }
    if (fds[0].revents) {
      char buf[16];
      while (read(wake[0], buf, sizeof(buf)) > 0) {
      }
      if (!interrupted) fprintf(stderr, "moat batch: interrupted: ending the running jobs\n");
      interrupted = true;
    }
    for (size_t k = 0; k < polled.size(); k++) {
      if (interrupted) polled[k]->kill_now("moat batch was interrupted");
      if (ready > 0) polled[k]->on_ready(&fds[1 + k * batch::JobRun::kSlots]);
    }
  }

  if (!jsonl) {
    ojson doc;
    doc["profile"] = profile.path;
    doc["parallel"] = parallel;
    doc["wall_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(batch::Clock::now() - batch_start).count();
    doc["jobs"] = std::move(jobs);
    output_ok &= write_all(out, dump(doc, 2) + "\n");
  }
  if (out != stdout && fclose(out) != 0) output_ok = false;
  if (!output_ok) {
    fprintf(stderr, "moat batch: writing the results: %s\n", strerror(errno));
    return 1;
  }
  if (interrupted) return 130;
  return any_error ? 1 : 0;
}

}  // namespace moat::cli
