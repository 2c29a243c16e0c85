import copy

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from vv_core.errors import SchemaValidationError
from vv_core.schema import SCHEMAS_DIR, load_schema, schema_path, validate_schema

SCHEMA_FILES = [
    "analytic.schema.json", "summary.schema.json", "logline.schema.json", "contract.signature.json",
    "playlist.schema.json", "pipeline_status.schema.json", "catalog.schema.json",
]


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_each_schema_is_2020_12_with_an_example_it_accepts(name):
    schema = load_schema(SCHEMAS_DIR / name)
    Draft202012Validator.check_schema(schema)  # load_schema trusts the bundled files: check them here
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["examples"]
    for example in schema["examples"]:
        validate_schema(example, SCHEMAS_DIR / name)


def example(name):
    return copy.deepcopy(load_schema(name)["examples"][0])


def set_path(document, dotted, value):
    *parents, last = dotted.split(".")
    node = document
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value


DELETE = object()

MALFORMED = [
    # (schema, path to break, bad value, field the error must name)
    ("logline", "signature", DELETE, "signature"),
    ("logline", "when", "2026-11-21T10:15:00+01:00", "when"),
    ("logline", "when", "2026-11-21 10:15:00Z", "when"),
    ("logline", "status", "ok", "status"),
    ("logline", "seq", -1, "seq"),
    ("logline", "seq", "3", "seq"),
    ("logline", "prev_hash", "xyz", "prev_hash"),
    ("logline", "signature", "A" * 64, "signature"),
    ("logline", "source_hash", "ab" * 31, "source_hash"),
    ("logline", "injected", "value", "injected"),
    ("logline", "source.video", "", "source.video"),
    ("analytic", "detections.0.confidence", 1.5, "detections[0].confidence"),
    ("analytic", "detections.0.bbox", [0.1, 0.2, 0.3], "detections[0].bbox"),
    ("analytic", "detections.1.type", "car", "detections[1].type"),
    ("analytic", "model.backend", "tensorrt", "model.backend"),
    ("analytic", "video.duration_s", 0, "video.duration_s"),
    ("analytic", "video.width", DELETE, "video.width"),
    ("analytic", "sampling.frames_inferred", -3, "sampling.frames_inferred"),
    ("summary", "status", "ok", "status"),
    ("summary", "title", "", "title"),
    ("summary", "confidence", 2, "confidence"),
    ("summary", "engine", "gpt", "engine"),
    ("summary", "prompt_version", DELETE, "prompt_version"),
    ("summary", "timings.tokens_per_s", -1, "timings.tokens_per_s"),
    ("contract.signature.json", "algorithm", "HMAC-MD5", "algorithm"),
    ("playlist", "items.0.media_url", "http://evil.example/x.mp4", "items[0].media_url"),
    ("playlist", "tv", "../tv1", "tv"),
    ("pipeline_status", "queue_length", -1, "queue_length"),
    ("contract.signature.json", "key_id", "has space", "key_id"),
]


@pytest.mark.parametrize(("schema", "where", "value", "field"), MALFORMED)
def test_malformed_documents_are_rejected_naming_the_field(schema, where, value, field):
    document = example(schema)
    set_path(document, where, value)
    with pytest.raises(SchemaValidationError) as caught:
        validate_schema(document, schema)
    assert caught.value.field == field
    assert f"'{field}'" in str(caught.value)


def test_root_level_type_error_names_root():
    with pytest.raises(SchemaValidationError, match="'<root>'"):
        validate_schema(["not", "an", "object"], "logline")


def test_schema_path_resolves_short_names_and_paths(tmp_path):
    assert schema_path("logline") == SCHEMAS_DIR / "logline.schema.json"
    assert schema_path("contract.signature.json") == SCHEMAS_DIR / "contract.signature.json"
    custom = tmp_path / "mine.json"
    custom.write_text('{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "integer"}')
    validate_schema(3, custom)
    with pytest.raises(SchemaValidationError):
        validate_schema("3", str(custom))


def test_a_schema_outside_the_bundle_is_checked_against_the_metaschema(tmp_path):
    path = tmp_path / "broken.schema.json"
    path.write_text('{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": 12}')
    with pytest.raises(SchemaError):
        load_schema(path)
