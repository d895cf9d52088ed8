// SPDX-License-Identifier: MIT
// A GLib structured-log writer that formats like the default one but only uses stderr.
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
