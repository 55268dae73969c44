package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// PlanObjects returns those of ids that are the organization's objects,
// in id order, with only what documentation reads of an object: id,
// project, unique id, type, name, schema, materialization, file path,
// description, raw and compiled SQL, SQL hash, and its columns (name,
// position, type, description, whether human-written or declared), package,
// database and identifier, its tags and meta and its columns' tests, which
// prompts show (grain, keys, owner). Ids it does not have are left out.
func (s *Store) PlanObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error) {
	return s.bulkObjects(ctx, orgID, ids, true)
}

// NeighborObjects is PlanObjects for the objects around the ones being
// documented: what a prompt shows of a neighbour (id, project, unique id,
// type, name, description, package, database, schema, identifier, and its
// columns' names, positions, types, whether declared, and human
// descriptions, which downstream columns inherit). The SQL, the other
// fields and the columns' other descriptions are left empty.
func (s *Store) NeighborObjects(ctx context.Context, orgID int64, ids []int64) ([]modeldoc.Object, error) {
	return s.bulkObjects(ctx, orgID, ids, false)
}

func (s *Store) bulkObjects(ctx context.Context, orgID int64, ids []int64, full bool) ([]modeldoc.Object, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list := sqldialect.IDList(ids)
	// Package, database, schema and identifier match the relations a
	// downstream model's SQL reads back to this object.
	cols := "o.id, o.project_id, o.unique_id, o.type, o.name, o.description, o.package, o.database_name, o.schema_name, o.identifier"
	if full {
		cols += ", o.materialization, o.file_path, o.raw_sql, o.compiled_sql, o.sql_hash, o.tags, o.meta, o.config"
	}
	// No ORDER BY on a name: sorting rows that carry their SQL cost more
	// than the reading. CROSS JOIN starts from the ids, as in objects.
	rows, err := s.query(ctx, s.read, "SELECT "+cols+` FROM objects o CROSS JOIN projects p
		WHERE p.id = o.project_id AND p.org_id = ? AND `+s.inIDs("o.id"), orgID, list)
	if err != nil {
		return nil, internal("read objects", err)
	}
	out := make([]modeldoc.Object, 0, len(ids))
	for rows.Next() {
		var o modeldoc.Object
		var typ, tags, meta, config string
		dest := []any{&o.ID, &o.ProjectID, &o.UniqueID, &typ, &o.Name, &o.Description, &o.Package, &o.Database, &o.Schema, &o.Identifier}
		if full {
			dest = append(dest, &o.Materialization, &o.FilePath, &o.RawSQL, &o.CompiledSQL, &o.SQLHash, &tags, &meta, &config)
		}
		if err := rows.Scan(dest...); err != nil {
			rows.Close()
			return nil, internal("read objects", err)
		}
		o.Tags = jsonStrings(tags)
		o.Config = jsonConfig(config)
		if o.Meta = jsonMap(meta); len(o.Meta) == 0 {
			o.Meta = nil
		}
		o.Type = modeldoc.ObjectType(typ)
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("read objects", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	slices.SortFunc(out, func(a, b modeldoc.Object) int { return cmp.Compare(a.ID, b.ID) })
	found := make([]int64, len(out))
	for i, o := range out {
		found[i] = o.ID
	}
	index := func(id int64) int {
		i, _ := slices.BinarySearch(found, id)
		return i
	}
	colCols := "object_id, name, position, data_type"
	if full {
		colCols += ", description, human_description, declared, tests, test_args"
	} else {
		colCols += ", CASE WHEN human_description THEN description ELSE '' END, declared"
	}
	rows, err = s.query(ctx, s.read, "SELECT "+colCols+" FROM columns WHERE "+s.inIDs("object_id"), sqldialect.IDList(found))
	if err != nil {
		return nil, internal("read columns", err)
	}
	defer rows.Close()
	// Common names and types ("id", "varchar") are shared rather than
	// allocated once per row.
	intern := map[string]string{}
	same := func(v string) string {
		if len(v) > 32 {
			return v
		}
		if w, ok := intern[v]; ok {
			return w
		}
		if len(intern) < 1<<16 {
			intern[v] = v
		}
		return v
	}
	for rows.Next() {
		var objID int64
		var c modeldoc.Column
		var tests, args string
		dest := []any{&objID, &c.Name, &c.Position, &c.DataType}
		if full {
			dest = append(dest, &c.Description, &c.HumanDescription, &c.Declared, &tests, &args)
		} else {
			dest = append(dest, &c.Description, &c.Declared)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, internal("read columns", err)
		}
		if !full {
			c.HumanDescription = c.Description != ""
		}
		c.Tests = jsonStrings(tests)
		c.TestArgs = jsonTestArgs(args)
		c.Name, c.DataType = same(c.Name), same(c.DataType)
		o := &out[index(objID)]
		o.Columns = append(o.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("read columns", err)
	}
	// The order objects gives: by position, then name.
	for i := range out {
		slices.SortFunc(out[i].Columns, func(a, b modeldoc.Column) int {
			return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.Name, b.Name))
		})
	}
	return out, nil
}
