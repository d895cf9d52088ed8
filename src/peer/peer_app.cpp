// SPDX-License-Identifier: MIT
// Wires room logic, signaling, call legs and the pipeline together; owns shutdown order.
#include "src/peer/peer_app.h"

#include "src/peer/chat.h"
#include "src/peer/commands.h"

#include "common/main_thread.h"
#include "src/peer/startup.h"

#include <algorithm>

namespace duet::peer {
namespace {

// How long exit waits for the WebM muxer to write its index after the last EOS. Seconds
// of buffered media flush in well under this; a wedged filesystem must not hang exit.
constexpr unsigned kFinalizeTimeoutMs = 3000;

// We take our seat in the room only once a call can start at once (see join_when_ready).
// The wait is for a one-off RSA key, 0.05-1.5 s; past this, something is wrong with the
// machine, and being seen in the room matters more than a fast first frame.
constexpr unsigned kMaxWarmWaitMs = 3000;




} // namespace

PeerApp::PeerApp(PeerOptions options, std::unique_ptr<Signaler> signaler, EventWriter &events)
    : options_(std::move(options)), signaler_(std::move(signaler)), events_(events),
      logic_(options_.room), send_budget_(kSendPerSecond, kSendBurst) {}

PeerApp::~PeerApp() {
    lifeline_.cut();
    for (guint *t :
         {&duration_timer_, &finalize_timer_, &stats_timer_, &warm_wait_timer_, &trim_timer_})
        lifeline_.remove(*t);
    pending_offers_.clear();
    control_.reset();
    // Legs reference the pipeline: they go first.
    legs_.clear();
    pipeline_.reset();
}

bool PeerApp::start() {
    // Before the media: a control socket we cannot open is a quick, clear failure.
    if (!open_control())
        return false;
    auto prepared = prepare(options_, this);
    if (!prepared) {
        g_warning("%s", prepared.message().c_str());
        events_.emit(events::error(prepared.error().code, prepared.message()));
        exit_code_ = kExitFailure;
        return false;
    }
    media_ = prepared->media;
    encoders_ = prepared->encoders;
    pipeline_ = std::move(prepared->pipeline);
    seat_ = std::move(prepared->seat);
    saved_token_ = prepared->saved_token;
    state_dir_ = prepared->state_dir;
    echo_delay_saved_ms_ = prepared->echo_delay_saved_ms;
    if (echo_delay_saved_ms_ >= 0) {
        g_message("echo canceller: starting from the %d ms an earlier run measured",
                  echo_delay_saved_ms_);
        events_.emit(
            events::echo_delay(echo_delay_saved_ms_, pipeline_->echo_delay_ms() > 0, true));
    }
    if (!prepared->room_key.empty())
        logic_.set_room_key(prepared->room_key);
    if (!saved_token_.empty())
        logic_.set_resume_token(saved_token_);
    logic_.set_ask_to_join(options_.admit_ask);
    logic_.set_name(options_.name);
    // With --control stdio, standard input is the control program's.
    if (options_.admit_ask && options_.control != PeerOptions::Control::Stdio)
        commands_ = std::make_unique<LineInput>(0, [this](const std::string &line) {
            on_command(line);
        });
    g_message("duet-peer: room '%s' on %s, sending %s video and %s audio, sink %s",
              options_.room.c_str(), options_.server.c_str(),
              !media_.camera                                             ? "test"
              : media_.camera_stack == pipelines::CameraStack::Libcamera ? "libcamera camera"
                                                                         : "camera",
              media_.room_sim ? "simulated-room" : media_.mic ? "microphone" : "test",
              pipelines::sink_mode_name(media_.sink));
    if (options_.duration_s > 0)
        duration_timer_ = lifeline_.add_timeout_seconds(
            guint(options_.duration_s),
            [](gpointer self) -> gboolean {
                auto *app = static_cast<PeerApp *>(self);
                app->duration_timer_ = 0;
                app->shutdown(kExitOk, "--duration reached");
                return G_SOURCE_REMOVE;
            },
            this);
    if (events_.enabled() && options_.stats_interval_ms > 0)
        stats_timer_ = lifeline_.add_timeout(
            guint(options_.stats_interval_ms),
            [](gpointer self) -> gboolean {
                static_cast<PeerApp *>(self)->emit_stats();
                return G_SOURCE_CONTINUE;
            },
            this);
    warm_wait_timer_ = lifeline_.add_timeout(
        kMaxWarmWaitMs,
        [](gpointer self) -> gboolean {
            auto *app = static_cast<PeerApp *>(self);
            app->warm_wait_timer_ = 0;
            app->warm_wait_over_ = true;
            g_warning("the media pipeline is not ready after %u ms; joining anyway",
                      kMaxWarmWaitMs);
            app->join_when_ready();
            return G_SOURCE_REMOVE;
        },
        this);
    // Connecting to the server overlaps the warm-up; only the join waits for it.
    enter(Phase::Connecting);
    signaler_->start(this);
    return true;
}

// ---- signaling ----

void PeerApp::on_signaler_open() {
    if (leaving())
        return;
    enter(Phase::AwaitingWarmth);
    join_when_ready();
}

// Whoever is in the room sees us arrive when we join, and the newcomer offers at once. The
// first offer of a process cannot be written before its DTLS key exists (dtlsdec makes an
// RSA-2048 key once per process), so a peer that joined straight after starting kept the
// other side looking at a "connecting" call for that long. Waiting here instead makes our
// arrival mean a call that starts now; the time from our start to the first frame is the
// same, since the call would have waited for the key anyway.
void PeerApp::join_when_ready() {
    if (phase_ != Phase::AwaitingWarmth || !pipeline_)
        return;
    if (!pipeline_->warm() && !warm_wait_over_) {
        g_debug("connected to the server; joining once the media pipeline is warm");
        return;
    }
    enter(Phase::Joined);
    proto::Join join = logic_.join_message();
    g_info("joining room '%s'%s", join.room.c_str(), join.resume ? " (resuming our seat)" : "");
    signaler_->send(proto::ClientMessage{join});
}

void PeerApp::on_command(const std::string &line) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos)
        return; // a blank line is not a mistake worth a warning
    auto cmd = parse_command(line);
    if (!cmd) {
        g_warning("control input: %s", cmd.message().c_str());
        return;
    }
    run_command(*cmd, "control input");
}

bool PeerApp::open_control() {
    auto on_line = [this](const std::string &line) { on_control_line(line); };
    switch (options_.control) {
    case PeerOptions::Control::None:
        return true;
    case PeerOptions::Control::Stdio:
        control_ = ControlBridge::stdio(on_line);
        break;
    case PeerOptions::Control::Unix: {
        auto bridge = ControlBridge::listen_unix(options_.control_path, on_line);
        if (!bridge) {
            g_warning("%s", bridge.message().c_str());
            events_.emit(events::error("control-socket", bridge.message()));
            exit_code_ = kExitFailure;
            return false;
        }
        control_ = std::move(bridge).value();
        break;
    }
    }
    g_message("control channel: bridging duet-control to %s", control_->description().c_str());
    return true;
}

void PeerApp::on_control_line(const std::string &line) {
    if (leaving())
        return;
    ControlLine cl = classify_control_line(line);
    switch (cl.kind) {
    case ControlLine::Kind::Blank:
        return;
    case ControlLine::Kind::Invalid:
        g_warning("control: dropped %s", cl.text.c_str());
        return;
    case ControlLine::Kind::Command:
        run_command(cl.command, "control");
        return;
    case ControlLine::Kind::PassThrough: {
        std::size_t sent = 0;
        for (auto &[peer, leg] : legs_)
            sent += leg.session->send_text(pipelines::DataChannelKind::Control, cl.text);
        if (!sent)
            g_info("control: no call has a duet-control channel; a line was not delivered");
        return;
    }
    }
}

void PeerApp::run_command(const Command &cmd, const char *source) {
    if (auto *chat = std::get_if<SendChat>(&cmd)) {
        if (!send_chat(chat->text))
            g_message("%s: no call to send the chat message to", source);
        return;
    }
    if (!logic_.joined()) {
        g_warning("%s: not in the room now; answer again once we are back", source);
        return;
    }
    signaler_->send(std::get<proto::ClientMessage>(cmd));
}

bool PeerApp::send_chat(const std::string &text) {
    std::string msg = chat_message_json(text, g_get_real_time() / 1000);
    std::size_t sent = 0;
    for (auto &[peer, leg] : legs_)
        sent += leg.session->send_text(pipelines::DataChannelKind::Chat, msg);
    return sent > 0;
}

void PeerApp::note_dropped(const std::string &peer, const std::string &why) {
    // A peer that floods us with junk must not flood the journal too.
    ++dropped_notes_;
    if (dropped_notes_ <= 20 || dropped_notes_ % 1000 == 0)
        g_message("dropped a data-channel message from %s: %s%s", peer.c_str(), why.c_str(),
                  dropped_notes_ == 20 ? " (further ones are logged once per 1000)" : "");
}

void PeerApp::on_channel_text(pipelines::WebrtcSession &s, pipelines::DataChannelKind kind,
                              const std::string &text) {
    auto it = legs_.find(s.peer_id());
    if (leaving() || it == legs_.end() || it->second.session.get() != &s)
        return;
    const std::string &peer = s.peer_id();
    if (kind == pipelines::DataChannelKind::Chat) {
        auto chat = parse_chat_message(text);
        if (!chat) {
            note_dropped(peer, "chat: " + chat.message());
            return;
        }
        events_.emit(events::chat(peer, logic_.name_of(peer), *chat));
        return;
    }
    if (!control_) {
        note_dropped(peer, "duet-control message, but we run without --control");
        return;
    }
    if (text.size() > kMaxControlLineBytes) {
        note_dropped(peer, "duet-control message of " + std::to_string(text.size()) +
                               " bytes (more than " + std::to_string(kMaxControlLineBytes) + ")");
        return;
    }
    if (!g_utf8_validate(text.data(), gssize(text.size()), nullptr)) {
        note_dropped(peer, "duet-control message that is not UTF-8");
        return;
    }
    control_->broadcast(control_message_line(peer, logic_.name_of(peer), text));
}

void PeerApp::on_signaler_message(const proto::ServerMessage &msg) {
    if (leaving())
        return;
    auto actions = logic_.on_message(msg, *this);
    // On disk before the `joined` event is printed: whoever reads the event (a supervisor
    // about to restart us, a test) can rely on the seat being kept.
    if (seat_ && logic_.joined() && logic_.resume_token() != saved_token_) {
        saved_token_ = logic_.resume_token();
        seat_->save(saved_token_);
    }
    apply(std::move(actions));
}

void PeerApp::on_signaler_lost(const std::string &why) {
    if (!leaving())
        enter(Phase::Connecting); // the next open joins
    // Media keeps flowing: webrtcbin does not need the server once connected.
    logic_.on_disconnected();
    g_message("signaling lost (%s); %zu call(s) continue while reconnecting", why.c_str(),
              legs_.size());
}

void PeerApp::on_signaler_retry(unsigned attempt, unsigned delay_ms) {
    events_.emit(events::reconnecting(attempt, delay_ms));
}

void PeerApp::on_signaler_fatal(const std::string &why) {
    events_.emit(events::error("signaling", why));
    shutdown(kExitFailure, why);
}

void PeerApp::on_signaler_replaced(const std::string &why) {
    // The token now belongs to the other connection; a restart of ours must not take the
    // seat back from it.
    if (seat_)
        seat_->clear();
    saved_token_.clear();
    events_.emit(events::error("replaced", why));
    shutdown(kExitFailure, why);
}

void PeerApp::apply(std::vector<Action> actions) {
    for (auto &a : actions) {
        if (leaving())
            return;
        if (auto *o = std::get_if<action::Offer>(&a)) {
            pending_offers_.drop(o->peer);
            close_leg(o->peer);
            open_offering_leg(o->peer);
        } else if (auto *an = std::get_if<action::Answer>(&a)) {
            // One leg in construction per peer: while one is answering, the newest offer
            // waits for it (an older waiting one is dropped), so a peer that offers faster
            // than we answer costs one leg at a time (issue 11).
            if (unsigned wait_ms = ms_until_leg_may_start(an->peer)) {
                g_debug("offer from %s while answering its previous one (or short of signaling "
                        "budget): it waits its turn",
                        an->peer.c_str());
                pending_offers_.hold(an->peer, an->sdp, wait_ms);
                continue;
            }
            pending_offers_.drop(an->peer);
            answer_offer(an->peer, an->sdp, {});
        } else if (auto *aa = std::get_if<action::ApplyAnswer>(&a)) {
            auto it = legs_.find(aa->peer);
            if (it != legs_.end()) {
                it->second.session->apply_remote_description("answer", aa->sdp);
                update_audio_dtx();
            }
        } else if (auto *c = std::get_if<action::AddCandidate>(&a)) {
            if (pending_offers_.add_candidate(c->peer, c->candidate))
                continue;
            auto it = legs_.find(c->peer);
            if (it != legs_.end())
                it->second.session->add_remote_candidate(c->candidate.mline_index,
                                                         c->candidate.candidate);
        } else if (auto *cl = std::get_if<action::Close>(&a)) {
            pending_offers_.drop(cl->peer);
            close_leg(cl->peer);
        } else if (auto *e = std::get_if<action::Emit>(&a)) {
            events_.emit(e->event);
        } else if (auto *s = std::get_if<action::Send>(&a)) {
            signaler_->send(s->msg);
        } else if (auto *r = std::get_if<action::Ring>(&a)) {
            if (pipeline_ && !pipeline_->ring(r->on) && r->on)
                g_message("someone asks to join (no speaker to ring on)");
        } else if (auto *rj = std::get_if<action::Rejoin>(&a)) {
            lifeline_.remove(rejoin_timer_);
            rejoin_timer_ = lifeline_.add_timeout(
                rj->delay_ms,
                [](gpointer self) -> gboolean {
                    auto *app = static_cast<PeerApp *>(self);
                    app->rejoin_timer_ = 0;
                    if (app->phase_ == Phase::Joined && !app->logic_.joined() &&
                        app->signaler_->is_open()) {
                        g_info("asking to join room again");
                        app->signaler_->send(proto::ClientMessage{app->logic_.join_message()});
                    }
                    return G_SOURCE_REMOVE;
                },
                this);
        } else if (auto *x = std::get_if<action::Exit>(&a)) {
            shutdown(x->code, x->message);
        }
    }
}

void PeerApp::on_pipeline_warm() {
    g_info("media pipeline warm (DTLS key made, call plugins loaded)");
    lifeline_.remove(warm_wait_timer_);
    join_when_ready();
}

void PeerApp::on_echo_delay(int delay_ms, bool following) {
    events_.emit(events::echo_delay(delay_ms, following));
    // Kept for the next run (without --echo-delay-ms, which is the kiosk's own figure).
    if (options_.media.echo_delay_ms < 0 && delay_ms != echo_delay_saved_ms_) {
        save_echo_delay(state_dir_, !options_.media.room_spec.empty(), delay_ms);
        echo_delay_saved_ms_ = delay_ms;
    }
}

void PeerApp::on_echo_figures(const pipelines::room::EchoFigures &f) {
    events::EchoReport r{media_.audio_processing, f.delay_ms,         f.erle_db,
                         f.echo_dbfs,             f.residual_dbfs,    f.near_kept_db,
                         f.double_talk_gain_db,   f.alone_gain_db,    f.echo_only_s,
                         f.double_talk_s};
    g_message("simulated room: ERLE %.1f dB (echo %.1f dBFS, sent %.1f dBFS); near end in "
              "double talk %+.1f dB against alone",
              f.erle_db, f.echo_dbfs, f.residual_dbfs, f.near_kept_db);
    events_.emit(events::echo_report(r));
}

void PeerApp::on_pipeline_error(GstObject *src, const std::string &message,
                                const std::string &debug) {
    g_debug("pipeline error details: %s", debug.c_str());
    if (!pipeline_ || !pipeline_->contains(src)) {
        // Posted by a leg that has been torn down since (e.g. a queue that found its
        // recorder link gone on the way out): nothing left to act on.
        g_debug("ignoring an error from a removed element: %s", message.c_str());
        return;
    }
    for (auto &[peer, leg] : legs_) {
        if (leg.session->owns(src)) {
            g_warning("call with %s: %s (from %s)", peer.c_str(), message.c_str(),
                      GST_OBJECT_NAME(src));
            if (!leaving()) {
                events_.emit(events::error("session-failed", message, peer));
                close_leg_soon(*leg.session, message);
            }
            return;
        }
    }
    if (leaving())
        return;
    // The capture/encode part or the recorder: without them there is no call to hold.
    std::string text =
        std::string("media pipeline failed in ") + GST_OBJECT_NAME(src) + ": " + message;
    events_.emit(events::error("media", text));
    shutdown(kExitFailure, text);
}

// ---- shutdown: leave, close the socket, end the legs, finalise the file, stop ----

void PeerApp::shutdown(int exit_code, const std::string &why) {
    if (leaving())
        return;
    bool signaling_started = phase_ != Phase::Starting;
    enter(Phase::ShuttingDown);
    exit_code_ = exit_code;
    if (!why.empty()) {
        if (exit_code == kExitOk)
            g_message("leaving: %s", why.c_str());
        else
            g_warning("leaving: %s", why.c_str());
    }
    if (!signaling_started) {
        after_signaler_closed();
        return;
    }
    // `leave` tells the other side at once (peer-left reason "left"), and the close
    // handshake after it lets the server free our seat without a resume grace period.
    if (logic_.joined()) {
        signaler_->send(proto::ClientMessage{proto::Leave{}});
        if (seat_)
            seat_->clear(); // the seat is given up; nothing to resume next time
    }
    signaler_->close(lifeline_.guard([this] { after_signaler_closed(); }));
}

void PeerApp::after_signaler_closed() {
    pending_offers_.clear();
    // Ending the legs detaches them from the recorder, which ends its tracks.
    while (!legs_.empty())
        close_leg(legs_.begin()->first);
    auto *rec = pipeline_ ? pipeline_->recorder() : nullptr;
    if (!rec) {
        finish();
        return;
    }
    rec->finish(lifeline_.guard([this] { finish(); }));
    finalize_timer_ = lifeline_.add_timeout(
        kFinalizeTimeoutMs,
        [](gpointer self) -> gboolean {
            auto *app = static_cast<PeerApp *>(self);
            app->finalize_timer_ = 0;
            g_warning("the recording was not finalised within %u ms; it may lack its index",
                      kFinalizeTimeoutMs);
            app->finish();
            return G_SOURCE_REMOVE;
        },
        this);
}

void PeerApp::finish() {
    if (phase_ == Phase::Finished)
        return;
    lifeline_.remove(stats_timer_);
    lifeline_.remove(finalize_timer_);
    legs_.clear();
    pipeline_.reset();
    enter(Phase::Finished);
    if (on_finished_)
        on_finished_();
}

const char *PeerApp::phase_name(Phase p) {
    switch (p) {
    case Phase::Starting:
        return "starting";
    case Phase::Connecting:
        return "connecting";
    case Phase::AwaitingWarmth:
        return "awaiting-warmth";
    case Phase::Joined:
        return "joined";
    case Phase::ShuttingDown:
        return "shutting-down";
    case Phase::Finished:
        return "finished";
    }
    return "?";
}

void PeerApp::enter(Phase next) {
    if (next == phase_)
        return;
    g_debug("peer: %s -> %s", phase_name(phase_), phase_name(next));
    phase_ = next;
}

} // namespace duet::peer
