"""The model catalog: its data (walked model by model, rule by rule) and its Python API."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from mediagen.catalog import DEFAULT_CATALOG_PATH, VOCABULARY, Catalog, Problem
from mediagen.core.errors import ModelUnavailable, ValidationError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "presets" / "models.schema.json").read_text())
TODAY = "2026-12-05"            # lifecycle dates are read against a pinned day
CATALOG = Catalog.load(today=TODAY)
MISSING = object()


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _rules(problems: list[Problem]) -> set[str]:
    return {p.rule for p in problems if p.rule}


# --------------------------------------------------------------------------- the data itself

def test_catalog_file_is_where_the_module_looks():
    assert DEFAULT_CATALOG_PATH == ROOT / "presets" / "models.yaml"


def test_models_yaml_validates_against_its_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    data = yaml.safe_load(DEFAULT_CATALOG_PATH.read_text())
    jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("model", CATALOG.models(), ids=lambda m: m.id)
def test_every_model_is_complete(model):
    assert model.kind in ("image", "video")
    assert model.family in ("gemini-image", "imagen", "veo", "omni")
    assert model.display_name and model.backends and model.sources
    for backend, entry in model.backends.items():
        assert entry.backend == backend and entry.id
        if entry.status == "retired":
            replacement = CATALOG.get(entry.replacement)
            assert replacement is not None, f"{model.id}@{backend}: unknown replacement {entry.replacement}"
            assert replacement.served_on(), f"{replacement.id} is not served anywhere"
            assert replacement.kind == model.kind
            assert entry.shutdown, f"{model.id}@{backend}: a retired entry needs its shutdown date"
        if entry.served and backend == "vertex":
            assert entry.locations, f"{model.id}: Vertex entries need a default location"
        if backend != "vertex":
            assert entry.locations == ()
    if model.served_on():
        caps = model.capabilities
        keys = ("aspect_ratios", "count") if model.kind == "image" else ("modes", "durations", "resolutions")
        assert all(k in caps for k in keys), f"{model.id}: capabilities miss one of {keys}"


@pytest.mark.parametrize("model", [m for m in CATALOG.models() if m.uncertain], ids=lambda m: m.id)
def test_uncertain_paths_point_at_real_fields(model):
    tree = {"backends": {b: vars(e) for b, e in model.backends.items()}, "capabilities": model.capabilities,
            "backend_capabilities": model.backend_capabilities, "pricing": model.pricing}
    for path in model.uncertain:
        node = tree
        for part in path.split("."):
            assert isinstance(node, dict) and part in node, f"{model.id}: uncertain path {path} does not exist"
            node = node[part]


@pytest.mark.parametrize("model", [m for m in CATALOG.models() if m.pricing], ids=lambda m: m.id)
def test_every_priced_model_names_date_and_source(model):
    for backend in model.backends:
        pricing = model.pricing_for(backend)
        assert pricing["as_of"] and pricing["source"].startswith("https://")
        assert pricing["unit"] == ("image" if model.kind == "image" else "second")


def test_every_served_model_is_priced():
    unpriced = [m.id for m in CATALOG.models() if m.served_on() and not m.pricing]
    assert unpriced == []


def test_aliases_are_unique_and_never_an_id():
    ids = {m.id.lower() for m in CATALOG.models()}
    seen: set[str] = set()
    for model in CATALOG.models():
        for alias in model.aliases:
            assert alias.lower() not in ids, f"alias {alias} is also a model id"
            assert alias.lower() not in seen, f"alias {alias} is used twice"
            seen.add(alias.lower())


def test_defaults_are_served_models_of_the_right_kind():
    assert CATALOG.default_model("image", "gemini-api") == "gemini-nano-banana-2.1"
    assert CATALOG.default_model("image", "vertex") == "gemini-3-pro-image"
    assert CATALOG.default_model("image", "cliproxy") == "gemini-3.1-flash-image"
    assert CATALOG.default_model("video", "gemini-api") == "gemini-omni-1.2-flash"
    assert CATALOG.default_model("video", "vertex") == "veo-3.1-fast-generate-001"
    with pytest.raises(ModelUnavailable, match="no video model is served on CLIProxyAPI"):
        CATALOG.default_model("video", "cliproxy")


def test_required_models_are_present():
    wanted = """gemini-nano-banana-2.1 gemini-3-pro-image gemini-3.1-flash-image gemini-3.1-flash-lite-image
        gemini-2.5-flash-image gemini-3-pro-image-preview gemini-3.1-flash-image-preview imagen-4.0-generate-001
        imagen-4.0-fast-generate-001 imagen-4.0-ultra-generate-001 imagen-3.0-generate-002 veo-3.1-generate-001
        veo-3.1-fast-generate-001 veo-3.1-lite-generate-001 veo-3.1-generate-preview veo-3.1-fast-generate-preview
        veo-3.1-lite-generate-preview veo-3.0-generate-001 veo-3.0-fast-generate-001 veo-2.0-generate-001
        veo-2.0-generate-exp gemini-omni-1.1-flash gemini-omni-1.2-flash gemini-omni-flash-preview""".split()
    assert [w for w in wanted if CATALOG.get(w) is None or CATALOG.get(w).id != w] == []


# --------------------------------------------------------------------------- every rule, crafted requests

RULES = [(m, r) for m in CATALOG.models() for r in m.constraints]


def _ops(condition):
    if isinstance(condition, dict):
        return condition
    return {"in": condition} if isinstance(condition, list) else {"equals": condition}


def _given(field):
    return {bool: True, int: 1, float: 1.0, str: "x"}[VOCABULARY[field]]


def _other(field, values):
    kind = VOCABULARY[field]
    if kind is bool:
        return not values[0]
    if kind in (int, float):
        return kind(max(float(v) for v in values) + 1)
    return "zz-other"


def _satisfying(field, condition):
    """A value for which ``condition`` holds (MISSING = leave the key out)."""
    ops = _ops(condition)
    if "absent" in ops:
        return MISSING if ops["absent"] else _given(field)
    if "present" in ops:
        return _given(field) if ops["present"] else MISSING
    if "equals" in ops:
        return ops["equals"]
    if "in" in ops:
        return ops["in"][0]
    if "not_in" in ops:
        return _other(field, ops["not_in"])
    return ops.get("min", ops.get("max"))


def _violating(field, condition):
    """A value for which ``condition`` fails in a ``require``."""
    ops = _ops(condition)
    if "absent" in ops:
        return _given(field) if ops["absent"] else MISSING
    if "present" in ops:
        return MISSING if ops["present"] else _given(field)
    if "equals" in ops:
        return _other(field, [ops["equals"]])
    if "in" in ops:
        return _other(field, ops["in"])
    if "not_in" in ops:
        return ops["not_in"][0]
    return ops["min"] - 1 if "min" in ops else ops["max"] + 1


def _put(request, field, value):
    if value is MISSING:
        request.pop(field, None)
    else:
        request[field] = value


def _base(model, rule):
    when = dict(rule.when)
    backend = _satisfying("backend", when.pop("backend")) if "backend" in rule.when else model.served_on()[0]
    assert backend in model.served_on(), f"{model.id} rule {rule.id} can only fire where it is not served"
    request = {"kind": model.kind, "model": model.id, "backend": backend}
    for field, condition in when.items():
        _put(request, field, _satisfying(field, condition))
    return request


@pytest.mark.parametrize("model,rule", RULES, ids=[f"{m.id}:{r.id}" for m, r in RULES])
def test_every_rule_fires_when_violated_and_not_when_satisfied(model, rule):
    assert rule.fields() <= set(VOCABULARY), f"unknown fields {rule.fields() - set(VOCABULARY)}"
    assert rule.severity in ("error", "warning") and rule.message and rule.fix

    violating = _base(model, rule)
    field, condition = next(iter(rule.require.items()))
    _put(violating, field, _violating(field, condition))
    fired = [p for p in CATALOG.validate(violating) if p.rule == rule.id]
    assert fired, f"{rule.id} did not fire on {violating}"
    assert fired[0].severity == rule.severity and fired[0].field in VOCABULARY
    assert "{" not in fired[0].message, "unfilled placeholder in the message"

    satisfying = _base(model, rule)
    for field, condition in rule.require.items():
        _put(satisfying, field, _satisfying(field, condition))
    assert rule.id not in _rules(CATALOG.validate(satisfying)), f"{rule.id} fired on {satisfying}"


# --------------------------------------------------------------------------- resolve

def test_resolve_alias_case_insensitive_with_wire_id_and_location():
    res = CATALOG.resolve("Nano-Banana-Pro", "vertex")
    assert res.model.id == "gemini-3-pro-image" and res.wire_id == "gemini-3-pro-image"
    assert res.entry.locations[0] == "global" and res.warnings == []
    assert CATALOG.resolve("nano-banana", "gemini-api").model.id == "gemini-nano-banana-2.1"
    assert CATALOG.resolve("nano-banana-2", "vertex").model.id == "gemini-3.1-flash-image"


def test_resolve_uses_the_backend_spelling_of_the_wire_id():
    assert CATALOG.resolve("gemini-omni-1.1-flash", "vertex").wire_id == "gemini-omni-1.1-flash-preview"
    assert CATALOG.resolve("omni", "gemini-api").wire_id == "gemini-omni-1.1-flash"
    # The Vertex spelling given by a user still finds the model.
    assert CATALOG.get("gemini-omni-1.1-flash-preview").id == "gemini-omni-1.1-flash"


def test_resolve_retired_veo_on_gemini_api_names_omni_and_vertex():
    with pytest.raises(ModelUnavailable) as caught:
        CATALOG.resolve("veo-3.1-generate-preview", "gemini-api")
    text = caught.value.message + " " + caught.value.hint
    assert "2026-10-22" in text and "gemini-omni-1.1-flash" in text
    assert "--backend vertex" in text and "veo-3.1-generate-001" in text


def test_resolve_not_served_veo_on_gemini_api_says_why_and_where():
    with pytest.raises(ModelUnavailable) as caught:
        CATALOG.resolve("veo-3.1-fast", "gemini-api")
    message = caught.value.message
    assert message.startswith("Veo is not served on the Gemini API since 2026-10-22")
    assert "use gemini-omni-1.1-flash with your API key" in message
    assert "(--backend vertex)" in message


def test_resolve_imagen_on_gemini_api_and_on_the_proxy():
    with pytest.raises(ModelUnavailable, match="2026-08-17.*gemini-nano-banana-2.1"):
        CATALOG.resolve("imagen-4", "gemini-api")
    with pytest.raises(ModelUnavailable, match="not served on CLIProxyAPI.*--backend vertex"):
        CATALOG.resolve("imagen-4", "cliproxy")


def test_resolve_preview_ids_are_served_only_by_the_proxy():
    assert CATALOG.resolve("gemini-3-pro-image-preview", "cliproxy").wire_id == "gemini-3-pro-image-preview"
    with pytest.raises(ModelUnavailable) as caught:
        CATALOG.resolve("gemini-3-pro-image-preview", "gemini-api")
    assert "2026-06-25" in caught.value.message and "gemini-3-pro-image " in caught.value.message


def test_resolve_deprecated_warns_with_shutdown_date():
    res = CATALOG.resolve("gemini-2.5-flash-image", "vertex")
    assert res.model.id == "gemini-2.5-flash-image"
    assert len(res.warnings) == 1 and "shuts down on 2027-03-15" in res.warnings[0]
    assert "--model gemini-3.1-flash-image" in res.warnings[0]
    assert CATALOG.resolve("gemini-3.1-flash-image", "vertex").warnings == []
    # Since 2026-10-29 (field news) gemini-3.1-flash-image is gone from the Gemini API.
    with pytest.raises(ModelUnavailable, match="2026-10-29.*gemini-nano-banana-2.1"):
        CATALOG.resolve("gemini-3.1-flash-image", "gemini-api")


def test_resolve_unknown_model_passes_through():
    res = CATALOG.resolve("gemini-9-ultra-image", "gemini-api")
    assert res.model is None and res.entry is None and res.wire_id == "gemini-9-ultra-image"
    assert res.warnings == ["model 'gemini-9-ultra-image' is not in the catalog: request unvalidated and unpriced"]


def test_resolve_unknown_backend():
    with pytest.raises(ValidationError, match="unknown backend"):
        CATALOG.resolve("omni", "openai")


def test_default_location():
    assert CATALOG.default_location("veo-3.1-fast-generate-001", "vertex") == "us-central1"
    assert CATALOG.default_location("omni", "vertex") == "global"
    assert CATALOG.default_location("gemini-3-pro-image", "gemini-api") is None
    assert CATALOG.default_location("nope", "vertex") is None


# --------------------------------------------------------------------------- validate

def _v(**request):
    return CATALOG.validate(request)


def test_bad_aspect_ratio_lists_the_allowed_values():
    [problem] = _v(kind="image", backend="gemini-api", model="gemini-3-pro-image", aspect_ratio="7:3")
    assert problem.field == "aspect_ratio" and problem.severity == "error"
    assert problem.message.startswith("aspect ratio 7:3 is not offered by gemini-3-pro-image")
    assert "choose one of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9" in problem.message
    assert "--aspect-ratio" in problem.fix


def test_1080p_with_4_seconds_says_use_duration_8():
    problems = _v(kind="video", backend="vertex", model="veo-3.1-fast-generate-001", resolution="1080p", duration=4)
    [problem] = _errors(problems)
    assert problem.field == "duration" and "--duration 8" in problem.fix and problem.rule == "veo-hd-needs-8s"


def test_lite_has_no_4k_and_no_references():
    problems = _v(kind="video", backend="vertex", model="veo-3.1-lite", resolution="4k", duration=8)
    assert [p.field for p in _errors(problems)] == ["resolution"]
    assert "choose one of 720p, 1080p" in problems[0].message
    problems = _v(kind="video", backend="vertex", model="veo-3.1-lite", mode="reference_to_video",
                  reference_assets=1, duration=8)
    assert {"mode", "reference_assets"} <= {p.field for p in _errors(problems)}
    assert "veo-3.1-generate-001" in problems[0].fix


def test_style_reference_on_the_vertex_default_names_omni_and_the_allowlisted_veo2():
    default = CATALOG.default_model("video", "vertex")
    [problem] = _errors(_v(kind="video", backend="vertex", model=default, mode="reference_to_video",
                           reference_styles=1, duration=8))
    assert problem.field == "reference_styles"
    assert "--model gemini-omni-1.1-flash (it offers it)" in problem.fix
    assert "--model veo-2.0-generate-exp (allow-listed projects only; it may be gone)" in problem.fix


def test_reference_images_with_a_last_frame_are_rejected():
    problems = _v(kind="video", backend="vertex", model="veo-3.1-generate-001", mode="reference_to_video",
                  reference_assets=2, first_frame=True, last_frame=True, duration=8)
    assert "veo-references-exclude-frames" in _rules(_errors(problems))


def test_valid_veo_reference_request_has_no_problems():
    assert _v(kind="video", backend="vertex", model="veo-3.1-generate-001", mode="reference_to_video",
              reference_assets=3, duration=8, resolution="1080p", seed=True, generate_audio=False) == []


def test_mask_on_gemini_api_is_rejected_and_points_to_vertex():
    problems = _v(kind="video", backend="gemini-api", model="gemini-omni-1.1-flash", mode="edit", mask_mode="insert")
    [problem] = _errors(problems)
    assert problem.field == "mask_mode" and "--backend vertex" in problem.fix


def test_omni_12_seconds_is_rejected_with_3_to_10():
    [problem] = _v(kind="video", backend="gemini-api", model="omni", duration=12)
    assert problem.field == "duration"
    assert "3, 4, 5, 6, 7, 8, 9, 10" in problem.message and "--duration 10" in problem.fix


def test_omni_ignored_settings_are_warnings_not_errors():
    problems = _v(kind="video", backend="gemini-api", model="omni", negative_prompt=True, seed=True,
                  person_generation="allow_adult")
    assert _errors(problems) == []
    assert _rules(problems) == {"omni-negative-prompt-folded", "omni-seed-ignored", "omni-person-generation-ignored"}


def test_omni_audio_cannot_be_turned_off_and_storage_uri_is_vertex_only():
    problems = _v(kind="video", backend="gemini-api", model="omni", generate_audio=False, storage_uri=True)
    assert {p.field for p in _errors(problems)} == {"generate_audio", "storage_uri"}
    assert _v(kind="video", backend="vertex", model="omni", storage_uri=True) == []


def test_omni_extension_limits():
    over = _v(kind="video", backend="gemini-api", model="omni", mode="extend", source_seconds=35, duration=8)
    assert any("stops at 40 s" in p.message for p in _errors(over))
    assert "omni-uploaded-clip-10s" in _rules(over)
    too_long = _v(kind="video", backend="vertex", model="omni", mode="extend", source_seconds=31, duration=3)
    assert [p.field for p in too_long] == ["source_seconds"] and "1-30 s" in too_long[0].message
    ok = _v(kind="video", backend="vertex", model="omni", mode="extend", source_seconds=25, duration=10)
    assert ok == []
    # Omni 1.2 stops at 30 s (third parties): the refusal says the limit is uncertain and how to lift it.
    assert _v(kind="video", backend="vertex", model="omni-1.2", mode="extend", source_seconds=20, duration=10) == []
    [over] = _errors(_v(kind="video", backend="vertex", model="omni-1.2", mode="extend", source_seconds=25,
                        duration=10))
    assert "stops at 30 s" in over.message and "UNCERTAIN" in over.message
    assert "limits.extension_total.value" in over.message


def test_veo_extension_is_seven_seconds_on_vertex():
    assert _v(kind="video", backend="vertex", model="veo-3.1-generate-001", mode="extend",
              source_seconds=20, duration=7) == []
    problems = _v(kind="video", backend="vertex", model="veo-3.1-generate-001", mode="extend",
                  source_seconds=31, duration=8)
    assert [p.field for p in _errors(problems)] == ["duration", "source_seconds", "source_seconds"]
    assert "--duration 7" in problems[0].fix


def test_imagen_ultra_count_2_is_rejected():
    [problem] = _errors(_v(kind="image", backend="vertex", model="imagen-4-ultra", count=2))
    assert problem.field == "count" and "choose 1" in problem.message and "--count 1" in problem.fix


def test_imagen_seed_with_watermark():
    problems = _v(kind="image", backend="vertex", model="imagen-4", seed=True, add_watermark=True)
    assert _rules(problems) == {"imagen-seed-needs-no-watermark"}
    assert _errors(_v(kind="image", backend="vertex", model="imagen-4", seed=True, add_watermark=False)) == []


def test_person_generation_on_gemini_images_is_vertex_only():
    [problem] = _v(kind="image", backend="gemini-api", model="gemini-3-pro-image", person_generation="allow_adult")
    assert problem.field == "person_generation" and "--backend vertex" in problem.fix
    assert _v(kind="image", backend="vertex", model="gemini-3-pro-image", person_generation="allow_adult") == []


def test_image_sizes_per_model():
    assert _v(kind="image", backend="vertex", model="nano-banana-2", image_size="512") == []
    [problem] = _v(kind="image", backend="gemini-api", model="nano-banana", image_size="512")
    assert "choose one of 1K, 2K, 4K" in problem.message
    [problem] = _v(kind="image", backend="vertex", model="gemini-2.5-flash-image", image_size="2K")[:1]
    assert problem.field == "image_size" and "does not accept" in problem.message
    [problem] = _v(kind="image", backend="gemini-api", model="lite-image", image_size="2K")
    assert "choose one of 1K" in problem.message


def test_input_images_and_batch_limits():
    [problem] = _v(kind="image", backend="vertex", model="gemini-2.5-flash-image", input_images=4)[:1]
    assert problem.field == "input_images" and "at most 3" in problem.message
    assert _v(kind="image", backend="gemini-api", model="nano-banana", batch=True, input_images=14) == []
    # On Vertex, batch means batch prediction: documented for 2.5 Flash Image, 3 Pro Image and 3.1 Flash Image only.
    assert _v(kind="image", backend="vertex", model="gemini-3-pro-image", batch=True) == []
    [problem] = _v(kind="image", backend="vertex", model="nano-banana", batch=True)
    assert problem.field == "batch"


def test_person_generation_rules_per_mode_are_warnings():
    problems = _v(kind="video", backend="vertex", model="veo-3.1-fast", mode="image_to_video", first_frame=True,
                  person_generation="allow_all")
    assert _errors(problems) == [] and _rules(problems) == {"veo-person-generation-i2v"}


def test_kind_mismatch_and_retired_models_and_unknown_models():
    [problem] = _v(kind="image", backend="vertex", model="veo-3.1-fast-generate-001")
    assert problem.field == "model" and "videos" in problem.message
    [problem] = _v(kind="video", backend="vertex", model="veo-2.0-generate-001", duration=99)
    assert problem.field == "model" and "2026-06-30" in problem.message
    assert _v(kind="video", backend="vertex", model="veo-9-ultra", duration=99) == []
    assert _v(kind="image", backend="moon")[0].field == "backend"


def test_video_on_the_proxy_is_refused():
    [problem] = _v(kind="video", backend="cliproxy")
    assert problem.field == "backend" and "no video model" in problem.message
    assert "gemini-api" in problem.fix
    with pytest.raises(ModelUnavailable, match="not served on CLIProxyAPI"):
        CATALOG.resolve("omni", "cliproxy")


def test_validate_without_a_model_uses_the_default():
    [problem] = _v(kind="video", backend="vertex", duration=5)
    assert "veo-3.1-fast-generate-001" in problem.message and "choose one of 4, 6, 8" in problem.message
