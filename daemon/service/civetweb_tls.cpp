#include "service/civetweb_tls.hpp"

#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509err.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace lockwatch {
namespace {

// Debian's civetweb 1.15 opens OpenSSL with dlopen("libcrypto.so") and dlopen("libssl.so")
// and then looks up SSL_get_peer_certificate, which OpenSSL 3 no longer exports: the
// lookup yields NULL and the first TLS connection crashes the process (civetweb issue
// #1334). Two stub libraries whose sonames are "libcrypto.so" and "libssl.so" fix both
// problems once loaded: dlopen matches an already loaded library by soname, so civetweb
// gets the stubs, which depend on the real libraries and supply the missing function.
// They live next to the binary in a build tree, and in ../lib/pg_lockwatch from it once
// installed (whatever prefix `cmake --install` was given), else where the build said.
std::vector<std::filesystem::path> compat_directories() {
  std::vector<std::filesystem::path> directories;
  std::error_code error;
  const auto binary = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    directories.push_back(binary.parent_path());
    directories.push_back(binary.parent_path().parent_path() / "lib" / "pg_lockwatch");
  }
  directories.emplace_back(LOCKWATCH_OPENSSL_COMPAT_DIR);
  return directories;
}

void load_compat_library(const std::string& name) {
  std::string tried;
  for (const auto& directory : compat_directories()) {
    const auto path = directory / name;
    // Never closed: civetweb keeps using OpenSSL until the process exits.
    if (dlopen(path.c_str(), RTLD_NOW) != nullptr) return;
    const char* error = dlerror();
    tried += (tried.empty() ? "" : "; ") + std::string(error ? error : path.string());
  }
  throw std::runtime_error("[http] TLS unavailable: cannot load " + name + " (" + tried + ")");
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* library = ERR_lib_error_string(code);
  const char* reason = ERR_reason_error_string(code);
  return std::string(library ? library : "OpenSSL") + ": " + (reason ? reason : "unknown error");
}

std::string unreadable(std::string_view key, const std::string& path) {
  if (std::ifstream(path)) return "";
  return "[http] " + std::string(key) + " " + path + ": cannot read: " + std::strerror(errno);
}

std::string key_problem() {
  const unsigned long code = ERR_peek_error();
  if (ERR_GET_LIB(code) == ERR_LIB_X509 && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    return "the key does not match the certificate";
  }
  return "no usable unencrypted PEM private key (" + openssl_error() + ")";
}

// OpenSSL's default would ask for a passphrase on the terminal; a daemon has none.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

}  // namespace

void prepare_civetweb_tls() {
  load_compat_library(LOCKWATCH_LIBCRYPTO_COMPAT);
  load_compat_library(LOCKWATCH_LIBSSL_COMPAT);
}

std::string configure_tls_context(void* ssl_ctx, const std::string& certificate,
                                  const std::string& key) {
  auto* context = static_cast<SSL_CTX*>(ssl_ctx);
  const std::string& key_file = key.empty() ? certificate : key;
  const std::string_view key_name = key.empty() ? "tls_certificate" : "tls_key";
  if (auto problem = unreadable("tls_certificate", certificate); !problem.empty()) return problem;
  if (auto problem = unreadable(key_name, key_file); !problem.empty()) return problem;
  ERR_clear_error();
  SSL_CTX_set_default_passwd_cb(context, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(context, certificate.c_str()) != 1) {
    return "[http] tls_certificate " + certificate + ": not a PEM certificate (" + openssl_error() +
           ")";
  }
  if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    return "[http] " + std::string(key_name) + " " + key_file + ": " + key_problem();
  }
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  return "";
}

}  // namespace lockwatch
