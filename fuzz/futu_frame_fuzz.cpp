// libFuzzer target: any bytes as what Futu OpenD's TCP connection delivers, through the frame
// reader (worker/src/futu_protocol.cpp): the 44-byte header ("FT", proto id, format, serial, body
// length, SHA-1), the body length limit and the SHA-1 check, fed in chunks of any size. The first
// byte steers the harness: bits 0-5 + 1 are the chunk size, bit 6 set rewrites the SHA-1 of each
// header found in the stream to the SHA-1 of its body (so that the fuzzer reaches the paths after
// the check without having to guess a hash), bit 7 also runs parse_header on the 44-byte windows
// that start with 'F'. The only acceptable failure is quant::futu::ProtocolError, after which the adapter
// drops the connection; a frame returned must be exactly its header's body, with a SHA-1 that
// matches. Any other exception, a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "futu_protocol.hpp"

namespace {

std::uint32_t u32_at(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(s[at + static_cast<std::size_t>(i)]);
    return v;
}

// Walks the stream frame by frame and writes the body's SHA-1 into each header.
void fix_hashes(std::string& s) {
    std::size_t at = 0;
    while (at + quant::futu::kHeaderSize <= s.size() && s[at] == 'F' && s[at + 1] == 'T') {
        const std::uint32_t len = u32_at(s, at + 12);
        if (len > s.size() - at - quant::futu::kHeaderSize)
            return;
        const auto h = quant::futu::sha1(std::string_view(s).substr(at + quant::futu::kHeaderSize, len));
        std::memcpy(s.data() + at + 16, h.data(), h.size());
        at += quant::futu::kHeaderSize + len;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const unsigned control = data[0];
    std::string stream(reinterpret_cast<const char*>(data) + 1, size - 1);
    if ((control & 0x40U) != 0)
        fix_hashes(stream);
    if ((control & 0x80U) != 0) {
        // the windows that start with 'F' (at most 32: every refused header is an exception, and
        // a throw per byte made the target 20 times slower)
        int windows = 0;
        for (std::size_t at = 0; at + quant::futu::kHeaderSize <= stream.size() && windows < 32; ++at) {
            if (stream[at] != 'F')
                continue;
            ++windows;
            try {
                (void)quant::futu::parse_header(
                    std::string_view(stream).substr(at, quant::futu::kHeaderSize));
            } catch (const quant::futu::ProtocolError&) {
            }
        }
    }
    const std::size_t chunk = (control & 0x3FU) + 1;
    quant::futu::FrameReader reader;
    try {
        for (std::size_t at = 0; at < stream.size(); at += chunk) {
            reader.feed(std::string_view(stream).substr(at, chunk));
            while (auto f = reader.next()) {
                if (f->body.size() != f->header.body_len || quant::futu::sha1(f->body) != f->header.sha1)
                    __builtin_trap();
                // a frame the adapter would send back must read as itself
                const std::string again = quant::futu::pack(f->header.proto_id, f->header.serial, f->body);
                quant::futu::FrameReader echo;
                echo.feed(again);
                const auto g = echo.next();
                if (!g || g->body != f->body || g->header.proto_id != f->header.proto_id ||
                    echo.buffered() != 0)
                    __builtin_trap();
            }
        }
    } catch (const quant::futu::ProtocolError&) {
    }
    return 0;
}
