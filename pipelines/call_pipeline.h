// SPDX-License-Identifier: MIT
// The one GStreamer pipeline of a duet-peer: shared capture+encode, sessions, recorder.
#pragma once

#include "common/main_thread.h"
#include "common/ref.h"
#include "common/result.h"
#include "pipelines/codecs.h"
#include "pipelines/media_options.h"
#include "pipelines/echo_align.h"
#include "pipelines/recorder.h"
#include "pipelines/room_sim.h"
#include "pipelines/webrtc_session.h"

#include <gst/gst.h>

#include <memory>
#include <string>
#include <thread>

namespace duet::pipelines {

// Capture (and Opus encoding) happen once, whatever the number of remote peers: each
// session hangs its own video encoder, payloaders and webrtcbin off the two tees.
class CallPipeline {
  public:
    class Listener {
      public:
        virtual ~Listener() = default;
        // An ERROR message from the bus; `src` tells whose (a session's bin or not).
        virtual void on_pipeline_error(GstObject *src, const std::string &message,
                                       const std::string &debug) = 0;
        // The first call's one-off costs (the DTLS key, plugin loading) are paid: a call
        // set up from now on waits for nothing but the network. Runs once, on the main
        // context that created the pipeline.
        virtual void on_pipeline_warm() {}
        // The echo canceller measured the speaker-to-microphone delay (echo_align.h); `moved`:
        // its reference now follows it (not with --echo-delay-ms).
        virtual void on_echo_delay(int, bool) {}
        // --simulate-room with talk-after-ms: the echo figures, once.
        virtual void on_echo_figures(const room::EchoFigures &) {}
    };

    // `encoders`: what the startup probe found (codecs.h); the recorder's muxer must hold
    // every codec a leg may use.
    static Result<std::unique_ptr<CallPipeline>> create(const MediaOptions &opts,
                                                        const ResolvedMedia &media,
                                                        const EncoderChoices &encoders,
                                                        Listener *listener);
    ~CallPipeline();
    CallPipeline(const CallPipeline &) = delete;
    CallPipeline &operator=(const CallPipeline &) = delete;

    Result<void> start();
    GstBin *bin() const { return GST_BIN(pipeline_.get()); }
    WebrtcSession::Sources sources() const { return {video_tee_.get(), audio_tee_.get()}; }
    Recorder *recorder() const { return recorder_.get(); }
    // With media.speaker: mixes a call's decoded audio (a session's play pad) into the
    // speaker. Returns the mixer's pad, to give back with unplay() once that session is gone.
    Ref<GstPad> play(GstPad *src);
    void unplay(const Ref<GstPad> &mixer_pad);
    // With a speaker: a doorbell (two short tones every 3 s) while `on`. False without one.
    bool ring(bool on);
    bool ringing() const { return ring_timer_ != 0; }
    // The echo delay found beyond timestamps, in ms; -1 without echo cancellation.
    int echo_delay_ms() const { return aligner_ ? aligner_->delay_ms() : -1; }
    // Whether on_pipeline_warm has run.
    bool warm() const { return warm_; }
    // True if `obj` is (still) inside the pipeline. Bus messages can outlive the element
    // that posted them: a call leg that was just torn down is no longer inside.
    bool contains(GstObject *obj) const;
    // The loss (0..1) the worst path among the calls shows: Opus plans its in-band FEC for
    // it (codecs.h opus_fec_loss_percent). The encoder is shared, so it serves the worst.
    void set_audio_loss(double fraction_lost);
    // Opus DTX on or off (codecs.h opus_dtx_wanted decides, for all the calls at once).
    void set_audio_dtx(bool on);
    bool audio_dtx() const { return opus_dtx_; }
    // Writes a .dot graph if GST_DEBUG_DUMP_DOT_DIR is set.
    void dump_dot(const char *name) const;

  private:
    CallPipeline() = default;
    static gboolean on_bus(GstBus *bus, GstMessage *msg, gpointer self);

    Listener *listener_ = nullptr;
    // Declared first, so it is released after the elements inside it.
    Ref<GstElement> pipeline_;
    Ref<GstElement> video_tee_;
    Ref<GstElement> audio_tee_;
    Ref<GstElement> opus_encoder_; // null if the send chain has none
    int opus_loss_percent_ = -1;
    bool opus_dtx_ = false;
    guint bus_watch_ = 0;
    std::unique_ptr<Recorder> recorder_;
    Ref<GstElement> speaker_mix_; // null without a speaker
    std::unique_ptr<RoomSim> room_;
    std::unique_ptr<EchoAligner> aligner_;
    // The ring: a tone generator mixed into the speaker, muted between tones and rings.
    Ref<GstElement> ring_bin_;
    Ref<GstElement> ring_gate_;
    guint ring_timer_ = 0;
    unsigned ring_step_ = 0;
    static gboolean on_ring_tick(gpointer self);
    // Prepares what the first call would otherwise wait for (see warm_up_webrtc); joined
    // in the destructor, so it never outlives GStreamer.
    std::thread warm_up_;
    bool warm_ = false; // main thread only
    // Keeps the warm-up's report from reaching a destroyed pipeline.
    Lifeline lifeline_;
};

} // namespace duet::pipelines
