// is_uuid (core/include/quant/uuid.hpp): the 8-4-4-4-12 text form, either case, nothing else.
#include "quant/uuid.hpp"

#include <gtest/gtest.h>

TEST(Uuid, Forms) {
    EXPECT_TRUE(quant::is_uuid("0190a6f2-7c1e-7b3a-9f00-123456789abc"));
    EXPECT_TRUE(quant::is_uuid("0190A6F2-7C1E-7B3A-9F00-123456789ABC"));
    EXPECT_FALSE(quant::is_uuid("0190a6f27c1e7b3a9f00123456789abc"));
    EXPECT_FALSE(quant::is_uuid("0190a6f2-7c1e-7b3a-9f00-123456789abg"));
    EXPECT_FALSE(quant::is_uuid("0190a6f2-7c1e-7b3a-9f00-123456789ab"));
    EXPECT_FALSE(quant::is_uuid(""));
    EXPECT_FALSE(quant::is_uuid("{0190a6f2-7c1e-7b3a-9f00-123456789ab}"));
    EXPECT_FALSE(quant::is_uuid("0190a6f2_7c1e-7b3a-9f00-123456789abc"));
}
