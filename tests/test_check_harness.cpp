// The PASS/FAIL harness bring-up and the engine self-test report through
// (firmware/include/cestvp/check_harness.h), on a HAL that only records what it is told: the
// expected lines are written out by hand.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <cestvp/check_harness.h>

namespace cestvp::fw {
namespace {

// A HAL with no hardware behind it: it keeps the log lines and the phases.
class RecordingHal : public Hal {
 public:
  BusStatus read32(std::uint64_t, std::uint32_t&) override { return BusStatus::address_error; }
  BusStatus write32(std::uint64_t, std::uint32_t) override { return BusStatus::address_error; }
  BusStatus read_block(std::uint64_t, void*, std::size_t) override { return BusStatus::address_error; }
  BusStatus write_block(std::uint64_t, const void*, std::size_t) override { return BusStatus::address_error; }
  bool wait_for_interrupt(std::uint64_t) override { return false; }
  std::uint64_t now_ps() override { return 0; }
  void charge_host_time(std::uint64_t) override {}
  void log(LogLevel level, const char* message) override { lines.emplace_back(level, message); }
  void phase(const char* name) override { phases.emplace_back(name); }

  std::vector<std::pair<LogLevel, std::string>> lines;
  std::vector<std::string> phases;
};

TEST(CheckHarness, LinesPadTheNameAndCarryTheNotesOrTheProblem) {
  RecordingHal hal;
  CheckHarness checks(hal, 10);
  EXPECT_TRUE(checks.run("probe", [&] {
    checks.note("SAT v%u.%u", 1u, 1u);
    checks.note("%d KiB", 4096);
    return std::string();
  }));
  EXPECT_FALSE(checks.run("dma-1d", [&] {
    checks.note("not shown: the check failed");
    return std::string("3 of 16 words wrong");
  }));
  EXPECT_TRUE(checks.run("a-name-longer-than-ten", [] { return std::string(); }));

  ASSERT_EQ(hal.lines.size(), 3u);
  EXPECT_EQ(hal.lines[0].first, LogLevel::info);
  EXPECT_EQ(hal.lines[0].second, "PASS probe      SAT v1.1; 4096 KiB");
  EXPECT_EQ(hal.lines[1].first, LogLevel::error);
  EXPECT_EQ(hal.lines[1].second, "FAIL dma-1d     3 of 16 words wrong");
  // A name wider than the column is written whole; a check without notes ends in the space.
  EXPECT_EQ(hal.lines[2].second, "PASS a-name-longer-than-ten ");
  EXPECT_EQ(hal.phases, (std::vector<std::string>{"probe", "dma-1d", "a-name-longer-than-ten"}));
}

TEST(CheckHarness, NotesStartAfreshForEachCheck) {
  RecordingHal hal;
  CheckHarness checks(hal, 4);
  checks.run("one", [&] { return checks.note("first"), std::string(); });
  checks.run("two", [&] { return checks.note("second"), std::string(); });
  ASSERT_EQ(hal.lines.size(), 2u);
  EXPECT_EQ(hal.lines[1].second, "PASS two  second");
}

TEST(CheckHarness, CountsAndSummaryLevelFollowTheFailures) {
  RecordingHal hal;
  CheckHarness checks(hal, 4);
  checks.run("a", [] { return std::string(); });
  checks.summary("%u of %u checks passed", checks.passed(), checks.total());
  EXPECT_EQ(checks.exit_code(), 0);
  checks.run("b", [] { return std::string("broken"); });
  checks.run("c", [] { return std::string(); });
  checks.summary("%u of %u checks passed", checks.passed(), checks.total());

  EXPECT_EQ(checks.passed(), 2u);
  EXPECT_EQ(checks.failed(), 1u);
  EXPECT_EQ(checks.total(), 3u);
  EXPECT_EQ(checks.exit_code(), 1);
  ASSERT_EQ(hal.lines.size(), 5u);
  EXPECT_EQ(hal.lines[1], std::make_pair(LogLevel::info, std::string("1 of 1 checks passed")));
  EXPECT_EQ(hal.lines[4], std::make_pair(LogLevel::error, std::string("2 of 3 checks passed")));
}

TEST(CheckHarness, SayLogsAtTheGivenLevelWithoutCountingACheck) {
  RecordingHal hal;
  CheckHarness checks(hal, 4);
  checks.say(LogLevel::warning, "bad-nm: N:M %u:%u, BAD_NM is expected", 9u, 8u);
  ASSERT_EQ(hal.lines.size(), 1u);
  EXPECT_EQ(hal.lines[0], std::make_pair(LogLevel::warning, std::string("bad-nm: N:M 9:8, BAD_NM is expected")));
  EXPECT_EQ(checks.total(), 0u);
  EXPECT_TRUE(hal.phases.empty());
}

}  // namespace
}  // namespace cestvp::fw
