// SPDX-License-Identifier: MIT
// duet-peer entry point: parse flags, set up GStreamer, run the peer until done or signaled.
#include "common/logging.h"
#include "pipelines/debug.h"
#include "src/peer/cli.h"
#include "src/peer/exit_codes.h"
#include "src/peer/peer_app.h"
#include "src/peer/ws_signaler.h"

#include <glib-unix.h>
#include <gst/gst.h>

#include <cstdio>

int main(int argc, char **argv) {
    duet::log_to_stderr();
    auto cli = duet::peer::parse_cli(std::vector<std::string>(argv, argv + argc));
    if (!cli) {
        std::fprintf(stderr, "duet-peer: %s\nTry --help.\n", cli.message().c_str());
        return duet::peer::kExitUsage;
    }
    const duet::peer::PeerOptions &opts = cli.value();
    // libcamera (libcamerasrc, probed by `--video-source auto`) writes its own INFO and WARN
    // lines to stderr; a kiosk's log keeps to duet's unless the user sets the variable.
    g_setenv("LIBCAMERA_LOG_LEVELS", "*:ERROR", FALSE);
    // OpenAL (openalsrc/openalsink, tried by autoaudiosrc and autoaudiosink) prints "AL lib:
    // (EE)" lines for every device it cannot open; duet says itself what it could not use.
    // G_MESSAGES_DEBUG asks for everything, theirs too.
    if (!g_getenv("G_MESSAGES_DEBUG"))
        g_setenv("ALSOFT_LOGLEVEL", "0", FALSE);
    gst_init(nullptr, nullptr);
    duet::pipelines::init_debug_category();

    duet::peer::EventWriter events(stdout, opts.events);
    GMainLoop *loop = g_main_loop_new(nullptr, FALSE);
    int rc;
    {
        duet::peer::PeerApp app(opts,
                                std::make_unique<duet::peer::WsSignaler>(
                                    opts.server, opts.connect_timeout_s, opts.ca_file),
                                events);
        app.set_on_finished([loop] { g_main_loop_quit(loop); });
        if (app.start()) {
            auto stop = +[](gpointer data) -> gboolean {
                static_cast<duet::peer::PeerApp *>(data)->shutdown(duet::peer::kExitOk,
                                                                   "signal received");
                return G_SOURCE_CONTINUE;
            };
            guint sigint = g_unix_signal_add(SIGINT, stop, &app);
            guint sigterm = g_unix_signal_add(SIGTERM, stop, &app);
            if (!app.finished())
                g_main_loop_run(loop);
            g_source_remove(sigint);
            g_source_remove(sigterm);
        }
        rc = app.exit_code();
    }
    g_main_loop_unref(loop);
    gst_deinit();
    return rc;
}
