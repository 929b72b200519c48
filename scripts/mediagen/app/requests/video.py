"""The request of video generation: ``video_gen.py`` and MCP ``start_video``/``extend_video``."""
from __future__ import annotations

from dataclasses import dataclass

from mediagen.app.requests import ALLOW_UNKNOWN_HELP, CLI, MCP, Spending, VIDEO_MODES, arg


@dataclass(frozen=True)
class VideoRequest(Spending):
    """Generate a video as a durable job (``video_gen.py``, MCP ``start_video``/``extend_video``)."""

    prompt: str = arg("What to generate: the prompt text.", "", setting=None, min_length=1)
    model: str | None = arg("Model id or alias; default Veo 3.1 Fast (Vertex), Omni on the Gemini API.",
                            catalog_models="video")
    allow_unknown_model: bool = arg(ALLOW_UNKNOWN_HELP, False)
    mode: str | None = arg("Force a mode (it must match the inputs).", choices=VIDEO_MODES)
    duration: int | None = arg("Seconds (Veo 3.1: 4, 6, 8; Omni: 3-10).", catalog="durations")
    aspect_ratio: str | None = arg("16:9 or 9:16.", catalog="aspect_ratios")
    resolution: str | None = arg("720p, 1080p or 4k (Omni also 360p).", catalog="resolutions")
    negative_prompt: str | None = arg("What to avoid.")
    person_generation: str | None = arg("allow_all | allow_adult | dont_allow.", catalog="person_generation")
    seed: int | None = arg("Seed (Vertex only).")
    generate_audio: bool | None = arg("Audio on/off (Vertex Veo; the Gemini API always adds audio).")
    count: int | None = arg("Videos per request (sampleCount; Vertex 1-4).", minimum=1)
    enhance_prompt: bool | None = arg("Let Veo rewrite the prompt.")
    preset: str | None = arg("quick | quality | extend | budget (presets/video.yaml).", presets="video")
    image: str | None = arg("First frame (path, URL, gs:// on Vertex).")
    last_frame: str | None = arg("Last frame (needs --image).")
    reference_image: tuple[str, ...] | None = arg("Reference image (up to 3 assets or 1 style). Repeatable.",
                                                  setting="references")
    reference_video: tuple[str, ...] | None = arg("Reference clip (Omni). Repeatable.", setting="reference_videos")
    extend_video: str | None = arg("Extend an earlier result (its sidecar supplies defaults), a gs:// URI, or a "
                                   "file.")
    continue_from: str | None = arg(
        "Continue the Gemini Omni conversation that produced this saved clip (previous_interaction_id; its "
        "sidecar supplies the model and format): the prompt says what to change. No task is sent unless mode is "
        "edit or extend. If Google no longer keeps the interaction, the clip itself is sent with an edit task (a "
        "new paid create under the same max cost). Veo clips cannot be continued (command line: --continue).")
    video: str | None = arg("Clip to edit with --mask (Vertex).")
    mask: str | None = arg("Mask image for editing (Vertex).")
    mask_mode: str | None = arg("What the mask does when editing (Vertex): insert, remove, remove_static or "
                                "outpaint.", choices=("insert", "remove", "remove_static", "outpaint"))
    camera: str | None = arg("Camera control, e.g. pan_left, push_in (Vertex, needs --image).",
                             catalog="camera_control")
    resize_mode: str | None = arg("Image fit for image-to-video (Vertex).", choices=("pad", "crop"))
    remix: str | None = arg("Use frames of this clip as first (and last) frame.")
    remix_start: str | None = arg("Time of the first frame (seconds or M:SS).")
    remix_end: str | None = arg("Time of the last frame.")
    remix_last_frame: bool = arg("Also use the frame at --remix-end.", False)
    output: str | None = arg("Output file or folder (default ./generated_videos/).", faces=CLI)
    output_dir: str | None = arg(
        "Folder for the results (the output_dir setting, here for this call; default ./generated_videos/, or "
        "MEDIAGEN_OUTPUT_DIR / the config file's output_dir). A relative path resolves against the MCP server's "
        "working directory.", faces=MCP)
    storage_uri: str | None = arg("Vertex writes results there (gs://...).")
    upload_gcs: str | None = arg("Upload the saved file there afterwards (gs://...).")
    wait: bool = arg("Wait for the result (default); false returns the job id at once.", True, faces=CLI,
                     setting=None)
    wait_timeout: float | None = arg("Stop waiting after S seconds (default 480); the job keeps running.",
                                     faces=CLI, minimum=0)


# -- jobs, checks, listings --------------------------------------------------------------------------
