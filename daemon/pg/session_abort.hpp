#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/duration.hpp"

namespace lockwatch {

// Cuts a session off from another thread. The session arms it with its socket as soon as
// the connection is made, before any set-up statement; trip() then shuts that socket down,
// so whatever libpq is blocked in fails at once. It holds its own dup of the socket: the
// number it shuts down can never be one libpq closed and the process reused. A trip before
// the socket is armed (during the connect itself, which libpq bounds with connect_timeout)
// shuts the socket down the moment it is armed. Thread-safe.
class AbortSwitch {
 public:
  AbortSwitch() = default;
  ~AbortSwitch();
  AbortSwitch(const AbortSwitch&) = delete;
  AbortSwitch& operator=(const AbortSwitch&) = delete;

  // Takes a dup of `socket` (the session's, just connected); throws std::system_error.
  void arm(int socket);
  // Lets go of the dup (the session is closing).
  void disarm() noexcept;
  // Shuts the armed socket down, or the next one armed.
  void trip() noexcept;
  // Forgets a trip (a new attempt begins); true when there was one.
  bool reset() noexcept;
  bool tripped() const noexcept;

 private:
  mutable std::mutex m_mutex;
  int m_socket = -1;
  bool m_tripped = false;
};

// Trips `target` unless destroyed within `limit`: a hard deadline around blocking calls.
class AbortAfter {
 public:
  AbortAfter(AbortSwitch& target, Duration limit);
  ~AbortAfter();
  AbortAfter(const AbortAfter&) = delete;
  AbortAfter& operator=(const AbortAfter&) = delete;

 private:
  std::mutex m_mutex;
  std::condition_variable m_done_cv;
  bool m_done = false;
  std::thread m_thread;
};

}  // namespace lockwatch
