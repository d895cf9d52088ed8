// SPDX-License-Identifier: MIT
// duet-server entry point: parse flags, start the room server, run until SIGINT/SIGTERM.
#include "options.h"
#include "sd_notify.h"
#include "server.h"

#include <glib-unix.h>

#include <cstdio>
#include <string>
#include <sys/resource.h>
#include <vector>

int main(int argc, char **argv) {
    auto parsed =
        duet::signaling::parse_server_options(std::vector<std::string>(argv, argv + argc));
    if (!parsed) {
        std::fprintf(stderr, "duet-server: %s\nTry --help.\n", parsed.message().c_str());
        return 2;
    }
    duet::signaling::ServerConfig config = std::move(parsed).value();

    // Each participant is one socket: allow as many as the hard limit permits.
    rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
    int rc = 0;
    {
        duet::signaling::Server server(config);
        if (auto started = server.start(); !started) {
            std::fprintf(stderr, "duet-server: %s\n", started.message().c_str());
            rc = 1;
        } else {
            std::printf("listening on %s\n", server.url().c_str());
            std::fflush(stdout);
            duet::sd_notify_state("READY=1");
            // A server whose listener cannot accept for a whole watchdog interval is as
            // good as dead: let systemd restart it.
            duet::sd_watchdog_start(
                nullptr,
                [](gint64 interval_us, gpointer s) {
                    return static_cast<duet::signaling::Server *>(s)->healthy(interval_us);
                },
                &server);
            auto quit = +[](gpointer l) -> gboolean {
                g_main_loop_quit(static_cast<GMainLoop *>(l));
                return G_SOURCE_REMOVE;
            };
            g_unix_signal_add(SIGINT, quit, loop);
            g_unix_signal_add(SIGTERM, quit, loop);
            g_main_loop_run(loop);
        }
    }
    g_main_loop_unref(loop);
    return rc;
}
