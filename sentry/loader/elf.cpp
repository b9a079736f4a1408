// ELF header and program header validation; see elf.h.

#include "sentry/loader/elf.h"

#include <elf.h>
#include <limits.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "sentry/mm/address_space.h"
#include "stub/layout.h"

namespace moat::loader {

namespace {

using mm::kPageSize;
using mm::page_down;
using mm::page_up;

// The addresses an ELF file names (p_vaddr, unbiased) stay below the stub's
// reserved range. A placed ET_DYN object (an interpreter near the mmap base)
// may sit above it, up to the top of the user range, but never overlaps it.
constexpr uint64_t kLoadLimit = MOAT_RESERVED_BASE;
constexpr uint64_t kReservedEnd = MOAT_RESERVED_END;
constexpr uint64_t kMaxSpan = 64ULL << 30;
// fs/binfmt_elf.c load_elf_phdrs: at most 64 KiB of program headers.
constexpr size_t kMaxPhdrBytes = 64 * 1024;

// Linux reports different errnos for the same defect depending on whether it
// is in the executable (load_elf_binary) or the interpreter (load_elf_interp).
struct Errors {
  Errno malformed;  // bad headers, or defects Linux would not survive
  Errno bad_type;   // e_type neither ET_EXEC nor ET_DYN, or no PT_LOAD
  Errno bad_addr;   // p_filesz > p_memsz, segment beyond the user range
};

Errors errors_for(ElfRole role) {
  if (role == ElfRole::Interpreter)
    return {static_cast<Errno>(ELIBBAD), Errno::INVAL, Errno::NOMEM};
  return {Errno::NOEXEC, Errno::NOEXEC, Errno::INVAL};
}

// Reads exactly buf.size() bytes at off; a short read is `short_error`.
ErrorOr<void> read_exact(ElfSource& src, std::span<std::byte> buf, uint64_t off, Errno short_error) {
  size_t done = 0;
  while (done < buf.size()) {
    uint64_t at;
    if (__builtin_add_overflow(off, done, &at)) return short_error;
    size_t n = TRY(src.pread(buf.subspan(done), at));
    if (n == 0) return short_error;
    done += std::min(n, buf.size() - done);
  }
  return {};
}

// True when [off, off + len) lies inside a file of file_size bytes.
bool inside_file(uint64_t off, uint64_t len, uint64_t file_size) {
  uint64_t end;
  return !__builtin_add_overflow(off, len, &end) && end <= file_size;
}

int prot_from_flags(uint32_t p_flags) {
  int prot = 0;
  if (p_flags & PF_R) prot |= PROT_READ;
  if (p_flags & PF_W) prot |= PROT_WRITE;
  if (p_flags & PF_X) prot |= PROT_EXEC;
  return prot;
}

ErrorOr<void> check_header(const Elf64_Ehdr& eh, uint64_t file_size, const Errors& err) {
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return err.malformed;
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_machine != EM_X86_64)
    return err.malformed;
  if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) return err.bad_type;
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return err.malformed;
  if (eh.e_phnum < 1 || eh.e_phnum > kMaxPhdrBytes / sizeof(Elf64_Phdr)) return err.malformed;
  if (!inside_file(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), file_size)) return err.malformed;
  return {};
}

// Validates one PT_LOAD against the file and the user address range.
ErrorOr<void> check_load(const Elf64_Phdr& ph, uint64_t file_size, const Errors& err) {
  if (ph.p_align > 1 && (ph.p_align & (ph.p_align - 1)) != 0) return err.malformed;
  if (ph.p_filesz > ph.p_memsz) return err.bad_addr;
  uint64_t end;
  if (__builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &end) || end > kLoadLimit) return err.bad_addr;
  if (ph.p_filesz > 0) {
    if (!inside_file(ph.p_offset, ph.p_filesz, file_size)) return err.malformed;
    // elf_map would pass a misaligned file offset to mmap, which fails with EINVAL.
    if (ph.p_offset % kPageSize != ph.p_vaddr % kPageSize) return Errno::INVAL;
  }
  return {};
}

// PT_INTERP, as load_elf_binary reads it: 2..PATH_MAX bytes ending in NUL.
ErrorOr<std::string> read_interp(ElfSource& src, const Elf64_Phdr& ph, uint64_t file_size) {
  if (ph.p_filesz < 2 || ph.p_filesz > PATH_MAX) return Errno::NOEXEC;
  if (!inside_file(ph.p_offset, ph.p_filesz, file_size)) return Errno::NOEXEC;
  std::string buf(ph.p_filesz, '\0');
  TRY(read_exact(src, std::as_writable_bytes(std::span(buf.data(), buf.size())), ph.p_offset, Errno::NOEXEC));
  if (buf.back() != '\0') return Errno::NOEXEC;
  buf.resize(std::strlen(buf.c_str()));
  return buf;
}

}  // namespace

ErrorOr<size_t> MemoryElfSource::pread(std::span<std::byte> buf, uint64_t off) {
  if (off >= m_bytes.size()) return size_t{0};
  size_t n = std::min<uint64_t>(buf.size(), m_bytes.size() - off);
  std::memcpy(buf.data(), m_bytes.data() + off, n);
  return n;
}

ErrorOr<ElfImage> load_elf(ElfSource& src, uint64_t pie_base, ElfRole role) {
  const Errors err = errors_for(role);
  const uint64_t file_size = src.size();

  Elf64_Ehdr eh;
  TRY(read_exact(src, std::as_writable_bytes(std::span(&eh, 1)), 0, err.malformed));
  TRY(check_header(eh, file_size, err));

  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  TRY(read_exact(src, std::as_writable_bytes(std::span(phdrs)), eh.e_phoff, err.malformed));

  ElfImage image;
  image.is_dyn = eh.e_type == ET_DYN;
  image.phnum = eh.e_phnum;
  image.phent = eh.e_phentsize;
  image.max_align = kPageSize;

  // Validate the loadable segments: each on its own, then their order.
  std::vector<const Elf64_Phdr*> loads;
  std::optional<uint64_t> pt_phdr;
  const Elf64_Phdr* interp = nullptr;
  for (const Elf64_Phdr& ph : phdrs) {
    switch (ph.p_type) {
      case PT_LOAD:
        TRY(check_load(ph, file_size, err));
        if (!loads.empty()) {
          const Elf64_Phdr& prev = *loads.back();
          if (ph.p_vaddr < prev.p_vaddr + prev.p_memsz) return err.malformed;
        }
        if (ph.p_align > image.max_align) image.max_align = ph.p_align;
        loads.push_back(&ph);
        break;
      case PT_INTERP:
        // Like load_elf_binary, the first PT_INTERP counts; load_elf_interp
        // never looks at an interpreter's own PT_INTERP.
        if (role == ElfRole::Executable && interp == nullptr) interp = &ph;
        break;
      case PT_PHDR:
        if (!pt_phdr) pt_phdr = ph.p_vaddr;
        break;
      case PT_GNU_STACK:
        image.exec_stack = (ph.p_flags & PF_X) != 0;
        break;
      default:
        break;
    }
  }
  if (loads.empty()) return err.bad_type;

  // Segments are sorted and checked against kLoadLimit, so neither the
  // rounding nor the subtraction can overflow.
  const uint64_t lowest = page_down(loads.front()->p_vaddr);
  uint64_t highest = 0;
  for (const Elf64_Phdr* ph : loads) highest = std::max(highest, page_up(ph->p_vaddr + ph->p_memsz));
  image.span = highest - lowest;
  if (image.span >= kMaxSpan) return Errno::NOMEM;

  if (image.is_dyn) {
    if (pie_base % kPageSize != 0) return Errno::INVAL;
    if (pie_base > mm::kUserTop || mm::kUserTop - pie_base < image.span) return Errno::NOMEM;
    if (pie_base < kReservedEnd && pie_base + image.span > kLoadLimit) return Errno::NOMEM;
    image.bias = pie_base - lowest;  // modular: pie_base + (vaddr - lowest)
  } else {
    // An ET_EXEC's addresses are fixed; below vm.mmap_min_addr mmap fails with EPERM.
    if (lowest < mm::kMinAddr) return Errno::PERM;
    image.bias = 0;
  }

  image.entry = eh.e_entry + image.bias;
  if (image.entry >= mm::kUserTop || (image.entry >= kLoadLimit && image.entry < kReservedEnd))
    return err.bad_addr;

  if (pt_phdr) {
    image.phdr = *pt_phdr + image.bias;
  } else {
    // fs/binfmt_elf.c: the program headers are in memory when a PT_LOAD's file
    // bytes cover e_phoff.
    for (const Elf64_Phdr* ph : loads) {
      if (ph->p_offset <= eh.e_phoff && eh.e_phoff - ph->p_offset < ph->p_filesz) {
        image.phdr = eh.e_phoff - ph->p_offset + ph->p_vaddr + image.bias;
        break;
      }
    }
  }

  for (const Elf64_Phdr* ph : loads) {
    if (ph->p_memsz == 0) continue;
    ElfSegment seg;
    seg.map_start = page_down(ph->p_vaddr) + image.bias;
    seg.map_end_file = ph->p_filesz > 0 ? page_up(ph->p_vaddr + ph->p_filesz) + image.bias : seg.map_start;
    seg.file_offset = page_down(ph->p_offset);
    seg.zero_from = ph->p_vaddr + ph->p_filesz + image.bias;
    seg.anon_end = page_up(ph->p_vaddr + ph->p_memsz) + image.bias;
    seg.prot = prot_from_flags(ph->p_flags);
    image.max_end = std::max(image.max_end, seg.anon_end);
    image.segments.push_back(seg);
  }
  // Nothing to map at all: load_elf_interp's total_mapping_size() == 0 case.
  if (image.segments.empty()) return err.bad_type;

  if (interp) image.interp = TRY(read_interp(src, *interp, file_size));
  return image;
}

}  // namespace moat::loader
