// The conformance harness runner: runs every registered case in order and
// reports each, then a summary. Exit status 0 when no case failed.
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

namespace conformance {

namespace {

enum class Outcome { Pass, Fail, Skip };

struct CaseState {
  bool failed = false;
  bool skipped = false;
  const char* skip_reason = nullptr;
  const char* known_failure = nullptr;
  std::string first_failure;
  std::string temp;
  jmp_buf abort_to;
};

CaseState* g_case = nullptr;

int remove_entry(const char* path, const struct stat*, int, struct FTW*) { return remove(path); }

}  // namespace

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

bool running_in_moat() {
  const char* v = getenv("MOAT_CONFORMANCE_SANDBOX");
  return v && strcmp(v, "1") == 0;
}

void record_failure(const char* file, int line, const std::string& message) {
  if (!g_case) return;
  if (!g_case->failed) {
    const char* base = strrchr(file, '/');
    g_case->first_failure = std::string(base ? base + 1 : file) + ":" + std::to_string(line) + ": " + message;
  }
  g_case->failed = true;
}

void abort_case() { longjmp(g_case->abort_to, 1); }

void skip_case(const char* reason) {
  g_case->skipped = true;
  g_case->skip_reason = reason;
  longjmp(g_case->abort_to, 1);
}

void known_moat_failure(const char* reason) {
  if (running_in_moat()) g_case->known_failure = reason;
}

std::string errno_str(int e) {
  const char* name = strerrorname_np(e);
  return name ? name : ("errno " + std::to_string(e));
}

std::string temp_dir() {
  if (g_case->temp.empty()) {
    char tmpl[] = "/tmp/conformance.XXXXXX";
    if (!mkdtemp(tmpl)) {
      record_failure(__FILE__, __LINE__, "mkdtemp(/tmp/conformance.XXXXXX) failed: " + errno_str(errno));
      abort_case();
    }
    g_case->temp = tmpl;
  }
  return g_case->temp;
}

}  // namespace conformance

int main(int argc, char** argv) {
  using namespace conformance;
  const char* filter = argc > 1 ? argv[1] : nullptr;
  int passed = 0, failed = 0, skipped = 0, xfail = 0, xpass = 0;
  const char* mode = running_in_moat() ? "moat" : "native";
  for (const Case& c : registry()) {
    std::string full = std::string(c.suite) + "." + c.name;
    if (filter && full.find(filter) == std::string::npos) continue;
    CaseState state;
    g_case = &state;
    int saved_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (setjmp(state.abort_to) == 0) c.fn();
    if (saved_cwd >= 0) {
      if (fchdir(saved_cwd) != 0) perror("fchdir");
      close(saved_cwd);
    }
    if (!state.temp.empty()) nftw(state.temp.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_case = nullptr;
    if (state.skipped) {
      printf("skip  %s (%s)\n", full.c_str(), state.skip_reason);
      skipped++;
    } else if (state.known_failure) {
      if (state.failed) {
        printf("xfail %s (%s): %s\n", full.c_str(), state.known_failure, state.first_failure.c_str());
        xfail++;
      } else {
        printf("xpass %s (marked known failure: %s; remove the mark)\n", full.c_str(), state.known_failure);
        xpass++;
        passed++;
      }
    } else if (state.failed) {
      printf("FAIL  %s: %s\n", full.c_str(), state.first_failure.c_str());
      failed++;
    } else {
      printf("ok    %s\n", full.c_str());
      passed++;
    }
    fflush(stdout);
  }
  printf("conformance %s [%s]: %d passed, %d failed, %d skipped, %d known failures\n", argv[0], mode, passed,
         failed, skipped, xfail);
  return failed ? 1 : 0;
}
