// Tests for format/negotiate.hpp: which exposition an Accept header gets, and
// the content type and writer that go with it.
#include <gtest/gtest.h>

#include <string>

#include "support/format.hpp"
#include "vitals/format/negotiate.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/text.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

// --- negotiation -------------------------------------------------------------------

TEST(FormatNegotiate, PrometheusScrapeHeaderGetsOpenMetrics) {
  EXPECT_EQ(fmt::negotiate(
                "application/openmetrics-text;version=1.0.0,application/"
                "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text"), fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text; version=0.0.1"),
            fmt::exposition::openmetrics);
}

TEST(FormatNegotiate, TextUnlessOpenMetricsRanksAtLeastAsHigh) {
  EXPECT_EQ(fmt::negotiate(""), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("*/*"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("text/plain"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/json"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.5,text/plain;q=0.9"),
            fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.9,text/plain;q=0.9"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;version=2.0.0"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.3, */*"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=0.3, */*;q=0.2"),
            fmt::exposition::openmetrics);
  // The most specific range decides text's weight.
  EXPECT_EQ(fmt::negotiate("text/plain;q=0.1, */*, application/openmetrics-text;q=0.2"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(fmt::negotiate("text/*;q=0.6, application/openmetrics-text;q=0.5"),
            fmt::exposition::text);
  // Unreadable weights make a range count for nothing.
  EXPECT_EQ(fmt::negotiate("application/openmetrics-text;q=high"), fmt::exposition::text);
  EXPECT_EQ(fmt::negotiate(",,;;=,"), fmt::exposition::text);
}

TEST(FormatNegotiate, WhitespaceCaseAndQuotes) {
  EXPECT_EQ(fmt::negotiate(
                " Application/OpenMetrics-Text ; Version=\"1.0.0\" ; Q=0.8 ,\ttext/plain ;q=0.8"),
            fmt::exposition::openmetrics);
  EXPECT_EQ(
      fmt::negotiate("text/plain; version=0.0.4; q=1.000, application/openmetrics-text; q=0.999"),
      fmt::exposition::text);
}

TEST(FormatNegotiate, ContentTypeAndWrite) {
  EXPECT_EQ(fmt::content_type(fmt::exposition::text), fmt::text_content_type);
  EXPECT_EQ(fmt::content_type(fmt::exposition::openmetrics), fmt::openmetrics_content_type);
  auto g = make_family("g", metric_type::gauge);
  add_point(g, {}, 1);
  std::string text, om;
  fmt::write(text, {g}, fmt::exposition::text);
  fmt::write(om, {g}, fmt::exposition::openmetrics);
  EXPECT_EQ(text, fmt::to_text({g}));
  EXPECT_EQ(om, fmt::to_openmetrics({g}));
}

}  // namespace
