// SPDX-License-Identifier: MIT
// The duet-peer application object: owns the pipeline, the call legs and the signaling.
#pragma once

#include "common/main_thread.h"
#include "pipelines/call_pipeline.h"
#include "pipelines/webrtc_session.h"
#include "src/peer/cli.h"
#include "src/peer/commands.h"
#include "src/peer/control_bridge.h"
#include "src/peer/events.h"
#include "src/peer/exit_codes.h"
#include "src/peer/leg_stats.h"
#include "src/peer/line_input.h"
#include "src/peer/pending_offers.h"
#include "src/peer/room_logic.h"
#include "src/peer/seat_store.h"
#include "src/peer/send_budget.h"
#include "src/peer/signaler.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace duet::peer {

// Runs on the thread-default main context. One object, one room, any number of remote
// peers (duet-server admits two people per room by default, so usually one leg).
class PeerApp : private Signaler::Listener,
                private pipelines::SessionListener,
                private pipelines::CallPipeline::Listener,
                private LegView {
  public:
    PeerApp(PeerOptions options, std::unique_ptr<Signaler> signaler, EventWriter &events);
    ~PeerApp() override;
    PeerApp(const PeerApp &) = delete;
    PeerApp &operator=(const PeerApp &) = delete;

    // Checks plugins, probes devices, starts the pipeline and the signaling. On false,
    // exit_code() and the log say why.
    bool start();
    // Leaves the room, closes the socket, finalises any recording, stops. Idempotent;
    // `finished()` turns true (and on_finished runs) once everything is done.
    void shutdown(int exit_code, const std::string &why);
    bool finished() const { return phase_ == Phase::Finished; }
    int exit_code() const { return exit_code_; }
    void set_on_finished(std::function<void()> fn) { on_finished_ = std::move(fn); }

    // For tests.
    Signaler &signaler() { return *signaler_; }
    std::size_t leg_count() const { return legs_.size(); }
    const std::string &id() const { return logic_.id(); }
    // The call with `peer`, or null (tests send raw data-channel messages through it).
    pipelines::WebrtcSession *session_for(const std::string &peer) {
        auto it = legs_.find(peer);
        return it == legs_.end() ? nullptr : it->second.session.get();
    }

  private:
    // --admit ask: a line from standard input (`admit ID`, `decline ID`, `chat TEXT`).
    void on_command(const std::string &line);
    // --control: a line from the local program (a command, or one for the browsers).
    void on_control_line(const std::string &line);
    void run_command(const Command &cmd, const char *source);
    // Sends chat `text` to every call; false when no call could take it.
    bool send_chat(const std::string &text);
    // Opens --control's socket or standard input/output; false (and the exit code) if not.
    bool open_control();

    struct Leg {
        std::unique_ptr<pipelines::WebrtcSession> session;
        bool announced_connected = false;
        LegStats stats; // for the periodic `stats` event
        // Answering an offer, the answer not sent yet: newer offers wait (see apply).
        bool answering = false;
        gint64 started_us = 0;
        Ref<GstPad> speaker_pad; // the speaker mixer's pad this call's audio plays through
    };

    // Signaler::Listener
    void on_signaler_open() override;
    void on_signaler_message(const proto::ServerMessage &msg) override;
    void on_signaler_lost(const std::string &why) override;
    void on_signaler_retry(unsigned attempt, unsigned delay_ms) override;
    void on_signaler_fatal(const std::string &why) override;
    void on_signaler_replaced(const std::string &why) override;
    // SessionListener
    void on_local_description(pipelines::WebrtcSession &s, const std::string &type,
                              const std::string &sdp) override;
    void on_local_candidate(pipelines::WebrtcSession &s, unsigned mline, const std::string &mid,
                            const std::string &candidate) override;
    void on_state(pipelines::WebrtcSession &s, pipelines::PeerState state) override;
    void on_first_frame(pipelines::WebrtcSession &s, pipelines::MediaKind kind) override;
    void on_latency(pipelines::WebrtcSession &s, int latency_ms, double jitter_ms) override;
    void on_failure(pipelines::WebrtcSession &s, const std::string &why) override;
    void on_video_rejected(pipelines::WebrtcSession &s, const std::string &codec) override;
    void on_send_report(pipelines::WebrtcSession &s) override;
    // Opus DTX on while every call's remote side asks for it (codecs.h opus_dtx_wanted).
    void update_audio_dtx();
    bool wants_recording(pipelines::WebrtcSession &s, pipelines::MediaKind kind) override;
    void on_record_pad(pipelines::WebrtcSession &s, pipelines::MediaKind kind,
                       GstPad *pad) override;
    // CallPipeline::Listener
    void on_pipeline_error(GstObject *src, const std::string &message,
                           const std::string &debug) override;
    void on_pipeline_warm() override;
    void on_echo_figures(const pipelines::room::EchoFigures &f) override;
    void on_echo_delay(int delay_ms, bool following) override;
    void on_play_pad(pipelines::WebrtcSession &s, GstPad *pad) override;
    void on_channel_text(pipelines::WebrtcSession &s, pipelines::DataChannelKind kind,
                         const std::string &text) override;
    // LegView
    LegStatus status(const std::string &peer) const override;
    std::vector<std::string> peers() const override;

    void apply(std::vector<Action> actions);
    bool open_leg(const std::string &peer, bool offerer, pipelines::LegPlan plan);
    bool open_offering_leg(const std::string &peer);
    // A fresh leg answering `sdp` (replacing any leg with `peer`), then `candidates`.
    void answer_offer(const std::string &peer, const std::string &sdp,
                      const std::vector<proto::CandidateData> &candidates);
    // Whether `peer`'s leg is still writing its answer (and not stuck at it).
    bool answering(const std::string &peer) const;
    // Time left before `peer`'s leg in construction counts as stuck, in ms (at least 1).
    unsigned ms_until_stuck(const std::string &peer) const;
    // 0 if a leg answering `peer` may start now, else how long until it may (its previous
    // leg is still answering, or our signaling budget is short).
    unsigned ms_until_leg_may_start(const std::string &peer);
    // A waiting offer's turn: answered unless `peer`'s leg is still answering.
    void on_offer_due(const std::string &peer);
    void answer_pending_now(const std::string &peer);
    // Answers `peer`'s waiting offer from the main loop, unless a leg is answering by then
    // (which calls this again when its answer is out or it fails).
    void answer_pending_soon(const std::string &peer);
    void close_leg(const std::string &peer);
    // Closes the leg later, if `session` is still the one serving `peer` then.
    void close_leg_soon(const pipelines::WebrtcSession &session, const std::string &why);
    void send_signal(const std::string &to, const proto::SignalData &data);
    // Joins now if the pipeline is warm (or we stopped waiting for it), else once it is.
    void join_when_ready();
    void emit_stats();
    void after_signaler_closed();
    void finish();

    PeerOptions options_;
    std::unique_ptr<Signaler> signaler_;
    EventWriter &events_;
    RoomLogic logic_;
    // Our own signaling stays within half of duet-server's default limit (50 messages/s, a
    // burst of 200; more closes the socket with 1008). A leg sends its answer and a handful of
    // candidates (4-5 on loopback, a dozen or two on a multi-homed box): answering a member who
    // offers every 22 ms sent ~80/s and got us thrown out. So a new answering leg starts only
    // when this budget has room for one.
    static constexpr double kSendPerSecond = 25;
    static constexpr double kSendBurst = 100;
    static constexpr double kMessagesPerLeg = 20;
    pipelines::ResolvedMedia media_;
    pipelines::EncoderChoices encoders_;
    std::unique_ptr<pipelines::CallPipeline> pipeline_;
    std::unique_ptr<SeatStore> seat_;
    std::string state_dir_;
    int echo_delay_saved_ms_ = -1; // what the state directory holds (or will: written on change)
    std::string saved_token_;
    std::map<std::string, Leg> legs_;
    SendBudget send_budget_; // what our signaling may still send (see peer_app.cpp)
    PendingOffers pending_offers_{[this](const std::string &peer) { on_offer_due(peer); }};
    std::function<void()> on_finished_;
    guint duration_timer_ = 0;
    guint finalize_timer_ = 0;
    guint stats_timer_ = 0;
    guint warm_wait_timer_ = 0;
    guint rejoin_timer_ = 0; // after an `unavailable` answer to our join
    guint trim_timer_ = 0; // hands freed memory back to the system after calls end
    // Where the app is, from start() to the end of shutdown(). Printed in debug logs.
    enum class Phase {
        Starting,       // start() has not reached the signaler yet
        Connecting,     // the signaler connects (or reconnects) to the server
        AwaitingWarmth, // the socket is open; the join waits for the pipeline to warm
        Joined,         // `join` sent: in the room, or about to be told
        ShuttingDown,   // leaving, closing the socket, ending legs and the recording
        Finished,
    };
    static const char *phase_name(Phase p);
    void enter(Phase next);
    bool leaving() const { return phase_ >= Phase::ShuttingDown; }
    Phase phase_ = Phase::Starting;
    // The warm-up took longer than kMaxWarmWaitMs: join without it.
    bool warm_wait_over_ = false;
    int exit_code_ = kExitOk;
    // Timers and deferred work run on its context, and not after we are gone.
    Lifeline lifeline_;
    std::unique_ptr<LineInput> commands_; // standard input, with --admit ask
    std::unique_ptr<ControlBridge> control_; // --control
    unsigned dropped_notes_ = 0; // bad data-channel messages logged (the first few are)
    // Logs that a message from `peer` was dropped: the first few, then now and then.
    void note_dropped(const std::string &peer, const std::string &why);
};

} // namespace duet::peer
