// Broker credentials at rest (worker/src/credential.hpp): the secretbox round trip, the row
// binding, the key file and the fingerprint.
#include "credential.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace w = quant::worker;

namespace {
w::CredentialKey key_of(unsigned char fill) {
    w::CredentialKey k;
    for (auto& b : k.bytes)
        b = fill;
    return k;
}
}  // namespace

TEST(Credential, RoundTripAndBinding) {
    const auto k = key_of(7);
    const auto s = w::seal_credential(k, "alice", "BYBIT", "demo", "KEY1", "s3cr3t-value");
    EXPECT_EQ(s.nonce.size(), 24u);
    EXPECT_EQ(s.ciphertext.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(w::open_credential(k, s.nonce, s.ciphertext, "alice", "BYBIT", "demo", "KEY1"), "s3cr3t-value");
    // bound to its row: another user, environment or key does not open it
    EXPECT_THROW(w::open_credential(k, s.nonce, s.ciphertext, "bob", "BYBIT", "demo", "KEY1"),
                 std::runtime_error);
    EXPECT_THROW(w::open_credential(k, s.nonce, s.ciphertext, "alice", "BYBIT", "mainnet", "KEY1"),
                 std::runtime_error);
    EXPECT_THROW(w::open_credential(k, s.nonce, s.ciphertext, "alice", "BYBIT", "demo", "KEY2"),
                 std::runtime_error);
    // "1:a" + "2:bc" must not equal "2:ab" + "1:c" (length-prefixed fields)
    EXPECT_NE(w::seal_plaintext("a", "bc", "d", "e", ""), w::seal_plaintext("ab", "c", "d", "e", ""));
    // another key, or a flipped byte
    EXPECT_THROW(w::open_credential(key_of(8), s.nonce, s.ciphertext, "alice", "BYBIT", "demo", "KEY1"),
                 std::runtime_error);
    auto bad = s.ciphertext;
    bad[0] = static_cast<char>(bad[0] ^ 1);
    EXPECT_THROW(w::open_credential(k, s.nonce, bad, "alice", "BYBIT", "demo", "KEY1"), std::runtime_error);
    EXPECT_THROW(w::open_credential(k, "short", s.ciphertext, "alice", "BYBIT", "demo", "KEY1"),
                 std::runtime_error);
}

TEST(Credential, FingerprintIsKeyedAndStable) {
    const auto a = w::credential_fingerprint(key_of(1), "KEY1", "secret");
    EXPECT_EQ(a.size(), 16u);
    EXPECT_EQ(a, w::credential_fingerprint(key_of(1), "KEY1", "secret"));
    EXPECT_NE(a, w::credential_fingerprint(key_of(2), "KEY1", "secret"));
    EXPECT_NE(a, w::credential_fingerprint(key_of(1), "KEY1", "secret2"));
}

TEST(Credential, KeyFile) {
    const std::string path = ::testing::TempDir() + "quant_credential_test.key";
    { std::ofstream(path) << std::string(64, 'a') << "\n"; }
    const auto k = w::load_credential_key(path);
    EXPECT_EQ(k.bytes[0], 0xaa);
    EXPECT_EQ(k.bytes[31], 0xaa);
    { std::ofstream(path) << "not hex"; }
    try {
        w::load_credential_key(path);
        FAIL() << "a bad key file was accepted";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).find("not hex"), std::string::npos)
            << "the error must not show the content";
    }
    std::remove(path.c_str());
    EXPECT_THROW(w::load_credential_key(path), std::runtime_error);
}
