#include "pg/session_abort.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace lockwatch {

AbortSwitch::~AbortSwitch() {
  disarm();
}

void AbortSwitch::arm(int socket) {
  const std::lock_guard lock(m_mutex);
  if (m_socket >= 0) ::close(m_socket);
  m_socket = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
  if (m_socket < 0) throw std::system_error(errno, std::generic_category(), "dup of the socket");
  if (m_tripped) ::shutdown(m_socket, SHUT_RDWR);
}

void AbortSwitch::disarm() noexcept {
  const std::lock_guard lock(m_mutex);
  if (m_socket >= 0) ::close(m_socket);
  m_socket = -1;
}

void AbortSwitch::trip() noexcept {
  const std::lock_guard lock(m_mutex);
  m_tripped = true;
  if (m_socket >= 0) ::shutdown(m_socket, SHUT_RDWR);
}

bool AbortSwitch::reset() noexcept {
  const std::lock_guard lock(m_mutex);
  const bool was = m_tripped;
  m_tripped = false;
  return was;
}

bool AbortSwitch::tripped() const noexcept {
  const std::lock_guard lock(m_mutex);
  return m_tripped;
}

AbortAfter::AbortAfter(AbortSwitch& target, Duration limit)
    : m_thread([this, &target, limit] {
        std::unique_lock lock(m_mutex);
        if (!m_done_cv.wait_for(lock, limit, [this] { return m_done; })) target.trip();
      }) {}

AbortAfter::~AbortAfter() {
  {
    const std::lock_guard lock(m_mutex);
    m_done = true;
  }
  m_done_cv.notify_one();
  m_thread.join();
}

}  // namespace lockwatch
