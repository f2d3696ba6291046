// Errors a user can cause (bad files, bad options) are reported as UserError with context;
// satvp prints the message and exits non-zero. Internal invariants use assertions instead.
#pragma once
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cestvp {

// `text` as one line of printable text. Messages quote what the user's files and options hold,
// and there a NUL would cut the message short (what() is a C string), a newline would break the
// one-line form and an escape sequence would reach the terminal. Control characters become
// \n, \t, \r or \xNN (C0 and DEL) and \uNNNN (C1); line separators and the invisible
// bidirectional controls \uNNNN; each byte that is not part of valid UTF-8 \xNN. Other UTF-8
// text and backslashes stay as they are, so that escaping twice changes nothing: messages that
// wrap other messages are escaped again.
std::string printable(std::string_view text);

// "a, b, c": the words of a message's list ("expected one of ...").
std::string join(const std::vector<std::string>& words, const char* separator = ", ");

class UserError : public std::runtime_error {
 public:
  // Escapes here rather than where satvp prints, so that no message is cut short or split
  // wherever else it goes: rethrown with more context, compared by tests, written to a log.
  explicit UserError(const std::string& message) : std::runtime_error(printable(message)) {}
};

}  // namespace cestvp
