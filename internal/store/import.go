package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// Rows per multi-row statement. Well under SQLite's 32,766 and
// PostgreSQL's 65,535 parameters, and large enough that a 20,000-column
// import is a few dozen statements.
const (
	objectBatch = 200
	columnBatch = 500
	edgeBatch   = 1000
)

// ImportCatalog stores cat as the project cat.ProjectName of the
// organization, in one transaction: on any error nothing changes.
//
// A re-import updates in place: objects keep their ids (documentation and
// job history point at them), changed SQL gets a new sql_hash, objects the
// catalog no longer has are marked deleted and come back when they
// reappear, rows that did not change are not written, and the project's
// lineage becomes the catalog's. A description a person edited in modeldoc
// survives a re-import unless the project's YAML now gives one.
//
// The summary counts what the catalog holds: Columns is every column of
// every object (declared in YAML or only known to catalog.json), and
// ColumnsWithDescription those of them with a non-empty description.
func (s *Store) ImportCatalog(ctx context.Context, orgID int64, cat *modeldoc.Catalog) (*modeldoc.ImportSummary, error) {
	if err := validateCatalog(cat); err != nil {
		return nil, err
	}
	var sum *modeldoc.ImportSummary
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		var err error
		sum, err = s.importCatalog(ctx, tx, orgID, cat)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sum, nil
}

func validateCatalog(cat *modeldoc.Catalog) error {
	if cat == nil || strings.TrimSpace(cat.ProjectName) == "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "The project has no name: set `name:` in dbt_project.yml (or metadata.project_name in manifest.json).")
	}
	seen := make(map[string]bool, len(cat.Objects))
	for i := range cat.Objects {
		o := &cat.Objects[i]
		if o.UniqueID == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "Object %q of project %q has no unique id.", o.Name, cat.ProjectName)
		}
		if !o.Type.Valid() {
			return modeldoc.Errorf(modeldoc.EINVALID, "Object %s has type %q: expected model, source, seed or snapshot.", o.UniqueID, o.Type)
		}
		if seen[o.UniqueID] {
			return modeldoc.Errorf(modeldoc.EINVALID, "Object %s appears twice in project %q: unique ids must be unique.", o.UniqueID, cat.ProjectName)
		}
		seen[o.UniqueID] = true
	}
	exposed := make(map[string]bool, len(cat.Exposures))
	for _, e := range cat.Exposures {
		if e.UniqueID == "" || strings.TrimSpace(e.Name) == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "An exposure of project %q has no name or unique id.", cat.ProjectName)
		}
		if exposed[e.UniqueID] {
			return modeldoc.Errorf(modeldoc.EINVALID, "Exposure %s appears twice in project %q: unique ids must be unique.", e.UniqueID, cat.ProjectName)
		}
		exposed[e.UniqueID] = true
	}
	return nil
}

type existingObject struct {
	id          int64
	contentHash string
	deleted     bool
}

func (s *Store) importCatalog(ctx context.Context, tx *sql.Tx, orgID int64, cat *modeldoc.Catalog) (*modeldoc.ImportSummary, error) {
	now := s.now()
	var exists int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM organizations WHERE id = ?", orgID).Scan(&exists); err != nil {
		return nil, internal("import: read organization", err)
	}
	if exists == 0 {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No organization with id %d.", orgID)
	}
	var projectID int64
	err := s.queryRow(ctx, tx, `INSERT INTO projects (org_id, name, source, path, schema_version, dbt_version, adapter_type, imported_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, name) DO UPDATE SET source = excluded.source, path = excluded.path,
			schema_version = excluded.schema_version, dbt_version = excluded.dbt_version,
			adapter_type = excluded.adapter_type, imported_at = excluded.imported_at
		RETURNING id`,
		orgID, cat.ProjectName, cat.Source, cat.Path, cat.SchemaVersion, cat.DbtVersion, cat.AdapterType, now).Scan(&projectID)
	if err != nil {
		return nil, internal("import: upsert project", err)
	}

	// Text modeldoc exported into the YAML is not a person's.
	if cat, err = s.recogniseExported(ctx, tx, projectID, cat); err != nil {
		return nil, err
	}

	existing := map[string]existingObject{}
	rows, err := s.query(ctx, tx, "SELECT id, unique_id, content_hash, deleted FROM objects WHERE project_id = ?", projectID)
	if err != nil {
		return nil, internal("import: read objects", err)
	}
	for rows.Next() {
		var e existingObject
		var uid string
		if err := rows.Scan(&e.id, &uid, &e.contentHash, &e.deleted); err != nil {
			rows.Close()
			return nil, internal("import: read objects", err)
		}
		existing[uid] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("import: read objects", err)
	}

	sum := &modeldoc.ImportSummary{ProjectID: projectID, ProjectName: cat.ProjectName, Source: cat.Source}
	sum.Warnings = append(sum.Warnings, cat.Warnings...)
	ids := make(map[string]int64, len(cat.Objects))
	var upserts []*modeldoc.Object
	var hashes []string
	rewriteCols := map[string]bool{}
	for i := range cat.Objects {
		o := &cat.Objects[i]
		switch o.Type {
		case modeldoc.TypeModel:
			sum.Models++
			if strings.TrimSpace(o.Description) != "" {
				sum.ModelsWithDescription++
			}
		case modeldoc.TypeSource:
			sum.Sources++
		case modeldoc.TypeSeed:
			sum.Seeds++
		case modeldoc.TypeSnapshot:
			sum.Snapshots++
		}
		for _, c := range o.Columns {
			sum.Columns++
			if strings.TrimSpace(c.Description) != "" {
				sum.ColumnsWithDescription++
			}
		}
		h, colsChanged := contentHash(o), true
		e, ok := existing[o.UniqueID]
		switch {
		case !ok:
			sum.Created++
		case e.contentHash != h || e.deleted:
			sum.Updated++
			colsChanged = e.contentHash[min(len(e.contentHash), 64):] != h[64:]
		default:
			sum.Unchanged++
			ids[o.UniqueID] = e.id
			continue
		}
		upserts = append(upserts, o)
		hashes = append(hashes, h)
		if colsChanged {
			rewriteCols[o.UniqueID] = true
		}
	}

	if err := s.upsertObjects(ctx, tx, projectID, upserts, hashes, ids, now); err != nil {
		return nil, err
	}

	// Objects the catalog no longer has are marked, never removed.
	var gone []int64
	for uid, e := range existing {
		if _, ok := ids[uid]; !ok && !e.deleted {
			gone = append(gone, e.id)
		}
	}
	if len(gone) > 0 {
		sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
		if _, err := s.exec(ctx, tx, "UPDATE objects SET deleted = TRUE, updated_at = ? WHERE "+s.inIDs("id"), now, sqldialect.IDList(gone)); err != nil {
			return nil, internal("import: mark deleted", err)
		}
		sum.Deleted = len(gone)
	}

	if err := s.rewriteColumns(ctx, tx, cat, rewriteCols, ids); err != nil {
		return nil, err
	}
	n, warnings, err := s.replaceEdges(ctx, tx, projectID, cat.Edges, ids)
	if err != nil {
		return nil, err
	}
	sum.Edges = n
	sum.Warnings = append(sum.Warnings, warnings...)
	if sum.Exposures, err = s.replaceExposures(ctx, tx, projectID, cat.Exposures, ids); err != nil {
		return nil, err
	}
	return sum, nil
}

// replaceExposures makes the project's stored exposures equal to the
// catalog's. They are few (a project declares tens), so they are rewritten
// whole rather than diffed; a read the catalog names but does not hold is
// dropped, as an edge to an unknown object is.
func (s *Store) replaceExposures(ctx context.Context, tx *sql.Tx, projectID int64, exposures []modeldoc.Exposure, ids map[string]int64) (int, error) {
	if _, err := s.exec(ctx, tx, "DELETE FROM exposures WHERE project_id = ?", projectID); err != nil {
		return 0, internal("import: delete exposures", err)
	}
	for _, e := range exposures {
		var id int64
		err := s.queryRow(ctx, tx, `INSERT INTO exposures (project_id, unique_id, name, label, type, maturity, owner, url, description)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			projectID, e.UniqueID, e.Name, e.Label, e.Type, e.Maturity, e.Owner, e.URL, e.Description).Scan(&id)
		if err != nil {
			return 0, internal("import: insert exposure", err)
		}
		for _, uid := range e.DependsOn {
			obj, ok := ids[uid]
			if !ok {
				continue
			}
			if _, err := s.exec(ctx, tx, "INSERT INTO exposure_reads (exposure_id, object_id) VALUES (?, ?) ON CONFLICT DO NOTHING", id, obj); err != nil {
				return 0, internal("import: insert exposure reads", err)
			}
		}
	}
	return len(exposures), nil
}

// contentHash is two hex sha256 digests back to back: the object's own
// fields, then its columns. The second half tells a re-import whether the
// columns need rewriting.
func contentHash(o *modeldoc.Object) string {
	h := sha256.New()
	for _, f := range []string{string(o.Type), o.Name, o.Package, o.Database, o.Schema, o.Materialization,
		o.RawSQL, o.CompiledSQL, o.Description, marshalJSON(o.Tags), marshalJSON(o.Meta), o.FilePath, objectSQLHash(o), o.Identifier} {
		writeField(h, f)
	}
	if !o.Config.Empty() {
		writeField(h, configJSON(o.Config))
	}
	obj := hex.EncodeToString(h.Sum(nil))
	h.Reset()
	for i, c := range o.Columns {
		writeField(h, c.Name)
		writeField(h, c.DataType)
		writeField(h, c.Description)
		writeField(h, fmt.Sprint(c.HumanDescription, c.Declared, columnPosition(c, i)))
		writeField(h, marshalJSON(c.Tests))
		// Only when there are some: the hashes of columns without test
		// arguments stay what they were before they were imported.
		if len(c.TestArgs) > 0 {
			writeField(h, testArgsJSON(c.TestArgs))
		}
	}
	return obj + hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	h.Write([]byte(s))
}

func objectSQLHash(o *modeldoc.Object) string {
	if o.SQLHash != "" {
		return o.SQLHash
	}
	return modeldoc.HashSQL(o.RawSQL, o.CompiledSQL)
}

func columnPosition(c modeldoc.Column, i int) int {
	if c.Position > 0 {
		return c.Position
	}
	return i + 1
}

func nonNilTags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func nonNilMeta(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s *Store) upsertObjects(ctx context.Context, tx *sql.Tx, projectID int64, objs []*modeldoc.Object, hashes []string, ids map[string]int64, now any) error {
	const cols = 21
	for start := 0; start < len(objs); start += objectBatch {
		end := min(start+objectBatch, len(objs))
		args := make([]any, 0, (end-start)*cols)
		for i := start; i < end; i++ {
			o := objs[i]
			args = append(args, projectID, o.UniqueID, string(o.Type), o.Name, o.Package, o.Database, o.Schema,
				o.Materialization, o.RawSQL, o.CompiledSQL, o.Description, marshalJSON(nonNilTags(o.Tags)),
				marshalJSON(nonNilMeta(o.Meta)), o.FilePath, objectSQLHash(o), hashes[i], false, now, now, o.Identifier, configJSON(o.Config))
		}
		q := `INSERT INTO objects (project_id, unique_id, type, name, package, database_name, schema_name,
			materialization, raw_sql, compiled_sql, description, tags, meta, file_path, sql_hash, content_hash,
			deleted, created_at, updated_at, identifier, config)
		VALUES ` + placeholders(end-start, cols) + `
		ON CONFLICT (project_id, unique_id) DO UPDATE SET
			type = excluded.type, name = excluded.name, package = excluded.package,
			database_name = excluded.database_name, schema_name = excluded.schema_name,
			materialization = excluded.materialization, raw_sql = excluded.raw_sql,
			compiled_sql = excluded.compiled_sql,
			description = CASE WHEN excluded.description = '' AND objects.description_edited
				THEN objects.description ELSE excluded.description END,
			description_edited = CASE WHEN excluded.description = ''
				THEN objects.description_edited ELSE FALSE END,
			tags = excluded.tags, meta = excluded.meta, file_path = excluded.file_path,
			sql_hash = excluded.sql_hash, content_hash = excluded.content_hash,
			deleted = FALSE, updated_at = excluded.updated_at, identifier = excluded.identifier,
			config = excluded.config
		RETURNING id, unique_id`
		rows, err := s.query(ctx, tx, q, args...)
		if err != nil {
			return internal("import: upsert objects", err)
		}
		for rows.Next() {
			var id int64
			var uid string
			if err := rows.Scan(&id, &uid); err != nil {
				rows.Close()
				return internal("import: upsert objects", err)
			}
			ids[uid] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return internal("import: upsert objects", err)
		}
	}
	return nil
}

// rewriteColumns replaces the columns of the objects in which. A column
// description a person edited in modeldoc is carried over when the
// catalog gives none.
func (s *Store) rewriteColumns(ctx context.Context, tx *sql.Tx, cat *modeldoc.Catalog, which map[string]bool, ids map[string]int64) error {
	if len(which) == 0 {
		return nil
	}
	objIDs := make([]int64, 0, len(which))
	for uid := range which {
		objIDs = append(objIDs, ids[uid])
	}
	sort.Slice(objIDs, func(i, j int) bool { return objIDs[i] < objIDs[j] })
	type key struct {
		obj  int64
		name string
	}
	edited := map[key]string{}
	rows, err := s.query(ctx, tx, "SELECT object_id, name, description FROM columns WHERE edited AND "+s.inIDs("object_id"), sqldialect.IDList(objIDs))
	if err != nil {
		return internal("import: read edited columns", err)
	}
	for rows.Next() {
		var k key
		var d string
		if err := rows.Scan(&k.obj, &k.name, &d); err != nil {
			rows.Close()
			return internal("import: read edited columns", err)
		}
		edited[k] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal("import: read edited columns", err)
	}
	if _, err := s.exec(ctx, tx, "DELETE FROM columns WHERE "+s.inIDs("object_id"), sqldialect.IDList(objIDs)); err != nil {
		return internal("import: delete columns", err)
	}

	const ncol = 10
	const insert = "INSERT INTO columns (object_id, name, position, data_type, description, human_description, edited, declared, tests, test_args) VALUES "
	// Full batches reuse one prepared statement: parsing a 4,500-parameter
	// statement is a good part of its cost.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, columnBatch*ncol)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		var err error
		if len(args) == columnBatch*ncol {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.Rebind(insert+placeholders(columnBatch, ncol))); err != nil {
					return internal("import: prepare columns", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = s.exec(ctx, tx, insert+placeholders(len(args)/ncol, ncol), args...)
		}
		if err != nil {
			return internal("import: insert columns", err)
		}
		args = args[:0]
		return nil
	}
	for i := range cat.Objects {
		o := &cat.Objects[i]
		if !which[o.UniqueID] {
			continue
		}
		id := ids[o.UniqueID]
		for j, c := range o.Columns {
			desc, human, isEdited := c.Description, c.HumanDescription, false
			if d, ok := edited[key{id, c.Name}]; ok && strings.TrimSpace(desc) == "" {
				desc, human, isEdited = d, true, true
			}
			args = append(args, id, c.Name, columnPosition(c, j), c.DataType, desc, human, isEdited, c.Declared,
				marshalJSON(nonNilTags(c.Tests)), testArgsJSON(c.TestArgs))
			if len(args) >= columnBatch*ncol {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

type edgeKey struct{ up, down int64 }

// replaceEdges makes the project's stored lineage equal to edges, writing
// only the difference. Edges naming an object the catalog does not hold
// are skipped with a warning.
func (s *Store) replaceEdges(ctx context.Context, tx *sql.Tx, projectID int64, edges []modeldoc.Edge, ids map[string]int64) (int, []string, error) {
	want := make(map[edgeKey]bool, len(edges))
	var warnings []string
	unknown := 0
	for _, e := range edges {
		up, okU := ids[e.Upstream]
		down, okD := ids[e.Downstream]
		if !okU || !okD {
			unknown++
			if unknown <= 20 {
				missing := e.Upstream
				if okU {
					missing = e.Downstream
				}
				warnings = append(warnings, fmt.Sprintf("Lineage edge %s -> %s skipped: %s is not in the project.", e.Upstream, e.Downstream, missing))
			}
			continue
		}
		if up == down {
			continue
		}
		want[edgeKey{up, down}] = true
	}
	if unknown > 20 {
		warnings = append(warnings, fmt.Sprintf("%d more lineage edges skipped because they name objects not in the project.", unknown-20))
	}

	have := map[edgeKey]bool{}
	rows, err := s.query(ctx, tx, "SELECT upstream_id, downstream_id FROM edges WHERE project_id = ?", projectID)
	if err != nil {
		return 0, nil, internal("import: read edges", err)
	}
	for rows.Next() {
		var k edgeKey
		if err := rows.Scan(&k.up, &k.down); err != nil {
			rows.Close()
			return 0, nil, internal("import: read edges", err)
		}
		have[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, nil, internal("import: read edges", err)
	}

	var drop []edgeKey
	for k := range have {
		if !want[k] {
			drop = append(drop, k)
		}
	}
	if len(drop) > 0 {
		stmt, err := tx.PrepareContext(ctx, s.Rebind("DELETE FROM edges WHERE upstream_id = ? AND downstream_id = ?"))
		if err != nil {
			return 0, nil, internal("import: prepare", err)
		}
		for _, k := range drop {
			if _, err := stmt.ExecContext(ctx, k.up, k.down); err != nil {
				stmt.Close()
				return 0, nil, internal("import: delete edge", err)
			}
		}
		stmt.Close()
	}
	var add []edgeKey
	for k := range want {
		if !have[k] {
			add = append(add, k)
		}
	}
	sort.Slice(add, func(i, j int) bool {
		if add[i].down != add[j].down {
			return add[i].down < add[j].down
		}
		return add[i].up < add[j].up
	})
	for start := 0; start < len(add); start += edgeBatch {
		end := min(start+edgeBatch, len(add))
		args := make([]any, 0, (end-start)*3)
		for _, k := range add[start:end] {
			args = append(args, projectID, k.up, k.down)
		}
		// An edge may already exist under another project of the same
		// objects only if ids were shared, which they never are; DO NOTHING
		// keeps a duplicate from failing the import all the same.
		q := "INSERT INTO edges (project_id, upstream_id, downstream_id) VALUES " + placeholders(end-start, 3) +
			" ON CONFLICT (upstream_id, downstream_id) DO NOTHING"
		if _, err := s.exec(ctx, tx, q, args...); err != nil {
			return 0, nil, internal("import: insert edges", err)
		}
	}
	return len(want), warnings, nil
}
