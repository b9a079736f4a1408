#include "base/error.h"

#include <cstring>

namespace moat {

const char* errno_name(Errno e) {
  switch (e) {
    case Errno::WouldBlock: return "EWOULDBLOCK(internal)";
    case Errno::RestartSys: return "ERESTARTSYS";
    case Errno::FetchHost: return "EFETCHHOST(internal)";
    default: break;
  }
  const char* n = strerrorname_np(to_int(e));
  return n ? n : "E?";
}

}  // namespace moat
