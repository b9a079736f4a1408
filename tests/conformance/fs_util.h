// Helpers shared by the file-syscall conformance tests: files and symlinks
// under the case's temp_dir(), reading a whole fd, raw getdents64.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "harness.h"

namespace fsutil {

// temp_dir() + "/" + name.
inline std::string tmp(const std::string& name) { return conformance::temp_dir() + "/" + name; }

// Creates (or truncates) path with the given contents.
inline void make_file(const std::string& path, const std::string& data = "", mode_t mode = 0644) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode));
  if (!data.empty()) ASSERT_SYSCALL_SUCCEEDS_WITH(write(fd, data.data(), data.size()), data.size());
  close(fd);
}

inline void make_dir(const std::string& path, mode_t mode = 0755) { ASSERT_SYSCALL_SUCCEEDS(mkdir(path.c_str(), mode)); }

inline void make_symlink(const std::string& target, const std::string& path) {
  ASSERT_SYSCALL_SUCCEEDS(symlink(target.c_str(), path.c_str()));
}

// Reads fd from its current position to end of file.
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

inline std::string read_file(const std::string& path) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDONLY));
  std::string s = read_all(fd);
  close(fd);
  return s;
}

inline mode_t mode_of(const std::string& path) {
  struct stat st;
  ASSERT_SYSCALL_SUCCEEDS(lstat(path.c_str(), &st));
  return st.st_mode;
}

inline bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

struct Dirent {
  uint64_t ino;
  unsigned char type;
  std::string name;
};

// All entries of the directory open at fd, read with getdents64 in chunks of
// buf_size bytes.
inline std::vector<Dirent> list_fd(int fd, size_t buf_size = 4096) {
  std::vector<Dirent> out;
  std::vector<char> buf(buf_size);
  for (;;) {
    long n = ASSERT_SYSCALL_SUCCEEDS(syscall(SYS_getdents64, fd, buf.data(), buf.size()));
    if (n == 0) break;
    for (long off = 0; off < n;) {
      uint64_t ino;
      uint16_t reclen;
      memcpy(&ino, buf.data() + off, 8);
      memcpy(&reclen, buf.data() + off + 16, 2);
      out.push_back(Dirent{ino, static_cast<unsigned char>(buf[off + 18]), std::string(buf.data() + off + 19)});
      off += reclen;
    }
  }
  return out;
}

inline std::vector<Dirent> list_dir(const std::string& path) {
  int fd = ASSERT_SYSCALL_SUCCEEDS(open(path.c_str(), O_RDONLY | O_DIRECTORY));
  auto v = list_fd(fd);
  close(fd);
  return v;
}

inline const Dirent* find_entry(const std::vector<Dirent>& v, const std::string& name) {
  for (const auto& d : v)
    if (d.name == name) return &d;
  return nullptr;
}

// A guest address that is never mapped.
inline void* bad_ptr() { return reinterpret_cast<void*>(8); }
inline const char* bad_path() { return reinterpret_cast<const char*>(8); }

}  // namespace fsutil
