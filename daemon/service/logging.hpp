#pragma once

#include "core/config.hpp"

namespace lockwatch {

// Points the default spdlog logger at stderr with the configured level and format
// (text lines, or one JSON object per line). Safe to call again on reload.
void configure_logging(const LogConfig& config);

}  // namespace lockwatch
