// SPDX-License-Identifier: MIT
// Hands work to the main context that owns our objects, and drops it once the owner is gone.
//
// The threading rule of duet, in one place:
//   * Every object lives on one thread, the one whose thread-default GMainContext was
//     current when it was created (the main loop's thread in both programs). It captures
//     that context once, through its Lifeline member, and attaches everything it schedules
//     there: closures posted from GStreamer/libnice threads, idles, timeouts.
//   * Nothing attaches to g_main_context_default() or passes a NULL context, and nothing
//     calls g_idle_add/g_timeout_add/g_source_remove (they always mean the global default
//     context, whatever thread-default context the owner runs under). Use
//     Lifeline::post/add_timeout/remove, or post_to_main with a captured context.
//   * A closure that reaches its owner from elsewhere (another thread, a later main-loop
//     iteration, a callback the owner hands to someone it does not own) is guarded by the
//     owner's Lifeline: it runs only if the owner still exists. The check and the
//     owner's destruction both happen on the owner's thread, so they cannot race.
//   * Process-wide handlers that are not an object's (SIGINT/SIGTERM in main()) may use
//     the default context, which is the loop main() runs.
#pragma once

#include "common/ref.h"

#include <glib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <utility>

namespace duet {

// Runs `fn` on `ctx` from an idle source, even when called from the owning thread, so a
// caller inside a GStreamer callback never re-enters our code synchronously. Any thread.
inline void post_to_main(GMainContext *ctx, std::function<void()> fn) {
    auto *boxed = new std::function<void()>(std::move(fn));
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(
        src,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()> *>(data))();
            return G_SOURCE_REMOVE;
        },
        boxed, [](gpointer data) { delete static_cast<std::function<void()> *>(data); });
    g_source_attach(src, ctx);
    g_source_unref(src);
}

// The owner's context and whether the owner still exists, shared with every closure the
// owner posted. `alive` is written by the owner's destructor and read by closures running
// on the same context's thread; atomic only so that copying a handle on another thread is
// plainly race-free.
struct LifelineBlock {
    Owned<GMainContext> ctx{g_main_context_ref_thread_default()};
    std::atomic<bool> alive{true};
};

// A copyable reference to an owner's Lifeline, for C callback data (pad probes, signal
// closures, promise change funcs) that may outlive the owner. Any thread may post.
class LifelineHandle {
  public:
    // Runs `fn` on the owner's context later, unless the owner is gone by then.
    void post(std::function<void()> fn) const {
        post_to_main(block_->ctx.get(), [b = block_, fn = std::move(fn)] {
            if (b->alive.load())
                fn();
        });
    }
    GMainContext *context() const { return block_->ctx.get(); }
    // Whether the owner still exists. Only meaningful on the owner's thread (an async
    // callback that runs there and must not touch a destroyed owner).
    bool alive() const { return block_->alive.load(); }

  private:
    friend class Lifeline;
    explicit LifelineHandle(std::shared_ptr<LifelineBlock> b) : block_(std::move(b)) {}
    std::shared_ptr<LifelineBlock> block_;
};

// Held as a member by an object whose work arrives from elsewhere; create it on the owner's
// thread (it captures the thread-default context then), destroy it there too. Declare it
// after the members its closures use, or call cut() first in the destructor, so no closure
// runs against a half-destroyed owner.
class Lifeline {
  public:
    Lifeline() = default;
    ~Lifeline() { cut(); }
    Lifeline(const Lifeline &) = delete;
    Lifeline &operator=(const Lifeline &) = delete;

    // From now on, nothing posted through this lifeline runs. Owner's thread.
    void cut() { block_->alive.store(false); }

    GMainContext *context() const { return block_->ctx.get(); }
    LifelineHandle handle() const { return LifelineHandle(block_); }
    // Any thread: `fn` runs on context() later, if the owner still exists then.
    void post(std::function<void()> fn) const { handle().post(std::move(fn)); }
    // Wraps `fn` for someone who calls it back on the owner's thread (a signaler's close
    // callback, the recorder's `done`): it does nothing once the owner is gone.
    std::function<void()> guard(std::function<void()> fn) const {
        return [b = block_, fn = std::move(fn)] {
            if (b->alive.load())
                fn();
        };
    }

    // Timers on context(). The owner removes them (remove()) before it goes away.
    guint add_timeout(guint ms, GSourceFunc fn, gpointer data) const {
        return attach(g_timeout_source_new(ms), fn, data);
    }
    guint add_timeout_seconds(guint s, GSourceFunc fn, gpointer data) const {
        return attach(g_timeout_source_new_seconds(s), fn, data);
    }
    guint add_idle(GSourceFunc fn, gpointer data) const {
        return attach(g_idle_source_new(), fn, data);
    }
    // Destroys the source `id` (if not 0) on context() and zeroes `id`.
    void remove(guint &id) const {
        if (id)
            if (GSource *s = g_main_context_find_source_by_id(context(), id))
                g_source_destroy(s);
        id = 0;
    }

  private:
    guint attach(GSource *s, GSourceFunc fn, gpointer data) const {
        g_source_set_callback(s, fn, data, nullptr);
        guint id = g_source_attach(s, context());
        g_source_unref(s);
        return id;
    }
    std::shared_ptr<LifelineBlock> block_ = std::make_shared<LifelineBlock>();
};

} // namespace duet
