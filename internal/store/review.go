package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqldialect"
)

// Review actions.
const (
	ReviewAccept = "accept"
	ReviewReject = "reject"
	ReviewEdit   = "edit"
)

// ReviewItem is one piece of generated text of an object's current
// version: a layer, or one column description of its column_descriptions
// layer. Findings and Confidence are what the writer and the grounding
// checks said of it, shown beside the text so that a reviewer sees them.
type ReviewItem struct {
	ObjectID   int64              `json:"object_id"`
	UniqueID   string             `json:"unique_id"`
	Name       string             `json:"name"`
	ProjectID  int64              `json:"project_id"`
	Project    string             `json:"project"`
	Version    int                `json:"version"`
	Layer      modeldoc.Layer     `json:"layer"`
	Column     string             `json:"column,omitempty"`
	State      string             `json:"state"`
	Text       string             `json:"text"`
	Content    json.RawMessage    `json:"content,omitempty"`
	Confidence string             `json:"confidence,omitempty"`
	Findings   []modeldoc.Finding `json:"findings,omitempty"`
	Stale      bool               `json:"stale,omitempty"`
	ReviewedBy string             `json:"reviewed_by,omitempty"`
	ReviewedAt *time.Time         `json:"reviewed_at,omitempty"`
}

// ReviewFilter selects review items. Zero values select everything.
type ReviewFilter struct {
	ProjectID int64
	ObjectIDs []int64
	Layer     modeldoc.Layer
	State     string
	// Findings true keeps only the items with grounding findings.
	Findings bool
}

// ReviewAction is one person's action on an object's current version:
// every layer (Layer ""), one layer, or one column of column_descriptions.
type ReviewAction struct {
	Action   string
	ObjectID int64
	Layer    modeldoc.Layer
	Column   string
	Text     string // the edited text (edit only)
	Actor    string
}

// ReviewEvent is one line of an object's review history.
type ReviewEvent struct {
	ID           int64          `json:"id"`
	ObjectID     int64          `json:"object_id"`
	DocVersionID int64          `json:"doc_version_id"`
	Layer        modeldoc.Layer `json:"layer"`
	Column       string         `json:"column,omitempty"`
	Action       string         `json:"action"`
	From         string         `json:"from_state"`
	To           string         `json:"to_state"`
	Actor        string         `json:"actor"`
	Text         string         `json:"text,omitempty"`
	At           time.Time      `json:"at"`
}

// ReviewResult counts what an action changed and what it left alone (an
// item already in the state asked for, or one the action does not apply to
// in a bulk action, such as accepting a person's edit).
type ReviewResult struct {
	Changed int `json:"changed"`
	Skipped int `json:"skipped"`
}

// ListReview returns the review items of the current versions of the
// organization's objects that are not deleted, by project, object name,
// layer order and column order. Column descriptions inherited from human
// text are a person's, not review items, and are left out.
func (s *Store) ListReview(ctx context.Context, orgID int64, f ReviewFilter) ([]ReviewItem, error) {
	if f.State != "" {
		if _, err := modeldoc.ParseReviewState(f.State); err != nil {
			return nil, err
		}
	}
	if f.Layer != "" {
		if _, err := modeldoc.ParseLayer(string(f.Layer)); err != nil {
			return nil, err
		}
	}
	q := `SELECT o.id, o.unique_id, o.name, p.id, p.name, ` + docCols + `, d.layers
		FROM doc_versions d JOIN objects o ON o.id = d.object_id JOIN projects p ON p.id = o.project_id
		WHERE p.org_id = ? AND d.is_current AND NOT o.deleted`
	args := []any{orgID}
	if f.ProjectID != 0 {
		q += " AND p.id = ?"
		args = append(args, f.ProjectID)
	}
	if len(f.ObjectIDs) > 0 {
		q += " AND " + s.inIDs("o.id")
		args = append(args, sqldialect.IDList(f.ObjectIDs))
	}
	q += " ORDER BY p.name, o.name, o.id"
	rows, err := s.query(ctx, s.read, q, args...)
	if err != nil {
		return nil, internal("list review", err)
	}
	defer rows.Close()
	type current struct {
		base ReviewItem
		v    *modeldoc.DocVersion
	}
	var found []current
	for rows.Next() {
		var base ReviewItem
		var v modeldoc.DocVersion
		var status, layers string
		var jobID sql.NullInt64
		var created sqldialect.Time
		if err := rows.Scan(&base.ObjectID, &base.UniqueID, &base.Name, &base.ProjectID, &base.Project,
			&v.ID, &v.ObjectID, &v.Version, &v.Current, &v.Provider, &v.Model, &v.PromptVersion, &v.InputHash,
			&v.SQLHash, &status, &v.ComplexityScore, &v.PromptTokens, &v.CompletionTokens, &v.CachedTokens,
			&v.EstimatedCost, &v.Cost, &v.DurationMS, &jobID, &created, &v.ContentHash, &v.StaleLayers, &layers); err != nil {
			return nil, internal("list review", err)
		}
		if err := json.Unmarshal([]byte(status), &v.LayerStatus); err != nil {
			return nil, internal("list review: layer status", err)
		}
		if err := json.Unmarshal([]byte(layers), &v.Layers); err != nil {
			return nil, internal("list review: layers", err)
		}
		base.Version = v.Version
		found = append(found, current{base, &v})
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list review", err)
	}
	rows.Close()
	ids := make([]int64, len(found))
	for i, c := range found {
		ids[i] = c.base.ObjectID
	}
	own, err := s.humanColumns(ctx, s.read, ids)
	if err != nil {
		return nil, err
	}
	var out []ReviewItem
	for _, c := range found {
		for _, it := range reviewItems(c.base, c.v, own[c.base.ObjectID]) {
			if f.Layer != "" && it.Layer != f.Layer || f.State != "" && it.State != f.State || f.Findings && len(it.Findings) == 0 {
				continue
			}
			out = append(out, it)
		}
	}
	return out, nil
}

// humanColumns returns the project's own column descriptions of objects,
// by object id and lower-case column name.
func (s *Store) humanColumns(ctx context.Context, q querier, objectIDs []int64) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	if len(objectIDs) == 0 {
		return out, nil
	}
	rows, err := s.query(ctx, q, "SELECT object_id, name, description FROM columns WHERE human_description AND description <> '' AND "+
		s.inIDs("object_id"), sqldialect.IDList(objectIDs))
	if err != nil {
		return nil, internal("list review: human columns", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name, text string
		if err := rows.Scan(&id, &name, &text); err != nil {
			return nil, internal("list review: human columns", err)
		}
		if out[id] == nil {
			out[id] = map[string]string{}
		}
		out[id][strings.ToLower(name)] = text
	}
	return out, internal("list review: human columns", rows.Err())
}

// reviewItems lists v's review items. Column descriptions that are a
// person's are left out: inherited verbatim from the project's text, or
// the object's own column text (own, by lower-case name), which the
// column layer repeats so that it is complete, and which is nobody's draft.
func reviewItems(base ReviewItem, v *modeldoc.DocVersion, own map[string]string) []ReviewItem {
	var out []ReviewItem
	for _, l := range modeldoc.AllLayers {
		raw, ok := v.Layers[l]
		if !ok {
			continue
		}
		st := v.LayerStatus[l]
		conf := confidenceOf(raw)
		if l != modeldoc.LayerColumnDescriptions {
			it := base
			it.Layer, it.State, it.Text, it.Content = l, v.LayerReview(l), modeldoc.LayerText(l, raw), raw
			it.Confidence, it.Findings, it.Stale = conf, st.Findings, st.Stale
			it.ReviewedBy, it.ReviewedAt = st.ReviewedBy, st.ReviewedAt
			out = append(out, it)
			continue
		}
		var cols modeldoc.ColumnDescriptionsOut
		if json.Unmarshal(raw, &cols) != nil {
			continue
		}
		for i, c := range cols.Columns {
			state := v.ColumnReviewState(c)
			if state == modeldoc.ReviewHuman || strings.TrimSpace(c.Description) == "" ||
				state == modeldoc.ReviewDraft && own[strings.ToLower(c.Name)] == c.Description {
				continue
			}
			it := base
			it.Layer, it.Column, it.State, it.Text = l, c.Name, state, c.Description
			it.Confidence, it.Stale = conf, st.Stale
			prefix := "/columns/" + strconv.Itoa(i) + "/"
			for _, fd := range st.Findings {
				if strings.HasPrefix(fd.Path, prefix) {
					it.Findings = append(it.Findings, fd)
				}
			}
			if r, ok := st.ColumnReviews[strings.ToLower(c.Name)]; ok {
				at := r.At
				it.ReviewedBy, it.ReviewedAt = r.By, &at
			}
			out = append(out, it)
		}
	}
	return out
}

func confidenceOf(raw json.RawMessage) string {
	var c struct {
		Confidence string `json:"confidence"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Confidence
}

// Review applies one person's action to an object's current version, in
// one transaction, and records it in the history. An action that names one
// item (a layer other than column_descriptions, or one column) is refused
// with ECONFLICT when it does not apply (accepting or rejecting a person's
// text); one on many items skips those. Another organization's object is
// ENOTFOUND.
func (s *Store) Review(ctx context.Context, orgID int64, a ReviewAction) (ReviewResult, error) {
	var res ReviewResult
	if err := checkAction(&a); err != nil {
		return res, err
	}
	err := s.WithTx(ctx, func(tx *sql.Tx) error {
		r, err := s.reviewTx(ctx, tx, orgID, a)
		res = r
		return err
	})
	return res, err
}

// AcceptAll accepts every draft the filter selects (its State is
// ignored), in one transaction.
func (s *Store) AcceptAll(ctx context.Context, orgID int64, f ReviewFilter, actor string) (ReviewResult, error) {
	var res ReviewResult
	f.State = modeldoc.ReviewDraft
	items, err := s.ListReview(ctx, orgID, f)
	if err != nil {
		return res, err
	}
	type key struct {
		id     int64
		layer  modeldoc.Layer
		column string
	}
	var keys []key
	for _, it := range items {
		keys = append(keys, key{it.ObjectID, it.Layer, it.Column})
	}
	err = s.WithTx(ctx, func(tx *sql.Tx) error {
		res = ReviewResult{}
		for _, k := range keys {
			a := ReviewAction{Action: ReviewAccept, ObjectID: k.id, Layer: k.layer, Column: k.column, Actor: actor}
			if err := checkAction(&a); err != nil {
				return err
			}
			r, err := s.reviewTx(ctx, tx, orgID, a)
			if err != nil {
				return err
			}
			res.Changed += r.Changed
			res.Skipped += r.Skipped
		}
		return nil
	})
	return res, err
}

func checkAction(a *ReviewAction) error {
	switch a.Action {
	case ReviewAccept, ReviewReject, ReviewEdit:
	default:
		return modeldoc.Errorf(modeldoc.EINVALID, "Unknown review action %q: choose from accept, reject, edit.", a.Action)
	}
	if a.Layer != "" {
		if _, err := modeldoc.ParseLayer(string(a.Layer)); err != nil {
			return err
		}
	}
	a.Column = strings.TrimSpace(a.Column)
	if a.Column != "" && a.Layer != modeldoc.LayerColumnDescriptions {
		if a.Layer == "" {
			a.Layer = modeldoc.LayerColumnDescriptions
		} else {
			return modeldoc.Errorf(modeldoc.EINVALID, "A column is reviewed in the column_descriptions layer, not in %s.", a.Layer)
		}
	}
	if a.Action == ReviewEdit {
		if a.Layer == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "An edit names its layer (--layer, or \"layer\" in the API).")
		}
		if a.Layer == modeldoc.LayerColumnDescriptions && a.Column == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "Column descriptions are edited one column at a time: name the column (--column, or \"column\" in the API).")
		}
		if strings.TrimSpace(a.Text) == "" {
			return modeldoc.Errorf(modeldoc.EINVALID, "The edited text is empty: to drop generated text, reject it instead.")
		}
	} else if a.Text != "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "Only an edit takes text.")
	}
	if strings.TrimSpace(a.Actor) == "" {
		return modeldoc.Errorf(modeldoc.EINVALID, "A review action needs the name of the person who acts.")
	}
	return nil
}

// transition returns the state action moves an item from, and whether it
// changes anything. ok false: the action does not apply to that state.
func transition(action, from string) (to string, change, ok bool) {
	switch action {
	case ReviewEdit:
		return modeldoc.ReviewEdited, true, true
	case ReviewAccept:
		switch from {
		case modeldoc.ReviewDraft, modeldoc.ReviewRejected:
			return modeldoc.ReviewAccepted, true, true
		case modeldoc.ReviewAccepted:
			return from, false, true
		}
	case ReviewReject:
		switch from {
		case modeldoc.ReviewDraft, modeldoc.ReviewAccepted:
			return modeldoc.ReviewRejected, true, true
		case modeldoc.ReviewRejected:
			return from, false, true
		}
	}
	return from, false, false
}

func (s *Store) reviewTx(ctx context.Context, tx *sql.Tx, orgID int64, a ReviewAction) (ReviewResult, error) {
	var res ReviewResult
	var id int64
	var name, layersJSON, statusJSON string
	err := s.queryRow(ctx, tx, `SELECT d.id, o.name, d.layers, d.layer_status FROM doc_versions d
		JOIN objects o ON o.id = d.object_id JOIN projects p ON p.id = o.project_id
		WHERE p.org_id = ? AND d.object_id = ? AND d.is_current`+s.forUpdate(), orgID, a.ObjectID).Scan(&id, &name, &layersJSON, &statusJSON)
	if isNoRows(err) {
		if err := s.checkObjectQ(ctx, tx, orgID, a.ObjectID); err != nil {
			return res, err
		}
		return res, modeldoc.Errorf(modeldoc.ENOTFOUND, "Object %d has no documentation to review yet. Run `modeldoc generate` for it.", a.ObjectID)
	}
	if err != nil {
		return res, internal("review: read current version", err)
	}
	var layers map[modeldoc.Layer]json.RawMessage
	var status map[modeldoc.Layer]modeldoc.LayerStatus
	if err := json.Unmarshal([]byte(layersJSON), &layers); err != nil {
		return res, internal("review: layers", err)
	}
	if err := json.Unmarshal([]byte(statusJSON), &status); err != nil {
		return res, internal("review: layer status", err)
	}
	if status == nil {
		status = map[modeldoc.Layer]modeldoc.LayerStatus{}
	}
	v := &modeldoc.DocVersion{Layers: layers, LayerStatus: status}
	now := s.now()
	single := a.Layer != "" && (a.Layer != modeldoc.LayerColumnDescriptions || a.Column != "")
	var events []ReviewEvent
	refuse := func(what, from string) error {
		verb := map[string]string{ReviewAccept: "accepted", ReviewReject: "rejected"}[a.Action]
		why := "a person's edit is already human text; edit it again to change it"
		if from == modeldoc.ReviewHuman {
			why = "it is the project's own human text, or inherited verbatim from it"
		}
		return modeldoc.Errorf(modeldoc.ECONFLICT, "%s %s of %s cannot be %s: %s.", a.Layer, strings.TrimSpace(what), name, verb, why)
	}
	targets := modeldoc.AllLayers
	if a.Layer != "" {
		if _, ok := layers[a.Layer]; !ok {
			return res, modeldoc.Errorf(modeldoc.ENOTFOUND, "%s has no %s layer to review.", name, a.Layer)
		}
		targets = []modeldoc.Layer{a.Layer}
	}
	for _, l := range targets {
		raw, ok := layers[l]
		if !ok {
			continue
		}
		st := status[l]
		if l != modeldoc.LayerColumnDescriptions {
			from := v.LayerReview(l)
			to, change, ok := transition(a.Action, from)
			if !ok {
				if single {
					return res, refuse("", from)
				}
				res.Skipped++
				continue
			}
			if !change {
				res.Skipped++
				continue
			}
			text := ""
			if a.Action == ReviewEdit {
				edited, err := modeldoc.EditLayer(l, raw, a.Text)
				if err != nil {
					return res, err
				}
				layers[l], text = edited, a.Text
				// The findings were about the writer's text, not the person's.
				st.Findings, st.Review = nil, false
			}
			at := now
			st.ReviewState, st.ReviewedBy, st.ReviewedAt = to, a.Actor, &at
			status[l] = st
			events = append(events, ReviewEvent{Layer: l, Action: a.Action, From: from, To: to, Text: text})
			res.Changed++
			continue
		}
		var cols modeldoc.ColumnDescriptionsOut
		if err := json.Unmarshal(raw, &cols); err != nil {
			return res, internal("review: column descriptions", err)
		}
		reviews := map[string]modeldoc.ColumnReview{}
		for k, r := range st.ColumnReviews {
			reviews[k] = r
		}
		var picked []modeldoc.ColumnDescription
		for _, c := range cols.Columns {
			if a.Column == "" || strings.EqualFold(c.Name, a.Column) {
				picked = append(picked, c)
			}
		}
		if a.Column != "" && len(picked) == 0 {
			if a.Action != ReviewEdit {
				return res, modeldoc.Errorf(modeldoc.ENOTFOUND, "%s has no generated description of column %q.", name, a.Column)
			}
			known, err := s.hasColumn(ctx, tx, a.ObjectID, a.Column)
			if err != nil {
				return res, err
			}
			if !known {
				return res, modeldoc.Errorf(modeldoc.ENOTFOUND, "%s has no column %q.", name, a.Column)
			}
			picked = append(picked, modeldoc.ColumnDescription{Name: a.Column})
		}
		own, err := s.humanColumns(ctx, tx, []int64{a.ObjectID})
		if err != nil {
			return res, err
		}
		for _, c := range picked {
			from := v.ColumnReviewState(c)
			if from == modeldoc.ReviewDraft && own[a.ObjectID][strings.ToLower(c.Name)] == c.Description && c.Description != "" {
				// The project's own text, repeated by the layer: a
				// person's, as ListReview says.
				from = modeldoc.ReviewHuman
			}
			if c.Description == "" && a.Column == "" {
				continue
			}
			to, change, ok := transition(a.Action, from)
			if !ok {
				if single {
					return res, refuse("column "+c.Name, from)
				}
				res.Skipped++
				continue
			}
			if !change {
				res.Skipped++
				continue
			}
			text := ""
			if a.Action == ReviewEdit {
				edited, err := modeldoc.EditColumn(layers[l], c.Name, a.Text)
				if err != nil {
					return res, err
				}
				layers[l], text = edited, a.Text
			}
			reviews[strings.ToLower(c.Name)] = modeldoc.ColumnReview{State: to, By: a.Actor, At: now}
			events = append(events, ReviewEvent{Layer: l, Column: c.Name, Action: a.Action, From: from, To: to, Text: text})
			res.Changed++
		}
		st.ColumnReviews = reviews
		if len(reviews) == 0 {
			st.ColumnReviews = nil
		}
		status[l] = st
	}
	if len(events) == 0 {
		return res, nil
	}
	if _, err := s.exec(ctx, tx, "UPDATE doc_versions SET layers = ?, layer_status = ? WHERE id = ?", marshalJSON(layers), marshalJSON(status), id); err != nil {
		return res, internal("review: update version", err)
	}
	for _, e := range events {
		if _, err := s.exec(ctx, tx, `INSERT INTO review_events (org_id, object_id, doc_version_id, layer, column_name, action,
				from_state, to_state, actor, edited_text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			orgID, a.ObjectID, id, string(e.Layer), e.Column, e.Action, e.From, e.To, a.Actor, e.Text, now); err != nil {
			return res, internal("review: record history", err)
		}
	}
	return res, nil
}

func (s *Store) hasColumn(ctx context.Context, tx *sql.Tx, objectID int64, column string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM columns WHERE object_id = ? AND LOWER(name) = LOWER(?)", objectID, column).Scan(&n); err != nil {
		return false, internal("review: read columns", err)
	}
	return n > 0, nil
}

// ReviewHistory returns the review actions on the organization's object,
// oldest first. Another organization's object is ENOTFOUND.
func (s *Store) ReviewHistory(ctx context.Context, orgID, objectID int64) ([]ReviewEvent, error) {
	if err := s.checkObject(ctx, orgID, objectID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, s.read, `SELECT id, object_id, doc_version_id, layer, column_name, action, from_state, to_state,
		actor, edited_text, created_at FROM review_events WHERE org_id = ? AND object_id = ? ORDER BY id`, orgID, objectID)
	if err != nil {
		return nil, internal("review history", err)
	}
	defer rows.Close()
	var out []ReviewEvent
	for rows.Next() {
		var e ReviewEvent
		var layer string
		var at sqldialect.Time
		if err := rows.Scan(&e.ID, &e.ObjectID, &e.DocVersionID, &layer, &e.Column, &e.Action, &e.From, &e.To, &e.Actor, &e.Text, &at); err != nil {
			return nil, internal("review history", err)
		}
		e.Layer, e.At = modeldoc.Layer(layer), at.Time
		out = append(out, e)
	}
	return out, internal("review history", rows.Err())
}

// ReviewCounts counts items by state, for listings that show progress.
func ReviewCounts(items []ReviewItem) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[it.State]++
	}
	return out
}
