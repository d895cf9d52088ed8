// SPDX-License-Identifier: MIT
// A leg's data channels: `duet-chat` (negotiated, id 0) on every leg, our `duet-control`
// (in-band) with --control, and whatever channels the remote side opens.
//
// Threads: a channel's signals (on-open, on-message-string, on-close, on-error) and
// webrtcbin's on-data-channel are emitted on webrtcbin's own task thread, one after the
// other. Each handler copies what it needs and posts it to the main thread through the
// session's lifeline (dropped once the session is gone), the way the other webrtcbin
// signals reach us. A channel the remote opens gets its handlers inside on-data-channel
// itself, before webrtcbin runs its next task, so its first message cannot be missed.
#include "pipelines/webrtc_session.h"

#include "common/gst_ref.h"
#include "pipelines/debug.h"
#include "pipelines/session_hop.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <cstring>

#define GST_CAT_DEFAULT duet_debug

namespace duet::pipelines {

namespace {

// Messages held for a channel still connecting, and what webrtcbin may have queued for a
// remote that does not read: past either, a message is dropped with a warning.
constexpr std::size_t kMaxHeldMessages = 64;
constexpr guint64 kMaxBufferedBytes = 1024 * 1024;

const char *label_of(DataChannelKind kind) {
    return kind == DataChannelKind::Chat ? kChatChannelLabel : kControlChannelLabel;
}

// Handler data: how to reach the session, and which kind of channel this is.
struct ChannelHop {
    Hop hop;
    DataChannelKind kind;
};

} // namespace

// Any thread. Connects the handlers that post a channel's news to the session.
std::vector<gulong> WebrtcSession::watch_channel(GObject *ch, DataChannelKind kind,
                                                 const Hop &hop) {
    GClosureNotify free_hop = [](gpointer data, GClosure *) {
        delete static_cast<ChannelHop *>(data);
    };
    auto copy = [&] { return new ChannelHop{hop, kind}; };
    std::vector<gulong> ids;
    ids.push_back(g_signal_connect_data(ch, "on-open", G_CALLBACK(+[](GObject *c, ChannelHop *h) {
                                            run_on_main(h->hop, [c](WebrtcSession &s) {
                                                s.on_channel_state(c, true, "");
                                            });
                                        }),
                                        copy(), free_hop, GConnectFlags(0)));
    ids.push_back(g_signal_connect_data(ch, "on-close", G_CALLBACK(+[](GObject *c, ChannelHop *h) {
                                            run_on_main(h->hop, [c](WebrtcSession &s) {
                                                s.on_channel_state(c, false, "");
                                            });
                                        }),
                                        copy(), free_hop, GConnectFlags(0)));
    ids.push_back(g_signal_connect_data(
        ch, "on-error", G_CALLBACK(+[](GObject *c, GError *e, ChannelHop *h) {
            std::string why = e && e->message ? e->message : "unknown error";
            run_on_main(h->hop, [c, why](WebrtcSession &s) { s.on_channel_state(c, false, why); });
        }),
        copy(), free_hop, GConnectFlags(0)));
    ids.push_back(g_signal_connect_data(
        ch, "on-message-string", G_CALLBACK(+[](GObject *, gchar *str, ChannelHop *h) {
            std::size_t len = str ? std::strlen(str) : 0;
            DataChannelKind kind = h->kind;
            if (len > kMaxChannelMessageBytes) {
                run_on_main(h->hop, [kind, len](WebrtcSession &s) {
                    g_message("peer %s: dropped a %zu-byte message on %s (more than %zu)",
                              s.peer_id().c_str(), len, label_of(kind),
                              kMaxChannelMessageBytes);
                });
                return;
            }
            std::string text(str ? str : "", len);
            run_on_main(h->hop, [kind, text](WebrtcSession &s) {
                s.listener_->on_channel_text(s, kind, text);
            });
        }),
        copy(), free_hop, GConnectFlags(0)));
    ids.push_back(g_signal_connect_data(
        ch, "on-message-data", G_CALLBACK(+[](GObject *, GBytes *data, ChannelHop *h) {
            gsize len = data ? g_bytes_get_size(data) : 0;
            DataChannelKind kind = h->kind;
            run_on_main(h->hop, [kind, len](WebrtcSession &s) {
                g_message("peer %s: ignored a binary message of %zu bytes on %s (text only)",
                          s.peer_id().c_str(), std::size_t(len), label_of(kind));
            });
        }),
        copy(), free_hop, GConnectFlags(0)));
    return ids;
}

// With webrtcbin in the pipeline and before any offer or remote offer: the channels are
// then part of the first negotiation.
void WebrtcSession::create_data_channels() {
    open_data_channel(DataChannelKind::Chat, true);
    if (config_.control_channel)
        open_data_channel(DataChannelKind::Control, false);
    GClosureNotify free_hop = [](gpointer data, GClosure *) { delete static_cast<Hop *>(data); };
    handlers_.push_back(g_signal_connect_data(
        webrtc_, "on-data-channel", G_CALLBACK(+[](GstElement *, GObject *ch, Hop *h) {
            // webrtcbin's task thread. Handlers now, before its next task (a message).
            Owned<gchar> label;
            g_object_get(ch, "label", label.out(), nullptr);
            bool control = label && g_str_equal(label.get(), kControlChannelLabel);
            std::vector<gulong> ids;
            if (control)
                ids = watch_channel(ch, DataChannelKind::Control, *h);
            GstWebRTCDataChannelState st = GST_WEBRTC_DATA_CHANNEL_STATE_CONNECTING;
            g_object_get(ch, "ready-state", &st, nullptr);
            bool open = st == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
            std::string name = label ? label.get() : "";
            auto held = Ref<GObject>::ref(ch);
            run_on_main(*h, [held, ids, control, open, name](WebrtcSession &s) {
                s.adopt_remote_channel(held, ids, control, open, name);
            });
        }),
        new Hop{lifeline_.handle(), this}, free_hop, GConnectFlags(0)));
}

void WebrtcSession::open_data_channel(DataChannelKind kind, bool negotiated) {
    Owned<GstStructure> options(
        negotiated ? gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN,
                                       TRUE, "negotiated", G_TYPE_BOOLEAN, TRUE, "id", G_TYPE_INT,
                                       0, nullptr)
                   : gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN,
                                       TRUE, nullptr));
    GstWebRTCDataChannel *ch = nullptr;
    g_signal_emit_by_name(webrtc_, "create-data-channel", label_of(kind), options.get(), &ch);
    if (!ch) {
        g_warning("peer %s: webrtcbin did not open the %s channel (is the sctp plugin "
                  "installed?); the call goes on without it",
                  config_.peer_id.c_str(), label_of(kind));
        return;
    }
    auto c = std::make_unique<DataChannel>();
    c->channel = Ref<GObject>::adopt(G_OBJECT(ch)); // create-data-channel returns a reference
    c->kind = kind;
    c->ours = true;
    c->handlers = watch_channel(G_OBJECT(ch), kind, Hop{lifeline_.handle(), this});
    channels_.push_back(std::move(c));
}

void WebrtcSession::adopt_remote_channel(Ref<GObject> channel, std::vector<gulong> handlers,
                                         bool control, bool open, const std::string &label) {
    auto c = std::make_unique<DataChannel>();
    c->channel = std::move(channel);
    c->ours = false;
    c->handlers = std::move(handlers);
    if (control) {
        c->kind = DataChannelKind::Control;
        GST_INFO("peer %s opened a %s channel", config_.peer_id.c_str(), label.c_str());
    } else {
        // Kept (and closed with the session) but not listened to.
        g_message("peer %s opened a data channel '%s' we do not use; ignoring it",
                  config_.peer_id.c_str(), label.c_str());
    }
    if (open)
        c->state = DataChannel::State::Open;
    channels_.push_back(std::move(c));
}

WebrtcSession::DataChannel *WebrtcSession::find_channel(GObject *channel) {
    for (auto &c : channels_)
        if (c->channel.get() == channel)
            return c.get();
    return nullptr;
}

void WebrtcSession::on_channel_state(GObject *channel, bool open, const std::string &error) {
    DataChannel *c = find_channel(channel);
    if (!c || !c->kind)
        return;
    const char *label = label_of(*c->kind);
    if (open) {
        if (c->state == DataChannel::State::Open)
            return;
        c->state = DataChannel::State::Open;
        g_info("peer %s: %s channel open%s", config_.peer_id.c_str(), label,
               c->ours ? "" : " (theirs)");
        auto held = std::move(c->held);
        c->held.clear();
        for (const auto &text : held)
            push_text(*c, text);
        return;
    }
    if (c->state == DataChannel::State::Closed)
        return;
    c->state = DataChannel::State::Closed;
    if (!error.empty())
        g_message("peer %s: %s channel failed: %s", config_.peer_id.c_str(), label,
                  error.c_str());
    else
        g_info("peer %s: %s channel closed", config_.peer_id.c_str(), label);
    if (!c->held.empty())
        g_message("peer %s: %zu message(s) for %s not sent (the channel closed)",
                  config_.peer_id.c_str(), c->held.size(), label);
    c->held.clear();
}

// Ours first: with both sides running --control, each side's lines travel on its own
// channel (the other side bridges it because it reads every duet-control channel).
WebrtcSession::DataChannel *WebrtcSession::sending_channel(DataChannelKind kind) {
    DataChannel *best = nullptr;
    for (auto &c : channels_) {
        if (c->kind != kind || c->state == DataChannel::State::Closed)
            continue;
        if (c->ours)
            return c.get();
        if (!best || (c->state == DataChannel::State::Open &&
                      best->state != DataChannel::State::Open))
            best = c.get();
    }
    return best;
}

bool WebrtcSession::channel_open(DataChannelKind kind) const {
    for (const auto &c : channels_)
        if (c->kind == kind && c->state == DataChannel::State::Open)
            return true;
    return false;
}

bool WebrtcSession::send_text(DataChannelKind kind, const std::string &text) {
    DataChannel *c = sending_channel(kind);
    if (!c)
        return false;
    if (c->state == DataChannel::State::Connecting) {
        if (c->held.size() >= kMaxHeldMessages) {
            g_message("peer %s: %s channel not open yet and %zu messages wait; dropping one",
                      config_.peer_id.c_str(), label_of(kind), c->held.size());
            return false;
        }
        c->held.push_back(text);
        return true;
    }
    return push_text(*c, text);
}

bool WebrtcSession::push_text(DataChannel &c, const std::string &text) {
    auto *ch = GST_WEBRTC_DATA_CHANNEL(c.channel.get());
    guint64 buffered = 0;
    g_object_get(ch, "buffered-amount", &buffered, nullptr);
    if (buffered > kMaxBufferedBytes) {
        g_message("peer %s: %" G_GUINT64_FORMAT " bytes wait on %s already; dropping a message",
                  config_.peer_id.c_str(), buffered, label_of(*c.kind));
        return false;
    }
    GErr err;
    if (!gst_webrtc_data_channel_send_string_full(ch, text.c_str(), err.out())) {
        g_message("peer %s: could not send on %s: %s", config_.peer_id.c_str(),
                  label_of(*c.kind), err.message());
        return false;
    }
    return true;
}

// Before the bin goes: no handler may post for a channel we no longer hold.
void WebrtcSession::release_data_channels() {
    for (auto &c : channels_)
        for (gulong id : c->handlers)
            g_signal_handler_disconnect(c->channel.get(), id);
    channels_.clear();
}

} // namespace duet::pipelines
