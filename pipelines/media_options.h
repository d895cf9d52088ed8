// SPDX-License-Identifier: MIT
// What the user asked of the media side: sources, sink, sizes, rates and recording.
#pragma once

#include <string>

namespace duet::pipelines {

// Camera: v4l2 (USB/UVC and most capture devices). Libcamera: libcamerasrc (Raspberry Pi
// camera modules and other libcamera-only sensors). Auto tries libcamera, then v4l2.
enum class VideoSource { Auto, Camera, Libcamera, Test };
// The stack a camera is captured through.
enum class CameraStack { V4l2, Libcamera };
enum class AudioSource { Auto, Mic, Test };
enum class SinkMode { Auto, Window, None };
enum class MediaKind { Video, Audio };
// --video-codec: auto picks the first codec of the remote offer we can send (a hardware-
// encoded one first); when we offer, a hardware-encoded codec if there is one, else VP8.
enum class VideoCodecPref { Auto, VP8, H264 };
// --audio-processing: webrtcdsp on the microphone (echo cancellation, noise suppression,
// gain control). Auto: on when a microphone and a speaker are both in use.
enum class AudioProcessing { Auto, On, Off };

const char *camera_stack_name(CameraStack s); // "v4l2" | "libcamera"
// The camera element's property that names the device (kCameraName in launch.h).
const char *camera_device_property(CameraStack s); // "device" | "camera-name"
const char *sink_mode_name(SinkMode s);
const char *media_kind_name(MediaKind k); // "video" | "audio", as in events
const char *video_codec_pref_name(VideoCodecPref p); // "auto" | "vp8" | "h264"

// 640x480@30 at 800 kbit/s is a clear picture for a face on a LAN or a decent uplink and is
// cheap enough for a Raspberry Pi 4 to encode in real time with the settings in launch.cpp.
inline constexpr int kDefaultWidth = 640;
inline constexpr int kDefaultHeight = 480;
inline constexpr int kDefaultFps = 30;
inline constexpr int kDefaultVideoKbps = 800;
// webrtcbin's jitter buffers default to 200 ms, tuned for the Internet. A fixed 50 ms
// absorbs LAN jitter, but a window sink shows every frame that much later; `auto` (the
// default) starts small and follows the measured jitter (adaptive_latency.h).
inline constexpr int kLatencyAuto = -1;
inline constexpr int kDefaultLatencyMs = kLatencyAuto;

struct MediaOptions {
    VideoSource video_source = VideoSource::Auto;
    AudioSource audio_source = AudioSource::Auto;
    SinkMode sink = SinkMode::Auto;
    VideoCodecPref video_codec = VideoCodecPref::Auto;
    // One encoder element from the codec table, e.g. "x264enc"; empty: each codec's first
    // that works. Pinning an encoder pins its codec too.
    std::string video_encoder;
    // v4l2: a /dev/video* node; libcamera: a camera name as `cam --list` shows it. Empty:
    // the first camera that works.
    std::string video_device;
    int width = kDefaultWidth;
    int height = kDefaultHeight;
    int fps = kDefaultFps;
    int video_kbps = kDefaultVideoKbps;
    int latency_ms = kDefaultLatencyMs; // ms, or kLatencyAuto
    int encoder_threads = 1;
    std::string record_path; // empty: no recording
    AudioProcessing audio_processing = AudioProcessing::Auto;
    // How much later than the speaker's timestamps its echo reaches the microphone (an HDMI
    // screen's or a Bluetooth speaker's own delay, ...); -1: measured during calls.
    int echo_delay_ms = -1;
    // Without it: the delay an earlier run measured (kept in the state directory), where the
    // reference starts before this run measures its own; -1: none.
    int echo_delay_saved_ms = -1;
    // --simulate-room (tests and benches): the microphone and speaker are a simulated room
    // (echo_room.h, "talk=FILE,..."), checked by the CLI; empty: the real devices.
    std::string room_spec;
};

// The choice made after probing devices: what the call pipeline is actually built from.
struct ResolvedMedia {
    bool camera = false;                          // false: videotestsrc
    CameraStack camera_stack = CameraStack::V4l2; // with camera: how it is captured
    // With camera: the element's device (camera_device_property); empty: the stack's first.
    std::string video_device;
    // The v4l2 camera also delivers H.264 (a UVC H.264 camera, or an encoder exposed as a
    // camera), so the call could send it without encoding. camera_h264_caps holds the
    // device's video/x-h264 caps (profiles, sizes, rates) as a caps string, "" when none.
    // Only reported here: the send pipeline still encodes raw frames.
    bool camera_h264 = false;
    std::string camera_h264_caps;
    bool mic = false;               // false: audiotestsrc
    SinkMode sink = SinkMode::None; // Window or None, never Auto
    bool wayland = false;           // window sink on Wayland (waylandsink)
    int screen_width = 0;           // >0: scale remote video to fill this screen
    int screen_height = 0;
    // Remote audio is mixed into one playback chain (speaker_description) that the echo
    // canceller can listen to: with a window sink (a real speaker) or a simulated room.
    bool speaker = false;
    bool room_sim = false;          // microphone and speaker are the simulated room
    bool audio_processing = false;  // webrtcdsp on the microphone
    // The webrtcechoprobe on the speaker that the canceller listens to; empty: no echo
    // cancellation (no speaker). Unique per process: webrtcdsp finds its probe by name.
    std::string echo_probe;
};

} // namespace duet::pipelines
