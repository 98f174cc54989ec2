#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "cli/lockwatch_main.hpp"
#include "cli/subcommands.hpp"
#include "core/arguments.hpp"
#include "core/password_hash.hpp"

namespace lockwatch {
namespace {

constexpr int k_default_cost = 12;
constexpr std::size_t k_bcrypt_max_bytes = 72;

const std::vector<OptionSpec> k_hash_password_options = {
    {"cost", true, false, "bcrypt cost, log2 of the rounds, 4 to 31 (default 12)"},
    {"help", false, false, "this text"},
};

// Turns terminal echo off for its lifetime, so a typed password does not show.
class EchoOff {
 public:
  EchoOff() : m_active(tcgetattr(STDIN_FILENO, &m_saved) == 0) {
    if (!m_active) return;
    termios quiet = m_saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  ~EchoOff() {
    if (m_active) tcsetattr(STDIN_FILENO, TCSAFLUSH, &m_saved);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios m_saved{};
  bool m_active;
};

std::string read_password() {
  std::string password;
  if (isatty(STDIN_FILENO)) {
    std::cerr << "Password: " << std::flush;
    const EchoOff echo_off;
    std::getline(std::cin, password);
    std::cerr << "\n";
  } else {
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

int fail(const std::string& message) {
  std::cerr << "pg_lockwatch: hash-password: " << message << "\n";
  return k_exit_usage;
}

// The --cost value, or 0 when it is not a whole number from 4 to 31.
unsigned long parse_cost(const std::string& text) {
  if (text.empty() || text.size() > 2 || text.find_first_not_of("0123456789") != text.npos) {
    return 0;
  }
  const unsigned long cost = std::stoul(text);
  return cost >= 4 && cost <= 31 ? cost : 0;
}

int usage(bool asked) {
  std::cout << "usage: pg_lockwatch hash-password [--cost N] < password\n"
            << "  reads one line (without echo on a terminal) and prints its bcrypt hash\n"
            << "  for [http.basic_auth_users]\n\n"
            << describe_options(k_hash_password_options);
  return asked ? k_exit_ok : k_exit_usage;
}

}  // namespace

int hash_password_command(std::span<const std::string> raw) {
  const auto args = parse_arguments(raw, k_hash_password_options);
  if (!args) return fail(args.error());
  if (args->has("help") || !args->positional.empty()) return usage(args->has("help"));
  const unsigned long cost = parse_cost(args->get("cost", std::to_string(k_default_cost)));
  if (cost == 0) return fail("--cost must be a whole number from 4 to 31");
  const std::string password = read_password();
  if (password.empty()) return fail("empty password (it is read from the first line of stdin)");
  if (password.size() > k_bcrypt_max_bytes) {
    std::cerr << "pg_lockwatch: hash-password: warning: bcrypt uses only the first "
              << k_bcrypt_max_bytes << " bytes of a password\n";
  }
  const auto hash = hash_password(password, "$2b$", cost);
  if (!hash) return fail(hash.error());
  std::cout << *hash << "\n";
  return k_exit_ok;
}

}  // namespace lockwatch
