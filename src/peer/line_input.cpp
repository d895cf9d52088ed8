// SPDX-License-Identifier: MIT
#include "src/peer/line_input.h"

namespace duet::peer {
namespace {
// A command is a few dozen bytes, a chat line at most 2000 characters; anything far
// longer is not one.
constexpr gsize kMaxLine = 16 * 1024;
} // namespace

LineInput::LineInput(int fd, OnLine on_line) : on_line_(std::move(on_line)) {
    channel_ = g_io_channel_unix_new(fd);
    g_io_channel_set_close_on_unref(channel_, FALSE);
    g_io_channel_set_encoding(channel_, nullptr, nullptr); // bytes; JSON parsing checks UTF-8
    watch_ = g_io_add_watch(channel_, GIOCondition(G_IO_IN | G_IO_HUP | G_IO_ERR), on_readable,
                            this);
}

LineInput::~LineInput() {
    if (watch_)
        g_source_remove(watch_);
    g_io_channel_unref(channel_);
}

gboolean LineInput::on_readable(GIOChannel *ch, GIOCondition cond, gpointer data) {
    auto *self = static_cast<LineInput *>(data);
    for (;;) {
        gchar *line = nullptr;
        gsize len = 0;
        GIOStatus st = g_io_channel_read_line(ch, &line, &len, nullptr, nullptr);
        if (st == G_IO_STATUS_NORMAL && line) {
            std::string text(line, len);
            g_free(line);
            if (text.size() > kMaxLine)
                g_warning("ignoring a control line of %zu bytes", text.size());
            else
                self->on_line_(text);
            // One line per wake-up keeps the loop fair; the watch fires again if more wait.
            return G_SOURCE_CONTINUE;
        }
        g_free(line);
        if (st == G_IO_STATUS_AGAIN)
            return G_SOURCE_CONTINUE;
        if (st == G_IO_STATUS_EOF || (cond & (G_IO_HUP | G_IO_ERR))) {
            g_info("standard input closed: no more commands");
            self->watch_ = 0;
            return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
    }
}

} // namespace duet::peer
