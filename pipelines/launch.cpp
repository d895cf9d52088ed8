// SPDX-License-Identifier: MIT
// Launch-string builders for the send, payload, receive and record parts of a call.
#include "pipelines/launch.h"

#include <gst/gst.h>

#include <algorithm>

namespace duet::pipelines {
namespace {

// libvpx VP8 in real-time mode: higher cpu-used trades a little quality for speed; 8 keeps
// a Raspberry Pi 4 under one core at 640x480@30 while a laptop barely notices it.
constexpr int kVp8CpuUsed = 8;
// Blocks whose difference from the previous frame is below this are sent as unchanged
// without a motion search. 1 skips only blocks that did not change, as browsers' WebRTC
// does for camera video; libvpx's default 0 searches every block. Measured: -15% of the
// encoder's CPU on the test picture.
constexpr int kVp8StaticThreshold = 1;
// Keyframes are expensive bursts; receivers ask for one with PLI and we force one whenever
// a new peer connects, so the periodic safety net can be far apart (100 s at 30 fps).
constexpr int kVp8KeyframeMaxDist = 3000;
// CBR rate-control buffer in milliseconds. libvpx's 4-6 s defaults suit files; a call
// wants the encoder to react within a few frames.
constexpr int kVp8BufferInitialMs = 100;
constexpr int kVp8BufferOptimalMs = 120;
constexpr int kVp8BufferMs = 150;
// Opus at 48 kbit/s is transparent for speech and fine for music in a call.
constexpr int kOpusBitrate = 48000;
// libopus's effort, 0-10 (opusenc defaults to 10). Browsers' WebRTC uses 5 on phone-class
// CPUs, which is what a kiosk or a Raspberry Pi is; at 48 kbit/s the difference is not
// audible, and opusenc then costs a quarter of its CPU (measured: 2.2% of a core at 10,
// 0.5% at 5, on a 2-core Xeon).
constexpr int kOpusComplexity = 5;
// 20 ms frames are WebRTC's default packetisation; the test source produces exactly that.
constexpr int kOpusFrameMs = 20;
constexpr int kAudioSamplesPer20Ms = 960;
// libvpx's VP8 encoder synchronises its row threads with spin-waits. On a 2-core machine with
// other work a second thread mostly spins: at 640x480@30, threads=2 cost twice the CPU of
// threads=1 (perf: ~45% of duet-peer's samples in two `pause` loops in libvpx) for no gain.
// One thread encodes 640x480@30 in real time with cpu-used=8, so pictures get one thread per
// 640x480 of pixels, up to MediaOptions::encoder_threads.
constexpr long kPixelsPerEncoderThread = 640L * 480L;
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

int vp8_threads(const MediaOptions &o) {
    long by_size = long(o.width) * long(o.height) / kPixelsPerEncoderThread;
    return int(std::clamp<long>(by_size, 1, std::max(1, o.encoder_threads)));
}

std::string vp8enc(const MediaOptions &o) {
    return "vp8enc deadline=1 cpu-used=" + num(kVp8CpuUsed) +
           " static-threshold=" + num(kVp8StaticThreshold) +
           " end-usage=cbr target-bitrate=" + num(long(o.video_kbps) * 1000) +
           " keyframe-max-dist=" + num(kVp8KeyframeMaxDist) +
           " error-resilient=default lag-in-frames=0 threads=" + num(vp8_threads(o)) +
           " buffer-initial-size=" + num(kVp8BufferInitialMs) +
           " buffer-optimal-size=" + num(kVp8BufferOptimalMs) + " buffer-size=" + num(kVp8BufferMs);
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

std::string audio_sink(const ResolvedMedia &m) {
    if (m.sink != SinkMode::Window)
        return "fakesink sync=false async=false";
    return "audioconvert ! audioresample ! autoaudiosink sync=true";
}

std::string record_tap(bool record, const char *depay) {
    if (!record)
        return std::string(depay) + " ! ";
    return std::string(depay) + " ! tee name=record_tee ! queue ! ";
}

std::string record_out(bool record) {
    if (!record)
        return "";
    // Unlinked on purpose: the bin ghosts this queue's src pad for the recorder to take.
    return "  record_tee. ! queue";
}

} // namespace

const char *video_source_name(VideoSource v) {
    switch (v) {
    case VideoSource::Auto:
        return "auto";
    case VideoSource::Camera:
        return "camera";
    case VideoSource::Libcamera:
        return "libcamera";
    case VideoSource::Test:
        return "test";
    }
    return "auto";
}

const char *audio_source_name(AudioSource a) {
    switch (a) {
    case AudioSource::Auto:
        return "auto";
    case AudioSource::Mic:
        return "mic";
    case AudioSource::Test:
        return "test";
    }
    return "auto";
}

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
    return src + " ! queue leaky=downstream max-size-buffers=" + num(kRawQueueBuffers) +
           " max-size-bytes=0 max-size-time=0 ! " + vp8enc(o) + " ! tee name=" + kVideoTeeName +
           " allow-not-linked=true";
}

std::string audio_send_description(const ResolvedMedia &m) {
    std::string src = m.mic ? "autoaudiosrc"
                            : "audiotestsrc is-live=true wave=ticks volume=0.4 samplesperbuffer=" +
                                  num(kAudioSamplesPer20Ms);
    return src +
           " ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! queue "
           "leaky=downstream ! opusenc bitrate=" +
           num(kOpusBitrate) + " complexity=" + num(kOpusComplexity) +
           " frame-size=" + num(kOpusFrameMs) +
           " perfect-timestamp=true ! tee name=" + kAudioTeeName + " allow-not-linked=true";
}

std::string video_rtp_caps(unsigned pt) {
    return "application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload=" + num(pt);
}

std::string audio_rtp_caps(unsigned pt) {
    return "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=" + num(pt);
}

std::string video_payload_description(unsigned pt) {
    // 15-bit picture ids let the receiver detect loss across wrap-arounds, as browsers do.
    // A caps string may not end a description (it only filters a link), hence capsfilter.
    return "queue ! rtpvp8pay pt=" + num(pt) +
           " picture-id-mode=15-bit ! capsfilter caps=" + video_rtp_caps(pt);
}

std::string audio_payload_description(unsigned pt) {
    return "queue ! rtpopuspay pt=" + num(pt) + " ! capsfilter caps=" + audio_rtp_caps(pt);
}

std::string video_receive_description(const ResolvedMedia &m, bool record) {
    // request-keyframe sends PLI on loss; wait-for-keyframe keeps garbage out of the decoder
    // and makes a recording start on a keyframe.
    return "queue ! " +
           record_tap(record, "rtpvp8depay request-keyframe=true wait-for-keyframe=true") +
           "vp8dec name=" + kDecoderName + " ! " + video_sink(m) + record_out(record);
}

std::string audio_receive_description(const ResolvedMedia &m, bool record) {
    return "queue ! " + record_tap(record, "rtpopusdepay") + "opusdec name=" + kDecoderName +
           " plc=true ! " + audio_sink(m) + record_out(record);
}

std::string discard_description() {
    return "fakesink sync=false async=false";
}

std::string recorder_description() {
    std::string q = "queue leaky=downstream max-size-buffers=0 max-size-bytes=0 max-size-time=" +
                    num(long(kRecordQueueNs));
    return std::string("webmmux name=record_mux ! filesink name=") + kRecordSinkName +
           " async=false  " + q + " name=" + kRecordVideoQueue + " ! record_mux.video_0  " + q +
           " name=" + kRecordAudioQueue + " ! record_mux.audio_0";
}

} // namespace duet::pipelines
