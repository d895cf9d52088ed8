// SPDX-License-Identifier: MIT
// Builds the gst-launch style descriptions of every pipeline part from the options and the
// codec table (codecs.h).
#pragma once

#include "pipelines/codec_choice.h"
#include "pipelines/codecs.h"
#include "pipelines/media_options.h"

#include <string>

namespace duet::pipelines {

// Element names inside the shared send bin.
inline constexpr const char *kVideoTeeName = "video_tee";
inline constexpr const char *kAudioTeeName = "audio_tee";
inline constexpr const char *kCameraName = "camera";
// Inside a leg's video payload branch: the size filter bandwidth adaptation narrows.
inline constexpr const char *kVideoSizeName = "bwe_size";
// Element names inside receive branches and the recorder.
inline constexpr const char *kDecoderName = "decoder";
inline constexpr const char *kRecordVideoQueue = "record_video";
inline constexpr const char *kRecordAudioQueue = "record_audio";
inline constexpr const char *kRecordSinkName = "record_file";
// Receive branches: the first element (ghost "sink"), the depayloaded stream for the
// recorder (ghost "src") and decoded audio for the speaker (ghost "play").
inline constexpr const char *kReceiveInName = "receive_in";
inline constexpr const char *kRecordOutName = "record_out";
inline constexpr const char *kPlayOutName = "play_out";
// The speaker chain (speaker_description) and the simulated room's taps.
inline constexpr const char *kSpeakerMixName = "speaker_mix";
inline constexpr const char *kSpeakerCapsName = "speaker_caps";
inline constexpr const char *kDspName = "dsp";
inline constexpr const char *kRoomMicName = "room_mic";
inline constexpr const char *kRoomSpeakerName = "room_speaker";
inline constexpr const char *kRoomSentName = "room_sent";

// Capture, ending in a tee of raw frames that every call leg's encoder hangs off.
std::string video_send_description(const MediaOptions &opts, const ResolvedMedia &media);
// Capture + Opus encode (shared by every leg: Opus is the one audio codec), ending in a tee.
std::string audio_send_description(const MediaOptions &opts, const ResolvedMedia &media);

// With media.speaker: every call's decoded audio is mixed here and played (a window sink's
// speaker, or the simulated room's), through the echo probe when there is one.
std::string speaker_description(const ResolvedMedia &media);

// Per-leg video: raw frames in (ghost "sink"), through a scaler whose size the leg's
// bandwidth adaptation sets (kVideoSizeName, no size at first: the captured one), the
// leg's encoder and payloader, RTP out (ghost "src").
std::string video_payload_description(const VideoPlan &video, const MediaOptions &opts);
// Per-leg audio payloader: Opus in, RTP out.
std::string audio_payload_description(const AudioPlan &audio);

// Per-stream receive branch for codec `c`, RTP in (ghost "sink"): depayloader, parser,
// `decoder` (named kDecoderName), sink. With `record`, the depayloaded stream is also
// offered from kRecordOutName for the recorder; with media.speaker, decoded audio leaves
// from kPlayOutName for the speaker's mixer instead of a sink of its own.
std::string receive_description(const CodecSpec &c, const PackagedElement &decoder,
                                const ResolvedMedia &media, bool record);
// Swallows a stream we do not understand so webrtcbin never pushes into an unlinked pad.
std::string discard_description();

// `muxer` with one video and one audio input queue; the file sink's location is set by
// the caller so no path has to be quoted into a launch string.
std::string recorder_description(const PackagedElement &muxer);

} // namespace duet::pipelines
