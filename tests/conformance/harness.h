// The conformance harness: small test programs that run natively and inside
// moat (ctest runs each twice) and must behave the same, in the spirit of
// gVisor's test/syscalls and its SyscallSucceeds() / SyscallFailsWithErrno().
//
//   TEST(Read, ZeroLengthReturnsZero) {
//     int fd = EXPECT_SYSCALL_SUCCEEDS(open("/dev/zero", O_RDONLY));
//     char c;
//     EXPECT_SYSCALL_SUCCEEDS_WITH(read(fd, &c, 0), 0);
//     EXPECT_SYSCALL_FAILS_WITH(read(-1, &c, 1), EBADF);
//   }
//
// A case passes when none of its expectations failed. ASSERT_* stop the case
// at the first failure; EXPECT_* record it and go on. running_in_moat() is for
// the rare justified difference; MOAT_KNOWN_FAILURE("why") marks a case that
// fails inside moat for a known, tracked reason (it is then reported as xfail
// and does not fail the run; if it passes, it is reported as xpass so the mark
// can go). Each case should clean up after itself: one binary runs all its
// cases in one process (fork is not something every moat version has).
#pragma once

#include <errno.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>
#include <string>
#include <vector>

namespace conformance {

struct Case {
  const char* suite;
  const char* name;
  void (*fn)();
};

std::vector<Case>& registry();

struct Registrar {
  Registrar(const char* suite, const char* name, void (*fn)()) { registry().push_back({suite, name, fn}); }
};

// True when this binary runs inside moat (the test runner says so).
bool running_in_moat();

// Recording failures of the current case.
void record_failure(const char* file, int line, const std::string& message);
[[noreturn]] void abort_case();
void skip_case(const char* reason);
void known_moat_failure(const char* reason);

std::string errno_str(int e);

// A fresh directory under /tmp for the current case; removed with its
// contents when the case ends.
std::string temp_dir();

}  // namespace conformance

#define CONF_CONCAT_(a, b) a##b
#define CONF_CONCAT(a, b) CONF_CONCAT_(a, b)

#define TEST(suite, name)                                                                        \
  static void CONF_CONCAT(conf_test_, CONF_CONCAT(suite, CONF_CONCAT(_, name)))();              \
  static ::conformance::Registrar CONF_CONCAT(conf_reg_, CONF_CONCAT(suite, CONF_CONCAT(_, name)))( \
      #suite, #name, CONF_CONCAT(conf_test_, CONF_CONCAT(suite, CONF_CONCAT(_, name))));       \
  static void CONF_CONCAT(conf_test_, CONF_CONCAT(suite, CONF_CONCAT(_, name)))()

#define CONF_FAIL_(fatal, ...)                                                 \
  do {                                                                         \
    char conf_msg_[512];                                                       \
    snprintf(conf_msg_, sizeof conf_msg_, __VA_ARGS__);                        \
    ::conformance::record_failure(__FILE__, __LINE__, conf_msg_);              \
    if (fatal) ::conformance::abort_case();                                    \
  } while (0)

// Evaluates a syscall-like expression (returns -1 and sets errno on failure)
// and yields its value.
#define CONF_SUCCEEDS_(fatal, expr)                                                                 \
  ({                                                                                               \
    errno = 0;                                                                                     \
    auto conf_r_ = (expr);                                                                         \
    if (conf_r_ == (decltype(conf_r_))-1)                                                          \
      CONF_FAIL_(fatal, "%s failed: %s", #expr, ::conformance::errno_str(errno).c_str());          \
    conf_r_;                                                                                       \
  })
#define EXPECT_SYSCALL_SUCCEEDS(expr) CONF_SUCCEEDS_(false, expr)
#define ASSERT_SYSCALL_SUCCEEDS(expr) CONF_SUCCEEDS_(true, expr)

#define CONF_SUCCEEDS_WITH_(fatal, expr, want)                                                      \
  do {                                                                                             \
    errno = 0;                                                                                     \
    long long conf_r_ = (long long)(expr);                                                         \
    long long conf_w_ = (long long)(want);                                                         \
    if (conf_r_ != conf_w_)                                                                        \
      CONF_FAIL_(fatal, "%s returned %lld (%s), want %lld", #expr, conf_r_,                        \
                 conf_r_ == -1 ? ::conformance::errno_str(errno).c_str() : "no error", conf_w_);   \
  } while (0)
#define EXPECT_SYSCALL_SUCCEEDS_WITH(expr, want) CONF_SUCCEEDS_WITH_(false, expr, want)
#define ASSERT_SYSCALL_SUCCEEDS_WITH(expr, want) CONF_SUCCEEDS_WITH_(true, expr, want)

#define CONF_FAILS_WITH_(fatal, expr, err)                                                          \
  do {                                                                                             \
    errno = 0;                                                                                     \
    long long conf_r_ = (long long)(expr);                                                         \
    int conf_e_ = errno;                                                                           \
    if (conf_r_ != -1 || conf_e_ != (err))                                                         \
      CONF_FAIL_(fatal, "%s returned %lld (%s), want -1 (%s)", #expr, conf_r_,                     \
                 conf_r_ == -1 ? ::conformance::errno_str(conf_e_).c_str() : "no error",           \
                 ::conformance::errno_str(err).c_str());                                           \
  } while (0)
#define EXPECT_SYSCALL_FAILS_WITH(expr, err) CONF_FAILS_WITH_(false, expr, err)
#define ASSERT_SYSCALL_FAILS_WITH(expr, err) CONF_FAILS_WITH_(true, expr, err)

#define CONF_CMP_(fatal, a, op, b)                                                                   \
  do {                                                                                             \
    auto conf_a_ = (a);                                                                            \
    auto conf_b_ = (b);                                                                            \
    if (!(conf_a_ op conf_b_))                                                                     \
      CONF_FAIL_(fatal, "expected %s %s %s (%lld vs %lld)", #a, #op, #b, (long long)conf_a_,       \
                 (long long)conf_b_);                                                              \
  } while (0)
#define EXPECT_EQ(a, b) CONF_CMP_(false, a, ==, b)
#define EXPECT_NE(a, b) CONF_CMP_(false, a, !=, b)
#define EXPECT_LT(a, b) CONF_CMP_(false, a, <, b)
#define EXPECT_LE(a, b) CONF_CMP_(false, a, <=, b)
#define EXPECT_GT(a, b) CONF_CMP_(false, a, >, b)
#define EXPECT_GE(a, b) CONF_CMP_(false, a, >=, b)
#define ASSERT_EQ(a, b) CONF_CMP_(true, a, ==, b)
#define ASSERT_NE(a, b) CONF_CMP_(true, a, !=, b)
#define ASSERT_GE(a, b) CONF_CMP_(true, a, >=, b)
#define ASSERT_GT(a, b) CONF_CMP_(true, a, >, b)

#define EXPECT_TRUE(x) \
  do {                 \
    if (!(x)) CONF_FAIL_(false, "expected %s", #x); \
  } while (0)
#define EXPECT_FALSE(x) \
  do {                  \
    if (x) CONF_FAIL_(false, "expected !(%s)", #x); \
  } while (0)
#define ASSERT_TRUE(x) \
  do {                 \
    if (!(x)) CONF_FAIL_(true, "expected %s", #x); \
  } while (0)
#define EXPECT_STREQ(a, b)                                                                  \
  do {                                                                                      \
    std::string conf_a_(a), conf_b_(b);                                                     \
    if (conf_a_ != conf_b_)                                                                 \
      CONF_FAIL_(false, "expected %s == %s (\"%s\" vs \"%s\")", #a, #b, conf_a_.c_str(), conf_b_.c_str()); \
  } while (0)

#define SKIP_IF(cond, reason)                         \
  do {                                                \
    if (cond) ::conformance::skip_case(reason);       \
  } while (0)
#define MOAT_KNOWN_FAILURE(reason) ::conformance::known_moat_failure(reason)
