// SPDX-License-Identifier: MIT
// Builds the gst-launch style descriptions of every pipeline part from the options.
#pragma once

#include "pipelines/media_options.h"

#include <string>

namespace duet::pipelines {

// Payload types used when we make the offer. When we answer, the offer's numbers are used.
// Opus is 111 (as in browsers), clear of 97: webrtcbin 1.22 gives video's RTX (NACK
// retransmissions) the lowest free number without looking at later m-lines, so with Opus
// on 97 both would share it in the bundle and the audio would be taken for RTX.
inline constexpr unsigned kVideoPayloadType = 96;
inline constexpr unsigned kAudioPayloadType = 111;

// Element names inside the shared send bin.
inline constexpr const char *kVideoTeeName = "video_tee";
inline constexpr const char *kAudioTeeName = "audio_tee";
inline constexpr const char *kCameraName = "camera";
// Element names inside receive branches and the recorder.
inline constexpr const char *kDecoderName = "decoder";
inline constexpr const char *kRecordVideoQueue = "record_video";
inline constexpr const char *kRecordAudioQueue = "record_audio";
inline constexpr const char *kRecordSinkName = "record_file";

// Capture + VP8 encode, ending in a tee that every remote peer's branch hangs off.
std::string video_send_description(const MediaOptions &opts, const ResolvedMedia &media);
// Capture + Opus encode, ending in a tee.
std::string audio_send_description(const ResolvedMedia &media);

// Caps webrtcbin sees on its sink pads; also used to request those pads.
std::string video_rtp_caps(unsigned payload_type);
std::string audio_rtp_caps(unsigned payload_type);

// Per-peer payloader branch: encoded frames in (ghost "sink"), RTP out (ghost "src").
std::string video_payload_description(unsigned payload_type);
std::string audio_payload_description(unsigned payload_type);

// Per-stream receive branch, RTP in (ghost "sink"). With `record`, the depayloaded stream
// is also offered on a ghost "src" pad for the recorder. The decoder is named kDecoderName.
std::string video_receive_description(const ResolvedMedia &media, bool record);
std::string audio_receive_description(const ResolvedMedia &media, bool record);
// Swallows a stream we do not understand so webrtcbin never pushes into an unlinked pad.
std::string discard_description();

// WebM muxer with one video and one audio input queue; the file sink's location is set by
// the caller so no path has to be quoted into a launch string.
std::string recorder_description();

} // namespace duet::pipelines
