#pragma once

#include <string>

namespace lockwatch {

// Makes civetweb's TLS work with OpenSSL 3; call before starting a server with a TLS
// port. Throws std::runtime_error (one line) when OpenSSL cannot be loaded.
void prepare_civetweb_tls();

// Loads `certificate` (PEM: the leaf, then any intermediates) and `key` (unencrypted PEM;
// "" when it is in the certificate file) into the SSL_CTX civetweb made, and refuses
// protocols older than TLS 1.2. Returns the error as one line, or "" on success.
std::string configure_tls_context(void* ssl_ctx, const std::string& certificate,
                                  const std::string& key);

}  // namespace lockwatch
