// Loaded by pg_lockwatch before civetweb starts TLS (see service/civetweb_tls.cpp). Its
// soname is "libcrypto.so" and it depends on the real libcrypto.so.3, so civetweb's
// dlopen("libcrypto.so") works without the development symlink (libssl-dev) installed.
// It defines nothing of its own.
namespace {
[[maybe_unused]] constexpr int k_libcrypto_compat = 1;
}  // namespace
