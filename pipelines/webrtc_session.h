// SPDX-License-Identifier: MIT
// One call leg: a webrtcbin (in its own bin) fed from the shared encoders, for one remote peer.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"
#include "common/result.h"
#include "pipelines/codec_choice.h"
#include "pipelines/latency_follower.h"
#include "pipelines/congestion.h"
#include "pipelines/media_options.h"
#include "pipelines/receive_branch.h"
#include "pipelines/sdp_util.h"
#include "pipelines/webrtcbin_setup.h"

#include <gio/gio.h>
#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace duet::pipelines {

// webrtcbin's RTCPeerConnectionState, printable.
enum class PeerState { New, Connecting, Connected, Disconnected, Failed, Closed };
const char *peer_state_name(PeerState s);

// Where offer/answer stands. An offerer goes Idle, CreatingOffer, SettingLocal,
// AwaitingAnswer, SettingRemote, Stable; an answerer Idle, SettingRemote, WaitingForMedia
// (see on_remote_set), CreatingAnswer, SettingLocal, Stable. Failed is final.
enum class Negotiation {
    Idle,
    CreatingOffer,
    SettingLocal,
    AwaitingAnswer,
    SettingRemote,
    WaitingForMedia,
    CreatingAnswer,
    Stable,
    Failed
};
const char *negotiation_name(Negotiation n);

// The data channels of a leg: `duet-chat` (negotiated, id 0, on every leg) and
// `duet-control` (in-band; ours with --control, or one the remote side opened).
enum class DataChannelKind { Chat, Control };
inline constexpr const char *kChatChannelLabel = "duet-chat";
inline constexpr const char *kControlChannelLabel = "duet-control";
// Text messages longer than this are dropped on arrival (the chat and control rules allow
// far less; SCTP's own limit is 64 KiB).
inline constexpr std::size_t kMaxChannelMessageBytes = 64 * 1024;

struct SessionConfig {
    std::string peer_id;
    bool offerer = false;
    // Codecs and payload types (codec_choice.h): from the offer when answering.
    LegPlan plan;
    // Picture size, rate, bitrate and --video-codec for this leg's encoder.
    MediaOptions send;
    int latency_ms = kDefaultLatencyMs; // ms, or kLatencyAuto: follow the jitter
    std::string stun_server;               // stun://host:port, or empty
    std::vector<std::string> turn_servers; // turn(s)://user:pass@host:port
    bool relay_only = false;               // ICE transport policy "relay"
    bool control_channel = false;          // open a `duet-control` channel (--control)
    ResolvedMedia media;
};

class WebrtcSession;
struct Hop; // session_hop.h

// What a leg's bandwidth adaptation is doing with its video (the `stats` event).
struct SendFigures {
    int target_kbps = 0; // the encoder's bitrate now
    int sent_kbps = 0;   // video actually sent over the last second or so (0: not yet)
    double loss = 0;     // share of our video the receiver reports lost (smoothed)
    double rtt_ms = -1;  // round trip from the receiver's reports (-1: none yet)
    int width = 0, height = 0, fps = 0; // the picture sent
    // Transport-wide feedback about what we send: how many came (0: none), our video's
    // rate as it arrived, our own queue (one-way delay above its lowest, -1: not known),
    // and the delay trend's name (delay_trend_name).
    guint64 twcc = 0;
    int acked_kbps = 0;
    double queue_ms = -1;
    const char *delay_trend = "normal";
    int fec_percent = 0;                // video ULPFEC overhead (0: none, or FEC not negotiated)
};

// Everything a session reports. Always called on the main thread, never from inside a
// GStreamer call. The session may still be running code after a callback returns, so a
// listener that wants the session gone defers that (PeerApp::close_leg_soon).
class SessionListener {
  public:
    virtual ~SessionListener() = default;
    virtual void on_local_description(WebrtcSession &s, const std::string &type,
                                      const std::string &sdp) = 0;
    virtual void on_local_candidate(WebrtcSession &s, unsigned mline, const std::string &mid,
                                    const std::string &candidate) = 0;
    virtual void on_state(WebrtcSession &s, PeerState state) = 0;
    virtual void on_first_frame(WebrtcSession &s, MediaKind kind) = 0;
    virtual void on_failure(WebrtcSession &s, const std::string &why) = 0;
    // With `--latency-ms auto`: the receive latency changed, following this jitter.
    virtual void on_latency(WebrtcSession &, int /*latency_ms*/, double /*jitter_ms*/) {}
    // The answer to our offer rejected our video (no codec in common); audio goes on.
    virtual void on_video_rejected(WebrtcSession &, const std::string &) {}
    // A new receiver report about what we send changed send_figures() (loss, round trip).
    virtual void on_send_report(WebrtcSession &) {}
    // Asked when a remote stream appears: should it also go to the recorder?
    virtual bool wants_recording(WebrtcSession &, MediaKind) { return false; }
    // The depayloaded stream's pad, when wants_recording said yes.
    virtual void on_record_pad(WebrtcSession &, MediaKind, GstPad *) {}
    // Decoded remote audio for the speaker (media.speaker). The pad goes with the session.
    virtual void on_play_pad(WebrtcSession &, GstPad *) {}
    // A text message on one of the leg's data channels (any `duet-control` channel counts,
    // ours or the remote's). Not validated beyond kMaxChannelMessageBytes.
    virtual void on_channel_text(WebrtcSession &, DataChannelKind, const std::string &) {}
};

// Lives on the main thread. Work that webrtcbin reports from its own threads (promise
// replies, pad-added, ICE candidates, state changes) is posted to the main context and
// dropped if the session has gone by then.
class WebrtcSession {
  public:
    struct Sources {
        GstElement *video_tee; // raw frames: each leg has its own encoder
        GstElement *audio_tee; // encoded Opus
    };

    static Result<std::unique_ptr<WebrtcSession>>
    create(GstBin *pipeline, Sources sources, SessionConfig config, SessionListener *listener);
    // Unlinks from the shared encoders first, then stops and removes the bin.
    ~WebrtcSession();
    WebrtcSession(const WebrtcSession &) = delete;
    WebrtcSession &operator=(const WebrtcSession &) = delete;

    // An offer (we answer it) or the answer to our offer. Bad SDP is reported through
    // on_failure, never asserted on.
    void apply_remote_description(const std::string &type, const std::string &sdp);
    // Held until the remote description is set; mDNS and empty candidates are skipped.
    void add_remote_candidate(unsigned mline, const std::string &candidate);

    const std::string &peer_id() const { return config_.peer_id; }
    bool offerer() const { return config_.offerer; }
    PeerState state() const { return state_; }
    // The video codec and encoder this leg sends with ("" when it sends no video).
    std::string video_codec() const;
    std::string video_encoder() const;
    // Whether both ends agreed on RED/ULPFEC for the video (known once negotiated).
    bool video_fec() const { return video_fec_; }
    // Packets of the remote's video rebuilt from its ULPFEC so far (webrtcbin's
    // rtpulpfecdec); 0 without FEC.
    unsigned fec_recovered() const;
    // Whether the remote side's Opus format parameters ask for DTX (usedtx=1).
    bool remote_wants_dtx() const { return remote_dtx_; }
    // Asks this leg's video encoder for a keyframe now (its peer just connected).
    void request_keyframe();
    // True if `obj` is this session's bin or anything inside it (for bus errors).
    bool owns(GstObject *obj) const;
    // Depayloaded pads handed to the recorder (to detach before destruction).
    const std::vector<GstPad *> &record_pads() const { return record_pads_; }
    // Bus messages from this session's elements, e.g. for a pipeline .dot dump name.
    GstElement *bin() const { return bin_.get(); }
    // Decoded video frames and audio buffers from this peer so far (the `stats` event).
    const DecodeCounters &counters() const { return *counters_; }
    // The video this leg sends and what adapts it (all zero when it sends no video).
    const SendFigures &send_figures() const { return figures_; }
    // Sends `text` on this leg's channel of `kind` (control: ours, else one the remote
    // opened). Held (a few) until a channel that is still connecting opens; false when
    // there is no such channel or it is closed, full or refused the message.
    bool send_text(DataChannelKind kind, const std::string &text);
    // Whether a channel of `kind` is open now.
    bool channel_open(DataChannelKind kind) const;

  private:
    explicit WebrtcSession(SessionConfig config, SessionListener *listener);
    Result<void> build(GstBin *pipeline, Sources sources);
    Result<void> make_webrtcbin();
    // `twcc_ext`: the transport-wide congestion control extension's id, 0 for none.
    Result<void> link_send_branch(const std::string &description, const std::string &caps,
                                  const char *ghost_name, unsigned twcc_ext);
    Result<void> link_tees(Sources sources);
    void guard_serialized_queries(GstPad *leg_sink);
    void connect_signals();
    void step(Negotiation next);
    void stop_sending_video();
    bool remote_description_set() const;
    bool local_description_sent() const;

    void create_offer();
    void offer_when_flowing();
    void create_answer();
    void set_local_from_reply(GstPromise *p, const char *field);
    void flush_remote_candidates();
    void flush_local_candidates();
    void handle_local_candidate(unsigned mline, const std::string &candidate);
    void handle_new_pad(GstPad *pad, gulong block_probe);
    void watch_first_frame(const ReceiveBranch &branch);
    void expose_for_recording(const ReceiveBranch &branch);
    void expose_for_playback(const ReceiveBranch &branch);
    void resolve_mdns(unsigned mline, const std::string &candidate);
    void on_mdns_resolved(unsigned mline, const std::string &candidate, const std::string &addr);
    void handle_state_change();
    // A payloader's first packet reached webrtcbin; the answer waits for both (on_remote_set).
    void on_send_flowing();
    void fail(const std::string &why);

    // Data channels (webrtc_session_data.cpp).
    struct DataChannel {
        enum class State { Connecting, Open, Closed };
        Ref<GObject> channel;                // a GstWebRTCDataChannel
        std::optional<DataChannelKind> kind; // none: a channel we do not use (unknown label)
        bool ours = false;
        State state = State::Connecting;
        std::vector<gulong> handlers;
        std::vector<std::string> held; // sent once open
    };
    void create_data_channels();
    void open_data_channel(DataChannelKind kind, bool negotiated);
    static std::vector<gulong> watch_channel(GObject *channel, DataChannelKind kind,
                                             const Hop &hop);
    void adopt_remote_channel(Ref<GObject> channel, std::vector<gulong> handlers, bool control,
                              bool open, const std::string &label);
    void on_channel_state(GObject *channel, bool open, const std::string &error);
    DataChannel *find_channel(GObject *channel);
    DataChannel *sending_channel(DataChannelKind kind);
    bool push_text(DataChannel &c, const std::string &text);
    void release_data_channels();

    // Bandwidth adaptation (webrtc_session_bwe.cpp).
    void find_video_controls(GstElement *branch);
    void start_bwe();
    void poll_bwe();
    void on_bwe_stats(GstPromise *p);
    void apply_bwe(gint64 now_us, BweAction action);
    void watch_rtcp();
    struct RtcpBlock {
        guint32 ssrc;
        double fraction_lost;
        guint32 highest_seq;
        double rtt_ms;
    };
    void on_rtcp(std::size_t n, gint64 at_us, const std::function<RtcpBlock(std::size_t)> &block);
    void on_twcc(gint64 at_us, const std::vector<TwccPacket> &packets);

    // Runs `fn` on the main thread with the replied promise, if the session still exists.
    GstPromise *promise_to_main(void (WebrtcSession::*fn)(GstPromise *));
    // Emits a webrtcbin action signal that replies through a promise.
    void emit_with_promise(const char *signal, gpointer arg,
                           void (WebrtcSession::*fn)(GstPromise *));
    void on_offer_created(GstPromise *p);
    void on_answer_created(GstPromise *p);
    void on_local_set(GstPromise *p);
    void on_remote_set(GstPromise *p);
    bool promise_ok(GstPromise *p, const char *what);

    SessionConfig config_;
    SessionListener *listener_;
    GstBin *pipeline_ = nullptr;   // borrowed: the CallPipeline's, which outlives us
    Ref<GstElement> bin_;          // child of pipeline_
    GstElement *webrtc_ = nullptr; // borrowed from bin_
    struct TeeLink {
        GstElement *tee;     // borrowed
        Ref<GstPad> tee_pad; // request pad
        GstPad *ghost;       // borrowed, on bin_
    };
    std::vector<TeeLink> tee_links_;
    // Set once webrtcbin has connected our input streams; read by the tee pads' query probes.
    std::shared_ptr<std::atomic<bool>> send_open_ = std::make_shared<std::atomic<bool>>(false);
    std::vector<GstPad *> record_pads_; // borrowed ghost pads on bin_
    std::vector<gulong> handlers_;

    PeerState state_ = PeerState::New;
    Negotiation step_ = Negotiation::Idle;
    int send_pending_ = 0;             // send branches whose first packet has not reached webrtcbin
    GstPad *video_send_src_ = nullptr; // borrowed: the video payload branch's src, in bin_
    SdpAuthor remote_author_ = SdpAuthor::Unknown;
    bool video_rejected_ = false; // by the answer to our offer
    bool offer_wanted_ = false;   // negotiation-needed came before our first packets
    bool video_fec_ = false;      // RED/ULPFEC negotiated for the video
    bool remote_dtx_ = false;     // the remote's Opus fmtp says usedtx=1
    // What our receive jitter buffers NACK (webrtcbin_setup.h); shared with their probes.
    std::shared_ptr<VideoPayloadTypes> video_pts_ = std::make_shared<VideoPayloadTypes>();
    Ref<GCancellable> resolving_; // mDNS lookups in flight; cancelled with the session
    std::string local_type_;
    std::string pending_local_sdp_; // sent once set-local-description succeeded
    std::vector<std::string> local_mids_;
    std::vector<std::pair<unsigned, std::string>> pending_remote_;
    std::vector<std::pair<unsigned, std::string>> pending_local_;
    unsigned mdns_skipped_ = 0;
    // Shared with the decoder probes, which may outlive the session by a buffer or two.
    std::shared_ptr<DecodeCounters> counters_ = std::make_shared<DecodeCounters>();
    // With `--latency-ms auto`; holds its own reference to rtpbin.
    std::unique_ptr<LatencyFollower> latency_;
    // Bandwidth adaptation: the controller, the picture ladder, what they act on (borrowed
    // from bin_), and the figures they read.
    std::optional<BandwidthController> bwe_;
    std::optional<PictureLadder> ladder_;
    GstElement *video_encoder_ = nullptr;
    GstElement *video_size_ = nullptr;
    Ref<GstPad> video_webrtc_sink_; // webrtcbin's sink pad for our video: its get-stats
    std::shared_ptr<std::atomic<int>> frame_divisor_ = std::make_shared<std::atomic<int>>(1);
    guint bwe_timer_ = 0;
    bool bwe_polling_ = false;
    gint64 bwe_poll_us_ = 0; // when the get-stats request in flight was made
    guint32 video_ssrc_ = 0; // 0: not known yet
    // The SSRC on the last packet our video payloader sent (written by its pad probe).
    std::shared_ptr<std::atomic<guint32>> wire_ssrc_ = std::make_shared<std::atomic<guint32>>(0);
    guint32 last_report_seq_ = 0; // highest sequence number of the last report used
    struct RtcpWatch {
        Ref<GObject> session;
        gulong handler;
    };
    std::vector<RtcpWatch> rtcp_watches_;
    double sent_bytes_ = 0;
    gint64 sent_at_us_ = 0;
    SendFigures figures_;
    // Our channels and those the remote side opened (each holds a reference).
    std::vector<std::unique_ptr<DataChannel>> channels_;
    // Where webrtcbin's reports are posted; they are dropped once the session is gone.
    Lifeline lifeline_;
};

} // namespace duet::pipelines
