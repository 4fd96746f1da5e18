// OpenSSL's libcrypto (Debian libssl-dev): SHA-256 through the EVP digest API, Ed25519 keys and
// signatures through EVP_PKEY / EVP_DigestSign, PEM files through memory BIOs.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <openssl/err.h>
