#include "fs/termios.h"

#include <signal.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace moat::fs {

namespace {

constexpr uint8_t ctrl(char c) { return static_cast<uint8_t>(c & 0x1f); }
bool is_control(uint8_t c) { return c < 0x20 || c == 0x7f; }
bool is_word_char(uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }

}  // namespace

KernelTermios default_termios() {
  KernelTermios t{};
  t.c_iflag = ICRNL | IXON;
  t.c_oflag = OPOST | ONLCR;
  t.c_cflag = B38400 | CS8 | CREAD;
  t.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
  t.c_line = 0;  // N_TTY
  // INIT_C_CC (include/linux/tty.h).
  t.c_cc[VINTR] = ctrl('C');
  t.c_cc[VQUIT] = ctrl('\\');
  t.c_cc[VERASE] = 0x7f;
  t.c_cc[VKILL] = ctrl('U');
  t.c_cc[VEOF] = ctrl('D');
  t.c_cc[VTIME] = 0;
  t.c_cc[VMIN] = 1;
  t.c_cc[VSWTC] = 0;
  t.c_cc[VSTART] = ctrl('Q');
  t.c_cc[VSTOP] = ctrl('S');
  t.c_cc[VSUSP] = ctrl('Z');
  t.c_cc[VEOL] = 0;
  t.c_cc[VREPRINT] = ctrl('R');
  t.c_cc[VDISCARD] = ctrl('O');
  t.c_cc[VWERASE] = ctrl('W');
  t.c_cc[VLNEXT] = ctrl('V');
  t.c_cc[VEOL2] = 0;
  return t;
}

void LineDiscipline::set_termios(const KernelTermios& t) {
  bool was_canonical = canonical();
  m_termios = t;
  if (was_canonical && !canonical()) {
    for (const std::string& line : m_lines) m_raw += line;
    m_raw += m_edit;
    m_lines.clear();
    m_line_bytes = 0;
    m_edit.clear();
  } else if (!was_canonical && canonical() && !m_raw.empty()) {
    m_line_bytes += m_raw.size();
    m_lines.push_back(std::exchange(m_raw, {}));
  }
}

size_t LineDiscipline::readable_bytes() const { return canonical() ? m_line_bytes : m_raw.size(); }

size_t LineDiscipline::input_room() const {
  size_t used = m_line_bytes + m_edit.size() + m_raw.size();
  return used >= kInputMax ? 0 : kInputMax - used;
}

void LineDiscipline::flush_input() {
  m_lines.clear();
  m_line_bytes = 0;
  m_edit.clear();
  m_raw.clear();
  m_literal_next = false;
}

size_t LineDiscipline::read(std::span<uint8_t> buf) {
  if (canonical()) {
    if (m_lines.empty()) return 0;
    std::string& line = m_lines.front();
    size_t n = std::min(buf.size(), line.size());
    memcpy(buf.data(), line.data(), n);
    m_line_bytes -= n;
    if (n == line.size())
      m_lines.pop_front();  // an empty line is an end of file: read as 0
    else
      line.erase(0, n);
    return n;
  }
  size_t n = std::min(buf.size(), m_raw.size());
  memcpy(buf.data(), m_raw.data(), n);
  m_raw.erase(0, n);
  return n;
}

LineDiscipline::ReceiveResult LineDiscipline::receive(std::span<const uint8_t> in, std::string& echo_out) {
  ReceiveResult result;
  for (uint8_t c : in) {
    // A full queue takes no more; in canonical mode only while complete
    // lines wait for a reader (an over-long line loses characters instead,
    // as n_tty does, so that its terminator can still end it).
    bool full = canonical() ? (m_line_bytes > 0 && input_room() == 0) : input_room() == 0;
    if (full) break;
    receive_char(c, echo_out, result);
    result.consumed++;
  }
  return result;
}

void LineDiscipline::receive_char(uint8_t c, std::string& echo, ReceiveResult& result) {
  if (m_literal_next) {
    // VLNEXT: the character is data, whatever it is.
    m_literal_next = false;
    if (canonical()) {
      if (m_edit.size() + m_line_bytes + 1 >= kInputMax) return;
      if (lflag(ECHO)) {
        echo.pop_back();  // the "^\b" placeholder's backspace
        echo.pop_back();
        m_column -= std::min(m_column, 1u);
        echo_char(c, echo);
      }
      m_edit += static_cast<char>(c);
    } else {
      m_raw += static_cast<char>(c);
      if (lflag(ECHO)) echo_char(c, echo);
    }
    return;
  }
  if (iflag(ISTRIP)) c &= 0x7f;
  if (c == '\r') {
    if (iflag(IGNCR)) return;
    if (iflag(ICRNL)) c = '\n';
  } else if (c == '\n' && iflag(INLCR)) {
    c = '\r';
  }
  if (lflag(ISIG)) {
    int sig = is_cc(c, VINTR) ? SIGINT : is_cc(c, VQUIT) ? SIGQUIT : is_cc(c, VSUSP) ? SIGTSTP : 0;
    if (sig) {
      // n_tty's isig: the queues go first (unless NOFLSH), then the echo.
      if (!lflag(NOFLSH)) {
        flush_input();
        echo.clear();
        result.flush_output = true;
      }
      if (lflag(ECHO)) echo_char(c, echo);
      result.signals.push_back(sig);
      return;
    }
  }
  // FIXME: IXON flow control; START and STOP are taken without stopping output.
  if (iflag(IXON) && (is_cc(c, VSTART) || is_cc(c, VSTOP))) return;
  if (canonical()) {
    if (is_cc(c, VERASE) || is_cc(c, VKILL) || (lflag(IEXTEN) && is_cc(c, VWERASE))) {
      erase(c, echo);
      return;
    }
    if (lflag(IEXTEN) && is_cc(c, VLNEXT)) {
      m_literal_next = true;
      if (lflag(ECHO) && lflag(ECHOCTL)) {
        output_char('^', echo);
        output_char('\b', echo);
      }
      return;
    }
    if (lflag(IEXTEN) && is_cc(c, VREPRINT)) {
      if (lflag(ECHO)) {
        echo_char(c, echo);
        output_char('\n', echo);
        for (uint8_t e : m_edit) echo_char(e, echo);
      }
      return;
    }
    if (c == '\n') {
      if (lflag(ECHO) || lflag(ECHONL)) output_char('\n', echo);
      m_edit += '\n';
      commit_line();
      return;
    }
    if (is_cc(c, VEOF)) {
      commit_line();  // not echoed; the line goes without it
      return;
    }
    if (is_cc(c, VEOL) || (lflag(IEXTEN) && is_cc(c, VEOL2))) {
      if (lflag(ECHO)) echo_char(c, echo);
      m_edit += static_cast<char>(c);
      commit_line();
      return;
    }
    // Room for the line's terminator stays; past it characters are lost.
    if (m_edit.size() + m_line_bytes + 1 >= kInputMax) return;
    if (m_edit.empty()) m_edit_column = m_column;
    if (lflag(ECHO)) echo_char(c, echo);
    m_edit += static_cast<char>(c);
    return;
  }
  m_raw += static_cast<char>(c);
  if (lflag(ECHO)) echo_char(c, echo);
}

// An end of file on an empty line stays as an empty "line": a read sees 0.
void LineDiscipline::commit_line() {
  m_line_bytes += m_edit.size();
  m_lines.push_back(std::exchange(m_edit, {}));
}

void LineDiscipline::echo_char(uint8_t c, std::string& echo) {
  if (lflag(ECHOCTL) && is_control(c) && c != '\t' && c != '\n') {
    output_char('^', echo);
    output_char(c == 0x7f ? '?' : static_cast<uint8_t>(c ^ 0x40), echo);
    return;
  }
  output_char(c, echo);
}

// The kernel's do_output_char.
void LineDiscipline::output_char(uint8_t c, std::string& out) {
  if (!oflag(OPOST)) {
    out += static_cast<char>(c);
    return;
  }
  switch (c) {
    case '\n':
      if (oflag(ONLRET)) m_column = 0;
      if (oflag(ONLCR)) {
        out += "\r\n";
        m_column = 0;
        return;
      }
      out += '\n';
      return;
    case '\r':
      if (oflag(ONOCR) && m_column == 0) return;
      if (oflag(OCRNL)) {
        if (oflag(ONLRET)) m_column = 0;
        out += '\n';
        return;
      }
      m_column = 0;
      out += '\r';
      return;
    case '\t': {
      unsigned spaces = 8 - (m_column & 7);
      m_column += spaces;
      if ((m_termios.c_oflag & TABDLY) == XTABS) {
        out.append(spaces, ' ');
        return;
      }
      out += '\t';
      return;
    }
    case '\b':
      if (m_column > 0) m_column--;
      out += '\b';
      return;
    default:
      if (!is_control(c)) {
        if (oflag(OLCUC) && c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 'a' + 'A');
        // A UTF-8 continuation byte adds no column (IUTF8).
        if (!(iflag(IUTF8) && (c & 0xc0) == 0x80)) m_column++;
      }
      out += static_cast<char>(c);
      return;
  }
}

void LineDiscipline::transmit(std::span<const uint8_t> in, std::string& out) {
  for (uint8_t c : in) output_char(c, out);
}

// Takes the last character (all its UTF-8 bytes under IUTF8) off the line
// and rubs it out on the screen (n_tty's eraser for one character).
void LineDiscipline::erase_one(std::string& echo) {
  size_t len = 1;
  if (iflag(IUTF8))
    while (len < m_edit.size() && (static_cast<uint8_t>(m_edit[m_edit.size() - len]) & 0xc0) == 0x80) len++;
  auto c = static_cast<uint8_t>(m_edit[m_edit.size() - len]);
  m_edit.resize(m_edit.size() - len);
  if (!lflag(ECHO)) return;
  auto rub = [&] {
    output_char('\b', echo);
    output_char(' ', echo);
    output_char('\b', echo);
  };
  if (c == '\t') {
    // Back to the column the tab started at: replay the line from its start.
    unsigned col = m_edit_column;
    for (uint8_t e : m_edit) {
      if (e == '\t')
        col = (col | 7) + 1;
      else if (is_control(e))
        col += lflag(ECHOCTL) ? 2 : 0;
      else if (!(iflag(IUTF8) && (e & 0xc0) == 0x80))
        col++;
    }
    unsigned back = m_column > col ? std::min(m_column - col, 8u) : 0;
    for (unsigned i = 0; i < back; i++) output_char('\b', echo);
    return;
  }
  if (is_control(c)) {
    if (lflag(ECHOCTL)) {
      rub();
      rub();
    }
    return;
  }
  rub();
}

// ERASE, WERASE and KILL (n_tty's eraser).
void LineDiscipline::erase(uint8_t c, std::string& echo) {
  enum class Kind { Erase, WordErase, Kill };
  Kind kind = is_cc(c, VERASE) ? Kind::Erase : is_cc(c, VWERASE) ? Kind::WordErase : Kind::Kill;
  if (m_edit.empty()) return;
  if (kind == Kind::Erase && lflag(ECHO) && !lflag(ECHOE)) {
    // Without ECHOE the erase character is echoed, not rubbed out.
    m_edit.pop_back();
    echo_char(c, echo);
    return;
  }
  if (kind == Kind::Kill && (!lflag(ECHO) || !lflag(ECHOK) || !lflag(ECHOKE) || !lflag(ECHOE))) {
    m_edit.clear();
    if (lflag(ECHO)) {
      echo_char(c, echo);
      if (lflag(ECHOK)) output_char('\n', echo);
    }
    return;
  }
  bool seen_word = false;
  while (!m_edit.empty()) {
    auto last = static_cast<uint8_t>(m_edit.back());
    if (kind == Kind::WordErase) {
      if (is_word_char(last))
        seen_word = true;
      else if (seen_word)
        break;
    }
    erase_one(echo);
    if (kind == Kind::Erase) break;
  }
}

}  // namespace moat::fs
