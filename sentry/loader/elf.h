#pragma once
// ELF64 x86-64 program loading, as pure logic: it reads and validates the
// headers of an executable or interpreter and says what to map where. Mapping
// the pages into the guest is the caller's job. Mirrors Linux's
// fs/binfmt_elf.c load_elf_binary/load_elf_interp, stricter where a check costs
// nothing (sorted, non-overlapping segments inside the file).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace moat::loader {

// Random-access bytes of the file being loaded. pread may return fewer bytes
// than asked (0 at end of file).
struct ElfSource {
  virtual ~ElfSource() = default;
  virtual ErrorOr<size_t> pread(std::span<std::byte> buf, uint64_t off) = 0;
  virtual uint64_t size() const = 0;
};

// One PT_LOAD segment, biased and page-rounded. The caller maps, in order:
//   [map_start, map_end_file) from the file at file_offset, with prot;
//   if the segment is writable, zeroes [zero_from, map_end_file);
//   [map_end_file, anon_end) as anonymous zero pages, with prot.
// A segment may share its first page with the previous segment's last one
// (the ranges are sorted and never overlap byte-wise); a later mapping replaces
// the shared page, as Linux's MAP_FIXED does.
struct ElfSegment {
  uint64_t map_start = 0;     // page aligned
  uint64_t map_end_file = 0;  // page_up(vaddr + filesz); == map_start when filesz == 0
  uint64_t file_offset = 0;   // page aligned
  uint64_t zero_from = 0;     // vaddr + filesz
  uint64_t anon_end = 0;      // page_up(vaddr + memsz)
  int prot = 0;               // PROT_READ | PROT_WRITE | PROT_EXEC
};

struct ElfImage {
  uint64_t entry = 0;   // biased e_entry
  uint64_t phdr = 0;    // address of the program headers in memory (AT_PHDR), 0 if not loaded
  uint64_t phnum = 0;   // AT_PHNUM
  uint64_t phent = 0;   // AT_PHENT
  uint64_t bias = 0;    // added to every p_vaddr; AT_BASE for an interpreter
  std::optional<std::string> interp;  // PT_INTERP path (executables only)
  bool is_dyn = false;                // ET_DYN
  bool exec_stack = false;            // PT_GNU_STACK has PF_X (x86-64: no PT_GNU_STACK = not executable)
  std::vector<ElfSegment> segments;
  uint64_t max_end = 0;    // highest anon_end: where brk starts
  uint64_t span = 0;       // max_end - lowest map_start
  uint64_t max_align = 0;  // largest power-of-two PT_LOAD p_align, at least a page
};

// What is being loaded decides the errors, as in Linux: a malformed
// executable is ENOEXEC; a malformed interpreter is ELIBBAD, or EINVAL for a
// wrong e_type or no PT_LOAD (load_elf_interp).
enum class ElfRole { Executable, Interpreter };

// Reads and validates the ELF headers of src. An ET_DYN object is placed so
// its lowest page lands at pie_base (page aligned, ideally aligned to
// max_align; the caller picks it, e.g. after a first call with pie_base = 0
// to learn span and max_align); ET_EXEC is loaded at bias 0.
//
// Addresses named in the file (p_vaddr + p_memsz) must stay below
// MOAT_RESERVED_BASE; a placed ET_DYN may lie anywhere below mm::kUserTop that
// misses [MOAT_RESERVED_BASE, MOAT_RESERVED_END). Errors:
//   ENOEXEC (ELIBBAD for an interpreter): bad ident/machine/phentsize/phnum,
//     headers or segment bytes outside the file, p_align not a power of two,
//     unsorted or overlapping PT_LOADs, bad PT_INTERP;
//   ENOEXEC (EINVAL for an interpreter): bad e_type, nothing to load;
//   EINVAL (ENOMEM for an interpreter): p_filesz > p_memsz, a segment or the
//     entry outside the allowed range;
//   EINVAL: p_offset and p_vaddr not congruent modulo the page size, or a
//     misaligned pie_base; ENOMEM: span >= 64 GiB or no room at pie_base;
//   EPERM: an ET_EXEC below mm::kMinAddr; errors from src.pread as they are.
ErrorOr<ElfImage> load_elf(ElfSource& src, uint64_t pie_base, ElfRole role = ElfRole::Executable);

// An ElfSource over bytes in memory (tests, and small in-memory images).
class MemoryElfSource final : public ElfSource {
 public:
  explicit MemoryElfSource(std::span<const std::byte> bytes) : m_bytes(bytes) {}
  ErrorOr<size_t> pread(std::span<std::byte> buf, uint64_t off) override;
  uint64_t size() const override { return m_bytes.size(); }

 private:
  std::span<const std::byte> m_bytes;
};

}  // namespace moat::loader
