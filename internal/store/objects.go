package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// ObjectFilter selects objects for ListObjects. Zero values select
// everything of the organization that is not deleted.
type ObjectFilter struct {
	ProjectID int64
	Types     []modeldoc.ObjectType
	// Match is a case-insensitive substring of the name, or a glob where
	// `*` is any run of characters (`stg_*`, `*_orders`).
	Match  string
	Schema string
	// Documented keeps objects that have (true) or lack (false) a current
	// documentation version.
	Documented *bool
	// Stale keeps documented objects whose documentation is out of date
	// (true), or objects that are not (false).
	Stale          *bool
	IncludeDeleted bool
	IDs            []int64
	// Limit 0 means no limit.
	Limit  int
	Offset int
}

// ObjectSummary is one row of an object listing.
type ObjectSummary struct {
	ID                     int64               `json:"id"`
	ProjectID              int64               `json:"project_id"`
	Project                string              `json:"project"`
	UniqueID               string              `json:"unique_id"`
	Name                   string              `json:"name"`
	Type                   modeldoc.ObjectType `json:"type"`
	Database               string              `json:"database,omitempty"`
	Schema                 string              `json:"schema,omitempty"`
	Materialization        string              `json:"materialization,omitempty"`
	HasDescription         bool                `json:"has_description"`
	Columns                int                 `json:"columns"`
	ColumnsWithDescription int                 `json:"columns_with_description"`
	Documented             bool                `json:"documented"`
	// Stale is modeldoc's one definition of out-of-date documentation:
	// see staleCTE.
	Stale            bool       `json:"stale"`
	CurrentVersion   int        `json:"current_version,omitempty"`
	ComplexityScore  int        `json:"complexity_score,omitempty"`
	LastDocumentedAt *time.Time `json:"last_documented_at,omitempty"`
	Deleted          bool       `json:"deleted,omitempty"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Stale is modeldoc's one definition of out-of-date documentation, used by
// `objects list --stale`, coverage, the dashboard, the exports and
// `generate` (its default, --only-stale, regenerates exactly these). A
// documented object is stale when
//
//   - its SQL changed since its current version was written, or anything
//     else the import knows of it (descriptions, columns: its content hash);
//   - its current version has a stale layer (a failed layer that kept the
//     previous text, or text carried from a version written from older
//     inputs; a failed layer with no text to keep makes a version partial,
//     not stale);
//   - an upstream object has a current version newer than its own (doc
//     version ids grow with time, so "newer" compares ids, not clocks); or
//   - an upstream object is stale: once that upstream is documented again,
//     this one will be too, so a job regenerates the whole chain at once.
//
// staleCTE computes the stale ids of one organization (its one argument);
// staleExpr reads them for the row's object.
const staleCTE = `WITH RECURSIVE stale_ids(id) AS (
	SELECT so.id FROM objects so JOIN projects sp ON sp.id = so.project_id
		JOIN doc_versions sd ON sd.object_id = so.id AND sd.is_current
	WHERE sp.org_id = ? AND (sd.sql_hash <> so.sql_hash OR (sd.content_hash <> '' AND sd.content_hash <> so.content_hash)
		OR sd.stale_layers > 0 OR EXISTS (
			SELECT 1 FROM edges e JOIN doc_versions ud ON ud.object_id = e.upstream_id AND ud.is_current
			WHERE e.downstream_id = so.id AND ud.id > sd.id))
	UNION
	SELECT e.downstream_id FROM edges e JOIN stale_ids si ON e.upstream_id = si.id
) `

const staleExpr = `(d.id IS NOT NULL AND o.id IN (SELECT id FROM stale_ids))`

// StaleIDs returns those of objectIDs, objects of the organization, whose
// documentation is stale (see staleCTE): what `generate` documents again
// by default, exactly what `objects list --stale` lists.
func (s *Store) StaleIDs(ctx context.Context, orgID int64, objectIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(objectIDs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, s.read, staleCTE+"SELECT id FROM stale_ids WHERE "+s.inIDs("id"), orgID, sqldialect.IDList(objectIDs))
	if err != nil {
		return nil, internal("read stale objects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, internal("read stale objects", err)
		}
		out[id] = true
	}
	return out, internal("read stale objects", rows.Err())
}

// ListObjects returns the objects of the organization that pass f, by
// name, and how many pass f in all (ignoring Limit and Offset).
func (s *Store) ListObjects(ctx context.Context, orgID int64, f ObjectFilter) ([]ObjectSummary, int, error) {
	where := []string{"p.org_id = ?"}
	args := []any{orgID, orgID}
	if f.ProjectID != 0 {
		where = append(where, "o.project_id = ?")
		args = append(args, f.ProjectID)
	}
	if len(f.Types) > 0 {
		ph := make([]string, len(f.Types))
		for i, t := range f.Types {
			if !t.Valid() {
				return nil, 0, modeldoc.Errorf(modeldoc.EINVALID, "Unknown object type %q: choose from model, source, seed, snapshot.", t)
			}
			ph[i] = "?"
			args = append(args, string(t))
		}
		where = append(where, "o.type IN ("+strings.Join(ph, ",")+")")
	}
	if m := strings.TrimSpace(f.Match); m != "" {
		where = append(where, `LOWER(o.name) LIKE ? ESCAPE '\'`)
		args = append(args, likePattern(m))
	}
	if f.Schema != "" {
		where = append(where, "LOWER(o.schema_name) = ?")
		args = append(args, strings.ToLower(f.Schema))
	}
	if f.Documented != nil {
		if *f.Documented {
			where = append(where, "d.id IS NOT NULL")
		} else {
			where = append(where, "d.id IS NULL")
		}
	}
	if f.Stale != nil {
		if *f.Stale {
			where = append(where, staleExpr)
		} else {
			where = append(where, "NOT "+staleExpr)
		}
	}
	if !f.IncludeDeleted {
		where = append(where, "NOT o.deleted")
	}
	if len(f.IDs) > 0 {
		where = append(where, s.inIDs("o.id"))
		args = append(args, sqldialect.IDList(f.IDs))
	}
	from := ` FROM objects o JOIN projects p ON p.id = o.project_id
		LEFT JOIN doc_versions d ON d.object_id = o.id AND d.is_current
		WHERE ` + strings.Join(where, " AND ")

	var out []ObjectSummary
	var total int
	// Count and page in one read transaction, so they agree.
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, internal("list objects", err)
	}
	defer tx.Rollback()
	if err := s.queryRow(ctx, tx, staleCTE+"SELECT COUNT(*)"+from, args...).Scan(&total); err != nil {
		return nil, 0, internal("list objects: count", err)
	}
	q := staleCTE + `SELECT o.id, o.project_id, p.name, o.unique_id, o.name, o.type, o.database_name, o.schema_name,
		o.materialization, o.description, o.deleted, o.updated_at,
		(SELECT COUNT(*) FROM columns c WHERE c.object_id = o.id),
		(SELECT COUNT(*) FROM columns c WHERE c.object_id = o.id AND c.description <> ''),
		d.id, d.version, d.complexity_score, d.created_at, ` + staleExpr + from + " ORDER BY " + s.byName("o.name") + ", o.id"
	pageArgs := args
	if f.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		pageArgs = append(append([]any{}, args...), f.Limit, max(f.Offset, 0))
	} else if f.Offset > 0 {
		q += " LIMIT -1 OFFSET ?"
		if s.dialect == Postgres {
			q = strings.Replace(q, "LIMIT -1 ", "", 1)
		}
		pageArgs = append(append([]any{}, args...), f.Offset)
	}
	rows, err := s.query(ctx, tx, q, pageArgs...)
	if err != nil {
		return nil, 0, internal("list objects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o ObjectSummary
		var typ, desc string
		var updated, docAt sqldialect.Time
		var docID, docVersion, complexity sql.NullInt64
		if err := rows.Scan(&o.ID, &o.ProjectID, &o.Project, &o.UniqueID, &o.Name, &typ, &o.Database, &o.Schema,
			&o.Materialization, &desc, &o.Deleted, &updated, &o.Columns, &o.ColumnsWithDescription,
			&docID, &docVersion, &complexity, &docAt, &o.Stale); err != nil {
			return nil, 0, internal("list objects", err)
		}
		o.Type = modeldoc.ObjectType(typ)
		o.HasDescription = strings.TrimSpace(desc) != ""
		o.UpdatedAt = updated.Time
		o.Documented = docID.Valid
		o.CurrentVersion = int(docVersion.Int64)
		o.ComplexityScore = int(complexity.Int64)
		o.LastDocumentedAt = docAt.Ptr()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, internal("list objects", err)
	}
	return out, total, nil
}

// likePattern turns a user's match into a LIKE pattern: a glob when it has
// a `*`, a substring otherwise; LIKE's own wildcards are escaped.
func likePattern(m string) string {
	m = strings.ToLower(m)
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	if strings.Contains(m, "*") {
		parts := strings.Split(m, "*")
		for i := range parts {
			parts[i] = r.Replace(parts[i])
		}
		return strings.Join(parts, "%")
	}
	return "%" + r.Replace(m) + "%"
}

const objectCols = `o.id, o.project_id, o.unique_id, o.type, o.name, o.package, o.database_name, o.schema_name,
	o.materialization, o.raw_sql, o.compiled_sql, o.description, o.tags, o.meta, o.file_path, o.sql_hash,
	o.deleted, o.updated_at, o.identifier, o.config`

func scanObject(r scanner) (*modeldoc.Object, error) {
	var o modeldoc.Object
	var typ, tags, meta, config string
	var updated sqldialect.Time
	if err := r.Scan(&o.ID, &o.ProjectID, &o.UniqueID, &typ, &o.Name, &o.Package, &o.Database, &o.Schema,
		&o.Materialization, &o.RawSQL, &o.CompiledSQL, &o.Description, &tags, &meta, &o.FilePath, &o.SQLHash,
		&o.Deleted, &updated, &o.Identifier, &config); err != nil {
		return nil, err
	}
	o.Config = jsonConfig(config)
	o.Type = modeldoc.ObjectType(typ)
	o.Tags = jsonStrings(tags)
	o.Meta = jsonMap(meta)
	if len(o.Meta) == 0 {
		o.Meta = nil
	}
	o.UpdatedAt = updated.Time
	return &o, nil
}

// GetObject returns the organization's object id with its columns in
// order, or ENOTFOUND.
func (s *Store) GetObject(ctx context.Context, orgID, id int64) (*modeldoc.Object, error) {
	objs, err := s.objects(ctx, s.read, "o.id = ?", orgID, id)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, notFoundObject(id)
	}
	return &objs[0], nil
}

// GetObjects returns those of ids that are the organization's objects,
// with their columns, by name; ids it does not have are left out. It is
// for callers that load many objects at once (a job's prompts).
func (s *Store) GetObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.objects(ctx, s.read, s.inIDs("o.id"), orgID, sqldialect.IDList(ids))
}

func notFoundObject(id int64) error {
	return modeldoc.Errorf(modeldoc.ENOTFOUND, "No object with id %d.", id)
}

// objects loads the organization's objects matching cond (with its args)
// and their columns, by name.
func (s *Store) objects(ctx context.Context, q querier, cond string, orgID int64, args ...any) ([]modeldoc.Object, error) {
	// A condition on o.id names a few rows: CROSS JOIN makes SQLite start
	// from them (by rowid) instead of walking every object of the
	// organization's projects, which made lineage lookups O(catalog).
	// PostgreSQL's planner reorders the join either way.
	from := " FROM objects o JOIN projects p ON p.id = o.project_id WHERE p.org_id = ? AND "
	if strings.HasPrefix(cond, "o.id ") {
		from = " FROM objects o CROSS JOIN projects p WHERE p.id = o.project_id AND p.org_id = ? AND "
	}
	rows, err := s.query(ctx, q, "SELECT "+objectCols+from+cond+" ORDER BY "+s.byName("o.name")+", o.id", append([]any{orgID}, args...)...)
	if err != nil {
		return nil, internal("read objects", err)
	}
	var out []modeldoc.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			rows.Close()
			return nil, internal("read objects", err)
		}
		out = append(out, *o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("read objects", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]int64, len(out))
	index := make(map[int64]int, len(out))
	for i, o := range out {
		ids[i] = o.ID
		index[o.ID] = i
	}
	rows, err = s.query(ctx, q, `SELECT object_id, name, position, data_type, description, human_description, declared, tests, test_args
		FROM columns WHERE `+s.inIDs("object_id")+" ORDER BY object_id, position, name", sqldialect.IDList(ids))
	if err != nil {
		return nil, internal("read columns", err)
	}
	defer rows.Close()
	for rows.Next() {
		var objID int64
		var c modeldoc.Column
		var tests, args string
		if err := rows.Scan(&objID, &c.Name, &c.Position, &c.DataType, &c.Description, &c.HumanDescription, &c.Declared, &tests, &args); err != nil {
			return nil, internal("read columns", err)
		}
		c.Tests = jsonStrings(tests)
		c.TestArgs = jsonTestArgs(args)
		o := &out[index[objID]]
		o.Columns = append(o.Columns, c)
	}
	return out, internal("read columns", rows.Err())
}

// ResolveObject finds an object of the organization by its unique id, or
// else by name among objects that are not deleted, in any project (see
// ResolveObjectIn).
func (s *Store) ResolveObject(ctx context.Context, orgID int64, nameOrUniqueID string) (*modeldoc.Object, error) {
	return s.ResolveObjectIn(ctx, orgID, 0, nameOrUniqueID)
}

// ResolveObjectIn finds an object by its unique id, or else by name among
// objects that are not deleted, in project projectID (0: any project).
// A name several objects share (a model in two projects, or a model and a
// source of one project) is never resolved by a guess: the answer is
// EINVALID listing each candidate with its type, unique id and project,
// and what picks one. No match is ENOTFOUND.
func (s *Store) ResolveObjectIn(ctx context.Context, orgID, projectID int64, nameOrUniqueID string) (*modeldoc.Object, error) {
	key := strings.TrimSpace(nameOrUniqueID)
	inProject, args := "", []any{key}
	if projectID != 0 {
		inProject = " AND o.project_id = ?"
		args = append(args, projectID)
	}
	objs, err := s.objects(ctx, s.read, "o.unique_id = ?"+inProject, orgID, args...)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		objs, err = s.objects(ctx, s.read, "o.name = ? AND NOT o.deleted"+inProject, orgID, args...)
		if err != nil {
			return nil, err
		}
	}
	switch len(objs) {
	case 0:
		where := ""
		if projectID != 0 {
			where = " in that project"
		}
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No object named %q%s. Run `modeldoc objects list --match %s` to find it.", key, where, key)
	case 1:
		return &objs[0], nil
	}
	return nil, s.ambiguous(ctx, orgID, key, objs)
}

// ambiguous is the error of a name that several objects share: each
// candidate with its project, and what picks one.
func (s *Store) ambiguous(ctx context.Context, orgID int64, key string, objs []modeldoc.Object) error {
	names := map[int64]string{}
	if ps, err := s.ListProjects(ctx, orgID); err == nil {
		for _, p := range ps {
			names[p.ID] = p.Name
		}
	}
	projects := map[int64]bool{}
	lines := make([]string, len(objs))
	for i, o := range objs {
		projects[o.ProjectID] = true
		lines[i] = fmt.Sprintf("%s %s (project %s)", o.Type, o.UniqueID, cmpOrID(names[o.ProjectID], o.ProjectID))
	}
	pick := "Name one by its unique id"
	if len(projects) > 1 {
		pick = "Pick the project with --project NAME (project_id in the API), or name one by its unique id"
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "%d objects are named %q: %s. %s.", len(objs), key, strings.Join(lines, "; "), pick)
}

func cmpOrID(name string, id int64) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("#%d", id)
}

// Upstream returns the objects that object id reads from, with columns.
func (s *Store) Upstream(ctx context.Context, orgID, id int64) ([]modeldoc.Object, error) {
	if err := s.checkObject(ctx, orgID, id); err != nil {
		return nil, err
	}
	return s.objects(ctx, s.read, "o.id IN (SELECT upstream_id FROM edges WHERE downstream_id = ?)", orgID, id)
}

// Downstream returns the objects that read from object id, with columns.
func (s *Store) Downstream(ctx context.Context, orgID, id int64) ([]modeldoc.Object, error) {
	if err := s.checkObject(ctx, orgID, id); err != nil {
		return nil, err
	}
	return s.objects(ctx, s.read, "o.id IN (SELECT downstream_id FROM edges WHERE upstream_id = ?)", orgID, id)
}

func (s *Store) checkObject(ctx context.Context, orgID, id int64) error {
	return s.checkObjectQ(ctx, s.read, orgID, id)
}

func (s *Store) checkObjectQ(ctx context.Context, q querier, orgID, id int64) error {
	var n int
	if err := s.queryRow(ctx, q, `SELECT COUNT(*) FROM objects o JOIN projects p ON p.id = o.project_id
		WHERE p.org_id = ? AND o.id = ?`, orgID, id).Scan(&n); err != nil {
		return internal("read object", err)
	}
	if n == 0 {
		return notFoundObject(id)
	}
	return nil
}

// LineageEdge is one edge of a project's lineage by object id:
// Downstream reads from Upstream.
type LineageEdge = modeldoc.ObjectEdge

// Lineage returns every lineage edge of the organization's project, or
// ENOTFOUND for a project it does not have.
func (s *Store) Lineage(ctx context.Context, orgID, projectID int64) ([]LineageEdge, error) {
	if _, err := s.GetProject(ctx, orgID, projectID); err != nil {
		return nil, err
	}
	return s.edges(ctx, "SELECT upstream_id, downstream_id FROM edges WHERE project_id = ? ORDER BY downstream_id, upstream_id", projectID)
}

// edges runs a query answering (upstream_id, downstream_id) rows.
func (s *Store) edges(ctx context.Context, query string, args ...any) ([]LineageEdge, error) {
	rows, err := s.query(ctx, s.read, query, args...)
	if err != nil {
		return nil, internal("read lineage", err)
	}
	defer rows.Close()
	var out []LineageEdge
	for rows.Next() {
		var e LineageEdge
		if err := rows.Scan(&e.Upstream, &e.Downstream); err != nil {
			return nil, internal("read lineage", err)
		}
		out = append(out, e)
	}
	return out, internal("read lineage", rows.Err())
}

// SetObjectDescription records a description a person wrote for object
// id in modeldoc. A re-import keeps it unless the project's YAML then
// gives one.
func (s *Store) SetObjectDescription(ctx context.Context, orgID, objectID int64, text string) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkObjectQ(ctx, tx, orgID, objectID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, "UPDATE objects SET description = ?, description_edited = TRUE, updated_at = ? WHERE id = ?",
			text, s.now(), objectID); err != nil {
			return internal("set description", err)
		}
		return nil
	})
}

// SetColumnDescription records a description a person wrote for a column
// of object id: it is marked human-written, so generated text never
// replaces it. An unknown column is ENOTFOUND.
func (s *Store) SetColumnDescription(ctx context.Context, orgID, objectID int64, column, text string) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkObjectQ(ctx, tx, orgID, objectID); err != nil {
			return err
		}
		res, err := s.exec(ctx, tx, "UPDATE columns SET description = ?, human_description = TRUE, edited = TRUE WHERE object_id = ? AND name = ?",
			text, objectID, column)
		if err != nil {
			return internal("set column description", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return modeldoc.Errorf(modeldoc.ENOTFOUND, "Object %d has no column named %q.", objectID, column)
		}
		return nil
	})
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }

// EdgesTouching returns the lineage edges whose upstream or downstream end
// is one of ids, in the organization: the lineage around a selection, in
// two queries whatever its size.
func (s *Store) EdgesTouching(ctx context.Context, orgID int64, ids []int64) ([]LineageEdge, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list := sqldialect.IDList(ids)
	// Two indexed halves rather than one OR, which made SQLite walk every
	// edge of the project; CROSS JOIN starts each half from the ids.
	half := `SELECT e.upstream_id, e.downstream_id FROM edges e CROSS JOIN projects p
		WHERE p.id = e.project_id AND p.org_id = ? AND `
	q := half + s.inIDs("e.downstream_id") + " UNION " + half + s.inIDs("e.upstream_id")
	return s.edges(ctx, q, orgID, list, orgID, list)
}

// ExposuresReading returns the exposures of the organization that read
// any of ids directly, each with the ids among them it reads. Given an
// object and everything downstream of it, that is every exposure a change
// to the object can reach.
func (s *Store) ExposuresReading(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.ExposureUse, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.query(ctx, s.read, `SELECT x.id, x.unique_id, x.name, x.label, x.type, x.maturity, x.owner, x.url, x.description, r.object_id
		FROM exposure_reads r JOIN exposures x ON x.id = r.exposure_id JOIN projects p ON p.id = x.project_id
		WHERE p.org_id = ? AND `+s.inIDs("r.object_id")+` ORDER BY x.name, x.id, r.object_id`, orgID, sqldialect.IDList(ids))
	if err != nil {
		return nil, internal("read exposures", err)
	}
	defer rows.Close()
	var out []modeldoc.ExposureUse
	last := int64(-1)
	for rows.Next() {
		var id, obj int64
		var e modeldoc.Exposure
		if err := rows.Scan(&id, &e.UniqueID, &e.Name, &e.Label, &e.Type, &e.Maturity, &e.Owner, &e.URL, &e.Description, &obj); err != nil {
			return nil, internal("read exposures", err)
		}
		if id != last {
			out = append(out, modeldoc.ExposureUse{Exposure: e})
			last = id
		}
		u := &out[len(out)-1]
		u.Reads = append(u.Reads, obj)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("read exposures", err)
	}
	return out, nil
}
