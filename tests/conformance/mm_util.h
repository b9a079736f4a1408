// Helpers shared by the memory conformance tests: reading /proc/self/maps and
// probing whether a page is mapped without touching it (a fault would kill
// the test process).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace conformance {

constexpr size_t kPage = 4096;

struct MapsEntry {
  uintptr_t start = 0, end = 0;
  std::string perms;  // "rw-p"
  uint64_t offset = 0;
  std::string name;
};

inline std::string read_whole_file(const char* path) {
  std::string out;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

inline std::vector<MapsEntry> read_maps() {
  std::vector<MapsEntry> out;
  std::string text = read_whole_file("/proc/self/maps");
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    MapsEntry e;
    char perms[8] = {};
    unsigned long long start, end, offset;
    int name_at = 0;
    if (sscanf(line.c_str(), "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &name_at) < 4) continue;
    e.start = start;
    e.end = end;
    e.perms = perms;
    e.offset = offset;
    if (name_at > 0 && static_cast<size_t>(name_at) <= line.size()) e.name = line.substr(static_cast<size_t>(name_at));
    out.push_back(e);
  }
  return out;
}

// The maps entry containing addr, if any.
inline bool find_maps_entry(uintptr_t addr, MapsEntry* out) {
  for (const MapsEntry& e : read_maps()) {
    if (addr >= e.start && addr < e.end) {
      if (out) *out = e;
      return true;
    }
  }
  return false;
}

// True when the page at addr is mapped: MAP_FIXED_NOREPLACE fails there with
// EEXIST, and maps it (undone at once) when it is free.
inline bool page_mapped(void* addr) {
  void* p = mmap(addr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return errno == EEXIST;
  munmap(p, kPage);
  return false;
}

// Writes len zero bytes at the start of fd (the memory tests size files with
// write rather than ftruncate, which belongs to another family's tests).
inline int fill_zeros(int fd, size_t len) {
  std::string zeros(len, '\0');
  return pwrite(fd, zeros.data(), len, 0) == static_cast<ssize_t>(len) ? 0 : -1;
}

inline char* page_at(void* base, size_t i) { return static_cast<char*>(base) + i * kPage; }

}  // namespace conformance
