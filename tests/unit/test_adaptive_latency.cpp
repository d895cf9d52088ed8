// SPDX-License-Identifier: MIT
// `--latency-ms auto`: jitter in, latency out, raised at once and lowered only after a calm.
#include "pipelines/adaptive_latency.h"

#include <glib.h>

#include <cmath>
#include <limits>

using namespace duet::pipelines;

namespace {

AdaptiveLatencyConfig config() {
    AdaptiveLatencyConfig c;
    c.start_ms = 20;
    c.min_ms = 10;
    c.max_ms = 400;
    c.jitter_multiple = 3.0;
    c.margin_ms = 5;
    c.step_ms = 5;
    c.hold_samples = 4;
    c.max_decrease_ms = 10;
    return c;
}

void test_starts_small() {
    AdaptiveLatency a(config());
    g_assert_cmpint(a.current_ms(), ==, 20);
}

void test_target_follows_jitter_in_steps() {
    AdaptiveLatency a(config());
    g_assert_cmpint(a.target_ms(0), ==, 10);      // margin 5, floor 10
    g_assert_cmpint(a.target_ms(10), ==, 35);     // 3 x 10 + 5
    g_assert_cmpint(a.target_ms(10.1), ==, 40);   // 35.3, up to the next step
    g_assert_cmpint(a.target_ms(1000), ==, 400);  // the cap
    g_assert_cmpint(a.target_ms(-3), ==, 10);     // nonsense reads as no jitter
    g_assert_cmpint(a.target_ms(std::numeric_limits<double>::quiet_NaN()), ==, 10);
    g_assert_cmpint(a.target_ms(std::numeric_limits<double>::infinity()), ==, 10);
}

void test_raises_at_once() {
    AdaptiveLatency a(config());
    auto r = a.update(30); // 95 ms
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 95);
    g_assert_cmpint(a.current_ms(), ==, 95);
    // The same jitter again changes nothing.
    g_assert_false(a.update(30).has_value());
}

void test_small_wobble_changes_nothing() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    for (int i = 0; i < 20; ++i)
        g_assert_false(a.update(29).has_value()); // 92 -> 95: within a step
    g_assert_cmpint(a.current_ms(), ==, 95);
}

void test_lowers_only_after_a_calm_and_gradually() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    // Three calm samples: not yet.
    for (int i = 0; i < 3; ++i)
        g_assert_false(a.update(0).has_value());
    auto r = a.update(0); // the fourth
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 85); // at most 10 ms down at a time
    int latency = 85;
    for (int i = 0; i < 100 && latency > 10; ++i)
        if (auto v = a.update(0))
            latency = *v;
    g_assert_cmpint(latency, ==, 10);
    g_assert_cmpint(a.current_ms(), ==, 10);
}

void test_a_burst_restarts_the_calm() {
    AdaptiveLatency a(config());
    a.update(30); // 95
    a.update(0);
    a.update(0);
    a.update(0);
    g_assert_false(a.update(30).has_value()); // jitter is back: the calm starts again
    a.update(0);
    a.update(0);
    a.update(0);
    g_assert_cmpint(a.current_ms(), ==, 95);
    g_assert_true(a.update(0).has_value());
}

void test_lowers_no_further_than_the_calm_asked() {
    auto c = config();
    c.max_decrease_ms = 100;
    AdaptiveLatency a(c);
    a.update(30);  // 95
    a.update(0);   // 10
    a.update(15);  // 50
    a.update(0);   // 10
    auto r = a.update(0);
    g_assert_true(r.has_value());
    g_assert_cmpint(*r, ==, 50); // the highest target of the calm, not its last
}

void test_start_is_clamped() {
    auto c = config();
    c.start_ms = 1000;
    g_assert_cmpint(AdaptiveLatency(c).current_ms(), ==, 400);
    c.start_ms = 0;
    g_assert_cmpint(AdaptiveLatency(c).current_ms(), ==, 10);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/adaptive-latency/starts-small", test_starts_small);
    g_test_add_func("/adaptive-latency/target-follows-jitter", test_target_follows_jitter_in_steps);
    g_test_add_func("/adaptive-latency/raises-at-once", test_raises_at_once);
    g_test_add_func("/adaptive-latency/wobble", test_small_wobble_changes_nothing);
    g_test_add_func("/adaptive-latency/lowers-after-calm", test_lowers_only_after_a_calm_and_gradually);
    g_test_add_func("/adaptive-latency/burst-restarts-calm", test_a_burst_restarts_the_calm);
    g_test_add_func("/adaptive-latency/lowers-to-calm-max", test_lowers_no_further_than_the_calm_asked);
    g_test_add_func("/adaptive-latency/start-clamped", test_start_is_clamped);
    return g_test_run();
}
