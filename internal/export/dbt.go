package export

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/export/udiff"
	"github.com/modeldoc/modeldoc/internal/export/yamledit"
	"github.com/modeldoc/modeldoc/internal/store"
)

// DBTOptions configure ExportDBT.
type DBTOptions struct {
	// Dir is the dbt project folder (the one with dbt_project.yml).
	Dir string
	// Project names the imported project; "" means the name in
	// dbt_project.yml.
	Project string
	// OverwriteHuman lets generated text replace descriptions a person
	// wrote (including {{ doc() }} references). Off by default.
	OverwriteHuman bool
	// DryRun computes everything and writes nothing.
	DryRun bool
	// IncludeDrafts writes generated text nobody has reviewed too. By
	// default only human, edited and accepted text is published; rejected
	// text never is.
	IncludeDrafts bool
}

// FileChange is one properties file that the export changes or creates.
type FileChange struct {
	Path               string `json:"path"` // relative to the project folder, with slashes
	Created            bool   `json:"created"`
	ModelDescriptions  int    `json:"model_descriptions"`
	ColumnDescriptions int    `json:"column_descriptions"`
	NewModels          int    `json:"new_models"`
	NewColumns         int    `json:"new_columns"`
	Before             []byte `json:"-"`
	After              []byte `json:"-"`
}

// DBTResult says what ExportDBT changed (or would change, in a dry run).
type DBTResult struct {
	Project string       `json:"project"`
	DryRun  bool         `json:"dry_run"`
	Files   []FileChange `json:"files"`
	// Unchanged counts the properties files left byte for byte as they were.
	Unchanged int `json:"unchanged_files"`
	// KeptHuman counts descriptions left alone because a person wrote them.
	KeptHuman int `json:"kept_human"`
	// Undocumented counts models with no current documentation to export.
	Undocumented int `json:"undocumented_models"`
	// Drafts counts the generated descriptions not written because nobody
	// has reviewed them (0 with IncludeDrafts); Rejected those a person
	// rejected, never written.
	Drafts   int      `json:"drafts_not_written"`
	Rejected int      `json:"rejected_not_written"`
	Warnings []string `json:"warnings,omitempty"`
}

// Diff returns the unified diff of every change, file by file.
func (r *DBTResult) Diff() string {
	var b strings.Builder
	for _, f := range r.Files {
		from := "a/" + f.Path
		if f.Created {
			from = "/dev/null"
		}
		b.WriteString(udiff.Unified(from, "b/"+f.Path, f.Before, f.After, 3))
	}
	return b.String()
}

// propsFile is a properties YAML file of the project being edited.
type propsFile struct {
	rel string // relative to the project folder, slashes
	// real is where the file is written: rel with every symbolic link
	// resolved, inside the project folder; "" when outside says why not.
	real    string
	outside string
	orig    []byte // the bytes read, for the diff and for a rollback
	file    *yamledit.File
	created bool
	change  FileChange
	newOnes []yamledit.Entry
	// records are the texts this file gets from the export, recorded
	// once it is written so that a re-import knows them for modeldoc's.
	records []store.ExportedText
	// newRecords are the records of newOnes, kept if they are added.
	newRecords []store.ExportedText
}

type declared struct {
	pf    *propsFile
	model *yamledit.Model
}

type dbtExporter struct {
	st      *store.Store
	orgID   int64
	opts    DBTOptions
	root    string // the project folder, absolute, symbolic links resolved
	res     *DBTResult
	files   []*propsFile
	byRel   map[string]*propsFile
	byReal  map[string]*propsFile // by where the file is written
	models  map[string]declared   // by model name
	prior   map[int64]*priorText
	roots   []string // model paths, relative, slashes
	pattern string   // file name for new properties files, {dir} for the folder
	style   *yamledit.File
	jinja   []string // descriptions left out because dbt would render them
}

// priorText holds what modeldoc generated for an object in earlier
// versions: YAML text equal to one of them is modeldoc's, not a person's.
type priorText struct {
	summaries map[string]bool
	columns   map[string]map[string]bool // lower-case column -> texts
}

// ExportDBT writes each model's executive summary and its column
// descriptions into the project's properties files: text a person wrote,
// edited or accepted, and drafts only with IncludeDrafts. A file with nothing
// to change is not touched. A description a person wrote (any non-empty
// text, or a {{ doc() }} reference, that modeldoc did not generate) is
// kept unless OverwriteHuman. Models no YAML declares get an entry in the
// file their folder's convention suggests; a new file is created only when
// their folder has none.
func ExportDBT(ctx context.Context, st *store.Store, orgID int64, opts DBTOptions) (*DBTResult, error) {
	x := &dbtExporter{st: st, orgID: orgID, opts: opts, res: &DBTResult{DryRun: opts.DryRun},
		byRel: map[string]*propsFile{}, byReal: map[string]*propsFile{}, models: map[string]declared{}, prior: map[int64]*priorText{}}
	name, err := x.readProject()
	if err != nil {
		return nil, err
	}
	if x.root, err = realDir(opts.Dir); err != nil {
		return nil, err
	}
	if opts.Project != "" {
		name = opts.Project
	}
	proj, err := findProject(ctx, st, orgID, name)
	if err != nil {
		return nil, err
	}
	x.res.Project = proj.Name
	if err := x.readProps(); err != nil {
		return nil, err
	}
	loaded, err := Load(ctx, st, orgID, proj.ID)
	if err != nil {
		return nil, err
	}
	if err := x.plan(ctx, loaded[0]); err != nil {
		return nil, err
	}
	if err := x.finish(ctx); err != nil {
		return nil, err
	}
	return x.res, nil
}

func findProject(ctx context.Context, st *store.Store, orgID int64, name string) (*modeldoc.Project, error) {
	ps, err := st.ListProjects(ctx, orgID)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range ps {
		if ps[i].Name == name {
			return &ps[i], nil
		}
		names = append(names, ps[i].Name)
	}
	if len(names) == 0 {
		return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No project is imported yet: run `modeldoc import PROJECT_DIR` and generate documentation first.")
	}
	return nil, modeldoc.Errorf(modeldoc.ENOTFOUND, "No imported project is named %q (imported: %s): import the folder first, or name the project with --project.", name, strings.Join(names, ", "))
}

// readProject reads the project's name and model paths, as the importer
// does (dbt.ReadLayout).
func (x *dbtExporter) readProject() (string, error) {
	layout, warnings, err := dbt.ReadLayout(x.opts.Dir)
	if err != nil {
		return "", err
	}
	// A value dbt_project.yml gives twice or of the wrong type is read as
	// the importer reads it; say so, as the import did.
	x.res.Warnings = append(x.res.Warnings, warnings...)
	for _, p := range layout.ModelPaths {
		if filepath.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
			continue // outside the project: not ours to edit
		}
		x.roots = append(x.roots, p)
	}
	return layout.Name, nil
}

// readProps parses every .yml/.yaml under the model paths and indexes the
// models they declare; dbt reads a model declared twice from the later
// file, and so does this.
func (x *dbtExporter) readProps() error {
	var rels []string
	for _, root := range x.roots {
		dir := filepath.Join(x.opts.Dir, filepath.FromSlash(root))
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == dir && errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipDir
				}
				return err
			}
			if d.IsDir() {
				if p != dir && dbt.SkipFolder(p) {
					return filepath.SkipDir
				}
				return nil
			}
			if dbt.IsPropertiesFile(d.Name()) {
				rel, _ := filepath.Rel(x.opts.Dir, p)
				rels = append(rels, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read the folder %s: %v.", dir, err)
		}
	}
	sort.Strings(rels)
	for _, rel := range rels {
		// A file linked from outside the project is still read: dbt reads
		// it, so the models it declares must not be declared again here.
		// It is never written. A file reached through a link inside the
		// project is known by where it is, and read once.
		real, why := x.target(rel)
		if real != "" {
			if x.byReal[real] != nil {
				continue
			}
			r, err := filepath.Rel(x.root, real)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(r)
		}
		abs := filepath.Join(x.opts.Dir, filepath.FromSlash(rel))
		data, err := os.ReadFile(abs)
		if err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", abs, err)
		}
		f, err := yamledit.Parse(data)
		if err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s: %s. Fix the file (dbt cannot read it either) and export again.", abs, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		pf := &propsFile{rel: rel, real: real, outside: why, orig: data, file: f}
		x.files = append(x.files, pf)
		x.byRel[rel] = pf
		if real != "" {
			x.byReal[real] = pf
		}
		if x.style == nil && len(f.Models()) > 0 {
			x.style = f
		}
		for _, m := range f.Models() {
			x.models[m.Name] = declared{pf, m}
		}
	}
	x.pattern = x.namePattern()
	return nil
}

// realDir returns dir absolute, with its symbolic links resolved.
func realDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return "", modeldoc.Errorf(modeldoc.EINVALID, "Cannot read the folder %s: %v.", dir, err)
	}
	return abs, nil
}

// target resolves a properties file's path, relative to the project
// folder, to where writing it would land, following every symbolic link.
// It returns "" and the reason when that is outside the project folder
// (a path from the store such as ../../outside/y.sql, or a link to
// another folder) or in a folder the project does not have.
func (x *dbtExporter) target(rel string) (real, why string) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", "is not a path inside the project folder"
	}
	abs := filepath.Join(x.root, p)
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		// A new file: its folder must exist (the export creates no
		// folders), and is what the links are resolved in.
		dir, derr := filepath.EvalSymlinks(filepath.Dir(abs))
		if derr != nil {
			return "", fmt.Sprintf("would be in %s, which the project folder does not have", path.Dir(rel))
		}
		real, err = filepath.Join(dir, filepath.Base(abs)), nil
	}
	if err != nil {
		return "", fmt.Sprintf("cannot be resolved: %v", err)
	}
	if !within(x.root, real) {
		return "", fmt.Sprintf("resolves to %s, outside the project folder", real)
	}
	return real, ""
}

// within reports whether p is root or under it; both are clean and
// absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && filepath.IsLocal(rel)
}

// namePattern learns how the project names properties files from the
// files that declare models: ccsr/ccsr_models.yml gives {dir}_models.yml,
// staging/_staging__models.yml gives _{dir}__models.yml, schema.yml stays
// schema.yml. The most common wins; dbt's own style guide is the default.
func (x *dbtExporter) namePattern() string {
	count := map[string]int{}
	for _, pf := range x.files {
		if !pf.file.HasModels() {
			continue
		}
		dir, base := path.Base(path.Dir(pf.rel)), path.Base(pf.rel)
		if dir != "." && dir != "" && strings.Contains(base, dir) {
			base = strings.Replace(base, dir, "{dir}", 1)
		}
		count[base]++
	}
	best, n := "_{dir}__models.yml", 0
	for p, c := range count {
		if c > n || (c == n && p < best) {
			best, n = p, c
		}
	}
	return best
}

func (x *dbtExporter) warnf(format string, args ...any) {
	x.res.Warnings = append(x.res.Warnings, fmt.Sprintf(format, args...))
}

// priorFor loads the texts of the object's earlier versions, once.
func (x *dbtExporter) priorFor(ctx context.Context, obj *modeldoc.Object, current *modeldoc.DocVersion) (*priorText, error) {
	if p := x.prior[obj.ID]; p != nil {
		return p, nil
	}
	p := &priorText{summaries: map[string]bool{}, columns: map[string]map[string]bool{}}
	versions, err := x.st.ListDocVersions(ctx, x.orgID, obj.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range versions {
		if v.ID == current.ID {
			continue
		}
		full, err := x.st.GetDocVersion(ctx, x.orgID, obj.ID, v.Version)
		if err != nil {
			return nil, err
		}
		s, err := executiveSummary(full)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj.UniqueID, err)
		}
		if s != "" {
			p.summaries[s] = true
		}
		cols, _, err := ColumnDocs(full)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", obj.UniqueID, err)
		}
		for _, c := range cols {
			k := strings.ToLower(c.Name)
			if p.columns[k] == nil {
				p.columns[k] = map[string]bool{}
			}
			p.columns[k][c.Description] = true
		}
	}
	x.prior[obj.ID] = p
	return p, nil
}

// decision is what to do with one description.
type decision int

const (
	leave decision = iota
	write
	keepHuman
)

// decide compares what the file has with the generated text. Text that
// modeldoc generated in an earlier version is modeldoc's to update.
func (x *dbtExporter) decide(v yamledit.Value, want string, earlier func() (bool, error)) (decision, error) {
	switch {
	case !v.Present:
		return write, nil
	case !v.Editable:
		return keepHuman, nil
	case v.Text == want:
		return leave, nil
	case v.Empty() && !v.DocRef():
		return write, nil
	case x.opts.OverwriteHuman:
		return write, nil
	case v.DocRef():
		return keepHuman, nil
	}
	ours, err := earlier()
	if err != nil {
		return leave, err
	}
	if ours {
		return write, nil
	}
	return keepHuman, nil
}

// publish reports whether text in a review state is written, counting
// what is left out.
func (x *dbtExporter) publish(state string) bool {
	switch {
	case modeldoc.Published(state):
		return true
	case state == modeldoc.ReviewRejected:
		x.res.Rejected++
		return false
	case x.opts.IncludeDrafts:
		return true
	}
	x.res.Drafts++
	return false
}

// jinja reports text dbt would render as a template.
func jinja(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

func (x *dbtExporter) plan(ctx context.Context, p *Project) error {
	type pending struct {
		obj   *modeldoc.Object
		entry yamledit.Entry
	}
	record := func(pf *propsFile, obj *modeldoc.Object, column, text string, added bool) {
		pf.records = append(pf.records, store.ExportedText{ObjectID: obj.ID, Column: column, Text: text, Added: added})
	}
	var undeclared []pending
	for _, obj := range p.sortedObjects(modeldoc.TypeModel) {
		if obj.Package != "" && obj.Package != p.Project.Name {
			continue // an installed package's model: its YAML is not ours
		}
		v := p.Docs[obj.ID]
		if v == nil {
			x.res.Undocumented++
			continue
		}
		summary, err := executiveSummary(v)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.UniqueID, err)
		}
		if summary != "" && !x.publish(v.LayerReview(modeldoc.LayerExecutiveSummary)) {
			summary = ""
		}
		if jinja(summary) {
			x.jinja = append(x.jinja, obj.Name)
			summary = ""
		}
		all, _, err := ColumnDocs(v)
		if err != nil {
			return fmt.Errorf("%s: %w", obj.UniqueID, err)
		}
		var cols []modeldoc.ColumnDescription
		for _, c := range all {
			if x.publish(v.ColumnReviewState(c)) {
				cols = append(cols, c)
			}
		}
		d, ok := x.models[obj.Name]
		if !ok {
			e := yamledit.Entry{Name: obj.Name, Description: summary}
			for _, c := range cols {
				if jinja(c.Description) {
					x.jinja = append(x.jinja, obj.Name+"."+c.Name)
					continue
				}
				e.Columns = append(e.Columns, yamledit.Entry{Name: c.Name, Description: c.Description})
			}
			if e.Description != "" || len(e.Columns) > 0 {
				undeclared = append(undeclared, pending{obj, e})
			}
			continue
		}
		pf, m := d.pf, d.model
		if pf.outside != "" {
			x.warnf("model %s is not exported: the file that declares it, %s, %s.", obj.Name, pf.rel, pf.outside)
			continue
		}
		if summary != "" {
			dec, err := x.decide(m.Description, summary, func() (bool, error) {
				pr, err := x.priorFor(ctx, obj, v)
				return err == nil && pr.summaries[m.Description.Text], err
			})
			if err != nil {
				return err
			}
			switch dec {
			case write:
				if err := m.SetDescription(summary); err != nil {
					x.warnf("%s line %d: model %s: %v", pf.rel, m.Line, m.Name, err)
				} else {
					pf.change.ModelDescriptions++
					record(pf, obj, "", summary, false)
				}
			case keepHuman:
				x.res.KeptHuman++
			}
		}
		if m.HasVersions() {
			continue
		}
		declaredCols := map[string]*yamledit.Column{}
		for _, c := range m.Columns {
			declaredCols[strings.ToLower(c.Name)] = c
		}
		var added []yamledit.Entry
		for _, c := range cols {
			if jinja(c.Description) {
				x.jinja = append(x.jinja, obj.Name+"."+c.Name)
				continue
			}
			yc, ok := declaredCols[strings.ToLower(c.Name)]
			if !ok {
				added = append(added, yamledit.Entry{Name: c.Name, Description: c.Description})
				continue
			}
			dec, err := x.decide(yc.Description, c.Description, func() (bool, error) {
				pr, err := x.priorFor(ctx, obj, v)
				return err == nil && pr.columns[strings.ToLower(c.Name)][yc.Description.Text], err
			})
			if err != nil {
				return err
			}
			switch dec {
			case write:
				if err := yc.SetDescription(c.Description); err != nil {
					x.warnf("%s line %d: column %s.%s: %v", pf.rel, yc.Line, m.Name, yc.Name, err)
				} else {
					pf.change.ColumnDescriptions++
					record(pf, obj, c.Name, c.Description, false)
				}
			case keepHuman:
				x.res.KeptHuman++
			}
		}
		if err := m.AddColumns(added); err != nil {
			x.warnf("%s line %d: model %s: cannot add columns: %v", pf.rel, m.Line, m.Name, err)
		} else {
			pf.change.NewColumns += len(added)
			for _, e := range added {
				record(pf, obj, e.Name, e.Description, true)
			}
		}
	}
	if n := len(x.jinja); n > 0 {
		shown := x.jinja[:min(n, 5)]
		more := ""
		if n > len(shown) {
			more = fmt.Sprintf(" and %d more", n-len(shown))
		}
		x.warnf("%d generated description(s) quote Jinja ({{ }} or {%% %%}) that dbt would render, so they are not exported: %s%s. Edit them into plain text in modeldoc, or write them into the YAML by hand.", n, strings.Join(shown, ", "), more)
	}
	// New entries go last, so that in a file they follow the edits of the
	// entries already there.
	for _, u := range undeclared {
		pf := x.homeFor(u.obj, p)
		if pf.outside != "" {
			x.warnf("model %s (%s) is not exported: its properties file %s %s.", u.obj.Name, u.obj.FilePath, pf.rel, pf.outside)
			continue
		}
		pf.newOnes = append(pf.newOnes, u.entry)
		pf.newRecords = append(pf.newRecords, store.ExportedText{ObjectID: u.obj.ID, Text: u.entry.Description})
		for _, c := range u.entry.Columns {
			pf.newRecords = append(pf.newRecords, store.ExportedText{ObjectID: u.obj.ID, Column: c.Name, Text: c.Description, Added: true})
		}
	}
	return nil
}

// homeFor picks the properties file for a model no YAML declares: the file
// that declares most of the models in the same folder; else a properties
// file in that folder; else the nearest parent folder's file that declares
// models of its subfolders (one file per area, as Tuva does); else a new
// file in the folder, named as the project names them.
func (x *dbtExporter) homeFor(obj *modeldoc.Object, p *Project) *propsFile {
	dir := path.Dir(obj.FilePath)
	votes := map[*propsFile]int{}
	for _, o := range p.Objects {
		if o.Type != modeldoc.TypeModel || path.Dir(o.FilePath) != dir {
			continue
		}
		if d, ok := x.models[o.Name]; ok && d.pf.outside == "" {
			votes[d.pf]++
		}
	}
	var best *propsFile
	for pf, n := range votes {
		if best == nil || n > votes[best] || (n == votes[best] && pf.rel < best.rel) {
			best = pf
		}
	}
	if best != nil {
		return best
	}
	for _, pf := range x.files {
		if pf.outside == "" && path.Dir(pf.rel) == dir && (pf.file.HasModels() || best == nil) {
			best = pf
		}
	}
	if best != nil {
		return best
	}
	// Parent folders, nearest first, inside the model paths.
	sqlDir := map[string]string{}
	for _, o := range p.Objects {
		if o.Type == modeldoc.TypeModel {
			sqlDir[o.Name] = path.Dir(o.FilePath)
		}
	}
	for up := path.Dir(dir); up != "." && up != "/" && x.inRoots(up); up = path.Dir(up) {
		for _, pf := range x.files {
			if pf.outside != "" || path.Dir(pf.rel) != up {
				continue
			}
			for _, m := range pf.file.Models() {
				if d := sqlDir[m.Name]; strings.HasPrefix(d, up+"/") {
					return pf
				}
			}
		}
	}
	rel := path.Join(dir, strings.ReplaceAll(x.pattern, "{dir}", path.Base(dir)))
	if pf := x.byRel[rel]; pf != nil {
		return pf
	}
	real, why := x.target(rel)
	if pf := x.byReal[real]; real != "" && pf != nil {
		x.byRel[rel] = pf // the same file, through a link
		return pf
	}
	f, err := yamledit.Parse([]byte("version: 2\n"))
	if err != nil {
		panic(err) // a constant document
	}
	if x.style != nil {
		f.IndentLike(x.style)
	}
	pf := &propsFile{rel: rel, real: real, outside: why, file: f, created: true}
	x.byRel[rel] = pf
	if why == "" {
		x.files = append(x.files, pf)
		x.byReal[real] = pf
	}
	return pf
}

func (x *dbtExporter) inRoots(dir string) bool {
	for _, r := range x.roots {
		if dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}

// finish renders every changed file, checks it, and writes them all
// unless this is a dry run.
func (x *dbtExporter) finish(ctx context.Context) error {
	var writes []pendingWrite
	var records []store.ExportedText
	for _, pf := range x.files {
		if pf.outside != "" {
			x.res.Unchanged++
			continue
		}
		if len(pf.newOnes) > 0 {
			if err := pf.file.AddModels(pf.newOnes); err != nil {
				x.warnf("%s: cannot add %d model(s): %v", pf.rel, len(pf.newOnes), err)
			} else {
				pf.records = append(pf.records, pf.newRecords...)
				pf.change.NewModels += len(pf.newOnes)
				for _, e := range pf.newOnes {
					if e.Description != "" {
						pf.change.ModelDescriptions++
					}
					pf.change.NewColumns += len(e.Columns)
				}
			}
		}
		if !pf.file.Changed() {
			if !pf.created {
				x.res.Unchanged++
			}
			continue
		}
		after, err := pf.file.Bytes()
		if err != nil {
			x.warnf("%s: %v", pf.rel, err)
			if !pf.created {
				x.res.Unchanged++
			}
			continue
		}
		// The change is reported where it is written, which for a file
		// reached through a link is the link's target.
		rel, err := filepath.Rel(x.root, pf.real)
		if err != nil {
			return err
		}
		c := pf.change
		c.Path, c.Created, c.Before, c.After = filepath.ToSlash(rel), pf.created, pf.orig, after
		x.res.Files = append(x.res.Files, c)
		writes = append(writes, pendingWrite{rel: rel, data: after, before: pf.orig, created: pf.created})
		records = append(records, pf.records...)
	}
	if x.opts.DryRun {
		return nil
	}
	if err := writeAll(x.root, writes); err != nil {
		return err
	}
	// What was written is recorded, so that importing the project again
	// takes it for modeldoc's text: not a person's, not a changed input.
	return x.st.RecordExported(ctx, x.orgID, records)
}

// pendingWrite is one file of an export: where it goes (relative to the
// project folder, symbolic links resolved), its new bytes, and what to
// put back if another file fails.
type pendingWrite struct {
	rel     string
	data    []byte
	before  []byte
	created bool
	tmp     string // the staged temporary file, until it is renamed
}

// writeAll writes every file or none. Each new text first goes to a
// temporary file beside its target (the same folder, so that the rename
// is atomic and never crosses file systems); only when all of them are
// written are they renamed over their targets. A rename that fails puts
// back the files already renamed, so a failed export leaves the project
// as it was. Every operation goes through an os.Root of the project
// folder: even a folder swapped for a link after planning cannot lead a
// write outside it.
func writeAll(dir string, writes []pendingWrite) error {
	if len(writes) == 0 {
		return nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot open the folder %s: %v.", dir, err)
	}
	defer root.Close()
	defer func() {
		for _, w := range writes {
			if w.tmp != "" {
				root.Remove(w.tmp)
			}
		}
	}()
	for i := range writes {
		w := &writes[i]
		tmp, err := stage(root, w.rel, w.data)
		if err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "Cannot write beside %s: %v. No file of the project was changed.", filepath.Join(dir, w.rel), err)
		}
		w.tmp = tmp
	}
	for i := range writes {
		w := &writes[i]
		if err := root.Rename(w.tmp, w.rel); err != nil {
			var undo []error
			for j := i - 1; j >= 0; j-- {
				undo = append(undo, writes[j].restore(root))
			}
			if uerr := errors.Join(undo...); uerr != nil {
				return fmt.Errorf("write %s: %w; putting back the files written before it failed too: %w", filepath.Join(dir, w.rel), err, uerr)
			}
			var le *os.LinkError
			if errors.As(err, &le) {
				err = le.Err
			}
			return modeldoc.Errorf(modeldoc.EINVALID, "Cannot write %s: %v. No file of the project was changed.", filepath.Join(dir, w.rel), err)
		}
		w.tmp = ""
	}
	return nil
}

// stage writes data to a new temporary file beside rel, with rel's mode
// (0644 for a new file), and returns its name.
func stage(root *os.Root, rel string, data []byte) (string, error) {
	mode := fs.FileMode(0o644)
	if st, err := root.Stat(rel); err == nil {
		mode = st.Mode().Perm()
	}
	tmp := filepath.Join(filepath.Dir(rel), ".modeldoc-"+rand.Text()+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		root.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// restore undoes a rename: a created file goes, a replaced one gets its
// old bytes back, atomically as they were replaced.
func (w *pendingWrite) restore(root *os.Root) error {
	if w.created {
		return root.Remove(w.rel)
	}
	tmp, err := stage(root, w.rel, w.before)
	if err != nil {
		return err
	}
	if err := root.Rename(tmp, w.rel); err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}
