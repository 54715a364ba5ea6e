-- response_format: a json_schema response_format is compiled at enqueue;
-- a schema aigov could not hold the reply to is refused there, naming the
-- keyword and where it is, by submit and by INSERT alike.
INSERT INTO aigov.tiers (tier, rpm, tpm, tpd) VALUES ('basic', 60, 400000, 10000000);
INSERT INTO aigov.tenants (tenant_id, tier) VALUES ('sf_acme', 'basic');
INSERT INTO aigov.providers (provider, api_style, base_url)
	VALUES ('openai', 'openai', 'http://127.0.0.1:18080');
INSERT INTO aigov.models (provider, model, context_window, max_output_tokens)
	VALUES ('openai', 'gpt-test', 128000, 4096);
CREATE FUNCTION pg_temp.rf(schema text) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('model', 'gpt-test',
		'messages', '[{"role": "user", "content": "x"}]'::jsonb,
		'response_format', jsonb_build_object('type', 'json_schema',
			'json_schema', jsonb_build_object('name', 'r', 'strict', true,
				'schema', schema::jsonb)))
$$;

-- Schemas of the supported keywords are accepted.
SELECT status FROM aigov.submit('sf_acme', pg_temp.rf('{
  "type": "object", "additionalProperties": false,
  "required": ["name", "tags", "price", "kind"],
  "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[A-Z][a-z]+$"},
    "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 1, "uniqueItems": true},
    "price": {"type": "number", "minimum": 0, "exclusiveMaximum": 1000, "multipleOf": 0.01},
    "kind": {"enum": ["a", "b"]}, "pair": {"prefixItems": [{"const": 1}, {"type": "integer"}]},
    "alt": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    "both": {"allOf": [{"minProperties": 1}, {"maxProperties": 3}]}},
  "$defs": {"tag": {"type": "string", "description": "a tag", "format": "hostname"}}}'));
SELECT status FROM aigov.submit('sf_acme', pg_temp.rf('true'));
-- json_object and text formats have no schema to check.
SELECT status FROM aigov.submit('sf_acme', '{"model": "gpt-test", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}}');

-- An unsupported keyword: 0A000, with its place in the schema.
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"type": "object", "properties": {"a": {"type": "array", "contains": {"const": 1}}}}'));
INSERT INTO aigov.requests (tenant_id, body)
	VALUES ('sf_acme', pg_temp.rf('{"if": {"type": "string"}, "then": {"minLength": 1}}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"type": "object", "unevaluatedProperties": false}'));
-- A supported keyword in a form that is not: remote and anchor references,
-- a pattern with a Unicode property escape, a $schema of another draft.
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"$ref": "https://example.com/s.json"}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"$ref": "#thing"}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"properties": {"n": {"pattern": "^\\p{L}+$"}}}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"$schema": "http://json-schema.org/draft-07/schema#"}'));

-- A malformed schema: 22023.
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"type": "text"}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"properties": {"a": {"minLength": -1}}}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"pattern": "a("}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"$ref": "#/$defs/missing"}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"}'));
SELECT * FROM aigov.submit('sf_acme', pg_temp.rf('17'));

-- Only the accepted jobs are queued.
SELECT count(*) AS jobs FROM aigov.requests;

DELETE FROM aigov.requests;
DELETE FROM aigov.models;
DELETE FROM aigov.providers;
DELETE FROM aigov.tenants;
DELETE FROM aigov.tiers;
