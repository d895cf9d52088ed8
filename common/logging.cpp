// SPDX-License-Identifier: MIT
// A GLib structured-log writer that formats like the default one but only uses stderr
// (or the journal, when stderr is systemd's journal stream).
#include "common/logging.h"

#include <glib.h>

#include <cstdio>

namespace duet {

void log_to_stderr() {
    g_log_set_writer_func(
        [](GLogLevelFlags level, const GLogField *fields, gsize n, gpointer) -> GLogWriterOutput {
            const char *domain = nullptr;
            for (gsize i = 0; i < n; ++i)
                if (g_strcmp0(fields[i].key, "GLIB_DOMAIN") == 0)
                    domain = static_cast<const char *>(fields[i].value);
            // Honours G_MESSAGES_DEBUG exactly as the default writer does.
            if (g_log_writer_default_would_drop(level, domain))
                return G_LOG_WRITER_HANDLED;
            // Under systemd, stderr is the journal's stream: send the entry to journald
            // as itself, with its priority, so `journalctl -u` shows the message without
            // a second timestamp and "(duet-peer:PID): duet-WARNING **:" before it. If
            // journald does not take it, the line goes to stderr as below.
            if (g_log_writer_is_journald(fileno(stderr)) &&
                g_log_writer_journald(level, fields, n, nullptr) == G_LOG_WRITER_HANDLED)
                return G_LOG_WRITER_HANDLED;
            gchar *line = g_log_writer_format_fields(level, fields, n,
                                                     g_log_writer_supports_color(fileno(stderr)));
            std::fprintf(stderr, "%s\n", line);
            std::fflush(stderr);
            g_free(line);
            // GLib itself aborts after a fatal message; nothing more to do here.
            return G_LOG_WRITER_HANDLED;
        },
        nullptr, nullptr);
}

} // namespace duet
