// SPDX-License-Identifier: MIT
// Hands work from GStreamer/libnice threads to the GLib main context that owns our objects.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <utility>

namespace duet {

// Runs `fn` on `ctx` from an idle source, even when called from the owning thread, so a
// caller inside a GStreamer callback never re-enters our code synchronously.
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

// A liveness token: closures posted from other threads hold a weak reference and do nothing
// once the owner (who holds the only strong one) is destroyed. Check and destruction both
// happen on the main thread, so there is no race between them.
using AliveToken = std::shared_ptr<int>;
using AliveWeak = std::weak_ptr<int>;
inline AliveToken make_alive_token() {
    return std::make_shared<int>(0);
}

} // namespace duet
