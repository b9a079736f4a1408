#include "fs/synthetic.h"

namespace moat::fs {

ErrorOr<struct stat> SynthDir::stat() const {
  nlink_t links = 2;
  for (const auto& [name, child] : m_children)
    if (child->is_dir()) ++links;
  return synthetic_stat(*m_fs, m_ino, S_IFDIR | m_mode, 0, links);
}

ErrorOr<RefPtr<Node>> SynthDir::lookup(const Caller&, std::string_view name) {
  auto it = m_children.find(name);
  if (it == m_children.end()) return Errno::NOENT;
  return it->second;
}

ErrorOr<std::vector<DirEntry>> SynthDir::list(const Caller&) const {
  std::vector<DirEntry> out{{".", m_ino, DT_DIR}, {"..", m_ino, DT_DIR}};
  for (const auto& [name, child] : m_children) {
    auto st = TRY(child->stat());
    out.push_back(DirEntry{name, st.st_ino, dirent_type(st.st_mode)});
  }
  return out;
}

}  // namespace moat::fs
