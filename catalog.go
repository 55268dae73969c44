package modeldoc

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ObjectType is the dbt resource type of a catalog object.
type ObjectType string

const (
	TypeModel    ObjectType = "model"
	TypeSource   ObjectType = "source"
	TypeSeed     ObjectType = "seed"
	TypeSnapshot ObjectType = "snapshot"
)

// Valid reports whether t is one of the four object types we catalog.
func (t ObjectType) Valid() bool {
	switch t {
	case TypeModel, TypeSource, TypeSeed, TypeSnapshot:
		return true
	}
	return false
}

// Organization owns projects, tokens and provider keys. Every query that
// reaches the store is scoped to one.
type Organization struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Project is one imported dbt project (from its artifacts or its folder).
// A project is identified within its organization by Name; importing a
// project with the same name updates it in place.
type Project struct {
	ID            int64     `json:"id"`
	OrgID         int64     `json:"org_id"`
	Name          string    `json:"name"`
	Source        string    `json:"source"` // "manifest" or "project"
	Path          string    `json:"path"`
	SchemaVersion string    `json:"schema_version,omitempty"`
	DbtVersion    string    `json:"dbt_version,omitempty"`
	AdapterType   string    `json:"adapter_type,omitempty"`
	ImportedAt    time.Time `json:"imported_at"`
}

// Object is a model, source, seed or snapshot. UniqueID is dbt's
// ("model.jaffle_shop.orders"); ID is ours and survives re-imports.
type Object struct {
	ID              int64          `json:"id"`
	ProjectID       int64          `json:"project_id"`
	UniqueID        string         `json:"unique_id"`
	Type            ObjectType     `json:"type"`
	Name            string         `json:"name"`
	Package         string         `json:"package"`
	Database        string         `json:"database,omitempty"`
	Schema          string         `json:"schema,omitempty"`
	Identifier      string         `json:"identifier,omitempty"` // warehouse name when not Name: a model's alias, a source's identifier
	Materialization string         `json:"materialization,omitempty"`
	RawSQL          string         `json:"raw_sql,omitempty"`
	CompiledSQL     string         `json:"compiled_sql,omitempty"`
	Description     string         `json:"description,omitempty"`
	Tags            []string       `json:"tags,omitempty"`
	Meta            map[string]any `json:"meta,omitempty"`
	// Config is the part of the model's dbt config that says what a row
	// is and how the table is kept (incremental merges on unique_key).
	Config    *ObjectConfig `json:"config,omitempty"`
	FilePath  string        `json:"file_path,omitempty"`
	SQLHash   string        `json:"sql_hash,omitempty"`
	Deleted   bool          `json:"deleted,omitempty"`
	Columns   []Column      `json:"columns,omitempty"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// SQL returns the SQL a writer should read: compiled where the manifest
// has it, the raw Jinja otherwise.
func (o *Object) SQL() string {
	if o.CompiledSQL != "" {
		return o.CompiledSQL
	}
	return o.RawSQL
}

// Column is one column of an object. HumanDescription is true when
// Description came from the project's YAML (or a person's edit) rather than
// from a writer, which is what keeps generated text from replacing it.
type Column struct {
	Name             string   `json:"name"`
	DataType         string   `json:"data_type,omitempty"`
	Description      string   `json:"description,omitempty"`
	HumanDescription bool     `json:"human_description,omitempty"`
	Tests            []string `json:"tests,omitempty"`
	// TestArgs are the generic tests whose arguments say something of the
	// column: accepted_values' list, relationships' target. Tests keeps
	// every test's name, these included.
	TestArgs []ColumnTest `json:"test_args,omitempty"`
	Position int          `json:"position"`
	// Declared is true when the project's YAML declares the column; false
	// when only catalog.json (the warehouse) knows it.
	Declared bool `json:"declared"`
	// InheritedFrom is set (never stored with the column) when Description
	// is not the project's text for this column but an ancestor's, carried
	// down the column lineage: "source hubspot.form.guid".
	InheritedFrom string `json:"inherited_from,omitempty"`
}

// Edge is a lineage edge: Downstream reads from Upstream. Importers fill
// the unique ids; the store resolves them to object ids.
type Edge struct {
	Upstream   string `json:"upstream"`
	Downstream string `json:"downstream"`
}

// Catalog is what an importer reads from a dbt project, before it reaches
// the store. It is a plain value: importers know nothing of databases.
type Catalog struct {
	ProjectName   string   `json:"project_name"`
	Source        string   `json:"source"` // "manifest" or "project"
	Path          string   `json:"path"`
	SchemaVersion string   `json:"schema_version,omitempty"`
	DbtVersion    string   `json:"dbt_version,omitempty"`
	AdapterType   string   `json:"adapter_type,omitempty"`
	Objects       []Object `json:"objects"`
	Edges         []Edge   `json:"edges"`
	// Exposures are the project's declared downstream uses.
	Exposures []Exposure `json:"exposures,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
}

// Exposure is a use of the project that dbt does not build: a dashboard,
// notebook, analysis, ML model or application, declared in the project's
// YAML with the objects it reads. It is not documented itself; it is who
// is hurt when what it reads breaks, which is what impact analysis names.
type Exposure struct {
	UniqueID    string `json:"unique_id"`
	Name        string `json:"name"`
	Label       string `json:"label,omitempty"`
	Type        string `json:"type,omitempty"` // dashboard, notebook, analysis, ml, application
	Maturity    string `json:"maturity,omitempty"`
	Owner       string `json:"owner,omitempty"` // the owner's name, else the email
	URL         string `json:"url,omitempty"`
	Description string `json:"description,omitempty"`
	// DependsOn lists the unique ids of the objects it reads.
	DependsOn []string `json:"depends_on,omitempty"`
}

// ExposureUse is an exposure that reads an object, directly or through
// other objects, as a prompt and the impact layer show it.
type ExposureUse struct {
	Exposure
	// Reads are our ids of the objects the exposure reads directly.
	Reads []int64 `json:"reads,omitempty"`
}

// HashSQL is the content hash stored with every object, so that a re-import
// can tell changed SQL from unchanged.
func HashSQL(raw, compiled string) string {
	h := sha256.New()
	h.Write([]byte(raw))
	h.Write([]byte{0})
	h.Write([]byte(compiled))
	return hex.EncodeToString(h.Sum(nil))
}

// ImportSummary reports what an import wrote. Its JSON keys are part of the
// CLI's contract (`modeldoc import --json`).
type ImportSummary struct {
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

// ObjectEdge is a lineage edge between two stored objects, by our ids.
type ObjectEdge struct {
	Upstream   int64 `json:"upstream"`
	Downstream int64 `json:"downstream"`
}

// ColumnTest is a dbt generic test with the arguments that give it its
// meaning: the values an accepted_values test allows, the model (or
// source) and column a relationships test points at.
type ColumnTest struct {
	Name string `json:"name"`
	// Values are accepted_values' values, as the project wrote them.
	Values []string `json:"values,omitempty"`
	// To is the relationships target as the project names it: a model
	// ("customers") or a source table ("hubspot.contact").
	To    string `json:"to,omitempty"`
	Field string `json:"field,omitempty"`
}

// ObjectConfig is what a model's dbt config says of its rows and of how
// its table is kept.
type ObjectConfig struct {
	UniqueKey           []string `json:"unique_key,omitempty"`
	IncrementalStrategy string   `json:"incremental_strategy,omitempty"`
	ContractEnforced    bool     `json:"contract_enforced,omitempty"`
}

// Empty reports whether c says nothing.
func (c *ObjectConfig) Empty() bool {
	return c == nil || len(c.UniqueKey) == 0 && c.IncrementalStrategy == "" && !c.ContractEnforced
}
