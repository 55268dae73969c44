package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// ExportedText is one description `export dbt` wrote into a project's
// YAML: the model's own (Column "") or a column's. Added is true when the
// export added the column's entry itself.
type ExportedText struct {
	ObjectID int64
	Column   string
	Text     string
	Added    bool
}

// exportedHash is how an exported text is recognised: the sha256 of the
// text without surrounding white space (YAML block styles add a newline).
func exportedHash(text string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(text)))
	return hex.EncodeToString(sum[:])
}

// RecordExported remembers what an export wrote, so that a re-import
// recognises modeldoc's own text (see recogniseExported). The objects are
// the organization's, as the export read them.
func (s *Store) RecordExported(ctx context.Context, orgID int64, texts []ExportedText) error {
	if len(texts) == 0 {
		return nil
	}
	return s.WithTx(ctx, func(tx *sql.Tx) error {
		for _, t := range texts {
			if strings.TrimSpace(t.Text) == "" {
				continue
			}
			_, err := s.exec(ctx, tx, `INSERT INTO exported_texts (object_id, column_name, text_hash, added)
				SELECT o.id, ?, ?, ? FROM objects o JOIN projects p ON p.id = o.project_id WHERE o.id = ? AND p.org_id = ?
				ON CONFLICT (object_id, column_name, text_hash) DO NOTHING`,
				strings.ToLower(t.Column), exportedHash(t.Text), t.Added, t.ObjectID, orgID)
			if err != nil {
				return internal("record exported text", err)
			}
		}
		return nil
	})
}

// recogniseExported returns cat with the text modeldoc exported into the
// project's YAML taken back out, so that a re-import of its own export is
// neither a person's description nor a changed input: a model or column
// description whose hash an export recorded is imported as no description,
// and a column entry the export added (no tests, no data type) as no
// column, exactly as before the export. A text a person changed no longer
// matches and is theirs. cat itself is not modified.
func (s *Store) recogniseExported(ctx context.Context, tx *sql.Tx, projectID int64, cat *modeldoc.Catalog) (*modeldoc.Catalog, error) {
	rows, err := s.query(ctx, tx, `SELECT o.unique_id, x.column_name, x.text_hash, x.added FROM exported_texts x
		JOIN objects o ON o.id = x.object_id WHERE o.project_id = ?`, projectID)
	if err != nil {
		return nil, internal("import: read exported texts", err)
	}
	defer rows.Close()
	type key struct{ uid, column, hash string }
	known := map[key]bool{} // -> added
	for rows.Next() {
		var k key
		var added bool
		if err := rows.Scan(&k.uid, &k.column, &k.hash, &added); err != nil {
			return nil, internal("import: read exported texts", err)
		}
		known[k] = known[k] || added
	}
	if err := rows.Err(); err != nil {
		return nil, internal("import: read exported texts", err)
	}
	if len(known) == 0 {
		return cat, nil
	}
	out := *cat
	out.Objects = slices.Clone(cat.Objects)
	for i := range out.Objects {
		o := &out.Objects[i]
		if o.Description != "" {
			if _, ok := known[key{o.UniqueID, "", exportedHash(o.Description)}]; ok {
				o.Description = ""
			}
		}
		var cols []modeldoc.Column
		changed := false
		for _, c := range o.Columns {
			if strings.TrimSpace(c.Description) != "" {
				if added, ok := known[key{o.UniqueID, strings.ToLower(c.Name), exportedHash(c.Description)}]; ok {
					changed = true
					if added && len(c.Tests) == 0 && c.DataType == "" {
						continue
					}
					c.Description, c.HumanDescription = "", false
				}
			}
			cols = append(cols, c)
		}
		if changed {
			o.Columns = cols
		}
	}
	return &out, nil
}
