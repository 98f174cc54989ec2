#include "service/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace lockwatch {
namespace {

long long monotonic_usec() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

}  // namespace

void SystemdNotify::ready() {
  sd_notify(0, "READY=1");
}

void SystemdNotify::reloading() {
  // MONOTONIC_USEC lets systemd >= 253 pair the reload with our READY=1.
  sd_notify(0, ("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec())).c_str());
}

void SystemdNotify::stopping() {
  sd_notify(0, "STOPPING=1");
}

void SystemdNotify::status(const std::string& line) {
  sd_notify(0, ("STATUS=" + line).c_str());
}

void SystemdNotify::watchdog() {
  sd_notify(0, "WATCHDOG=1");
}

std::chrono::microseconds SystemdNotify::watchdog_interval() const {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? std::chrono::microseconds(usec)
                                           : std::chrono::microseconds(0);
}

}  // namespace lockwatch
