// SPDX-License-Identifier: MIT
// Lifeline (common/main_thread.h): posted work runs on the captured context, never after
// its owner is gone.
#include "common/main_thread.h"

#include <glib.h>

#include <atomic>
#include <memory>
#include <thread>

using duet::Lifeline;
using duet::LifelineHandle;

namespace {

// Runs `ctx` until `done` or a second has passed.
void iterate_until(GMainContext *ctx, const std::atomic<bool> &done) {
    gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC;
    while (!done.load() && g_get_monotonic_time() < end)
        g_main_context_iteration(ctx, FALSE);
}

void test_runs_on_captured_context() {
    // The owner lives under a thread-default context of its own, not the global default.
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    {
        Lifeline life;
        g_assert_true(life.context() == ctx);
        std::atomic<bool> ran{false};
        GMainContext *seen = nullptr;
        // Posted from another thread, as a GStreamer callback would.
        std::thread t([h = life.handle(), &ran, &seen] {
            h.post([&ran, &seen] {
                seen = g_main_context_get_thread_default();
                ran = true;
            });
        });
        t.join();
        // Nothing reached the global default context.
        g_assert_false(g_main_context_pending(g_main_context_default()));
        iterate_until(ctx, ran);
        g_assert_true(ran.load());
        g_assert_true(seen == ctx);

        // Timers go to the same context and can be removed there.
        guint id = life.add_timeout(
            10000, [](gpointer) -> gboolean { return G_SOURCE_REMOVE; }, nullptr);
        g_assert_nonnull(g_main_context_find_source_by_id(ctx, id));
        life.remove(id);
        g_assert_cmpuint(id, ==, 0);
    }
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
}

void test_dropped_after_owner_is_gone() {
    std::atomic<bool> ran{false};
    auto owner = std::make_unique<Lifeline>();
    LifelineHandle h = owner->handle();
    owner->post([&ran] { ran = true; });
    std::thread([h, &ran] { h.post([&ran] { ran = true; }); }).join();
    auto guarded = owner->guard([&ran] { ran = true; });
    owner.reset(); // the owner goes before the main loop runs its closures
    g_assert_false(h.alive());
    guarded();
    while (g_main_context_iteration(nullptr, FALSE)) // runs everything pending
        ;
    g_assert_false(ran.load());
}

} // namespace

int main(int argc, char **argv) {
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/lifeline/runs-on-captured-context", test_runs_on_captured_context);
    g_test_add_func("/lifeline/dropped-after-owner-is-gone", test_dropped_after_owner_is_gone);
    return g_test_run();
}
