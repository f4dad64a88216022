#include "credential.hpp"

#include <sodium.h>

#include <cctype>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace quant::worker {
namespace {

void sodium_ready() {
    if (sodium_init() < 0)
        throw std::runtime_error("libsodium could not be initialised");
}

void append_field(std::string& out, std::string_view v) {
    out += std::to_string(v.size());
    out += ':';
    out.append(v);
}

}  // namespace

CredentialKey load_credential_key(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("credential key file " + path + " cannot be read");
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CredentialKey key;
    if (data.size() == 32) {
        for (std::size_t i = 0; i < 32; ++i)
            key.bytes[i] = static_cast<unsigned char>(data[i]);
        sodium_memzero(data.data(), data.size());
        return key;
    }
    while (!data.empty() && std::isspace(static_cast<unsigned char>(data.back())) != 0)
        data.pop_back();
    std::size_t len = 0;
    if (data.size() != 64 ||
        sodium_hex2bin(key.bytes, sizeof key.bytes, data.data(), data.size(), nullptr, &len, nullptr) != 0 ||
        len != 32) {
        sodium_memzero(data.data(), data.size());
        throw std::runtime_error("credential key file " + path +
                                 " must hold 64 hex characters (32 bytes), e.g. from `openssl rand -hex 32`");
    }
    sodium_memzero(data.data(), data.size());
    return key;
}

std::string seal_plaintext(std::string_view user, std::string_view broker, std::string_view environment,
                           std::string_view api_key, std::string_view secret) {
    std::string out = "quant-credential-v1:";
    append_field(out, user);
    append_field(out, broker);
    append_field(out, environment);
    append_field(out, api_key);
    out.append(secret);
    return out;
}

Sealed seal_credential(const CredentialKey& key, std::string_view user, std::string_view broker,
                       std::string_view environment, std::string_view api_key, std::string_view secret) {
    sodium_ready();
    std::string plain = seal_plaintext(user, broker, environment, api_key, secret);
    Sealed s;
    s.nonce.resize(crypto_secretbox_NONCEBYTES);
    randombytes_buf(s.nonce.data(), s.nonce.size());
    s.ciphertext.resize(plain.size() + crypto_secretbox_MACBYTES);
    crypto_secretbox_easy(reinterpret_cast<unsigned char*>(s.ciphertext.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                          reinterpret_cast<const unsigned char*>(s.nonce.data()), key.bytes);
    sodium_memzero(plain.data(), plain.size());
    return s;
}

std::string open_credential(const CredentialKey& key, std::string_view nonce, std::string_view ciphertext,
                            std::string_view user, std::string_view broker, std::string_view environment,
                            std::string_view api_key) {
    sodium_ready();
    if (nonce.size() != crypto_secretbox_NONCEBYTES || ciphertext.size() < crypto_secretbox_MACBYTES)
        throw std::runtime_error("the stored credential is malformed (nonce or ciphertext length)");
    std::string plain(ciphertext.size() - crypto_secretbox_MACBYTES, '\0');
    if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                   reinterpret_cast<const unsigned char*>(ciphertext.data()),
                                   ciphertext.size(), reinterpret_cast<const unsigned char*>(nonce.data()),
                                   key.bytes) != 0)
        throw std::runtime_error(
            "the stored credential does not open with this key file (another key, or altered)");
    const std::string prefix = seal_plaintext(user, broker, environment, api_key, "");
    if (plain.size() < prefix.size() || sodium_memcmp(plain.data(), prefix.data(), prefix.size()) != 0) {
        sodium_memzero(plain.data(), plain.size());
        throw std::runtime_error("the stored credential belongs to another user, broker, environment or key");
    }
    std::string secret = plain.substr(prefix.size());
    sodium_memzero(plain.data(), plain.size());
    return secret;
}

std::string from_hex(std::string_view hex) {
    std::string out(hex.size() / 2, '\0');
    std::size_t len = 0;
    if (hex.size() % 2 != 0 ||
        sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(),
                       nullptr, &len, nullptr) != 0 ||
        len != out.size())
        throw std::runtime_error("the stored credential is not hex");
    return out;
}

std::string credential_fingerprint(const CredentialKey& key, std::string_view api_key,
                                   std::string_view secret) {
    sodium_ready();
    std::string msg(api_key);
    msg += '\n';
    msg.append(secret);
    unsigned char h[8];
    crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), key.bytes,
                       sizeof key.bytes);
    sodium_memzero(msg.data(), msg.size());
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return {hex, 16};
}

}  // namespace quant::worker
