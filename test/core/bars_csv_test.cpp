// quant::read_bars_csv on bad dates: found by fuzz_bars_csv (issue 15), a year of 1651025397
// overflowed the microsecond timestamp (UBSan); now every date is a calendar day of years
// 0001..9999 or a quant::Error naming the field "date" and the line.
#include <gtest/gtest.h>

#include <string>

#include "quant/bars.hpp"
#include "quant/error.hpp"

namespace {

std::string csv_with_date(const std::string& date) {
    return "date,open,high,low,close,volume\n2024-01-02,100,101.5,99,100.5,1\n" + date +
           ",10.5,12,10,11,9000\n";
}

void expect_bad_date(const std::string& date) {
    try {
        (void)quant::read_bars_csv(csv_with_date(date));
        FAIL() << date << " was accepted";
    } catch (const quant::Error& e) {
        EXPECT_EQ(e.field(), "date") << date;
        EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    }
}

}  // namespace

TEST(BarsCsv, YearOutOfRangeIsAnErrorNotAnOverflow) {
    expect_bad_date("04522324-01-03");  // the fuzzer's input (regression-year-overflow.csv)
    expect_bad_date("0000-01-03");
    expect_bad_date("10000-01-03");
}

TEST(BarsCsv, MonthAndDayMustBeACalendarDay) {
    expect_bad_date("2024-13-01");
    expect_bad_date("2024-00-10");
    expect_bad_date("2024-02-30");
    expect_bad_date("2023-02-29");
    expect_bad_date("2024-04-31");
    expect_bad_date("2024--1-10");
}

TEST(BarsCsv, ValidDatesStillParse) {
    const auto bars = quant::read_bars_csv(csv_with_date("2024-02-29"));
    ASSERT_EQ(bars.ts.size(), 2U);
    EXPECT_EQ(quant::format_date(bars.ts[1]), "2024-02-29");
    const auto edge = quant::read_bars_csv(csv_with_date("9999-12-31"));
    EXPECT_EQ(quant::format_date(edge.ts[1]), "9999-12-31");
}
