package store

import (
	"context"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// EachSelectable calls fn for each live object of the organization, by id:
// those of projectID when it is not 0, those of ids when there are any.
// It is what a job's selection starts from; a callback rather than a
// slice, since a project may hold 100,000 objects.
func (s *Store) EachSelectable(ctx context.Context, orgID, projectID int64, ids []int64, fn func(id, projectID int64, name string, typ modeldoc.ObjectType) error) error {
	q := `SELECT o.id, o.project_id, o.name, o.type FROM objects o JOIN projects p ON p.id = o.project_id
		WHERE p.org_id = ? AND NOT o.deleted`
	args := []any{orgID}
	if projectID != 0 {
		q += ` AND o.project_id = ?`
		args = append(args, projectID)
	}
	if len(ids) > 0 {
		q += ` AND ` + s.inIDs("o.id")
		args = append(args, sqldialect.IDList(ids))
	}
	q += ` ORDER BY o.id`
	rows, err := s.query(ctx, s.read, q, args...)
	if err != nil {
		return internal("select objects", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, pid int64
		var name, typ string
		if err := rows.Scan(&id, &pid, &name, &typ); err != nil {
			return internal("select objects", err)
		}
		if err := fn(id, pid, name, modeldoc.ObjectType(typ)); err != nil {
			return err
		}
	}
	return internal("select objects", rows.Err())
}

// EdgesInto returns the lineage edges whose downstream end is one of ids.
func (s *Store) EdgesInto(ctx context.Context, ids []int64) ([]modeldoc.ObjectEdge, error) {
	return s.edges(ctx, `SELECT upstream_id, downstream_id FROM edges WHERE `+s.inIDs("downstream_id"), sqldialect.IDList(ids))
}

// CurrentDocIDs returns those of ids that have a current documentation
// version.
func (s *Store) CurrentDocIDs(ctx context.Context, ids []int64) (map[int64]bool, error) {
	rows, err := s.query(ctx, s.read, `SELECT object_id FROM doc_versions WHERE is_current AND `+s.inIDs("object_id"), sqldialect.IDList(ids))
	if err != nil {
		return nil, internal("current documentation", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, internal("current documentation", err)
		}
		out[id] = true
	}
	return out, internal("current documentation", rows.Err())
}

// SelectionSize counts the objects of the organization, of projectID when
// it is not 0: an upper bound of what a selection there can select, read
// without resolving it.
func (s *Store) SelectionSize(ctx context.Context, orgID, projectID int64) (int, error) {
	q, args := "SELECT COUNT(*) FROM objects o JOIN projects p ON p.id = o.project_id WHERE p.org_id = ?", []any{orgID}
	if projectID != 0 {
		q, args = q+" AND p.id = ?", append(args, projectID)
	}
	var n int
	if err := s.queryRow(ctx, s.read, q, args...).Scan(&n); err != nil {
		return 0, internal("selection size", err)
	}
	return n, nil
}
