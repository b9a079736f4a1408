#pragma once
// The sentry's view of the stub code: where it is in the moat binary and
// where its entry points land inside a stub process.

#include <cstdint>
#include <span>

#include "stub/layout.h"

extern "C" {
extern const char __start_moat_stub[];
extern const char __stop_moat_stub[];
void moat_stub_init(void);
void moat_stub_sigsys(int, void*, void*);
void moat_stub_restorer(void);
void moat_stub_fault(int, void*, void*);
void moat_stub_interrupt(int, void*, void*);
}

namespace moat::stub {

inline std::span<const char> code() {
  return {__start_moat_stub, static_cast<size_t>(__stop_moat_stub - __start_moat_stub)};
}

// Address of a stub function once the code is copied to MOAT_STUB_BASE.
inline uint64_t address_in_stub(const void* fn) {
  return MOAT_STUB_BASE + static_cast<uint64_t>(static_cast<const char*>(fn) - __start_moat_stub);
}

}  // namespace moat::stub
