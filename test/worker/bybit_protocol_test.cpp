// The pure part of the Bybit adapter (worker/src/bybit_protocol.hpp): signing, the query
// string, instrument rules and rounding, retCode -> outcome, order status, klines.
#include "bybit_protocol.hpp"

#include <gtest/gtest.h>

#include "quant/bar_feed.hpp"

namespace b = quant::bybit;

// RFC 4231 test case 2 (HMAC-SHA-256).
TEST(BybitSign, HmacSha256Rfc4231) {
    EXPECT_EQ(b::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// The string of brokers.md §1.2's GET example ("1658384314791XXXXXXXXXX5000category=option&
// symbol=BTC-29JUL22-25000-C"); the docs give no secret or signature, so the expected values
// were computed independently with Python's hmac module:
//   python3 -c "import hmac,hashlib; print(hmac.new(b'XXXXXXXXXXsecret', b'<string>',
//   hashlib.sha256).hexdigest())"
TEST(BybitSign, DocExampleGet) {
    const std::string q = b::query_string({{"category", "option"}, {"symbol", "BTC-29JUL22-25000-C"}});
    EXPECT_EQ(q, "category=option&symbol=BTC-29JUL22-25000-C");
    EXPECT_EQ(b::string_to_sign(1658384314791, "XXXXXXXXXX", 5000, q),
              "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C");
    EXPECT_EQ(b::signature("XXXXXXXXXXsecret", 1658384314791, "XXXXXXXXXX", 5000, q),
              "db2ac6dac2b9e820e89118590c6e9ea00b8036008b1857c11fc716f8cc08085e");
}

// POST: the body exactly as sent, spaces included (brokers.md §1.2).
TEST(BybitSign, DocExamplePostBodyAsSent) {
    EXPECT_EQ(
        b::signature("XXXXXXXXXXsecret", 1658384314791, "XXXXXXXXXX", 5000, R"({"category": "option"})"),
        "01fbce791b4c4ee001fa2af91f9a4a6fccc2a3e8dd8720da1b34a126db3a4154");
    EXPECT_NE(b::signature("XXXXXXXXXXsecret", 1658384314791, "XXXXXXXXXX", 5000, R"({"category":"option"})"),
              "01fbce791b4c4ee001fa2af91f9a4a6fccc2a3e8dd8720da1b34a126db3a4154");
}

TEST(BybitQuery, KeepsOrderAndEncodesOnlyReserved) {
    EXPECT_EQ(b::query_string({{"symbol", "BTCUSDT"}, {"category", "linear"}, {"orderLinkId", "a-b_c.9~"}}),
              "symbol=BTCUSDT&category=linear&orderLinkId=a-b_c.9~");
    EXPECT_EQ(b::query_string({{"coin", "BTC,USDT"}, {"x", "a b"}}), "coin=BTC%2CUSDT&x=a%20b");
    EXPECT_EQ(b::query_string({}), "");
}

TEST(BybitUrl, HttpsOrLoopbackOnly) {
    EXPECT_EQ(b::checked_base_url("https://api.bybit.com/"), "https://api.bybit.com");
    EXPECT_EQ(b::checked_base_url("http://127.0.0.1:18081"), "http://127.0.0.1:18081");
    EXPECT_EQ(b::checked_base_url("http://localhost:1"), "http://localhost:1");
    EXPECT_EQ(b::checked_base_url("http://[::1]:8080"), "http://[::1]:8080");
    EXPECT_THROW(b::checked_base_url("http://api.bybit.com"), std::invalid_argument);
    EXPECT_THROW(b::checked_base_url("http://127.0.0.1.evil.com"), std::invalid_argument);
    EXPECT_THROW(b::checked_base_url("ftp://x"), std::invalid_argument);
    EXPECT_EQ(b::default_base_url(b::environment_for(true)), "https://api-demo.bybit.com");
    EXPECT_EQ(b::default_base_url(b::environment_for(false)), "https://api.bybit.com");
    EXPECT_EQ(b::default_base_url(b::Environment::testnet), "https://api-testnet.bybit.com");
    EXPECT_EQ(b::parse_environment("demo"), b::Environment::demo);
    EXPECT_FALSE(b::parse_environment("DEMO"));
}

namespace {
b::InstrumentRules linear_btc() {
    return b::parse_instrument(quant::Json::parse(R"({"symbol":"BTCUSDT","status":"Trading","baseCoin":"BTC",
        "quoteCoin":"USDT","lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001",
        "maxMktOrderQty":"500.000","minNotionalValue":"5"},"priceFilter":{"tickSize":"0.10"}})"),
                               b::Category::linear);
}
}  // namespace

TEST(BybitInstrument, LinearRules) {
    const auto r = linear_btc();
    EXPECT_DOUBLE_EQ(r.qty_step, 0.001);
    EXPECT_DOUBLE_EQ(r.min_qty, 0.001);
    EXPECT_DOUBLE_EQ(r.max_qty, 500);
    EXPECT_DOUBLE_EQ(r.min_notional, 5);
    EXPECT_DOUBLE_EQ(r.tick_size, 0.1);
    EXPECT_EQ(r.base_coin, "BTC");
}

TEST(BybitInstrument, SpotRulesUseBasePrecision) {
    const auto r = b::parse_instrument(quant::Json::parse(R"({"symbol":"ETHUSDT","status":"Trading",
        "lotSizeFilter":{"basePrecision":"0.00001","quotePrecision":"0.0000001","minOrderQty":"0.00062",
        "maxOrderQty":"1000","minOrderAmt":"1","maxOrderAmt":"2000000"},"priceFilter":{"tickSize":"0.01"}})"),
                                       b::Category::spot);
    EXPECT_DOUBLE_EQ(r.qty_step, 0.00001);
    EXPECT_DOUBLE_EQ(r.min_notional, 1);
    EXPECT_EQ(r.base_coin, "ETH");  // from the symbol when baseCoin is missing
    EXPECT_THROW(
        b::parse_instrument(quant::Json::parse(R"({"symbol":"X","lotSizeFilter":{}})"), b::Category::spot),
        quant::BrokerError);
}

TEST(BybitRounding, DownToTheStep) {
    const auto r = linear_btc();
    auto s = b::size_order(0.0129, r, std::nullopt);
    EXPECT_EQ(s.refusal, "");
    EXPECT_EQ(s.text, "0.012");
    EXPECT_DOUBLE_EQ(s.qty, 0.012);
    s = b::size_order(0.003, r, std::nullopt);  // binary noise: 0.003 / 0.001 = 2.9999999999999996
    EXPECT_EQ(s.text, "0.003");
    s = b::size_order(1.0, r, std::nullopt);
    EXPECT_EQ(s.text, "1.000");
}

TEST(BybitRounding, BelowMinimumIsRefusedNotSent) {
    const auto r = linear_btc();
    auto s = b::size_order(0.0009, r, std::nullopt);
    EXPECT_NE(s.refusal.find("below the minimum 0.001"), std::string::npos) << s.refusal;
    s = b::size_order(0.001, r, 1000.0);  // notional 1 < 5
    EXPECT_NE(s.refusal.find("notional"), std::string::npos) << s.refusal;
    s = b::size_order(0.01, r, 1000.0);
    EXPECT_EQ(s.refusal, "");
    s = b::size_order(600, r, std::nullopt);
    EXPECT_NE(s.refusal.find("above the maximum"), std::string::npos) << s.refusal;
    auto halted = r;
    halted.status = "Closed";
    EXPECT_NE(b::size_order(1, halted, std::nullopt).refusal.find("not trading"), std::string::npos);
}

TEST(BybitNumbers, DecimalText) {
    EXPECT_EQ(b::decimal_text(0.1 + 0.2, 0.01), "0.30");
    EXPECT_EQ(b::decimal_text(12, 1), "12");
    EXPECT_EQ(b::decimal_text(0.00062, 0.00001), "0.00062");
    EXPECT_EQ(b::decimal_text(0.00001, 0.000000001), "0.000010000");
    EXPECT_EQ(b::decimal_text(0.5, 0.1), "0.5");
    const auto j = quant::Json::parse(R"({"a":"1.5","b":"","c":2,"d":"x"})");
    EXPECT_EQ(b::number(j, "a"), 1.5);
    EXPECT_FALSE(b::number(j, "b"));
    EXPECT_EQ(b::number(j, "c"), 2.0);
    EXPECT_FALSE(b::number(j, "d"));
    EXPECT_FALSE(b::number(j, "missing"));
}

TEST(BybitReply, Envelope) {
    const auto r = b::parse_reply(
        200, R"({"retCode":0,"retMsg":"OK","result":{"orderId":"1"},"retExtInfo":{},"time":1700000000000})");
    EXPECT_EQ(r.ret_code, 0);
    EXPECT_EQ(r.result["orderId"], "1");
    EXPECT_EQ(r.time_ms, 1700000000000);
    EXPECT_THROW(b::parse_reply(502, "<html>bad gateway</html>"), quant::BrokerError);
    EXPECT_THROW(b::parse_reply(200, R"({"ok":true})"), quant::BrokerError);
}

TEST(BybitRetCode, Classification) {
    EXPECT_EQ(b::classify(0), b::Outcome::ok);
    EXPECT_EQ(b::classify(110072), b::Outcome::duplicate);
    EXPECT_EQ(b::classify(170141), b::Outcome::duplicate);
    EXPECT_EQ(b::classify(10002), b::Outcome::clock);
    EXPECT_EQ(b::classify(10006), b::Outcome::rate_limited);
    EXPECT_EQ(b::classify(10000), b::Outcome::retry);
    EXPECT_EQ(b::classify(10016), b::Outcome::retry);
    EXPECT_EQ(b::classify(10004), b::Outcome::fatal);
    EXPECT_EQ(b::classify(10003), b::Outcome::fatal);
    EXPECT_EQ(b::classify(110001), b::Outcome::not_found);
    EXPECT_EQ(b::classify(110007), b::Outcome::rejected);
    EXPECT_EQ(b::classify(170136), b::Outcome::rejected);
    EXPECT_EQ(b::reason(110007, "ab not enough for new order"),
              "110007 insufficient balance (ab not enough for new order)");
    EXPECT_EQ(b::reason(170136, ""), "170136 qty below the minimum");
    EXPECT_EQ(b::reason(99999, "new"), "99999 (new)");
}

TEST(BybitOrder, StatusAndFills) {
    using S = quant::OrderState;
    EXPECT_EQ(b::order_state("New", 0), S::sent);
    EXPECT_EQ(b::order_state("PartiallyFilled", 0.5), S::sent);
    EXPECT_EQ(b::order_state("Filled", 1), S::filled);
    EXPECT_EQ(b::order_state("Cancelled", 0), S::cancelled);
    EXPECT_EQ(b::order_state("Cancelled", 0.2), S::filled);
    EXPECT_EQ(b::order_state("PartiallyFilledCanceled", 0.2), S::filled);
    EXPECT_EQ(b::order_state("Rejected", 0), S::rejected);
    EXPECT_EQ(b::order_state("Whatever", 0), S::unknown);
    const auto o =
        b::parse_order(quant::Json::parse(R"({"orderId":"abc","orderLinkId":"cid-1","symbol":"BTCUSDT",
        "side":"Sell","qty":"0.010","cumExecQty":"0.004","avgPrice":"30000.5","cumExecValue":"120.002",
        "cumFeeDetail":{"USDT":"0.066"},"orderStatus":"PartiallyFilledCanceled","rejectReason":"EC_NoError"})"));
    EXPECT_EQ(o.client_order_id, "cid-1");
    EXPECT_EQ(o.broker_order_id, "abc");
    EXPECT_EQ(o.side, quant::Side::sell);
    EXPECT_DOUBLE_EQ(o.qty, 0.01);
    EXPECT_DOUBLE_EQ(o.filled_qty, 0.004);
    EXPECT_DOUBLE_EQ(o.avg_price, 30000.5);
    EXPECT_DOUBLE_EQ(o.fee, 0.066);
    EXPECT_EQ(o.state, S::filled);
    EXPECT_NE(o.message.find("partially filled"), std::string::npos);
    // avgPrice "" -> cumExecValue / cumExecQty; the deprecated cumExecFee when no detail
    const auto p =
        b::parse_order(quant::Json::parse(R"({"orderLinkId":"c","side":"Buy","qty":"2","cumExecQty":"2",
        "avgPrice":"","cumExecValue":"200","cumExecFee":"0.1","orderStatus":"Filled"})"));
    EXPECT_DOUBLE_EQ(p.avg_price, 100);
    EXPECT_DOUBLE_EQ(p.fee, 0.1);
}

TEST(BybitKline, NewestFirstFormingDropped) {
    const std::int64_t minute = 60'000;
    const auto list = quant::Json::parse(R"([
        ["1700000120000","3","3.5","2.5","3.2","10","32"],
        ["1700000060000","2","2.5","1.5","2.2","11","24"],
        ["1700000000000","1","1.5","0.5","1.2","12","14"]])");
    // now inside the newest minute: it is still forming
    auto bars = b::parse_klines(list, minute, 1700000150000);
    ASSERT_EQ(bars.size(), 2u);
    EXPECT_EQ(bars[0].ts_us, 1700000000000LL * 1000);
    EXPECT_DOUBLE_EQ(bars[0].close, 1.2);
    EXPECT_DOUBLE_EQ(bars[1].volume, 11);
    // after its end: kept
    bars = b::parse_klines(list, minute, 1700000180000);
    EXPECT_EQ(bars.size(), 3u);
    EXPECT_EQ(b::interval_ms("D"), 86'400'000);
    EXPECT_EQ(b::interval_ms("15"), 15 * minute);
    EXPECT_FALSE(b::interval_ms("M"));
    EXPECT_FALSE(b::interval_ms("7"));
    EXPECT_THROW(b::parse_klines(quant::Json::parse(R"([["x"]])"), minute, 0), quant::BrokerError);
}

TEST(BybitKlines, BarIntervalsMapToKlineCodes) {
    namespace b = quant::bybit;
    const std::pair<const char*, const char*> table[] = {{"1m", "1"},   {"5m", "5"},  {"15m", "15"},
                                                         {"30m", "30"}, {"1h", "60"}, {"4h", "240"},
                                                         {"1d", "D"},   {"1w", "W"}};
    for (const auto& [name, code] : table) {
        EXPECT_EQ(b::kline_interval(name).value_or("?"), code) << name;
        // the code's length is the catalog interval's length
        EXPECT_EQ(*b::interval_ms(*b::kline_interval(name)) * 1000, *quant::bar_interval_us(name)) << name;
    }
    EXPECT_FALSE(b::kline_interval("1M"));
    EXPECT_FALSE(b::kline_interval("D"));
    EXPECT_FALSE(b::kline_interval(""));
}

// fuzz_bybit_reply (issue 15): a kline start of 3.9e19 ms overflowed the int64 cast (UBSan);
// a start that is not whole milliseconds from 0 to 1e15 is now a BrokerError.
TEST(BybitKlines, StartTimeOutOfRangeIsRefused) {
    namespace b = quant::bybit;
    const std::int64_t minute = 60'000;
    for (const char* start : {"38888888400000120000", "-60000", "1e300", "1700000000000.5"}) {
        const auto list = quant::Json::array({quant::Json::array({start, "1", "1", "1", "1", "1", "1"})});
        EXPECT_THROW(b::parse_klines(list, minute, 1700000150000), quant::BrokerError) << start;
    }
    const auto ok =
        quant::Json::array({quant::Json::array({"1700000000000", "1", "2", "0.5", "1.5", "3", "4"})});
    const auto bars = b::parse_klines(ok, minute, 1700000150000);
    ASSERT_EQ(bars.size(), 1U);
    EXPECT_EQ(bars[0].ts_us, 1700000000000LL * 1000);
}
