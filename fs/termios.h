#pragma once
// The terminal line discipline (termios(3), the kernel's n_tty): what a
// pseudo-terminal does with the bytes between its master and its replica.
//
// Input (written to the master) goes through the input flags (ICRNL...),
// the signal characters (ISIG), canonical line editing (ICANON: ERASE, KILL,
// WERASE, EOF) and echo (ECHO, ECHOE, ECHOK, ECHOKE, ECHOCTL, ECHONL).
// Output (written to the replica) and echoes go through the output flags
// (OPOST: ONLCR, OCRNL, ONOCR, ONLRET, XTABS) on their way to the master.
// The object holds no locks and never blocks: fs/pty.cpp owns the waiting.

#include <termios.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

namespace moat::fs {

// The kernel's struct termios (asm/termbits.h): 36 bytes, 19 control
// characters; glibc's is larger. TCGETS2 adds the two speeds (termios2).
struct KernelTermios {
  uint32_t c_iflag;
  uint32_t c_oflag;
  uint32_t c_cflag;
  uint32_t c_lflag;
  uint8_t c_line;
  uint8_t c_cc[19];
};
static_assert(sizeof(KernelTermios) == 36);
struct KernelTermios2 {
  KernelTermios t;
  uint32_t c_ispeed;
  uint32_t c_ospeed;
};
static_assert(sizeof(KernelTermios2) == 44);

// A replica's settings when its pty is made (the kernel's tty_std_termios
// with the pts driver's c_cflag): cooked, echoing, ^C interrupts.
KernelTermios default_termios();

class LineDiscipline {
 public:
  // N_TTY_BUF_SIZE: what the replica may have unread (and the longest line).
  static constexpr size_t kInputMax = 4096;

  LineDiscipline() : m_termios(default_termios()) {}

  const KernelTermios& termios() const { return m_termios; }
  // New settings. Turning ICANON off makes everything typed readable;
  // turning it on makes what is unread one line (n_tty_set_termios).
  void set_termios(const KernelTermios& t);
  bool canonical() const { return m_termios.c_lflag & ICANON; }

  // Characters typed (written to the master), processed one at a time.
  // Echoes go to echo_out (already through output processing). Signal
  // characters append their signal to signals; flush_output is set when one
  // of them asks for the output queue to be discarded (ISIG without NOFLSH).
  // Returns how many bytes were taken: fewer when the input queue is full.
  struct ReceiveResult {
    size_t consumed = 0;
    std::vector<int> signals;
    bool flush_output = false;
  };
  ReceiveResult receive(std::span<const uint8_t> in, std::string& echo_out);

  // Output processing of bytes the replica writes (OPOST), appended to out.
  void transmit(std::span<const uint8_t> in, std::string& out);

  // The replica's side. readable_bytes: FIONREAD (in canonical mode, only
  // complete lines count). has_input(want): a read of want bytes would
  // return now (canonical: a line or an end of file is there; otherwise at
  // least min(want, VMIN) bytes, or any with VMIN 0).
  size_t readable_bytes() const;
  size_t raw_available() const { return m_raw.size(); }
  bool line_ready() const { return !m_lines.empty(); }
  // Reads up to buf.size() bytes: at most one line in canonical mode (an
  // end-of-file marker reads as 0 bytes), whatever is there otherwise.
  size_t read(std::span<uint8_t> buf);
  // Room left in the input queue (a master write blocks at 0).
  size_t input_room() const;
  // TCFLSH(TCIFLUSH) and the signal characters' flush.
  void flush_input();

 private:
  void receive_char(uint8_t c, std::string& echo, ReceiveResult& result);
  void echo_char(uint8_t c, std::string& echo);
  void output_char(uint8_t c, std::string& out);
  void erase(uint8_t c, std::string& echo);
  void erase_one(std::string& echo);
  void commit_line();
  bool lflag(uint32_t f) const { return m_termios.c_lflag & f; }
  bool iflag(uint32_t f) const { return m_termios.c_iflag & f; }
  bool oflag(uint32_t f) const { return m_termios.c_oflag & f; }
  // A control character slot that is set (0 disables, _POSIX_VDISABLE).
  bool is_cc(uint8_t c, int index) const { return m_termios.c_cc[index] != 0 && m_termios.c_cc[index] == c; }

  KernelTermios m_termios;
  // Canonical mode: complete lines (each with its terminator; an empty one
  // is an end of file), and the line being edited.
  std::deque<std::string> m_lines;
  size_t m_line_bytes = 0;  // bytes in m_lines
  std::string m_edit;
  // Non-canonical mode: bytes as they came.
  std::string m_raw;
  bool m_literal_next = false;  // VLNEXT seen
  unsigned m_column = 0;        // output column, for ONOCR, tabs and erase
  unsigned m_edit_column = 0;   // the column the line being edited started at
};

}  // namespace moat::fs
