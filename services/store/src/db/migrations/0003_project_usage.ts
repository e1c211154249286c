import { sql, type Kysely } from "kysely";

// What a project holds, for its quotas (nodes per project, bytes per project): kept by a trigger
// on nodes, so every path that writes nodes — REST, AI tasks, imports, whatever comes next —
// counts, and a write reads its project's usage in O(1) in the same transaction. Hidden nodes
// count until they are deleted permanently (a restore must not overshoot a quota). Bytes are
// the node's title, content and metadata as stored (UTF-8).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE projects
      ADD COLUMN node_count integer NOT NULL DEFAULT 0,
      ADD COLUMN content_bytes bigint NOT NULL DEFAULT 0;

    UPDATE projects p SET node_count = u.n, content_bytes = u.b
    FROM (
      SELECT project_id, count(*) AS n,
             sum(octet_length(title) + octet_length(content) + octet_length(metadata::text)) AS b
      FROM nodes GROUP BY project_id
    ) u
    WHERE p.id = u.project_id;

    CREATE FUNCTION sker_node_usage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE projects SET node_count = node_count + 1,
          content_bytes = content_bytes + octet_length(NEW.title) + octet_length(NEW.content) + octet_length(NEW.metadata::text)
        WHERE id = NEW.project_id;
      ELSIF TG_OP = 'DELETE' THEN
        UPDATE projects SET node_count = node_count - 1,
          content_bytes = content_bytes - octet_length(OLD.title) - octet_length(OLD.content) - octet_length(OLD.metadata::text)
        WHERE id = OLD.project_id;
      ELSE
        UPDATE projects SET content_bytes = content_bytes
          + octet_length(NEW.title) + octet_length(NEW.content) + octet_length(NEW.metadata::text)
          - octet_length(OLD.title) - octet_length(OLD.content) - octet_length(OLD.metadata::text)
        WHERE id = NEW.project_id;
      END IF;
      RETURN NULL;
    END $$;

    CREATE TRIGGER nodes_usage AFTER INSERT OR DELETE OR UPDATE OF title, content, metadata ON nodes
      FOR EACH ROW EXECUTE FUNCTION sker_node_usage();

    CREATE INDEX projects_owner ON projects (owner_id) WHERE deleted_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX projects_owner;
    DROP TRIGGER nodes_usage ON nodes;
    DROP FUNCTION sker_node_usage();
    ALTER TABLE projects DROP COLUMN node_count, DROP COLUMN content_bytes;
  `.execute(db);
}
