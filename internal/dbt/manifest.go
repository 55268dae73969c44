// Package dbt reads dbt projects into a modeldoc.Catalog: from the artifacts
// dbt writes (manifest.json of schema v4 to v12, with catalog.json when it is
// there) or from a project folder read without dbt (dbt_project.yml, model
// .sql files, properties .yml files, {% docs %} blocks). It knows nothing of
// databases: the store takes the Catalog from here.
package dbt

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// Supported manifest schema versions, oldest first.
const (
	minSchemaVersion = 4
	maxSchemaVersion = 12
)

// The structs below hold only what we read: decoding into them skips every
// other field, which keeps a 4 MB manifest well under 100 ms.
type manifestFile struct {
	Metadata struct {
		SchemaVersion string `json:"dbt_schema_version"`
		DbtVersion    string `json:"dbt_version"`
		AdapterType   string `json:"adapter_type"`
		ProjectName   string `json:"project_name"`
	} `json:"metadata"`
	Nodes     map[string]*manifestNode     `json:"nodes"`
	Sources   map[string]*manifestNode     `json:"sources"`
	Exposures map[string]*manifestExposure `json:"exposures"`
}

// manifestExposure is an exposures entry: the same shape from v4 (dbt
// 0.21) to v12, label added in v7.
type manifestExposure struct {
	UniqueID    string `json:"unique_id"`
	Name        string `json:"name"`
	Label       string `json:"label"`
	Type        string `json:"type"`
	Maturity    string `json:"maturity"`
	URL         string `json:"url"`
	Description string `json:"description"`
	Owner       struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"owner"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
}

type manifestNode struct {
	UniqueID         string          `json:"unique_id"`
	Name             string          `json:"name"`
	ResourceType     string          `json:"resource_type"`
	PackageName      string          `json:"package_name"`
	Database         *string         `json:"database"`
	Schema           string          `json:"schema"`
	Description      string          `json:"description"`
	OriginalFilePath string          `json:"original_file_path"`
	RootPath         string          `json:"root_path"`
	RawCode          string          `json:"raw_code"`
	RawSQL           string          `json:"raw_sql"`
	CompiledCode     string          `json:"compiled_code"`
	CompiledSQL      string          `json:"compiled_sql"`
	Tags             json.RawMessage `json:"tags"`
	Meta             map[string]any  `json:"meta"`
	Columns          json.RawMessage `json:"columns"`
	Alias            string          `json:"alias"`      // models, seeds, snapshots
	Identifier       string          `json:"identifier"` // sources
	Config           struct {
		Materialized        string `json:"materialized"`
		UniqueKey           any    `json:"unique_key"`
		IncrementalStrategy any    `json:"incremental_strategy"`
		Contract            any    `json:"contract"`
	} `json:"config"`
	DependsOn struct {
		Nodes []string `json:"nodes"`
	} `json:"depends_on"`
	// Test nodes only.
	ColumnName   *string `json:"column_name"`
	AttachedNode *string `json:"attached_node"`
	TestMetadata *struct {
		Name   string         `json:"name"`
		Kwargs map[string]any `json:"kwargs"`
	} `json:"test_metadata"`
}

type manifestColumn struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	DataType    string `json:"data_type"`
}

type catalogFile struct {
	Nodes   map[string]catalogNode `json:"nodes"`
	Sources map[string]catalogNode `json:"sources"`
}

type catalogNode struct {
	Columns map[string]struct {
		Name  string `json:"name"`
		Type  string `json:"type"`
		Index int    `json:"index"`
	} `json:"columns"`
}

// LoadManifest reads manifestPath and, when catalogPath is not empty,
// catalog.json from catalogPath.
func LoadManifest(manifestPath, catalogPath string) (*modeldoc.Catalog, error) {
	manifest, err := readFile(manifestPath, "manifest")
	if err != nil {
		return nil, err
	}
	var catalog []byte
	if catalogPath != "" {
		if catalog, err = readFile(catalogPath, "catalog"); err != nil {
			return nil, err
		}
	}
	c, err := ParseManifest(manifest, catalog, manifestPath)
	if err != nil {
		return nil, err
	}
	c.Path = manifestPath
	if c.ProjectName == "" {
		c.ProjectName = folderName(filepath.Dir(manifestPath))
	}
	return c, nil
}

func readFile(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "The %s file %s does not exist: check the path.", what, path)
		}
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Cannot read the %s file %s: %v.", what, path, err)
	}
	return b, nil
}

// folderName names a project after its folder, skipping dbt's "target".
func folderName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	base := filepath.Base(abs)
	if base == "target" {
		base = filepath.Base(filepath.Dir(abs))
	}
	if base == "." || base == "/" || base == "" {
		return "dbt_project"
	}
	return base
}

var schemaVersionRE = regexp.MustCompile(`/manifest/v(\d+)(?:\.json)?$`)

// ParseManifest reads a manifest.json (and an optional catalog.json, nil
// when absent). name is how errors refer to the manifest: its path, or the
// name of an uploaded file.
func ParseManifest(manifest, catalog []byte, name string) (*modeldoc.Catalog, error) {
	if name == "" {
		name = "manifest.json"
	}
	m, err := parseManifestBytes(manifest, name)
	if err != nil {
		return nil, err
	}
	return m.Catalog(catalog)
}

// buildCatalog checks the manifest's schema version and builds the
// catalog from its nodes and catalog.json.
func buildCatalog(mfp *manifestFile, catalog []byte, name string) (*modeldoc.Catalog, error) {
	mf := *mfp
	sv := mf.Metadata.SchemaVersion
	if sv == "" {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s has no metadata.dbt_schema_version, so it is not a dbt manifest: give the manifest.json that dbt writes into target/ (dbt compile or dbt docs generate).", name)
	}
	m := schemaVersionRE.FindStringSubmatch(sv)
	version := 0
	if m != nil {
		version, _ = strconv.Atoi(m[1])
	}
	if version < minSchemaVersion || version > maxSchemaVersion {
		return nil, modeldoc.Errorf(modeldoc.EUNSUPPORTED, "%s has manifest schema %q, which modeldoc does not read: supported versions are v%d through v%d (dbt 0.21 to 1.10+). Regenerate it with a dbt version that writes one of them.", name, sv, minSchemaVersion, maxSchemaVersion)
	}

	var cf catalogFile
	if len(catalog) > 0 {
		if err := decodeJSON(catalog, &cf, catalogName(name), "catalog"); err != nil {
			return nil, err
		}
	}

	c := &modeldoc.Catalog{
		ProjectName:   mf.Metadata.ProjectName,
		Source:        "manifest",
		Path:          name,
		SchemaVersion: sv,
		DbtVersion:    mf.Metadata.DbtVersion,
		AdapterType:   mf.Metadata.AdapterType,
	}

	byID := make(map[string]int, len(mf.Nodes)+len(mf.Sources))
	var tests []*manifestNode
	add := func(id string, n *manifestNode, fromSources bool) error {
		if n == nil {
			return nil
		}
		if n.UniqueID == "" {
			n.UniqueID = id
		}
		t := modeldoc.ObjectType(n.ResourceType)
		if fromSources {
			t = modeldoc.TypeSource
		}
		if n.ResourceType == "test" {
			tests = append(tests, n)
			return nil
		}
		if !t.Valid() {
			return nil // analyses, operations, macros, unit tests...
		}
		if _, dup := byID[n.UniqueID]; dup {
			return nil
		}
		o, err := manifestObject(n, t, name)
		if err != nil {
			return err
		}
		byID[n.UniqueID] = len(c.Objects)
		c.Objects = append(c.Objects, o)
		return nil
	}
	for _, id := range sortedKeys(mf.Nodes) {
		if err := add(id, mf.Nodes[id], false); err != nil {
			return nil, err
		}
	}
	for _, id := range sortedKeys(mf.Sources) {
		if err := add(id, mf.Sources[id], true); err != nil {
			return nil, err
		}
	}
	sort.Slice(c.Objects, func(i, j int) bool { return c.Objects[i].UniqueID < c.Objects[j].UniqueID })
	for i := range c.Objects {
		byID[c.Objects[i].UniqueID] = i
	}

	for id, cn := range cf.Nodes {
		if i, ok := byID[id]; ok {
			mergeCatalogColumns(&c.Objects[i], cn)
		}
	}
	for id, cn := range cf.Sources {
		if i, ok := byID[id]; ok {
			mergeCatalogColumns(&c.Objects[i], cn)
		}
	}

	for _, t := range tests {
		attachManifestTest(c, byID, t)
	}
	for i := range c.Objects {
		for j := range c.Objects[i].Columns {
			col := &c.Objects[i].Columns[j]
			col.Tests = sortUnique(col.Tests)
			col.TestArgs = sortTestArgs(col.TestArgs)
		}
	}

	seen := make(map[modeldoc.Edge]bool)
	for i := range c.Objects {
		o := &c.Objects[i]
		n := nodeFor(mf, o.UniqueID)
		if n == nil {
			continue
		}
		for _, up := range n.DependsOn.Nodes {
			if _, ok := byID[up]; !ok || up == o.UniqueID {
				continue
			}
			e := modeldoc.Edge{Upstream: up, Downstream: o.UniqueID}
			if !seen[e] {
				seen[e] = true
				c.Edges = append(c.Edges, e)
			}
		}
	}
	sortEdges(c.Edges)

	for _, id := range sortedKeys(mf.Exposures) {
		e := mf.Exposures[id]
		if e == nil || e.Name == "" {
			continue
		}
		x := modeldoc.Exposure{
			UniqueID: id, Name: e.Name, Label: e.Label, Type: e.Type, Maturity: e.Maturity,
			Owner: cmp.Or(e.Owner.Name, e.Owner.Email), URL: e.URL, Description: e.Description,
		}
		for _, up := range e.DependsOn.Nodes {
			// Metrics, semantic models and other exposures are not
			// objects of the catalog: only what it holds is kept.
			if _, ok := byID[up]; ok && !slices.Contains(x.DependsOn, up) {
				x.DependsOn = append(x.DependsOn, up)
			}
		}
		c.Exposures = append(c.Exposures, x)
	}

	if c.ProjectName == "" {
		c.ProjectName = rootPackage(mf)
	}
	return c, nil
}

func catalogName(manifestName string) string {
	if strings.HasSuffix(manifestName, "manifest.json") {
		return strings.TrimSuffix(manifestName, "manifest.json") + "catalog.json"
	}
	return "catalog.json"
}

func nodeFor(mf manifestFile, id string) *manifestNode {
	if n, ok := mf.Nodes[id]; ok {
		return n
	}
	return mf.Sources[id]
}

func manifestObject(n *manifestNode, t modeldoc.ObjectType, file string) (modeldoc.Object, error) {
	raw := n.RawCode
	if raw == "" {
		raw = n.RawSQL
	}
	compiled := n.CompiledCode
	if compiled == "" {
		compiled = n.CompiledSQL
	}
	o := modeldoc.Object{
		UniqueID:        n.UniqueID,
		Type:            t,
		Name:            n.Name,
		Package:         n.PackageName,
		Schema:          n.Schema,
		Materialization: n.Config.Materialized,
		RawSQL:          raw,
		CompiledSQL:     compiled,
		Description:     n.Description,
		Tags:            tagList(n.Tags),
		Meta:            n.Meta,
		FilePath:        n.OriginalFilePath,
		SQLHash:         modeldoc.HashSQL(raw, compiled),
	}
	if n.Database != nil {
		o.Database = *n.Database
	}
	if id := cmp.Or(n.Alias, n.Identifier); id != "" && id != n.Name {
		o.Identifier = id
	}
	if len(o.Meta) == 0 {
		o.Meta = nil
	}
	if t == modeldoc.TypeModel || t == modeldoc.TypeSnapshot {
		o.Config = objectConfig(map[string]any{"unique_key": n.Config.UniqueKey,
			"incremental_strategy": n.Config.IncrementalStrategy, "contract": n.Config.Contract})
	}
	cols, err := orderedColumns(n.Columns)
	if err != nil {
		return o, modeldoc.Errorf(modeldoc.EINVALID, "%s: the columns of %s cannot be read (%v): the manifest looks damaged; regenerate it with dbt.", file, n.UniqueID, err)
	}
	for _, mc := range cols {
		o.Columns = append(o.Columns, modeldoc.Column{
			Name:             mc.Name,
			DataType:         mc.DataType,
			Description:      mc.Description,
			HumanDescription: mc.Description != "",
			Declared:         true,
			Position:         len(o.Columns) + 1,
		})
	}
	return o, nil
}

// orderedColumns decodes a manifest "columns" object keeping the order in
// which YAML declared the columns; a Go map would lose it.
func orderedColumns(raw json.RawMessage) ([]manifestColumn, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("expected an object")
	}
	var out []manifestColumn
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var mc manifestColumn
		if err := dec.Decode(&mc); err != nil {
			return nil, err
		}
		if mc.Name == "" {
			mc.Name = key
		}
		out = append(out, mc)
	}
	return out, nil
}

// tagList accepts a list of strings or one string (dbt allowed both).
func tagList(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		if len(list) == 0 {
			return nil
		}
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}

// mergeCatalogColumns gives declared columns the warehouse's type and adds
// the columns YAML does not declare, after the declared ones, in the
// warehouse's order. Names match case-insensitively because Snowflake
// upper-cases what YAML writes in lower case.
func mergeCatalogColumns(o *modeldoc.Object, cn catalogNode) {
	type cc struct {
		name, typ string
		index     int
	}
	list := make([]cc, 0, len(cn.Columns))
	for key, col := range cn.Columns {
		name := col.Name
		if name == "" {
			name = key
		}
		list = append(list, cc{name, col.Type, col.Index})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].index != list[j].index {
			return list[i].index < list[j].index
		}
		return list[i].name < list[j].name
	})
	declared := make(map[string]int, len(o.Columns))
	for i, col := range o.Columns {
		declared[strings.ToLower(col.Name)] = i
	}
	for _, col := range list {
		if i, ok := declared[strings.ToLower(col.name)]; ok {
			if o.Columns[i].DataType == "" {
				o.Columns[i].DataType = col.typ
			}
			continue
		}
		declared[strings.ToLower(col.name)] = len(o.Columns)
		o.Columns = append(o.Columns, modeldoc.Column{
			Name:     col.name,
			DataType: col.typ,
			Position: len(o.Columns) + 1,
		})
	}
}

var kwargRefRE = regexp.MustCompile(`(ref|source)\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]+)['"]\s*)?`)

// attachManifestTest adds a generic test's name to the column it tests.
// attached_node (schema v7+) names the tested node; before it, the node is
// the one that test_metadata.kwargs.model refers to, which matters for
// relationships tests whose depends_on also lists the referenced model.
func attachManifestTest(c *modeldoc.Catalog, byID map[string]int, t *manifestNode) {
	if t.ColumnName == nil || *t.ColumnName == "" || t.TestMetadata == nil || t.TestMetadata.Name == "" {
		return
	}
	target := ""
	if t.AttachedNode != nil && *t.AttachedNode != "" {
		target = *t.AttachedNode
	}
	if target == "" {
		if s, ok := t.TestMetadata.Kwargs["model"].(string); ok {
			if m := kwargRefRE.FindStringSubmatch(s); m != nil {
				for _, dep := range t.DependsOn.Nodes {
					var match bool
					if m[1] == "ref" {
						want := m[2]
						if m[3] != "" {
							want = m[3]
						}
						match = !strings.HasPrefix(dep, "source.") && (strings.HasSuffix(dep, "."+want) || strings.Contains(dep, "."+want+".v"))
					} else {
						match = strings.HasPrefix(dep, "source.") && strings.HasSuffix(dep, "."+m[2]+"."+m[3])
					}
					if match {
						target = dep
						break
					}
				}
			}
		}
	}
	if target == "" && len(t.DependsOn.Nodes) > 0 {
		target = t.DependsOn.Nodes[0]
	}
	i, ok := byID[target]
	if !ok {
		return
	}
	o := &c.Objects[i]
	col := strings.Trim(*t.ColumnName, "\"`[]")
	for j := range o.Columns {
		if strings.EqualFold(o.Columns[j].Name, col) {
			o.Columns[j].Tests = append(o.Columns[j].Tests, t.TestMetadata.Name)
			if a := columnTest(t.TestMetadata.Name, t.TestMetadata.Kwargs); a != nil {
				o.Columns[j].TestArgs = append(o.Columns[j].TestArgs, *a)
			}
			return
		}
	}
}

// rootPackage guesses the root project of a manifest that predates
// metadata.project_name: installed packages carry a root_path inside
// dbt_packages (or dbt_modules); otherwise the package with most models.
func rootPackage(mf manifestFile) string {
	counts := map[string]int{}
	for _, n := range mf.Nodes {
		if n == nil || n.ResourceType != "model" && n.ResourceType != "seed" {
			continue
		}
		if n.RootPath != "" && !strings.Contains(n.RootPath, "dbt_packages") && !strings.Contains(n.RootPath, "dbt_modules") {
			return n.PackageName
		}
		if n.ResourceType == "model" {
			counts[n.PackageName]++
		}
	}
	best, bestN := "", -1
	for p, k := range counts {
		if k > bestN || k == bestN && p < best {
			best, bestN = p, k
		}
	}
	return best
}

// decodeJSON unmarshals data and turns every failure into an EINVALID error
// that names the file and, where Go knows it, the line and column.
func decodeJSON(data []byte, v any, name, what string) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return modeldoc.Errorf(modeldoc.EINVALID, "%s is empty: give the %s.json that dbt writes into target/.", name, what)
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		if se.Offset >= int64(len(data)) {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s is truncated: the JSON ends early at line %d, column %d (byte %d). Copy the whole file again or regenerate it with dbt.", name, line, col, se.Offset)
		}
		if first := firstNonSpace(data); first != '{' && first != '[' {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s is not JSON (%v at line %d, column %d): give the %s.json that dbt writes into target/.", name, se, line, col, what)
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "%s is not valid JSON: %v at line %d, column %d (byte %d). Regenerate it with dbt.", name, se, line, col, se.Offset)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		field := te.Field
		if field == "" {
			field = "the top level"
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "%s does not have the shape of a dbt %s: %s holds a JSON %s where a %s belongs (line %d, column %d).", name, what, field, te.Value, te.Type, line, col)
	default:
		return modeldoc.Errorf(modeldoc.EINVALID, "%s cannot be read as a dbt %s: %v.", name, what, err)
	}
}

func firstNonSpace(b []byte) byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortUnique(s []string) []string {
	if len(s) < 2 {
		return s
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

func sortEdges(edges []modeldoc.Edge) {
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].Downstream != edges[j].Downstream {
			return edges[i].Downstream < edges[j].Downstream
		}
		return edges[i].Upstream < edges[j].Upstream
	})
}
