// Futu OpenD framing and the pure rules (worker/src/futu_protocol.hpp), against hand-computed
// byte vectors. The SHA-1 and MD5 values are published test vectors (FIPS 180 "abc", RFC 1321
// ""), not computed by the code under test; and the compiled official messages (futu-api's
// proto/, protoc) are exercised so a build without them fails here.
#include "futu_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

#include "InitConnect.pb.h"
#include "Qot_RequestHistoryKL.pb.h"
#include "Trd_Common.pb.h"
#include "Trd_PlaceOrder.pb.h"

namespace futu = quant::futu;

namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string out;
    for (int c : b)
        out.push_back(static_cast<char>(c));
    return out;
}

// SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d (FIPS 180-2 appendix A.1)
const std::string kSha1Abc = bytes({0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
                                    0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d});
// SHA-1("") = da39a3ee 5e6b4b0d 3255bfef 95601890 afd80709
const std::string kSha1Empty = bytes({0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
                                      0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09});

// proto 1001, serial 7, body "abc", by hand: "FT", e9 03 00 00, 00, 00, 07 00 00 00, 03 00 00 00,
// SHA-1, 8 zeros, "abc"
std::string packet_1001_7_abc() {
    return "FT" +
           bytes({0xe9, 0x03, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00}) +
           kSha1Abc + std::string(8, '\0') + "abc";
}

}  // namespace

TEST(FutuFraming, PackMatchesTheHandComputedBytes) {
    const std::string p = futu::pack(1001, 7, "abc");
    EXPECT_EQ(p.size(), 44U + 3U);
    EXPECT_EQ(p, packet_1001_7_abc());
}

TEST(FutuFraming, PackLittleEndianLargeValues) {
    // proto 3103 = 0x0c1f, serial 0x01020304, empty body
    const std::string p = futu::pack(3103, 0x01020304, "");
    const std::string want =
        "FT" + bytes({0x1f, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00}) +
        kSha1Empty + std::string(8, '\0');
    EXPECT_EQ(p, want);
}

TEST(FutuFraming, ParseHeader) {
    const futu::Header h = futu::parse_header(packet_1001_7_abc());
    EXPECT_EQ(h.proto_id, 1001U);
    EXPECT_EQ(h.serial, 7U);
    EXPECT_EQ(h.body_len, 3U);
    EXPECT_EQ(h.format, 0);
    EXPECT_EQ(std::string(h.sha1.begin(), h.sha1.end()), kSha1Abc);
}

TEST(FutuFraming, ReaderSurvivesEverySplit) {
    const std::string two = packet_1001_7_abc() + futu::pack(1004, 8, "");
    for (std::size_t cut = 0; cut <= two.size(); ++cut) {
        futu::FrameReader r;
        std::vector<futu::Frame> got;
        r.feed(std::string_view(two).substr(0, cut));
        while (auto f = r.next())
            got.push_back(*f);
        r.feed(std::string_view(two).substr(cut));
        while (auto f = r.next())
            got.push_back(*f);
        ASSERT_EQ(got.size(), 2U) << "cut at " << cut;
        EXPECT_EQ(got[0].header.proto_id, 1001U);
        EXPECT_EQ(got[0].body, "abc");
        EXPECT_EQ(got[1].header.serial, 8U);
        EXPECT_EQ(got[1].body, "");
        EXPECT_EQ(r.buffered(), 0U);
    }
}

TEST(FutuFraming, ReaderByteByByte) {
    const std::string p = packet_1001_7_abc();
    futu::FrameReader r;
    int frames = 0;
    for (char c : p) {
        r.feed(std::string_view(&c, 1));
        while (r.next())
            ++frames;
    }
    EXPECT_EQ(frames, 1);
}

TEST(FutuFraming, GarbageAndBadChecksumsThrow) {
    {
        futu::FrameReader r;
        r.feed("XT");
        EXPECT_THROW(r.next(), futu::ProtocolError);  // a bad flag, even before 44 bytes
    }
    {
        std::string p = packet_1001_7_abc();
        p.back() = 'd';  // the body changed: its SHA-1 no longer matches
        futu::FrameReader r;
        r.feed(p);
        EXPECT_THROW(r.next(), futu::ProtocolError);
    }
    {
        std::string p = packet_1001_7_abc();
        p[16] = static_cast<char>(p[16] ^ 1);  // the SHA-1 itself corrupted
        futu::FrameReader r;
        r.feed(p);
        EXPECT_THROW(r.next(), futu::ProtocolError);
    }
    {
        std::string p = packet_1001_7_abc();
        p[6] = 1;  // JSON format: not what we speak
        EXPECT_THROW(futu::parse_header(p), futu::ProtocolError);
    }
    {
        std::string p = packet_1001_7_abc();
        p[15] = 0x7f;  // body length 2 GB: refused, not waited for
        futu::FrameReader r;
        r.feed(p);
        EXPECT_THROW(r.next(), futu::ProtocolError);
    }
}

TEST(FutuProtocol, Md5OfTheTradePassword) {
    // RFC 1321 appendix A.5: MD5("") and MD5("abc")
    EXPECT_EQ(futu::md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(futu::md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(FutuProtocol, Symbols) {
    const auto us = futu::parse_symbol("US.AAPL");
    EXPECT_EQ(us.market, futu::Market::us);
    EXPECT_EQ(us.code, "AAPL");
    const auto hk = futu::parse_symbol("HK.00700");
    EXPECT_EQ(hk.market, futu::Market::hk);
    EXPECT_EQ(hk.code, "00700");
    EXPECT_EQ(futu::qot_market(futu::Market::us), 11);
    EXPECT_EQ(futu::trd_market(futu::Market::hk), 1);
    EXPECT_EQ(futu::symbol_text(2, "AAPL"), "US.AAPL");
    EXPECT_THROW(futu::parse_symbol("AAPL"), std::invalid_argument);
    EXPECT_THROW(futu::parse_symbol("SH.600000"), std::invalid_argument);
    EXPECT_THROW(futu::parse_symbol("HK.700"), std::invalid_argument);
    EXPECT_THROW(futu::parse_symbol("US."), std::invalid_argument);
}

TEST(FutuProtocol, OrderStates) {
    using S = quant::OrderState;
    EXPECT_EQ(futu::order_state(11, 10), S::filled);
    EXPECT_EQ(futu::order_state(10, 3), S::sent);       // Filled_Part: still open
    EXPECT_EQ(futu::order_state(14, 3), S::filled);     // Cancelled_Part with fills
    EXPECT_EQ(futu::order_state(15, 0), S::cancelled);  // Cancelled_All
    EXPECT_EQ(futu::order_state(3, 0), S::rejected);    // SubmitFailed
    EXPECT_EQ(futu::order_state(4, 0), S::sent);        // TimeOut: in doubt, not final
    EXPECT_EQ(futu::order_state(-1, 0), S::sent);       // Unknown
    EXPECT_EQ(futu::order_state(21, 0), S::rejected);   // Failed
    EXPECT_EQ(futu::order_status_name(4), "TimeOut");
}

TEST(FutuProtocol, Quantities) {
    EXPECT_EQ(futu::quantity_refusal(futu::Market::hk, 200, 100, false), "");
    EXPECT_NE(futu::quantity_refusal(futu::Market::hk, 150, 100, false).find("board lots of 100"),
              std::string::npos);
    EXPECT_NE(futu::quantity_refusal(futu::Market::hk, 100, 0, false).find("unknown"), std::string::npos);
    EXPECT_EQ(futu::quantity_refusal(futu::Market::us, 3, 1, false), "");
    EXPECT_NE(futu::quantity_refusal(futu::Market::us, 0.5, 1, false).find("fractional"), std::string::npos);
    EXPECT_EQ(futu::quantity_refusal(futu::Market::us, 0.5, 1, true), "");
    EXPECT_NE(futu::quantity_refusal(futu::Market::us, -1, 1, true), "");
}

TEST(FutuProtocol, RateLimit) {
    using namespace std::chrono_literals;
    futu::RateLimit rl(3, 30s, 20ms);
    const auto t0 = futu::RateLimit::Clock::now();
    EXPECT_EQ(rl.wait_at(t0).count(), 0);
    rl.record(t0);
    EXPECT_EQ(rl.wait_at(t0 + 5ms).count(), 15);  // the minimum gap
    rl.record(t0 + 20ms);
    rl.record(t0 + 40ms);
    // a fourth call within the window waits until the first leaves it
    EXPECT_GE(rl.wait_at(t0 + 100ms), 29900ms - 1ms);
    EXPECT_EQ(rl.wait_at(t0 + 30s + 41ms).count(), 0);
}

// The official definitions are compiled in: field names and numbers are Futu's.
TEST(FutuProtos, OfficialMessagesAreCompiled) {
    const auto* d = Trd_PlaceOrder::C2S::descriptor();
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->full_name(), "Trd_PlaceOrder.C2S");
    ASSERT_NE(d->FindFieldByName("remark"), nullptr);
    ASSERT_NE(d->FindFieldByName("packetID"), nullptr);
    EXPECT_EQ(InitConnect::C2S::descriptor()->FindFieldByName("clientVer")->number(), 1);
    ASSERT_NE(Qot_RequestHistoryKL::C2S::descriptor()->FindFieldByName("nextReqKey"), nullptr);

    InitConnect::Request req;
    req.mutable_c2s()->set_clientver(300);
    req.mutable_c2s()->set_clientid("quant");
    // proto2 wire format by hand: field 1 (c2s) length-delimited { field 1 varint 300, field 2 "quant" }
    // 300 = 0xac 0x02 as a varint
    EXPECT_EQ(req.SerializeAsString(), bytes({0x0a, 0x0a, 0x08, 0xac, 0x02, 0x12, 0x05}) + "quant");
    Trd_Common::TrdHeader h;
    h.set_trdenv(1);
    h.set_accid(42);
    h.set_trdmarket(2);
    EXPECT_TRUE(h.IsInitialized());
}
