// SPDX-License-Identifier: MIT
// sd_notify protocol: one datagram per state on the AF_UNIX socket named by $NOTIFY_SOCKET.
#include "sd_notify.h"

#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace duet {

bool sd_notify_state(const char *state) {
    const char *path = g_getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return true;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path)
        return false;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') // abstract namespace
        addr.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    socklen_t alen = socklen_t(offsetof(sockaddr_un, sun_path) + len);
    bool ok = sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
                     reinterpret_cast<sockaddr *>(&addr), alen) >= 0;
    close(fd);
    return ok;
}

void sd_watchdog_start(GMainContext *ctx, bool (*healthy)(gint64, gpointer), gpointer data) {
    const char *usec = g_getenv("WATCHDOG_USEC");
    if (!usec)
        return;
    guint64 interval = g_ascii_strtoull(usec, nullptr, 10);
    if (interval == 0)
        return;
    struct Check {
        bool (*healthy)(gint64, gpointer);
        gpointer data;
        gint64 interval_us;
        bool warned;
    };
    auto *check = new Check{healthy, data, gint64(interval), false};
    GSource *src = g_timeout_source_new(guint(interval / 2000));
    g_source_set_callback(
        src,
        [](gpointer p) -> gboolean {
            auto *c = static_cast<Check *>(p);
            if (c->healthy && !c->healthy(c->interval_us, c->data)) {
                if (!c->warned)
                    g_warning("unhealthy: no longer feeding the systemd watchdog");
                c->warned = true;
                return G_SOURCE_CONTINUE;
            }
            c->warned = false;
            sd_notify_state("WATCHDOG=1");
            return G_SOURCE_CONTINUE;
        },
        check, [](gpointer p) { delete static_cast<Check *>(p); });
    g_source_attach(src, ctx);
    g_source_unref(src);
}

} // namespace duet
