package api

import (
	"encoding/json"
	"time"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/store"
)

// The API's wire types for projects, objects, documentation, review,
// provider keys and the token, with their mappings from the store's and
// the catalog's types (wire_jobs.go holds the jobs'). As there, a field
// added inside store or modeldoc reaches a client only through a field
// here, which TestWireMatchesOpenAPI holds to openapi.json.

// meAnswer tells a client who its token is.
type meAnswer struct {
	TokenID      int64  `json:"token_id"`
	TokenName    string `json:"token_name"`
	Role         string `json:"role"`
	OrgID        int64  `json:"org_id"`
	Organization string `json:"organization"`
}

// keyRequest is the body of PUT /provider-keys/{provider}.
type keyRequest struct {
	Key string `json:"key"`
}

// keyAnswer describes a stored key: never the key.
type keyAnswer struct {
	Provider  string    `json:"provider"`
	Masked    string    `json:"masked"`
	UpdatedAt time.Time `json:"updated_at,omitempty"`
}

// providerKeyInfo is a row of GET /provider-keys.
type providerKeyInfo struct {
	Provider  string    `json:"provider"`
	Masked    string    `json:"masked"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func providerKeyInfoOf(k store.ProviderKeyInfo) providerKeyInfo {
	return providerKeyInfo{Provider: k.Provider, Masked: k.Masked, CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
}

// project is an imported dbt project.
type project struct {
	ID            int64     `json:"id"`
	OrgID         int64     `json:"org_id"`
	Name          string    `json:"name"`
	Source        string    `json:"source"`
	Path          string    `json:"path"`
	SchemaVersion string    `json:"schema_version,omitempty"`
	DbtVersion    string    `json:"dbt_version,omitempty"`
	AdapterType   string    `json:"adapter_type,omitempty"`
	ImportedAt    time.Time `json:"imported_at"`
}

func projectOf(p modeldoc.Project) project {
	return project{
		ID: p.ID, OrgID: p.OrgID, Name: p.Name, Source: p.Source, Path: p.Path,
		SchemaVersion: p.SchemaVersion, DbtVersion: p.DbtVersion, AdapterType: p.AdapterType, ImportedAt: p.ImportedAt,
	}
}

// projectItem is one row of GET /projects: the project with what the
// dashboard shows beside it.
type projectItem struct {
	project
	// Models counts the project's models (not its sources, seeds or
	// snapshots); DocumentedModels those with documentation.
	Models           int `json:"models"`
	DocumentedModels int `json:"documented_models"`
}

// importSummary is what an import wrote.
type importSummary struct {
	ProjectID              int64    `json:"project_id"`
	ProjectName            string   `json:"project_name"`
	Source                 string   `json:"source"`
	Models                 int      `json:"models"`
	Sources                int      `json:"sources"`
	Seeds                  int      `json:"seeds"`
	Snapshots              int      `json:"snapshots"`
	Edges                  int      `json:"edges"`
	Exposures              int      `json:"exposures,omitempty"`
	Columns                int      `json:"columns"`
	ModelsWithDescription  int      `json:"models_with_description"`
	ColumnsWithDescription int      `json:"columns_with_description"`
	Created                int      `json:"created"`
	Updated                int      `json:"updated"`
	Unchanged              int      `json:"unchanged"`
	Deleted                int      `json:"deleted"`
	Warnings               []string `json:"warnings,omitempty"`
}

func importSummaryOf(s *modeldoc.ImportSummary) *importSummary {
	if s == nil {
		return nil
	}
	return &importSummary{
		ProjectID: s.ProjectID, ProjectName: s.ProjectName, Source: s.Source, Models: s.Models, Sources: s.Sources,
		Seeds: s.Seeds, Snapshots: s.Snapshots, Edges: s.Edges, Exposures: s.Exposures, Columns: s.Columns,
		ModelsWithDescription: s.ModelsWithDescription, ColumnsWithDescription: s.ColumnsWithDescription,
		Created: s.Created, Updated: s.Updated, Unchanged: s.Unchanged, Deleted: s.Deleted, Warnings: s.Warnings,
	}
}

// uploadAnswer is what POST /projects answers: the import summary and the
// project as it is now.
type uploadAnswer struct {
	Project *project       `json:"project"`
	Summary *importSummary `json:"summary"`
}

// objectSummary is one row of an object listing.
type objectSummary struct {
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
	Stale                  bool                `json:"stale"`
	CurrentVersion         int                 `json:"current_version,omitempty"`
	ComplexityScore        int                 `json:"complexity_score,omitempty"`
	LastDocumentedAt       *time.Time          `json:"last_documented_at,omitempty"`
	Deleted                bool                `json:"deleted,omitempty"`
	UpdatedAt              time.Time           `json:"updated_at"`
}

func objectSummaryOf(s store.ObjectSummary) objectSummary {
	return objectSummary{
		ID: s.ID, ProjectID: s.ProjectID, Project: s.Project, UniqueID: s.UniqueID, Name: s.Name, Type: s.Type,
		Database: s.Database, Schema: s.Schema, Materialization: s.Materialization, HasDescription: s.HasDescription,
		Columns: s.Columns, ColumnsWithDescription: s.ColumnsWithDescription, Documented: s.Documented, Stale: s.Stale,
		CurrentVersion: s.CurrentVersion, ComplexityScore: s.ComplexityScore, LastDocumentedAt: s.LastDocumentedAt,
		Deleted: s.Deleted, UpdatedAt: s.UpdatedAt,
	}
}

// markdownNode is Markdown as a tree the dashboard builds without parsing
// HTML (markdown.Node).
type markdownNode struct {
	T    string         `json:"t"`
	V    string         `json:"v,omitempty"`
	Href string         `json:"href,omitempty"`
	C    []markdownNode `json:"c,omitempty"`
}

func markdownOf(ns []markdown.Node) []markdownNode {
	return mapSlice(ns, func(n markdown.Node) markdownNode {
		return markdownNode{T: n.T, V: n.V, Href: n.Href, C: markdownOf(n.C)}
	})
}

// columnTest is a generic test with the arguments that give it meaning.
type columnTest struct {
	Name   string   `json:"name"`
	Values []string `json:"values,omitempty"`
	To     string   `json:"to,omitempty"`
	Field  string   `json:"field,omitempty"`
}

// column is one column of an object.
type column struct {
	Name             string       `json:"name"`
	DataType         string       `json:"data_type,omitempty"`
	Description      string       `json:"description,omitempty"`
	HumanDescription bool         `json:"human_description,omitempty"`
	Tests            []string     `json:"tests,omitempty"`
	TestArgs         []columnTest `json:"test_args,omitempty"`
	Position         int          `json:"position"`
	Declared         bool         `json:"declared"`
	InheritedFrom    string       `json:"inherited_from,omitempty"`
}

func columnOf(c modeldoc.Column) column {
	return column{
		Name: c.Name, DataType: c.DataType, Description: c.Description, HumanDescription: c.HumanDescription, Tests: c.Tests,
		TestArgs: mapSlice(c.TestArgs, func(t modeldoc.ColumnTest) columnTest {
			return columnTest{Name: t.Name, Values: t.Values, To: t.To, Field: t.Field}
		}),
		Position: c.Position, Declared: c.Declared, InheritedFrom: c.InheritedFrom,
	}
}

// objectConfig is what a model's dbt config says of its rows and of how
// its table is kept.
type objectConfig struct {
	UniqueKey           []string `json:"unique_key,omitempty"`
	IncrementalStrategy string   `json:"incremental_strategy,omitempty"`
	ContractEnforced    bool     `json:"contract_enforced,omitempty"`
}

// object is a model, source, seed or snapshot with its columns and SQL.
type object struct {
	ID              int64               `json:"id"`
	ProjectID       int64               `json:"project_id"`
	UniqueID        string              `json:"unique_id"`
	Type            modeldoc.ObjectType `json:"type"`
	Name            string              `json:"name"`
	Package         string              `json:"package"`
	Database        string              `json:"database,omitempty"`
	Schema          string              `json:"schema,omitempty"`
	Identifier      string              `json:"identifier,omitempty"`
	Materialization string              `json:"materialization,omitempty"`
	RawSQL          string              `json:"raw_sql,omitempty"`
	CompiledSQL     string              `json:"compiled_sql,omitempty"`
	Description     string              `json:"description,omitempty"`
	Tags            []string            `json:"tags,omitempty"`
	Meta            map[string]any      `json:"meta,omitempty"`
	Config          *objectConfig       `json:"config,omitempty"`
	FilePath        string              `json:"file_path,omitempty"`
	SQLHash         string              `json:"sql_hash,omitempty"`
	Deleted         bool                `json:"deleted,omitempty"`
	Columns         []column            `json:"columns,omitempty"`
	UpdatedAt       time.Time           `json:"updated_at"`
}

func objectOf(o *modeldoc.Object) object {
	out := object{
		ID: o.ID, ProjectID: o.ProjectID, UniqueID: o.UniqueID, Type: o.Type, Name: o.Name, Package: o.Package,
		Database: o.Database, Schema: o.Schema, Identifier: o.Identifier, Materialization: o.Materialization,
		RawSQL: o.RawSQL, CompiledSQL: o.CompiledSQL, Description: o.Description, Tags: o.Tags, Meta: o.Meta,
		FilePath: o.FilePath, SQLHash: o.SQLHash, Deleted: o.Deleted, Columns: mapSlice(o.Columns, columnOf), UpdatedAt: o.UpdatedAt,
	}
	if c := o.Config; c != nil {
		out.Config = &objectConfig{UniqueKey: c.UniqueKey, IncrementalStrategy: c.IncrementalStrategy, ContractEnforced: c.ContractEnforced}
	}
	return out
}

// objectRef names an object of the lineage around another.
type objectRef struct {
	ID       int64               `json:"id"`
	UniqueID string              `json:"unique_id"`
	Name     string              `json:"name"`
	Type     modeldoc.ObjectType `json:"type"`
	Schema   string              `json:"schema,omitempty"`
	Deleted  bool                `json:"deleted,omitempty"`
}

// objectDetail is GET /objects/{id}: the object with its columns and SQL,
// its documentation state, and its lineage one step either way.
type objectDetail struct {
	object
	Documented       bool        `json:"documented"`
	Stale            bool        `json:"stale"`
	CurrentVersion   int         `json:"current_version,omitempty"`
	ComplexityScore  int         `json:"complexity_score,omitempty"`
	LastDocumentedAt *time.Time  `json:"last_documented_at,omitempty"`
	Upstream         []objectRef `json:"upstream"`
	Downstream       []objectRef `json:"downstream"`
	// DescriptionDoc and ColumnDocs are the descriptions' Markdown (dbt doc
	// blocks) as trees the dashboard builds without parsing HTML.
	DescriptionDoc []markdownNode            `json:"description_doc,omitempty"`
	ColumnDocs     map[string][]markdownNode `json:"column_docs,omitempty"`
	// ColumnLineage is each column's lineage as the SQL shows it;
	// ReadersTruncated says some downstream objects were not read.
	ColumnLineage    []columnLineage `json:"column_lineage"`
	ReadersTruncated bool            `json:"column_readers_truncated,omitempty"`
}

// columnEnd names a column of another object.
type columnEnd struct {
	ID     int64               `json:"id"`
	Name   string              `json:"name"`
	Type   modeldoc.ObjectType `json:"type"`
	Column string              `json:"column"`
}

// columnLineage is one column's lineage: where it comes from (an upstream
// column, or the expression computing it) and which columns of the
// direct downstream objects read it unchanged.
type columnLineage struct {
	Column   string      `json:"column"`
	From     *columnEnd  `json:"from,omitempty"`
	Expr     string      `json:"expr,omitempty"`
	Constant bool        `json:"constant,omitempty"`
	ReadBy   []columnEnd `json:"read_by,omitempty"`
}

// lineageGraph is the neighbourhood of one object (store.LineageGraph).
type lineageGraph struct {
	Center    int64             `json:"center"`
	Up        int               `json:"up"`
	Down      int               `json:"down"`
	Nodes     []lineageNode     `json:"nodes"`
	Edges     []lineageEdge     `json:"edges"`
	Exposures []lineageExposure `json:"exposures"`
	Truncated bool              `json:"truncated"`
}

// lineageNode is an object of a neighbourhood with its signed distance
// from the centre.
type lineageNode struct {
	objectSummary
	Depth int `json:"depth"`
}

// lineageEdge is an edge between two objects, by id.
type lineageEdge struct {
	Upstream   int64 `json:"upstream"`
	Downstream int64 `json:"downstream"`
}

// lineageExposure is an exposure reading the neighbourhood.
type lineageExposure struct {
	UniqueID    string   `json:"unique_id"`
	Name        string   `json:"name"`
	Label       string   `json:"label,omitempty"`
	Type        string   `json:"type,omitempty"`
	Maturity    string   `json:"maturity,omitempty"`
	Owner       string   `json:"owner,omitempty"`
	URL         string   `json:"url,omitempty"`
	Description string   `json:"description,omitempty"`
	DependsOn   []string `json:"depends_on,omitempty"`
	Reads       []int64  `json:"reads,omitempty"`
	Depth       int      `json:"depth"`
}

func lineageGraphOf(g *store.LineageGraph) *lineageGraph {
	if g == nil {
		return nil
	}
	return &lineageGraph{
		Center: g.Center, Up: g.Up, Down: g.Down, Truncated: g.Truncated,
		Nodes: mapSlice(g.Nodes, func(n store.LineageNode) lineageNode {
			return lineageNode{objectSummary: objectSummaryOf(n.ObjectSummary), Depth: n.Depth}
		}),
		Edges: mapSlice(g.Edges, func(e store.LineageEdge) lineageEdge {
			return lineageEdge{Upstream: e.Upstream, Downstream: e.Downstream}
		}),
		Exposures: mapSlice(g.Exposures, func(x store.LineageExposure) lineageExposure {
			return lineageExposure{
				UniqueID: x.UniqueID, Name: x.Name, Label: x.Label, Type: x.Type, Maturity: x.Maturity, Owner: x.Owner,
				URL: x.URL, Description: x.Description, DependsOn: x.DependsOn, Reads: x.Reads, Depth: x.Depth,
			}
		}),
	}
}

// finding is what a grounding check found wrong with a layer's text.
type finding struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

func findingOf(f modeldoc.Finding) finding {
	return finding{Path: f.Path, Kind: f.Kind, Value: f.Value, Message: f.Message}
}

// columnReview is a person's review of one column description.
type columnReview struct {
	State string    `json:"state"`
	By    string    `json:"by,omitempty"`
	At    time.Time `json:"at"`
}

// layerStatus says how one layer of a version came out.
type layerStatus struct {
	Status           modeldoc.LayerOutcome   `json:"status"`
	Error            string                  `json:"error,omitempty"`
	ErrorClass       string                  `json:"error_class,omitempty"`
	PromptTokens     int64                   `json:"prompt_tokens"`
	CompletionTokens int64                   `json:"completion_tokens"`
	CachedTokens     int64                   `json:"cached_tokens"`
	Attempts         int                     `json:"attempts"`
	DurationMS       int64                   `json:"duration_ms"`
	FinishReason     string                  `json:"finish_reason,omitempty"`
	MissingColumns   []string                `json:"missing_columns,omitempty"`
	CarriedFrom      int                     `json:"carried_from,omitempty"`
	Stale            bool                    `json:"stale,omitempty"`
	Findings         []finding               `json:"findings,omitempty"`
	Review           bool                    `json:"review,omitempty"`
	ReviewState      string                  `json:"review_state,omitempty"`
	ReviewedBy       string                  `json:"reviewed_by,omitempty"`
	ReviewedAt       *time.Time              `json:"reviewed_at,omitempty"`
	ColumnReviews    map[string]columnReview `json:"column_reviews,omitempty"`
}

func layerStatusOf(s modeldoc.LayerStatus) layerStatus {
	out := layerStatus{
		Status: s.Status, Error: s.Error, ErrorClass: s.ErrorClass, PromptTokens: s.PromptTokens, CompletionTokens: s.CompletionTokens,
		CachedTokens: s.CachedTokens, Attempts: s.Attempts, DurationMS: s.DurationMS, FinishReason: s.FinishReason,
		MissingColumns: s.MissingColumns, CarriedFrom: s.CarriedFrom, Stale: s.Stale, Findings: mapSlice(s.Findings, findingOf),
		Review: s.Review, ReviewState: s.ReviewState, ReviewedBy: s.ReviewedBy, ReviewedAt: s.ReviewedAt,
	}
	if s.ColumnReviews != nil {
		out.ColumnReviews = make(map[string]columnReview, len(s.ColumnReviews))
		for k, r := range s.ColumnReviews {
			out.ColumnReviews[k] = columnReview{State: r.State, By: r.By, At: r.At}
		}
	}
	return out
}

// docVersion is one version of an object's documentation: GET
// /objects/{id}/documentation (with TextDocs) and the rows of its
// versions (without).
type docVersion struct {
	ID               int64                              `json:"id"`
	ObjectID         int64                              `json:"object_id"`
	Version          int                                `json:"version"`
	Current          bool                               `json:"current"`
	Provider         string                             `json:"provider"`
	Model            string                             `json:"model"`
	PromptVersion    string                             `json:"prompt_version"`
	InputHash        string                             `json:"input_hash"`
	SQLHash          string                             `json:"sql_hash"`
	ContentHash      string                             `json:"content_hash,omitempty"`
	StaleLayers      int                                `json:"stale_layers,omitempty"`
	Layers           map[modeldoc.Layer]json.RawMessage `json:"layers"`
	LayerStatus      map[modeldoc.Layer]layerStatus     `json:"layer_status"`
	ComplexityScore  int                                `json:"complexity_score"`
	PromptTokens     int64                              `json:"prompt_tokens"`
	CompletionTokens int64                              `json:"completion_tokens"`
	CachedTokens     int64                              `json:"cached_tokens"`
	EstimatedCost    float64                            `json:"estimated_cost"`
	Cost             float64                            `json:"cost"`
	DurationMS       int64                              `json:"duration_ms"`
	JobID            int64                              `json:"job_id,omitempty"`
	CreatedAt        time.Time                          `json:"created_at"`
	// TextDocs maps a prose string of the layers to its tree, for the
	// strings whose Markdown is more than one plain paragraph: the rest
	// render as the text they are, and are left out to keep the answer
	// small.
	TextDocs map[string][]markdownNode `json:"text_docs,omitempty"`
}

func docVersionOf(v modeldoc.DocVersion) docVersion {
	out := docVersion{
		ID: v.ID, ObjectID: v.ObjectID, Version: v.Version, Current: v.Current, Provider: v.Provider, Model: v.Model,
		PromptVersion: v.PromptVersion, InputHash: v.InputHash, SQLHash: v.SQLHash, ContentHash: v.ContentHash,
		StaleLayers: v.StaleLayers, Layers: v.Layers, ComplexityScore: v.ComplexityScore,
		PromptTokens: v.PromptTokens, CompletionTokens: v.CompletionTokens, CachedTokens: v.CachedTokens,
		EstimatedCost: v.EstimatedCost, Cost: v.Cost, DurationMS: v.DurationMS, JobID: v.JobID, CreatedAt: v.CreatedAt,
	}
	if v.LayerStatus != nil {
		out.LayerStatus = make(map[modeldoc.Layer]layerStatus, len(v.LayerStatus))
		for l, s := range v.LayerStatus {
			out.LayerStatus[l] = layerStatusOf(s)
		}
	}
	return out
}

// ReviewRequest is the body of POST /objects/{id}/review.
type ReviewRequest struct {
	Action string `json:"action"`
	Layer  string `json:"layer,omitempty"`
	Column string `json:"column,omitempty"`
	Text   string `json:"text,omitempty"`
}

// AcceptAllRequest is the body of POST /review/accept: the filter of the
// drafts to accept.
type AcceptAllRequest struct {
	ProjectID int64   `json:"project_id,omitempty"`
	ObjectIDs []int64 `json:"object_ids,omitempty"`
	Layer     string  `json:"layer,omitempty"`
	Findings  bool    `json:"findings,omitempty"`
}

// reviewResult counts what a review action changed and left alone.
type reviewResult struct {
	Changed int `json:"changed"`
	Skipped int `json:"skipped"`
}

func reviewResultOf(r store.ReviewResult) reviewResult {
	return reviewResult{Changed: r.Changed, Skipped: r.Skipped}
}

// reviewItem is one piece of generated text to review, with its text's
// Markdown as a tree when the text has any (the dashboard shows a draft
// as it will read).
type reviewItem struct {
	ObjectID   int64           `json:"object_id"`
	UniqueID   string          `json:"unique_id"`
	Name       string          `json:"name"`
	ProjectID  int64           `json:"project_id"`
	Project    string          `json:"project"`
	Version    int             `json:"version"`
	Layer      modeldoc.Layer  `json:"layer"`
	Column     string          `json:"column,omitempty"`
	State      string          `json:"state"`
	Text       string          `json:"text"`
	Content    json.RawMessage `json:"content,omitempty"`
	Confidence string          `json:"confidence,omitempty"`
	Findings   []finding       `json:"findings,omitempty"`
	Stale      bool            `json:"stale,omitempty"`
	ReviewedBy string          `json:"reviewed_by,omitempty"`
	ReviewedAt *time.Time      `json:"reviewed_at,omitempty"`
	TextDoc    []markdownNode  `json:"text_doc,omitempty"`
}

func reviewItemOf(it store.ReviewItem) reviewItem {
	return reviewItem{
		ObjectID: it.ObjectID, UniqueID: it.UniqueID, Name: it.Name, ProjectID: it.ProjectID, Project: it.Project,
		Version: it.Version, Layer: it.Layer, Column: it.Column, State: it.State, Text: it.Text, Content: it.Content,
		Confidence: it.Confidence, Findings: mapSlice(it.Findings, findingOf), Stale: it.Stale,
		ReviewedBy: it.ReviewedBy, ReviewedAt: it.ReviewedAt,
	}
}

// ReviewAnswer is what a review action did.
type ReviewAnswer struct {
	Result reviewResult `json:"result"`
	Actor  string       `json:"actor"`
	// Items are the object's review items after the action.
	Items []reviewItem `json:"items"`
}

// AcceptAllAnswer is what POST /review/accept did.
type AcceptAllAnswer struct {
	Result reviewResult `json:"result"`
	Actor  string       `json:"actor"`
}

// reviewEvent is one line of an object's review history.
type reviewEvent struct {
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

func reviewEventOf(e store.ReviewEvent) reviewEvent {
	return reviewEvent{
		ID: e.ID, ObjectID: e.ObjectID, DocVersionID: e.DocVersionID, Layer: e.Layer, Column: e.Column, Action: e.Action,
		From: e.From, To: e.To, Actor: e.Actor, Text: e.Text, At: e.At,
	}
}

// reviewHistory is GET /objects/{id}/review/history.
type reviewHistory struct {
	Items []reviewEvent `json:"items"`
}
