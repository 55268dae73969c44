package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// InsertDocVersion stores v as the newest version of its object's
// documentation and makes it current, in one transaction. It sets v.ID,
// v.Version, v.Current and v.CreatedAt, and v.SQLHash to the object's
// current hash when empty. An unknown object is ENOTFOUND.
func (s *Store) InsertDocVersion(ctx context.Context, v *modeldoc.DocVersion) error {
	return s.WithTx(ctx, func(tx *sql.Tx) error { return s.InsertDocVersionTx(ctx, tx, v) })
}

// InsertDocVersionTx is InsertDocVersion inside the caller's transaction,
// so that a job item's completion and its documentation commit together.
// The transaction must come from DB().
func (s *Store) InsertDocVersionTx(ctx context.Context, tx *sql.Tx, v *modeldoc.DocVersion) error {
	// On PostgreSQL, locking the object row serializes concurrent versions
	// of one object, so max+1 is never taken twice. SQLite has one writer:
	// it reads the row only to fill a missing SQL hash, and its foreign key
	// answers for an unknown object (this runs once per documented object,
	// on the single writer's time).
	if s.dialect == Postgres || v.SQLHash == "" {
		var id int64
		var sqlHash string
		err := s.queryRow(ctx, tx, "SELECT id, sql_hash FROM objects WHERE id = ?"+s.forUpdate(), v.ObjectID).Scan(&id, &sqlHash)
		if isNoRows(err) {
			return notFoundObject(v.ObjectID)
		}
		if err != nil {
			return internal("insert doc version: lock object", err)
		}
		// A version written without the hash was written from the SQL the
		// object has now; recording it keeps the version from looking stale.
		if v.SQLHash == "" {
			v.SQLHash = sqlHash
		}
	}
	layers, status, err := s.carryOver(ctx, tx, v)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, "UPDATE doc_versions SET is_current = FALSE WHERE object_id = ? AND is_current", v.ObjectID); err != nil {
		return internal("insert doc version: unset current", err)
	}
	var jobID any
	if v.JobID != 0 {
		jobID = v.JobID
	}
	created := s.now()
	var version int
	err = s.queryRow(ctx, tx, `INSERT INTO doc_versions (object_id, version, is_current, provider, model, prompt_version,
			input_hash, sql_hash, layers, layer_status, complexity_score, prompt_tokens, completion_tokens,
			cached_tokens, estimated_cost, cost, duration_ms, job_id, created_at, content_hash, stale_layers)
		VALUES (?, (SELECT COALESCE(MAX(version), 0) + 1 FROM doc_versions WHERE object_id = ?), TRUE, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			COALESCE((SELECT content_hash FROM objects WHERE id = ?), ''), ?)
		RETURNING id, version, content_hash`,
		v.ObjectID, v.ObjectID, v.Provider, v.Model, v.PromptVersion, v.InputHash, v.SQLHash,
		marshalJSON(layers), marshalJSON(status), v.ComplexityScore, v.PromptTokens, v.CompletionTokens,
		v.CachedTokens, v.EstimatedCost, v.Cost, v.DurationMS, jobID, created, v.ObjectID, v.StaleLayers).Scan(&v.ID, &version, &v.ContentHash)
	if err != nil {
		if s.dialect == SQLite && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
			return notFoundObject(v.ObjectID)
		}
		return internal("insert doc version", err)
	}
	v.Version, v.Current, v.CreatedAt = version, true, created
	return nil
}

const docCols = `d.id, d.object_id, d.version, d.is_current, d.provider, d.model, d.prompt_version, d.input_hash,
	d.sql_hash, d.layer_status, d.complexity_score, d.prompt_tokens, d.completion_tokens, d.cached_tokens,
	d.estimated_cost, d.cost, d.duration_ms, d.job_id, d.created_at, d.content_hash, d.stale_layers`

func scanDoc(r scanner, withLayers bool) (*modeldoc.DocVersion, error) {
	var v modeldoc.DocVersion
	var status, layers string
	var jobID sql.NullInt64
	var created sqldialect.Time
	dest := []any{&v.ID, &v.ObjectID, &v.Version, &v.Current, &v.Provider, &v.Model, &v.PromptVersion, &v.InputHash,
		&v.SQLHash, &status, &v.ComplexityScore, &v.PromptTokens, &v.CompletionTokens, &v.CachedTokens,
		&v.EstimatedCost, &v.Cost, &v.DurationMS, &jobID, &created, &v.ContentHash, &v.StaleLayers}
	if withLayers {
		dest = append(dest, &layers)
	}
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	v.JobID = jobID.Int64
	v.CreatedAt = created.Time
	if err := json.Unmarshal([]byte(status), &v.LayerStatus); err != nil {
		return nil, err
	}
	if withLayers {
		if err := json.Unmarshal([]byte(layers), &v.Layers); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// GetDocVersion returns version n of the documentation of the
// organization's object (n = 0: the current one), layers included. No such
// version, or another organization's object, is ENOTFOUND.
func (s *Store) GetDocVersion(ctx context.Context, orgID, objectID int64, version int) (*modeldoc.DocVersion, error) {
	q := "SELECT " + docCols + `, d.layers FROM doc_versions d JOIN objects o ON o.id = d.object_id
		JOIN projects p ON p.id = o.project_id WHERE p.org_id = ? AND d.object_id = ? AND `
	args := []any{orgID, objectID}
	if version == 0 {
		q += "d.is_current"
	} else {
		q += "d.version = ?"
		args = append(args, version)
	}
	v, err := scanDoc(s.queryRow(ctx, s.read, q, args...), true)
	if isNoRows(err) {
		if err := s.checkObject(ctx, orgID, objectID); err != nil {
			return nil, err
		}
		if version == 0 {
			return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "Object %d has no documentation yet. Run `modeldoc docs generate` for it.", objectID)
		}
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "Object %d has no documentation version %d. Run `modeldoc docs history` to list them.", objectID, version)
	}
	if err != nil {
		return nil, internal("read doc version", err)
	}
	return v, nil
}

// ListDocVersions returns every documentation version of the
// organization's object, newest first, without their layers.
func (s *Store) ListDocVersions(ctx context.Context, orgID, objectID int64) ([]modeldoc.DocVersion, error) {
	if err := s.checkObject(ctx, orgID, objectID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.read, "SELECT "+docCols+" FROM doc_versions d WHERE d.object_id = ? ORDER BY d.version DESC", objectID)
	if err != nil {
		return nil, internal("list doc versions", err)
	}
	defer rows.Close()
	var out []modeldoc.DocVersion
	for rows.Next() {
		v, err := scanDoc(rows, false)
		if err != nil {
			return nil, internal("list doc versions", err)
		}
		out = append(out, *v)
	}
	return out, internal("list doc versions", rows.Err())
}

// CurrentSummaries returns, for those of objectIDs that have current
// documentation, what a prompt may show of it: a DocVersion whose Layers
// hold only the executive summary and the column descriptions (the others
// are neither read nor decoded), with its LayerStatus. Text a person
// rejected is taken out, so that no read path can feed it to a prompt as
// context: a rejected summary is absent, and a rejected column keeps its
// entry (its name is lineage) without text or provenance. The caller has
// already scoped the ids to an organization.
func (s *Store) CurrentSummaries(ctx context.Context, objectIDs []int64) (map[int64]*modeldoc.DocVersion, error) {
	out := make(map[int64]*modeldoc.DocVersion, len(objectIDs))
	if len(objectIDs) == 0 {
		return out, nil
	}
	layer := func(name string) string {
		if s.dialect == Postgres {
			return "(d.layers::jsonb -> '" + name + "')::text"
		}
		return "json_extract(d.layers, '$." + name + "')"
	}
	rows, err := s.query(ctx, s.read, "SELECT d.object_id, d.version, d.layer_status, "+layer(string(modeldoc.LayerExecutiveSummary))+", "+
		layer(string(modeldoc.LayerColumnDescriptions))+" FROM doc_versions d WHERE d.is_current AND "+s.inIDs("d.object_id"),
		sqldialect.IDList(objectIDs))
	if err != nil {
		return nil, internal("read current summaries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var version int
		var status string
		var summary, columns sql.NullString
		if err := rows.Scan(&id, &version, &status, &summary, &columns); err != nil {
			return nil, internal("read current summaries", err)
		}
		v := &modeldoc.DocVersion{ObjectID: id, Version: version, Current: true, Layers: map[modeldoc.Layer]json.RawMessage{}}
		if err := json.Unmarshal([]byte(status), &v.LayerStatus); err != nil {
			return nil, internal("read current summaries: layer status", err)
		}
		if summary.Valid && v.LayerReview(modeldoc.LayerExecutiveSummary) != modeldoc.ReviewRejected {
			v.Layers[modeldoc.LayerExecutiveSummary] = json.RawMessage(summary.String)
		}
		if columns.Valid {
			v.Layers[modeldoc.LayerColumnDescriptions] = withoutRejectedColumns(json.RawMessage(columns.String), v.LayerStatus[modeldoc.LayerColumnDescriptions].ColumnReviews)
		}
		out[id] = v
	}
	return out, internal("read current summaries", rows.Err())
}

// withoutRejectedColumns blanks the text of the columns a person rejected.
// A layer it cannot read is dropped whole rather than passed on unchecked.
func withoutRejectedColumns(raw json.RawMessage, reviews map[string]modeldoc.ColumnReview) json.RawMessage {
	rejected := false
	for _, r := range reviews {
		rejected = rejected || r.State == modeldoc.ReviewRejected
	}
	if !rejected {
		return raw
	}
	var cols modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(raw, &cols) != nil {
		return json.RawMessage(`{"columns":[]}`)
	}
	for i, c := range cols.Columns {
		if reviews[strings.ToLower(c.Name)].State == modeldoc.ReviewRejected {
			cols.Columns[i].Description, cols.Columns[i].InheritedFrom = "", ""
		}
	}
	b, err := json.Marshal(cols)
	if err != nil {
		return json.RawMessage(`{"columns":[]}`)
	}
	return b
}

// CurrentDocVersions returns the current documentation, layers included,
// of those of objectIDs that have one. The caller has already scoped the
// ids to an organization.
func (s *Store) CurrentDocVersions(ctx context.Context, objectIDs []int64) (map[int64]*modeldoc.DocVersion, error) {
	out := make(map[int64]*modeldoc.DocVersion, len(objectIDs))
	if len(objectIDs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, s.read, "SELECT "+docCols+", d.layers FROM doc_versions d WHERE d.is_current AND "+s.inIDs("d.object_id"), sqldialect.IDList(objectIDs))
	if err != nil {
		return nil, internal("read current doc versions", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanDoc(rows, true)
		if err != nil {
			return nil, internal("read current doc versions", err)
		}
		out[v.ObjectID] = v
	}
	return out, internal("read current doc versions", rows.Err())
}

// carryOver completes v from the object's current version, so that a new
// version never loses documentation: every layer v did not write (it was
// not asked for, or it failed) keeps the current version's text, with
// LayerStatus.CarriedFrom naming where it comes from; a failed layer that
// keeps older text, and a carried layer written from inputs (SQL,
// descriptions, columns) that have changed since, are marked Stale. A new
// column_descriptions layer also keeps the descriptions of the columns it
// left out, while the SQL is the same. It returns the layers and statuses
// to store and sets v.StaleLayers; v's own Layers and LayerStatus stay what
// the writer wrote (a job counts its layers from them). A failed layer with
// no older text to keep leaves the version partial, not stale. Carried
// text keeps its review state; a layer or column written again is a draft,
// except text a person edited, which is kept instead of the writer's and
// is never stale.
func (s *Store) carryOver(ctx context.Context, tx *sql.Tx, v *modeldoc.DocVersion) (map[modeldoc.Layer]json.RawMessage, map[modeldoc.Layer]modeldoc.LayerStatus, error) {
	complete := true
	for _, l := range modeldoc.AllLayers {
		if _, ok := v.Layers[l]; !ok {
			complete = false
		}
	}
	var prev *modeldoc.DocVersion
	var objSQL, objContent string
	if !complete || v.Layers[modeldoc.LayerColumnDescriptions] != nil {
		var err error
		prev, err = scanDoc(s.queryRow(ctx, tx, "SELECT "+docCols+", d.layers FROM doc_versions d WHERE d.object_id = ? AND d.is_current", v.ObjectID), true)
		if isNoRows(err) {
			prev = nil
		} else if err != nil {
			return nil, nil, internal("insert doc version: read current version", err)
		}
		if prev != nil {
			if err := s.queryRow(ctx, tx, "SELECT sql_hash, content_hash FROM objects WHERE id = ?", v.ObjectID).Scan(&objSQL, &objContent); err != nil && !isNoRows(err) {
				return nil, nil, internal("insert doc version: read object", err)
			}
		}
	}
	layers := make(map[modeldoc.Layer]json.RawMessage, len(modeldoc.AllLayers))
	for l, c := range v.Layers {
		layers[l] = c
	}
	status := make(map[modeldoc.Layer]modeldoc.LayerStatus, len(modeldoc.AllLayers))
	for l, st := range v.LayerStatus {
		status[l] = st
	}
	if prev != nil {
		// The previous version's text is out of date when what it was
		// written from has changed since.
		changed := prev.SQLHash != objSQL || prev.ContentHash != "" && prev.ContentHash != objContent
		for _, l := range modeldoc.AllLayers {
			old, ok := prev.Layers[l]
			if !ok {
				continue
			}
			ps := prev.LayerStatus[l]
			from := ps.CarriedFrom
			if from == 0 {
				from = prev.Version
			}
			if _, ok := layers[l]; ok {
				// A regenerated layer is a draft again (its status is the
				// writer's, with no review), except a person's edit, which
				// generation never overwrites.
				if l == modeldoc.LayerColumnDescriptions {
					st := status[l]
					layers[l], st.ColumnReviews = mergeColumns(layers[l], old, ps.ColumnReviews, !changed)
					status[l] = st
				} else if ps.ReviewState == modeldoc.ReviewEdited {
					st := status[l]
					copyReview(&st, ps)
					st.CarriedFrom, st.Findings, st.Review = from, ps.Findings, ps.Review
					layers[l], status[l] = old, st
				}
				continue
			}
			st, asked := status[l]
			if asked && st.Status == modeldoc.LayerFailed {
				st.CarriedFrom, st.Stale = from, true
				copyReview(&st, ps)
			} else {
				st = ps
				st.CarriedFrom, st.Stale = from, ps.Stale || changed
				if ps.ReviewState == modeldoc.ReviewEdited {
					// A person's text: planning never asks a writer
					// for it, so calling it stale would make the object
					// stale for good.
					st.Stale = false
				}
				if st.Status == "" {
					st.Status = modeldoc.LayerOK
				}
			}
			layers[l] = old
			status[l] = st
		}
	}
	v.StaleLayers = 0
	for _, l := range modeldoc.AllLayers {
		if status[l].Stale {
			v.StaleLayers++
		}
	}
	return layers, status, nil
}

// copyReview gives dst the review of src: carried text keeps what a
// person made of it.
func copyReview(dst *modeldoc.LayerStatus, src modeldoc.LayerStatus) {
	dst.ReviewState, dst.ReviewedBy, dst.ReviewedAt, dst.ColumnReviews = src.ReviewState, src.ReviewedBy, src.ReviewedAt, src.ColumnReviews
}

// mergeColumns completes a new column_descriptions layer from the old one:
// a column a person edited keeps the person's text (and its review), and,
// when keepMissing (the SQL is the same), the columns the new layer left
// out are kept with their reviews. Every column the writer wrote again is
// a draft. Either layer unreadable: the new one as is, all drafts.
func mergeColumns(newLayer, oldLayer json.RawMessage, oldReviews map[string]modeldoc.ColumnReview, keepMissing bool) (json.RawMessage, map[string]modeldoc.ColumnReview) {
	var n, o modeldoc.ColumnDescriptionsOut
	if json.Unmarshal(newLayer, &n) != nil || json.Unmarshal(oldLayer, &o) != nil {
		return newLayer, nil
	}
	reviews := map[string]modeldoc.ColumnReview{}
	oldByName := map[string]modeldoc.ColumnDescription{}
	for _, c := range o.Columns {
		oldByName[strings.ToLower(c.Name)] = c
	}
	edited := func(k string) bool { return oldReviews[k].State == modeldoc.ReviewEdited }
	have := map[string]bool{}
	changed := false
	for i, c := range n.Columns {
		k := strings.ToLower(c.Name)
		have[k] = true
		if oc, ok := oldByName[k]; ok && edited(k) {
			n.Columns[i] = oc
			reviews[k] = oldReviews[k]
			changed = true
		}
	}
	for _, c := range o.Columns {
		k := strings.ToLower(c.Name)
		if have[k] || !keepMissing && !edited(k) {
			continue
		}
		have[k] = true
		n.Columns = append(n.Columns, c)
		if r, ok := oldReviews[k]; ok {
			reviews[k] = r
		}
		changed = true
	}
	if len(reviews) == 0 {
		reviews = nil
	}
	if !changed {
		return newLayer, reviews
	}
	out, err := json.Marshal(n)
	if err != nil {
		return newLayer, nil
	}
	return out, reviews
}
