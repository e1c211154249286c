import { sql, type Kysely } from "kysely";

// The REST JSON of a node and of a connection, made by PostgreSQL, for the whole-canvas read
// (GET /projects/:id/graph through ListNodesJson/ListConnectionsJson): the store passes the
// bytes on and the gateway writes them, so no row is parsed, no protobuf message built and no
// object stringified on the way. The same JSON the gateway's rest/map.ts node() and connection()
// make from nodeToProto/connectionToProto, keys in the same order; store test
// graph-json.test.ts holds them equal on both engines.
//
// Written as text by concat() rather than json_build_object: that one spaces every key
// ("id" : ...), and a cast to json would parse each object once more. Every value that can
// hold anything goes through to_json (escapes, and non-finite floats as valid JSON); ids, the
// CHECKed status and type words and the timestamps need no escaping. Floats get `+ 0`, which
// turns -0 into 0 as protobuf does (it does not send a zero). metadata is jsonb's own text
// (spaced, keys in jsonb's order): the same value, parsed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION sker_json_iso(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
      SELECT coalesce('"' || to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"', 'null')
    $$;

    -- map.recipe: {type, prompt?, options: {model?, temperature?, maxTokens?}}; an empty prompt
    -- or model is left out, a temperature or maxTokens of 0 is not.
    CREATE FUNCTION sker_recipe_rest(r jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE WHEN jsonb_typeof(r) = 'object' THEN concat(
        '{"type":', to_json(coalesce(r ->> 'type', '')),
        CASE WHEN coalesce(r ->> 'prompt', '') <> '' THEN ',"prompt":' || to_json(r ->> 'prompt')::text END,
        ',"options":{',
        concat_ws(',',
          CASE WHEN coalesce(r #>> '{options,model}', '') <> '' THEN '"model":' || to_json(r #>> '{options,model}')::text END,
          CASE WHEN jsonb_typeof(r #> '{options,temperature}') = 'number' THEN '"temperature":' || (r #> '{options,temperature}')::text END,
          CASE WHEN jsonb_typeof(r #> '{options,maxTokens}') = 'number' THEN '"maxTokens":' || (r #> '{options,maxTokens}')::text END
        ),
        '}}'
      ) ELSE 'null' END
    $$;

    CREATE FUNCTION sker_node_rest(n nodes) RETURNS text LANGUAGE sql STABLE AS $$
      SELECT concat(
        '{"id":"', n.id,
        '","projectId":"', n.project_id,
        '","title":', to_json(n.title),
        ',"content":', to_json(n.content),
        ',"semanticType":', to_json(n.semantic_type),
        ',"importance":', n.importance,
        ',"confidence":', to_json(n.confidence + 0),
        ',"status":"', n.status,
        '","tags":', to_json(n.tags),
        ',"position":{"x":', to_json(n.position_x + 0), ',"y":', to_json(n.position_y + 0),
        '},"size":{"width":', to_json(n.width + 0), ',"height":', to_json(n.height + 0),
        '},"metadata":', CASE WHEN jsonb_typeof(n.metadata) = 'object' THEN n.metadata::text ELSE '{}' END,
        ',"parentId":', coalesce('"' || n.parent_id::text || '"', 'null'),
        ',"version":', n.version,
        ',"aiGenerated":', CASE WHEN n.ai_generated THEN 'true' ELSE 'false' END,
        ',"createdBy":', coalesce('"' || n.created_by::text || '"', 'null'),
        ',"createdAt":', sker_json_iso(n.created_at),
        ',"updatedAt":', sker_json_iso(n.updated_at),
        ',"deletedAt":', sker_json_iso(n.deleted_at),
        ',"recipe":', sker_recipe_rest(n.recipe),
        '}'
      )
    $$;

    CREATE FUNCTION sker_connection_rest(c connections) RETURNS text LANGUAGE sql STABLE AS $$
      SELECT concat(
        '{"id":"', c.id,
        '","projectId":"', c.project_id,
        '","sourceNodeId":"', c.source_node_id,
        '","targetNodeId":"', c.target_node_id,
        '","type":"', c.type,
        '","label":', to_json(c.label),
        ',"weight":', to_json(c.weight + 0),
        ',"createdBy":', coalesce('"' || c.created_by::text || '"', 'null'),
        ',"createdAt":', sker_json_iso(c.created_at),
        ',"updatedAt":', sker_json_iso(c.updated_at),
        '}'
      )
    $$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP FUNCTION sker_connection_rest(connections);
    DROP FUNCTION sker_node_rest(nodes);
    DROP FUNCTION sker_recipe_rest(jsonb);
    DROP FUNCTION sker_json_iso(timestamptz);
  `.execute(db);
}
