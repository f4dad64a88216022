// Broker credentials at rest (sql/TRADE/credential.sql): libsodium secretbox under a 32-byte key
// held in a file outside the database (QUANT_CREDENTIAL_KEY_FILE for the worker, the setting
// quant.credential_key_file for the extension that encrypts). The sealed plaintext binds the
// secret to its row:
//   "quant-credential-v1:" <len>:<user> <len>:<broker> <len>:<environment> <len>:<api_key> <secret>
// so a ciphertext copied to another user's, broker's, environment's or key's row does not open.
// The same format is written by extension/src/credential_crypto.c.
#pragma once
#include <string>
#include <string_view>

namespace quant::worker {

struct CredentialKey {
    unsigned char bytes[32] = {};
};

// The key file: 64 hex characters (optionally followed by whitespace) or 32 raw bytes.
// Throws std::runtime_error naming the path (never the content) when it is unreadable or bad.
CredentialKey load_credential_key(const std::string& path);

std::string seal_plaintext(std::string_view user, std::string_view broker, std::string_view environment,
                           std::string_view api_key, std::string_view secret);
// nonce (24 bytes) + ciphertext, as the extension stores them.
struct Sealed {
    std::string nonce;
    std::string ciphertext;
};
Sealed seal_credential(const CredentialKey& key, std::string_view user, std::string_view broker,
                       std::string_view environment, std::string_view api_key, std::string_view secret);
// The secret; throws std::runtime_error when the box does not open or is bound to another row.
std::string open_credential(const CredentialKey& key, std::string_view nonce, std::string_view ciphertext,
                            std::string_view user, std::string_view broker, std::string_view environment,
                            std::string_view api_key);
// Hex text (as encode(bytea, 'hex') gives it) to bytes; throws std::runtime_error when it is not hex.
std::string from_hex(std::string_view hex);
// 16 hex characters: keyed BLAKE2b of api_key "\n" secret (reveals nothing without the key).
std::string credential_fingerprint(const CredentialKey& key, std::string_view api_key,
                                   std::string_view secret);

}  // namespace quant::worker
