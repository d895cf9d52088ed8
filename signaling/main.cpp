// SPDX-License-Identifier: MIT
// duet-server entry point: parse flags, start the room server, run until SIGINT/SIGTERM.
#include "server.h"

#include <glib-unix.h>

#include <cstdio>

int main(int argc, char **argv) {
    gchar *host = nullptr;
    gint port = 8080, max_peers = 2, grace = 30, join_timeout = 60, rate = 50;
    GOptionEntry entries[] = {
        {"host", 0, 0, G_OPTION_ARG_STRING, &host, "Address to listen on (default 127.0.0.1)",
         "ADDR"},
        {"port", 0, 0, G_OPTION_ARG_INT, &port, "TCP port, 0 picks a free one (default 8080)",
         "PORT"},
        {"max-peers", 0, 0, G_OPTION_ARG_INT, &max_peers, "People per room (default 2)", "N"},
        {"resume-grace", 0, 0, G_OPTION_ARG_INT, &grace,
         "Seconds a dropped person's seat is held for them (default 30)", "SECONDS"},
        {"join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout,
         "Close sockets that are in no room for this long (default 60)", "SECONDS"},
        {"max-message-rate", 0, 0, G_OPTION_ARG_INT, &rate,
         "Messages per second one socket may send before it is closed (default 50)", "N"},
        {}};
    GOptionContext *ctx = g_option_context_new("- duet room server");
    g_option_context_set_summary(ctx, "Serves the duet browser client and relays signalling "
                                      "between the people in each room.");
    g_option_context_add_main_entries(ctx, entries, nullptr);
    GError *err = nullptr;
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        std::fprintf(stderr, "duet-server: %s\nTry --help.\n", err->message);
        g_error_free(err);
        g_option_context_free(ctx);
        return 2;
    }
    g_option_context_free(ctx);
    if (argc > 1) {
        std::fprintf(stderr, "duet-server: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    if (port < 0 || port > 65535 || max_peers < 1 || max_peers > 1000 || grace < 0 ||
        join_timeout < 1 || rate < 1) {
        std::fprintf(stderr, "duet-server: --port must be 0..65535, --max-peers 1..1000, "
                             "--resume-grace >= 0, --join-timeout and --max-message-rate >= 1\n");
        return 2;
    }

    duet::signaling::ServerConfig config;
    if (host)
        config.host = host;
    g_free(host);
    config.port = port;
    config.registry.max_peers = std::size_t(max_peers);
    config.registry.resume_grace = std::chrono::seconds(grace);
    config.join_timeout_seconds = unsigned(join_timeout);
    config.rate_per_second = rate;
    config.rate_burst = 4.0 * rate;

    GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
    int rc = 0;
    {
        duet::signaling::Server server(config);
        std::string why;
        if (!server.start(&why)) {
            std::fprintf(stderr, "duet-server: %s\n", why.c_str());
            rc = 1;
        } else {
            std::printf("listening on %s\n", server.url().c_str());
            std::fflush(stdout);
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
