// SPDX-License-Identifier: MIT
// GObject glue for replay_stream_new: a pollable input that drains a prefix before its base.
#include "replay_stream.h"

#include <cstring>

namespace {

// ---- input: prefix, then the base connection's input ----

struct DuetReplayInput {
    GInputStream parent;
    GBytes *prefix; // what is left of it is prefix[off..]
    gsize off;
    GInputStream *base; // owned reference; pollable
};
struct DuetReplayInputClass {
    GInputStreamClass parent_class;
};

void replay_input_pollable_init(GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE(DuetReplayInput, duet_replay_input, G_TYPE_INPUT_STREAM,
                        G_IMPLEMENT_INTERFACE(G_TYPE_POLLABLE_INPUT_STREAM,
                                              replay_input_pollable_init))

#define DUET_REPLAY_INPUT(o)                                                                       \
    (G_TYPE_CHECK_INSTANCE_CAST((o), duet_replay_input_get_type(), DuetReplayInput))

gsize prefix_left(DuetReplayInput *in) {
    return in->prefix ? g_bytes_get_size(in->prefix) - in->off : 0;
}

gssize take_prefix(DuetReplayInput *in, void *buffer, gsize count) {
    gsize size = 0;
    auto *data = static_cast<const char *>(g_bytes_get_data(in->prefix, &size));
    gsize n = MIN(count, size - in->off);
    std::memcpy(buffer, data + in->off, n);
    in->off += n;
    if (in->off == size)
        g_clear_pointer(&in->prefix, g_bytes_unref);
    return gssize(n);
}

gssize replay_input_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                         GError **error) {
    auto *in = DUET_REPLAY_INPUT(stream);
    if (prefix_left(in))
        return take_prefix(in, buffer, count);
    return g_input_stream_read(in->base, buffer, count, cancellable, error);
}

gboolean replay_input_close(GInputStream *, GCancellable *, GError **) {
    return TRUE; // the I/O stream closes the base connection, both directions at once
}

void replay_input_dispose(GObject *object) {
    auto *in = DUET_REPLAY_INPUT(object);
    g_clear_pointer(&in->prefix, g_bytes_unref);
    g_clear_object(&in->base);
    G_OBJECT_CLASS(duet_replay_input_parent_class)->dispose(object);
}

void duet_replay_input_class_init(DuetReplayInputClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = replay_input_dispose;
    G_INPUT_STREAM_CLASS(klass)->read_fn = replay_input_read;
    G_INPUT_STREAM_CLASS(klass)->close_fn = replay_input_close;
}

void duet_replay_input_init(DuetReplayInput *) {}

gboolean replay_input_can_poll(GPollableInputStream *stream) {
    auto *base = DUET_REPLAY_INPUT(stream)->base;
    return G_IS_POLLABLE_INPUT_STREAM(base) &&
           g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(base));
}

gboolean replay_input_is_readable(GPollableInputStream *stream) {
    auto *in = DUET_REPLAY_INPUT(stream);
    return prefix_left(in) ||
           g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(in->base));
}

GSource *replay_input_create_source(GPollableInputStream *stream, GCancellable *cancellable) {
    auto *in = DUET_REPLAY_INPUT(stream);
    // With bytes in hand the source must fire at once; otherwise it follows the base.
    GSource *child =
        prefix_left(in)
            ? g_timeout_source_new(0)
            : g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(in->base), nullptr);
    GSource *source = g_pollable_source_new_full(stream, child, cancellable);
    g_source_unref(child);
    return source;
}

gssize replay_input_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
                                     GError **error) {
    auto *in = DUET_REPLAY_INPUT(stream);
    if (prefix_left(in))
        return take_prefix(in, buffer, count);
    return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in->base), buffer,
                                                    count, nullptr, error);
}

void replay_input_pollable_init(GPollableInputStreamInterface *iface) {
    iface->can_poll = replay_input_can_poll;
    iface->is_readable = replay_input_is_readable;
    iface->create_source = replay_input_create_source;
    iface->read_nonblocking = replay_input_read_nonblocking;
}

// ---- the I/O stream: replaying input, the base's own output ----

struct DuetReplayStream {
    GIOStream parent;
    GIOStream *base; // owned reference
    GInputStream *input;
};
struct DuetReplayStreamClass {
    GIOStreamClass parent_class;
};

G_DEFINE_TYPE(DuetReplayStream, duet_replay_stream, G_TYPE_IO_STREAM)

#define DUET_REPLAY_STREAM(o)                                                                      \
    (G_TYPE_CHECK_INSTANCE_CAST((o), duet_replay_stream_get_type(), DuetReplayStream))

GInputStream *replay_stream_get_input(GIOStream *stream) {
    return DUET_REPLAY_STREAM(stream)->input;
}

GOutputStream *replay_stream_get_output(GIOStream *stream) {
    return g_io_stream_get_output_stream(DUET_REPLAY_STREAM(stream)->base);
}

gboolean replay_stream_close(GIOStream *stream, GCancellable *cancellable, GError **error) {
    GIOStream *base = DUET_REPLAY_STREAM(stream)->base;
    return !base || g_io_stream_close(base, cancellable, error);
}

void replay_stream_dispose(GObject *object) {
    // GIOStream's dispose closes a stream left open, which needs the base: chain up first.
    G_OBJECT_CLASS(duet_replay_stream_parent_class)->dispose(object);
    auto *s = DUET_REPLAY_STREAM(object);
    g_clear_object(&s->input);
    g_clear_object(&s->base);
}

void duet_replay_stream_class_init(DuetReplayStreamClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = replay_stream_dispose;
    G_IO_STREAM_CLASS(klass)->get_input_stream = replay_stream_get_input;
    G_IO_STREAM_CLASS(klass)->get_output_stream = replay_stream_get_output;
    G_IO_STREAM_CLASS(klass)->close_fn = replay_stream_close;
}

void duet_replay_stream_init(DuetReplayStream *) {}

} // namespace

namespace duet::signaling {

GIOStream *replay_stream_new(GIOStream *base, const char *prefix, gsize len) {
    auto *in = DUET_REPLAY_INPUT(g_object_new(duet_replay_input_get_type(), nullptr));
    in->prefix = len ? g_bytes_new(prefix, len) : nullptr;
    in->base = G_INPUT_STREAM(g_object_ref(g_io_stream_get_input_stream(base)));
    auto *s = DUET_REPLAY_STREAM(g_object_new(duet_replay_stream_get_type(), nullptr));
    s->base = G_IO_STREAM(g_object_ref(base));
    s->input = G_INPUT_STREAM(in);
    return G_IO_STREAM(s);
}

} // namespace duet::signaling
