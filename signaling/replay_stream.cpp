// SPDX-License-Identifier: MIT
// GObject glue for replay_stream_new: a pollable input that drains a prefix before its base.
#include "replay_stream.h"

#include "common/ref.h"

#include <cstring>
#include <new>

using duet::Owned;
using duet::Ref;

namespace {

// ---- input: prefix, then the base connection's input ----

// GObject allocates the instance and zeroes it; the C++ members live in `m`, constructed in
// init, let go of in dispose (which may run more than once) and destroyed in finalize.
struct DuetReplayInput {
    GInputStream parent;
    struct Members {
        Owned<GBytes> prefix; // what is left of it is prefix[off..]
        gsize off = 0;
        Ref<GInputStream> base; // pollable
    } m;
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
    return in->m.prefix ? g_bytes_get_size(in->m.prefix.get()) - in->m.off : 0;
}

gssize take_prefix(DuetReplayInput *in, void *buffer, gsize count) {
    gsize size = 0;
    auto *data = static_cast<const char *>(g_bytes_get_data(in->m.prefix.get(), &size));
    gsize n = MIN(count, size - in->m.off);
    std::memcpy(buffer, data + in->m.off, n);
    in->m.off += n;
    if (in->m.off == size)
        in->m.prefix.reset();
    return gssize(n);
}

gssize replay_input_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                         GError **error) {
    auto *in = DUET_REPLAY_INPUT(stream);
    if (prefix_left(in))
        return take_prefix(in, buffer, count);
    return g_input_stream_read(in->m.base.get(), buffer, count, cancellable, error);
}

gboolean replay_input_close(GInputStream *, GCancellable *, GError **) {
    return TRUE; // the I/O stream closes the base connection, both directions at once
}

void replay_input_dispose(GObject *object) {
    auto *in = DUET_REPLAY_INPUT(object);
    in->m.prefix.reset();
    in->m.base.reset();
    G_OBJECT_CLASS(duet_replay_input_parent_class)->dispose(object);
}

void replay_input_finalize(GObject *object) {
    DUET_REPLAY_INPUT(object)->m.~Members();
    G_OBJECT_CLASS(duet_replay_input_parent_class)->finalize(object);
}

void duet_replay_input_class_init(DuetReplayInputClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = replay_input_dispose;
    G_OBJECT_CLASS(klass)->finalize = replay_input_finalize;
    G_INPUT_STREAM_CLASS(klass)->read_fn = replay_input_read;
    G_INPUT_STREAM_CLASS(klass)->close_fn = replay_input_close;
}

void duet_replay_input_init(DuetReplayInput *in) {
    new (&in->m) DuetReplayInput::Members();
}

gboolean replay_input_can_poll(GPollableInputStream *stream) {
    GInputStream *base = DUET_REPLAY_INPUT(stream)->m.base.get();
    return G_IS_POLLABLE_INPUT_STREAM(base) &&
           g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(base));
}

gboolean replay_input_is_readable(GPollableInputStream *stream) {
    auto *in = DUET_REPLAY_INPUT(stream);
    return prefix_left(in) ||
           g_pollable_input_stream_is_readable(G_POLLABLE_INPUT_STREAM(in->m.base.get()));
}

GSource *replay_input_create_source(GPollableInputStream *stream, GCancellable *cancellable) {
    auto *in = DUET_REPLAY_INPUT(stream);
    // With bytes in hand the source must fire at once; otherwise it follows the base.
    GSource *child = prefix_left(in) ? g_timeout_source_new(0)
                                     : g_pollable_input_stream_create_source(
                                           G_POLLABLE_INPUT_STREAM(in->m.base.get()), nullptr);
    GSource *source = g_pollable_source_new_full(stream, child, cancellable);
    g_source_unref(child);
    return source;
}

gssize replay_input_read_nonblocking(GPollableInputStream *stream, void *buffer, gsize count,
                                     GError **error) {
    auto *in = DUET_REPLAY_INPUT(stream);
    if (prefix_left(in))
        return take_prefix(in, buffer, count);
    return g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in->m.base.get()),
                                                    buffer, count, nullptr, error);
}

void replay_input_pollable_init(GPollableInputStreamInterface *iface) {
    iface->can_poll = replay_input_can_poll;
    iface->is_readable = replay_input_is_readable;
    iface->create_source = replay_input_create_source;
    iface->read_nonblocking = replay_input_read_nonblocking;
}

// ---- the I/O stream: replaying input, the base's own output ----

// Members as in DuetReplayInput.
struct DuetReplayStream {
    GIOStream parent;
    struct Members {
        Ref<GIOStream> base;
        Ref<GInputStream> input; // a DuetReplayInput
    } m;
};
struct DuetReplayStreamClass {
    GIOStreamClass parent_class;
};

G_DEFINE_TYPE(DuetReplayStream, duet_replay_stream, G_TYPE_IO_STREAM)

#define DUET_REPLAY_STREAM(o)                                                                      \
    (G_TYPE_CHECK_INSTANCE_CAST((o), duet_replay_stream_get_type(), DuetReplayStream))

GInputStream *replay_stream_get_input(GIOStream *stream) {
    return DUET_REPLAY_STREAM(stream)->m.input.get();
}

GOutputStream *replay_stream_get_output(GIOStream *stream) {
    return g_io_stream_get_output_stream(DUET_REPLAY_STREAM(stream)->m.base.get());
}

gboolean replay_stream_close(GIOStream *stream, GCancellable *cancellable, GError **error) {
    GIOStream *base = DUET_REPLAY_STREAM(stream)->m.base.get();
    return !base || g_io_stream_close(base, cancellable, error);
}

void replay_stream_dispose(GObject *object) {
    // GIOStream's dispose closes a stream left open, which needs the base: chain up first.
    G_OBJECT_CLASS(duet_replay_stream_parent_class)->dispose(object);
    auto *s = DUET_REPLAY_STREAM(object);
    s->m.input.reset();
    s->m.base.reset();
}

void replay_stream_finalize(GObject *object) {
    DUET_REPLAY_STREAM(object)->m.~Members();
    G_OBJECT_CLASS(duet_replay_stream_parent_class)->finalize(object);
}

void duet_replay_stream_class_init(DuetReplayStreamClass *klass) {
    G_OBJECT_CLASS(klass)->dispose = replay_stream_dispose;
    G_OBJECT_CLASS(klass)->finalize = replay_stream_finalize;
    G_IO_STREAM_CLASS(klass)->get_input_stream = replay_stream_get_input;
    G_IO_STREAM_CLASS(klass)->get_output_stream = replay_stream_get_output;
    G_IO_STREAM_CLASS(klass)->close_fn = replay_stream_close;
}

void duet_replay_stream_init(DuetReplayStream *s) {
    new (&s->m) DuetReplayStream::Members();
}

} // namespace

namespace duet::signaling {

GIOStream *replay_stream_new(GIOStream *base, const char *prefix, gsize len) {
    auto *in = DUET_REPLAY_INPUT(g_object_new(duet_replay_input_get_type(), nullptr));
    in->m.prefix.reset(len ? g_bytes_new(prefix, len) : nullptr);
    in->m.base = Ref<GInputStream>::ref(g_io_stream_get_input_stream(base));
    auto *s = DUET_REPLAY_STREAM(g_object_new(duet_replay_stream_get_type(), nullptr));
    s->m.base = Ref<GIOStream>::ref(base);
    s->m.input = Ref<GInputStream>::adopt(G_INPUT_STREAM(in));
    return G_IO_STREAM(s);
}

} // namespace duet::signaling
