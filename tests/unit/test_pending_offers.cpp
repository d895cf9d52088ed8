// SPDX-License-Identifier: MIT
// Waiting offers: the newest per peer wins, candidates follow it, timers end with it.
#include "src/peer/pending_offers.h"

#include <glib.h>

#include "tests/check_str.h"

#include <string>
#include <vector>

using namespace duet;
using namespace duet::peer;

namespace {

// Iterates the default main context until pred() or 5 s (a bound, not a pacing sleep).
bool wait_for(const std::function<bool()> &pred) {
    gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (!pred() && g_get_monotonic_time() < deadline)
        g_main_context_iteration(nullptr, TRUE);
    return pred();
}

proto::CandidateData candidate(int n) {
    proto::CandidateData c;
    c.candidate = "candidate:" + std::to_string(n) + " 1 udp 1 192.0.2.1 9 typ host";
    c.mline_index = 0;
    return c;
}

void test_newest_offer_wins() {
    PendingOffers pending([](const std::string &) {});
    g_assert_false(pending.waiting("p"));
    g_assert_false(pending.add_candidate("p", candidate(1))); // no offer waits: not ours
    pending.hold("p", "offer 1", 60000);
    g_assert_true(pending.add_candidate("p", candidate(1)));
    pending.hold("p", "offer 2", 60000);
    g_assert_true(pending.add_candidate("p", candidate(2)));
    pending.hold("q", "offer from q", 60000);
    g_assert_cmpuint(pending.size(), ==, 2);
    auto got = pending.take("p");
    g_assert_true(got.has_value());
    check_str_eq(got->sdp, "offer 2");
    // The first offer's candidate went with it; only the newest offer's is kept.
    g_assert_cmpuint(got->candidates.size(), ==, 1);
    check_str_eq(got->candidates[0].candidate, candidate(2).candidate);
    g_assert_false(pending.take("p").has_value());
    g_assert_true(pending.waiting("q"));
}

void test_candidates_bounded() {
    PendingOffers pending([](const std::string &) {});
    pending.hold("p", "offer", 60000);
    for (int i = 0; i < 1000; ++i)
        g_assert_true(pending.add_candidate("p", candidate(i)));
    g_assert_cmpuint(pending.take("p")->candidates.size(), ==, PendingOffers::kMaxCandidates);
}

// The timer fires once per waiting offer however often it is replaced, and not at all once
// the offer was taken or dropped (checked against a later timer that does fire).
void test_timer_once_and_cancelled() {
    std::vector<std::string> due;
    {
        PendingOffers pending([&](const std::string &peer) { due.push_back(peer); });
        pending.hold("taken", "x", 10);
        pending.hold("dropped", "x", 10);
        pending.hold("replaced", "1", 20);
        pending.hold("replaced", "2", 20);
        pending.hold("replaced", "3", 20);
        pending.take("taken");
        pending.drop("dropped");
        g_assert_true(wait_for([&] { return !due.empty(); }));
        g_assert_cmpuint(due.size(), ==, 1);
        check_str_eq(due[0], "replaced");
        check_str_eq(pending.take("replaced")->sdp, "3");
        // Destroyed with a timer armed: it must not fire.
        pending.hold("gone", "x", 10);
    }
    bool sentinel = false;
    g_timeout_add(
        40,
        [](gpointer flag) -> gboolean {
            *static_cast<bool *>(flag) = true;
            return G_SOURCE_REMOVE;
        },
        &sentinel);
    g_assert_true(wait_for([&] { return sentinel; }));
    g_assert_cmpuint(due.size(), ==, 1);
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/pending-offers/newest-wins", test_newest_offer_wins);
    g_test_add_func("/pending-offers/candidates-bounded", test_candidates_bounded);
    g_test_add_func("/pending-offers/timer-once-and-cancelled", test_timer_once_and_cancelled);
    return g_test_run();
}
