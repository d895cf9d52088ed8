// SPDX-License-Identifier: MIT
// Launch-string builders for the send, payload, receive and record parts of a call.
#include "pipelines/launch.h"

#include <gst/gst.h>


namespace duet::pipelines {
namespace {

constexpr int kAudioSamplesPer20Ms = 960;
// Raw frames waiting for the encoder: if it falls behind, drop old frames rather than
// adding latency.
constexpr int kRawQueueBuffers = 3;
// Depayloaded media waiting for the muxer while the other stream's first buffer arrives.
constexpr guint64 kRecordQueueNs = 3 * GST_SECOND;

std::string num(long v) {
    return std::to_string(v);
}

std::string raw_video_caps(const MediaOptions &o) {
    return "video/x-raw,format=I420,width=" + num(o.width) + ",height=" + num(o.height) +
           ",framerate=" + num(o.fps) + "/1,pixel-aspect-ratio=1/1";
}

// libcamera's ISP scales in hardware, so the camera is asked for the sent size; the rate is
// made by videorate, since not every libcamerasrc negotiates a frame rate. The camera name
// is set on the element named kCameraName, never quoted in here.
std::string libcamera_source(const MediaOptions &o) {
    return std::string("libcamerasrc name=") + kCameraName +
           " ! video/x-raw,width=" + num(o.width) + ",height=" + num(o.height) +
           " ! videoconvert ! videoscale ! videorate ! " + raw_video_caps(o);
}

std::string video_sink(const ResolvedMedia &m) {
    if (m.sink != SinkMode::Window)
        return "fakesink sync=false async=false";
    // waylandsink 1.22 logs a critical for `fullscreen` set before its window exists; the
    // value is kept and applied to the window it creates, so the noise is the only cost.
    if (m.wayland)
        return "videoconvert ! waylandsink fullscreen=true sync=true";
    std::string out = "videoconvert ! videoscale add-borders=true";
    // ximagesink cannot scale, so the picture is scaled to the screen before it.
    if (m.screen_width > 0 && m.screen_height > 0)
        out += " ! video/x-raw,width=" + num(m.screen_width) + ",height=" + num(m.screen_height) +
               ",pixel-aspect-ratio=1/1";
    return out + " ! autovideosink sync=true";
}

// The audio one remote stream ends in: the shared speaker's mixer (through kPlayOutName),
// or nothing heard at all.
std::string audio_sink(const ResolvedMedia &m) {
    if (!m.speaker)
        return "fakesink sync=false async=false";
    return std::string("audioconvert ! audioresample name=") + kPlayOutName;
}

// What the echo canceller and the speaker take: 48 kHz mono, 16 bit.
constexpr const char *kRoomAudioCaps =
    "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1";

std::string microphone(const ResolvedMedia &m) {
    if (m.room_sim)
        // Silence at the pace of a real microphone; the room (room_sim.cpp) writes the talker
        // and the echo into each buffer.
        return std::string("audiotestsrc name=") + kRoomMicName +
               " is-live=true wave=silence samplesperbuffer=480 ! " + kRoomAudioCaps;
    if (m.mic)
        return "autoaudiosrc";
    return "audiotestsrc is-live=true wave=ticks volume=0.4 samplesperbuffer=" +
           num(kAudioSamplesPer20Ms);
}

// webrtcdsp works on 10 ms frames of 48 kHz mono here; its probe sits on the speaker.
// Delay-agnostic: without it, webrtcdsp 1.22 lines the speaker up by timestamps and asks
// for speaker audio further ahead than the mixer has it, and cancelled nothing here. It
// finds up to ~40 ms of delay by itself; echo_align.h moves its reference by the rest.
std::string audio_processing(const ResolvedMedia &m) {
    if (!m.audio_processing)
        return "";
    std::string dsp = std::string("webrtcdsp name=") + kDspName +
                      " high-pass-filter=true noise-suppression=true gain-control=true "
                      "delay-agnostic=true";
    if (m.echo_probe.empty())
        dsp += " echo-cancel=false";
    else
        dsp += " echo-cancel=true probe=" + m.echo_probe;
    return dsp + " ! audioconvert ! ";
}

// After the depayloader (and parser): with `record`, a tee whose second branch is left
// unlinked on purpose, for the bin to ghost as "src" and the recorder to take.
std::string record_tap(bool record) {
    return record ? "tee name=record_tee ! queue ! " : "";
}

std::string record_out(bool record) {
    return record ? std::string("  record_tee. ! queue name=") + kRecordOutName : "";
}

std::string element_with(const PackagedElement &e, const char *options) {
    std::string out = e.element;
    if (options && *options)
        out += std::string(" ") + options;
    return out;
}

} // namespace

const char *sink_mode_name(SinkMode s) {
    switch (s) {
    case SinkMode::Auto:
        return "auto";
    case SinkMode::Window:
        return "window";
    case SinkMode::None:
        return "none";
    }
    return "auto";
}

const char *media_kind_name(MediaKind k) {
    return k == MediaKind::Video ? "video" : "audio";
}

const char *video_codec_pref_name(VideoCodecPref p) {
    switch (p) {
    case VideoCodecPref::Auto:
        return "auto";
    case VideoCodecPref::VP8:
        return "vp8";
    case VideoCodecPref::H264:
        return "h264";
    }
    return "auto";
}

std::string video_send_description(const MediaOptions &o, const ResolvedMedia &m) {
    std::string src;
    if (m.camera && m.camera_stack == CameraStack::Libcamera) {
        src = libcamera_source(o);
    } else if (m.camera) {
        // decodebin turns MJPEG cameras into raw video and passes raw ones through.
        // The device path is set on the element named kCameraName, never quoted in here.
        src = std::string("v4l2src name=") + kCameraName +
              " ! decodebin ! videoconvert ! videoscale ! videorate ! " + raw_video_caps(o);
    } else {
        // A moving picture with a label, so the far side sees at once that this is a test.
        src = "videotestsrc is-live=true pattern=ball ! video/x-raw,width=" + num(o.width) +
              ",height=" + num(o.height) + ",framerate=" + num(o.fps) +
              "/1 ! textoverlay text=\"duet test source\" valignment=top halignment=left "
              "shaded-background=true ! timeoverlay valignment=bottom halignment=right ! "
              "videoconvert ! " +
              raw_video_caps(o);
    }
    // Raw frames: each call leg encodes for itself (codec and bitrate per peer).
    return src + " ! tee name=" + kVideoTeeName + " allow-not-linked=true";
}

std::string audio_send_description(const MediaOptions &o, const ResolvedMedia &m) {
    const CodecSpec &opus = codec_spec(Codec::Opus);
    // Opus is the one audio codec, so it is encoded once and shared by every leg.
    std::string out = microphone(m) + " ! audioconvert ! audioresample ! " +
                      (m.audio_processing ? kRoomAudioCaps : "audio/x-raw,rate=48000,channels=1") +
                      " ! " + audio_processing(m) + "queue leaky=downstream ! " +
                      opus.encoders.front().launch(o) + " ! tee name=" + kAudioTeeName +
                      " allow-not-linked=true";
    if (m.room_sim)
        // The room measures what is sent: the encoded audio, decoded again.
        out += std::string("  ") + kAudioTeeName + ". ! queue ! " +
               opus.decoders.front().element + " ! audioconvert ! audioresample ! " +
               kRoomAudioCaps + " ! fakesink name=" + kRoomSentName + " sync=false async=false";
    return out;
}

std::string speaker_description(const ResolvedMedia &m) {
    // A silent input keeps the mixer (and the echo probe) running between calls, so the
    // canceller always has the speaker's signal and calls can come and go.
    std::string out = "audiotestsrc is-live=true wave=silence samplesperbuffer=480 ! audiomixer name=" +
                      std::string(kSpeakerMixName) +
                      " ! audioconvert ! audioresample ! capsfilter name=" + kSpeakerCapsName +
                      " caps=\"" + kRoomAudioCaps + "\" ! ";
    if (!m.echo_probe.empty())
        out += "webrtcechoprobe name=" + m.echo_probe + " ! ";
    if (m.room_sim)
        return out + "fakesink name=" + kRoomSpeakerName + " sync=true async=false";
    return out + "audioconvert ! audioresample ! autoaudiosink sync=true";
}

std::string video_payload_description(const VideoPlan &v, const MediaOptions &o) {
    // If the encoder falls behind, drop old frames rather than adding latency.
    // A caps string may not end a description (it only filters a link), hence capsfilter.
    // videoscale passes frames through untouched until the size filter asks for less.
    return "queue leaky=downstream max-size-buffers=" + num(kRawQueueBuffers) +
           " max-size-bytes=0 max-size-time=0 ! videoscale ! capsfilter name=" + kVideoSizeName +
           " ! " + v.encoder->launch(o) + " ! " +
           v.codec->encoded_caps + " ! " + v.codec->payloader.element + " pt=" + num(v.pt) + " " +
           v.codec->payloader_options + " ! capsfilter caps=\"" + rtp_caps_basic(*v.codec, v.pt) + "\"";
}

std::string audio_payload_description(const AudioPlan &a) {
    const CodecSpec &opus = codec_spec(Codec::Opus);
    // Leaky, like the video's: a leg whose negotiation never ends (a peer that vanished
    // before answering) fills its queue, and a full queue would hold the tee, and with it
    // every other leg's sound.
    return std::string("queue leaky=downstream ! ") + opus.payloader.element + " pt=" + num(a.pt) + " " +
           opus.payloader_options + " ! capsfilter caps=\"" + rtp_caps_basic(opus, a.pt) + "\"";
}

std::string receive_description(const CodecSpec &c, const PackagedElement &decoder,
                                const ResolvedMedia &m, bool record) {
    std::string out = std::string("queue name=") + kReceiveInName + " ! " +
                      element_with(c.depayloader, c.depayloader_options) + " ! ";
    if (c.parser.element)
        out += std::string(c.parser.element) + " ! ";
    out += record_tap(record) + element_with(decoder, c.decoder_options) + " name=" + kDecoderName +
           " ! " + (c.kind == MediaKind::Video ? video_sink(m) : audio_sink(m)) + record_out(record);
    return out;
}

std::string discard_description() {
    return "fakesink sync=false async=false";
}

std::string recorder_description(const PackagedElement &muxer) {
    std::string q = "queue leaky=downstream max-size-buffers=0 max-size-bytes=0 max-size-time=" +
                    num(long(kRecordQueueNs));
    return std::string(muxer.element) + " name=record_mux ! filesink name=" + kRecordSinkName +
           " async=false  " + q + " name=" + kRecordVideoQueue + " ! record_mux.video_0  " + q +
           " name=" + kRecordAudioQueue + " ! record_mux.audio_0";
}

} // namespace duet::pipelines
