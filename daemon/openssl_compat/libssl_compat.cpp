// Loaded by pg_lockwatch before civetweb starts TLS (see service/civetweb_tls.cpp). Its
// soname is "libssl.so", so civetweb's dlopen("libssl.so") finds this library; every
// symbol civetweb looks up resolves in it or in the real libssl.so.3 it depends on.
#include <openssl/ssl.h>

// Debian's civetweb 1.15 was built for the OpenSSL 1.1 API and looks this function up by
// name; OpenSSL 3 renamed it to SSL_get1_peer_certificate (same semantics, a new reference)
// and left only a macro, so the lookup returned NULL and every TLS connection crashed.
#undef SSL_get_peer_certificate
extern "C" X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}
