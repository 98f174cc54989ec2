#pragma once

#include <chrono>
#include <string>

namespace lockwatch {

// sd_notify(3) messages to systemd; every call is a no-op when not run by systemd.
class SystemdNotify {
 public:
  void ready();
  void reloading();
  void stopping();
  void status(const std::string& line);
  // Tells systemd's watchdog the poll loop made progress.
  void watchdog();
  // The WatchdogSec systemd asked for, or zero.
  std::chrono::microseconds watchdog_interval() const;
};

}  // namespace lockwatch
