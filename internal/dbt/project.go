package dbt

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/modeldoc/modeldoc"
)

// projectYML is the part of dbt_project.yml we read. The pre-1.0 names
// (source-paths, data-paths) are still found in older projects.
type projectYML struct {
	Name          string         `yaml:"name"`
	ModelPaths    []string       `yaml:"model-paths"`
	SourcePaths   []string       `yaml:"source-paths"`
	SeedPaths     []string       `yaml:"seed-paths"`
	DataPaths     []string       `yaml:"data-paths"`
	SnapshotPaths []string       `yaml:"snapshot-paths"`
	MacroPaths    []string       `yaml:"macro-paths"`
	Models        map[string]any `yaml:"models"`
	Seeds         map[string]any `yaml:"seeds"`
	Snapshots     map[string]any `yaml:"snapshots"`
}

type packagesYML struct {
	Packages []struct {
		Local string `yaml:"local"`
	} `yaml:"packages"`
}

// propsFile is a properties .yml file (schema.yml and friends).
type propsFile struct {
	Models    []propsNode     `yaml:"models"`
	Seeds     []propsNode     `yaml:"seeds"`
	Snapshots []propsNode     `yaml:"snapshots"`
	Sources   []propsSource   `yaml:"sources"`
	Exposures []propsExposure `yaml:"exposures"`
}

type propsExposure struct {
	Name        string `yaml:"name"`
	Label       string `yaml:"label"`
	Type        string `yaml:"type"`
	Maturity    string `yaml:"maturity"`
	URL         string `yaml:"url"`
	Description string `yaml:"description"`
	Owner       struct {
		Name  string `yaml:"name"`
		Email string `yaml:"email"`
	} `yaml:"owner"`
	DependsOn []string `yaml:"depends_on"`
}

// rawExposure is an exposure whose depends_on is resolved once every
// package has been read.
type rawExposure struct {
	exp   modeldoc.Exposure
	pkg   *pkg
	rel   string
	calls []jinjaCall
}

type propsNode struct {
	Name          string         `yaml:"name"`
	Description   string         `yaml:"description"`
	Columns       []propsColumn  `yaml:"columns"`
	Config        map[string]any `yaml:"config"`
	Meta          map[string]any `yaml:"meta"`
	Tags          any            `yaml:"tags"`
	LatestVersion any            `yaml:"latest_version"`
	Versions      []struct {
		V         any           `yaml:"v"`
		DefinedIn string        `yaml:"defined_in"`
		Columns   []propsColumn `yaml:"columns"`
	} `yaml:"versions"`
}

type propsColumn struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	DataType    string `yaml:"data_type"`
	Tests       []any  `yaml:"tests"`
	DataTests   []any  `yaml:"data_tests"`
}

type propsSource struct {
	Name        string         `yaml:"name"`
	Database    string         `yaml:"database"`
	Schema      string         `yaml:"schema"`
	Description string         `yaml:"description"`
	Meta        map[string]any `yaml:"meta"`
	Tags        any            `yaml:"tags"`
	Tables      []struct {
		Name        string         `yaml:"name"`
		Identifier  string         `yaml:"identifier"`
		Description string         `yaml:"description"`
		Columns     []propsColumn  `yaml:"columns"`
		Meta        map[string]any `yaml:"meta"`
		Tags        any            `yaml:"tags"`
	} `yaml:"tables"`
}

// pkg is one dbt project read from disk: the root project or a local or
// installed package.
type pkg struct {
	name string
	dir  string
	yml  projectYML
	// Paths relative to dir, with forward slashes.
	modelPaths, seedPaths, snapshotPaths, macroPaths []string
}

// rawObject is an object under construction with what is needed to finish
// it: its calls to resolve and the file it came from.
type rawObject struct {
	obj     modeldoc.Object
	pkg     *pkg
	calls   []jinjaCall
	relDirs []string // folders under the model path, for dbt_project.yml config
	sqlCfg  map[string]string
	sqlTags []string // tags of the SQL's config() calls
	ymlCfg  map[string]any
	version string
	ymlSeen bool
}

type projectLoader struct {
	root     *pkg
	pkgs     []*pkg
	byDir    map[string]bool
	docs     map[string]string // "name" and "pkg.name" -> doc block text
	objects  []*rawObject
	exposed  []rawExposure
	byID     map[string]*rawObject
	refable  map[string]map[string]string            // pkg -> name -> unique id (models, seeds, snapshots)
	versions map[string]map[string]map[string]string // pkg -> name -> version -> unique id
	latest   map[string]map[string]string            // pkg -> name -> latest version
	sources  map[string]map[[2]string]string         // pkg -> (source, table) -> unique id
	warnings []string
	// again names what to do once a broken file is fixed ("" is import).
	again string
	files map[string]fileData // read ahead by preload
	// bounds are the package folders, the only ones read from; see within.
	bounds, resolvedBounds []string
}

type fileData struct {
	data []byte
	err  error
}

// preload reads files concurrently: on a cold or networked file system a
// project of thousands of small files spends most of its time waiting on
// open(2), and parsing them stays sequential and deterministic.
func (l *projectLoader) preload(paths []string) {
	const workers = 8
	results := make([]fileData, len(paths))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				b, err := os.ReadFile(paths[i])
				results[i] = fileData{b, err}
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	l.files = make(map[string]fileData, len(paths))
	for i, p := range paths {
		l.files[p] = results[i]
	}
}

func (l *projectLoader) read(path string) ([]byte, error) {
	if f, ok := l.files[path]; ok {
		return f.data, f.err
	}
	return os.ReadFile(path)
}

// LoadProject reads a dbt project folder without dbt: dbt_project.yml,
// every model .sql and properties .yml, seeds (.csv files and YAML
// entries), snapshots ({% snapshot %} blocks) and {% docs %} blocks in .md
// files. Local packages named in packages.yml and installed packages under
// dbt_packages/ are read too, so that refs into them resolve. Compiled SQL
// stays empty: only dbt can render the Jinja.
func LoadProject(dir string) (*modeldoc.Catalog, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, modeldoc.Errorf(modeldoc.EINVALID, "Cannot resolve %s: %v.", dir, err)
	}
	l := &projectLoader{
		byDir:    map[string]bool{},
		docs:     map[string]string{},
		byID:     map[string]*rawObject{},
		refable:  map[string]map[string]string{},
		versions: map[string]map[string]map[string]string{},
		latest:   map[string]map[string]string{},
		sources:  map[string]map[[2]string]string{},
	}
	root, err := l.loadPackage(abs, true)
	if err != nil {
		return nil, err
	}
	l.root = root
	l.setBounds()
	for i := 0; i < len(l.pkgs); i++ {
		if err := l.readPackage(l.pkgs[i]); err != nil {
			return nil, err
		}
	}
	l.finish()

	c := &modeldoc.Catalog{
		ProjectName: root.name,
		Source:      "project",
		Path:        dir,
	}
	for _, ro := range l.objects {
		c.Objects = append(c.Objects, ro.obj)
	}
	sort.Slice(c.Objects, func(i, j int) bool { return c.Objects[i].UniqueID < c.Objects[j].UniqueID })
	c.Edges = l.edges()
	c.Exposures = l.exposures()
	c.Warnings = l.warnings
	return c, nil
}

func (l *projectLoader) addExposure(p *pkg, rel string, e propsExposure) {
	if e.Name == "" {
		l.warnf("%s: an exposure has no name; it is left out.", rel)
		return
	}
	x := rawExposure{
		exp: modeldoc.Exposure{
			UniqueID: "exposure." + p.name + "." + e.Name, Name: e.Name, Label: e.Label, Type: e.Type,
			Maturity: e.Maturity, Owner: cmp.Or(e.Owner.Name, e.Owner.Email), URL: e.URL,
			Description: l.resolveDocs(e.Description, p, rel),
		},
		pkg: p,
		rel: rel,
	}
	for _, d := range e.DependsOn {
		calls := callsIn(d, 0, "ref", "source")
		if len(calls) != 1 {
			l.warnf("%s: exposure %s depends on %q, which is not one ref() or source(); it is left out of the exposure's lineage.", rel, e.Name, d)
			continue
		}
		x.calls = append(x.calls, calls[0])
	}
	l.exposed = append(l.exposed, x)
}

// exposures resolves each exposure's depends_on as the models' refs are
// resolved; what names nothing is a warning, as for a model.
func (l *projectLoader) exposures() []modeldoc.Exposure {
	var out []modeldoc.Exposure
	seen := map[string]bool{}
	for _, x := range l.exposed {
		if seen[x.exp.UniqueID] {
			l.warnf("%s: exposure %s is declared twice; the first is kept.", x.rel, x.exp.Name)
			continue
		}
		seen[x.exp.UniqueID] = true
		for _, c := range x.calls {
			up, what := l.resolve(x.pkg.name, c)
			if up == "" {
				l.warnf("%s: exposure %s: %s; it is left out of the exposure's lineage.", x.rel, x.exp.Name, what)
				continue
			}
			if !slices.Contains(x.exp.DependsOn, up) {
				x.exp.DependsOn = append(x.exp.DependsOn, up)
			}
		}
		out = append(out, x.exp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UniqueID < out[j].UniqueID })
	return out
}

func (l *projectLoader) warnf(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

// loadPackage reads the dbt_project.yml of dir and, recursively, the local
// and installed packages it uses.
func (l *projectLoader) loadPackage(dir string, root bool) (*pkg, error) {
	if l.byDir[dir] {
		return nil, nil
	}
	l.byDir[dir] = true
	file := filepath.Join(dir, "dbt_project.yml")
	data, err := os.ReadFile(file)
	if err != nil {
		if root {
			if errors.Is(err, os.ErrNotExist) {
				return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s has no dbt_project.yml, so it is not a dbt project folder: point at the folder that holds dbt_project.yml, or at a manifest.json.", dir)
			}
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", file, err)
		}
		return nil, nil
	}
	p := &pkg{dir: dir}
	if err := decodeYAML(data, &p.yml, file, l); err != nil {
		return nil, err
	}
	p.name = p.yml.Name
	if p.name == "" {
		if root {
			return nil, modeldoc.Errorf(modeldoc.EINVALID, "%s has no name: add `name: my_project` to it.", file)
		}
		p.name = filepath.Base(dir)
	}
	for _, other := range l.pkgs {
		if other.name == p.name {
			l.warnf("%s: package %s is also at %s; the first one read is kept.", file, p.name, other.dir)
			return nil, nil
		}
	}
	layout := layoutOf(&p.yml)
	p.modelPaths, p.seedPaths, p.snapshotPaths, p.macroPaths = layout.ModelPaths, layout.SeedPaths, layout.SnapshotPaths, layout.MacroPaths
	l.pkgs = append(l.pkgs, p)

	for _, name := range []string{"packages.yml", "dependencies.yml"} {
		pf := filepath.Join(dir, name)
		data, err := os.ReadFile(pf)
		if err != nil {
			continue
		}
		var py packagesYML
		if err := decodeYAML(data, &py, pf, l); err != nil {
			return nil, err
		}
		for _, dep := range py.Packages {
			if dep.Local == "" {
				continue
			}
			d := filepath.Clean(filepath.Join(dir, dep.Local))
			if !fileExists(filepath.Join(d, "dbt_project.yml")) {
				l.warnf("%s: local package %s has no dbt_project.yml; it is skipped.", pf, dep.Local)
				continue
			}
			if _, err := l.loadPackage(d, false); err != nil {
				return nil, err
			}
		}
	}
	if root {
		for _, inst := range []string{"dbt_packages", "dbt_modules"} {
			entries, _ := os.ReadDir(filepath.Join(dir, inst))
			for _, e := range entries {
				if e.IsDir() {
					if _, err := l.loadPackage(filepath.Join(dir, inst, e.Name()), false); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return p, nil
}

func first(lists ...[]string) []string {
	for _, l := range lists {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

func cleanPaths(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if filepath.IsAbs(p) {
			// Kept absolute, so that readPackage refuses it rather than
			// reading it as a folder of the project.
			out = append(out, filepath.ToSlash(filepath.Clean(p)))
			continue
		}
		p = strings.Trim(filepath.ToSlash(filepath.Clean(p)), "/")
		out = append(out, p)
	}
	return out
}

// within reports whether path, once cleaned and its symbolic links
// resolved, lies in the folder of one of the packages read (the project
// itself, and the local and installed packages it names, which dbt reads
// too). A path that does not exist is judged as written.
func (l *projectLoader) within(path string) bool {
	path = filepath.Clean(path)
	bounds := l.bounds
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
		bounds = l.resolvedBounds
	}
	for _, b := range bounds {
		if rel, err := filepath.Rel(b, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// setBounds records the folders a project may read from: those of its
// packages, as written and with their symbolic links resolved.
func (l *projectLoader) setBounds() {
	for _, p := range l.pkgs {
		l.bounds = append(l.bounds, filepath.Clean(p.dir))
		resolved, err := filepath.EvalSymlinks(p.dir)
		if err != nil {
			resolved = filepath.Clean(p.dir)
		}
		l.resolvedBounds = append(l.resolvedBounds, resolved)
	}
}

// containedPaths keeps the resource paths of key (model-paths, ...) that
// stay inside the folders the project may read; a path that leaves them
// (absolute, "..", or through a symbolic link) could put any file of the
// machine into the catalog and from there into a prompt, so it is refused
// with a warning.
func (l *projectLoader) containedPaths(p *pkg, key string, paths []string) []string {
	out := paths[:0:0]
	for _, rp := range paths {
		full := filepath.Join(p.dir, filepath.FromSlash(rp))
		switch {
		case filepath.IsAbs(filepath.FromSlash(rp)):
			l.warnf("%s: %s entry %q is an absolute path; only folders inside the project are read, so it is skipped.", filepath.Join(p.dir, "dbt_project.yml"), key, rp)
		case !l.within(full):
			l.warnf("%s: %s entry %q leads outside the project folder; it is skipped.", filepath.Join(p.dir, "dbt_project.yml"), key, rp)
		default:
			out = append(out, rp)
		}
	}
	return out
}

// resourceRelated reports whether rel (below the package folder) is a
// resource folder, lies in one or holds one.
func (p *pkg) resourceRelated(rel string) bool {
	for _, list := range [][]string{p.modelPaths, p.seedPaths, p.snapshotPaths} {
		for _, rp := range list {
			if rp == "." || rp == rel || strings.HasPrefix(rel, rp+"/") || strings.HasPrefix(rp, rel+"/") {
				return true
			}
		}
	}
	return false
}

// under returns the path of rel below one of roots ("" and false if none).
func under(rel string, roots []string) (string, bool) {
	for _, r := range roots {
		if r == "." {
			return rel, true
		}
		if strings.HasPrefix(rel, r+"/") {
			return rel[len(r)+1:], true
		}
	}
	return "", false
}

// readPackage walks a package's folder once and reads what it finds.
func (l *projectLoader) readPackage(p *pkg) error {
	var ymls, docs []string
	var models, snapshots [][2]string // (abs path, path below the resource folder)
	var seeds []string
	p.modelPaths = l.containedPaths(p, "model-paths", p.modelPaths)
	p.seedPaths = l.containedPaths(p, "seed-paths", p.seedPaths)
	p.snapshotPaths = l.containedPaths(p, "snapshot-paths", p.snapshotPaths)
	l.containedPaths(p, "macro-paths", p.macroPaths) // not read; warned about all the same
	// Resource paths may leave the package folder for the folder of another
	// package it reads ("../seeds", as Tuva's docs_generate project does,
	// whose packages.yml names ../../): those folders are walked too.
	roots := []string{p.dir}
	for _, rp := range append(append(append([]string{}, p.modelPaths...), p.seedPaths...), p.snapshotPaths...) {
		if rp == ".." || strings.HasPrefix(rp, "../") {
			roots = append(roots, filepath.Join(p.dir, filepath.FromSlash(rp)))
		}
	}
	walked := map[string]bool{}
	var err error
	for _, root := range roots {
		if walked[root] {
			continue
		}
		walked[root] = true
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil // an unreadable folder is skipped, as dbt would fail on it later
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if target, err := filepath.EvalSymlinks(path); err == nil && !l.within(target) {
					rel := l.rel(p, path)
					if name := d.Name(); p.resourceRelated(rel) || strings.HasSuffix(name, ".md") {
						l.warnf("%s is a symbolic link to %s, outside the project folder; it is not read.", rel, target)
					}
					return nil
				}
			}
			if d.IsDir() {
				if path != root && SkipFolder(path) {
					return filepath.SkipDir // another project lives there
				}
				return nil
			}
			rel, _ := filepath.Rel(p.dir, path)
			rel = filepath.ToSlash(rel)
			name := d.Name()
			switch {
			case strings.HasSuffix(name, ".md"):
				docs = append(docs, path)
			case IsPropertiesFile(name):
				if _, ok := under(rel, p.modelPaths); ok {
					ymls = append(ymls, path)
				} else if _, ok := under(rel, p.seedPaths); ok {
					ymls = append(ymls, path)
				} else if _, ok := under(rel, p.snapshotPaths); ok {
					ymls = append(ymls, path)
				}
			case strings.HasSuffix(name, ".sql"):
				if below, ok := under(rel, p.modelPaths); ok {
					models = append(models, [2]string{path, below})
				} else if below, ok := under(rel, p.snapshotPaths); ok {
					snapshots = append(snapshots, [2]string{path, below})
				}
			case strings.HasSuffix(name, ".csv"):
				if _, ok := under(rel, p.seedPaths); ok {
					seeds = append(seeds, path)
				}
			}
			return nil
		})
		if err != nil {
			return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read the folder %s: %v.", root, err)
		}
	}

	var all []string
	all = append(all, docs...)
	all = append(all, ymls...)
	for _, m := range models {
		all = append(all, m[0])
	}
	for _, m := range snapshots {
		all = append(all, m[0])
	}
	l.preload(all)
	defer func() { l.files = nil }()

	for _, path := range docs {
		if err := l.readDocs(path, p); err != nil {
			return err
		}
	}
	for _, m := range models {
		if err := l.readModel(p, m[0], m[1]); err != nil {
			return err
		}
	}
	for _, s := range snapshots {
		if err := l.readSnapshots(p, s[0]); err != nil {
			return err
		}
	}
	for _, path := range seeds {
		name := strings.TrimSuffix(filepath.Base(path), ".csv")
		l.addSeed(p, name, l.rel(p, path))
	}
	for _, path := range ymls {
		if err := l.readProps(p, path); err != nil {
			return err
		}
	}
	return nil
}

func (l *projectLoader) rel(p *pkg, path string) string {
	r, err := filepath.Rel(p.dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// readDocs collects the {% docs name %}...{% enddocs %} blocks of a file.
func (l *projectLoader) readDocs(path string, p *pkg) error {
	data, err := l.read(path)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", path, err)
	}
	src := string(data)
	if !strings.Contains(src, "docs") {
		return nil
	}
	blocks, jerr := scanBlocks(src)
	if jerr != nil {
		// Markdown often holds stray braces (code samples); dbt would fail
		// on it only if the file has docs blocks, so warn and keep what
		// was read before the fault.
		l.warnf("%s: %v; the docs blocks after it are not read.", l.rel(p, path), jerr)
	}
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if b.Kind != blockStmt || b.Tag() != "docs" {
			continue
		}
		name := b.Arg()
		for j := i + 1; j < len(blocks); j++ {
			if blocks[j].Kind == blockStmt && blocks[j].Tag() == "enddocs" {
				text := strings.TrimSpace(src[b.End:blocks[j].Start])
				if _, dup := l.docs[p.name+"."+name]; !dup {
					l.docs[p.name+"."+name] = text
				}
				if _, dup := l.docs[name]; !dup || p == l.root {
					l.docs[name] = text
				}
				i = j
				break
			}
		}
	}
	return nil
}

func (l *projectLoader) register(ro *rawObject) bool {
	o := &ro.obj
	if prev, dup := l.byID[o.UniqueID]; dup {
		l.warnf("%s: %s %s is defined twice in package %s (also in %s); the first is kept.", o.FilePath, o.Type, o.Name, o.Package, prev.obj.FilePath)
		return false
	}
	l.byID[o.UniqueID] = ro
	l.objects = append(l.objects, ro)
	if o.Type != modeldoc.TypeSource {
		if l.refable[o.Package] == nil {
			l.refable[o.Package] = map[string]string{}
		}
		if _, ok := l.refable[o.Package][o.Name]; !ok {
			l.refable[o.Package][o.Name] = o.UniqueID
		}
	}
	return true
}

func (l *projectLoader) readModel(p *pkg, path, below string) error {
	data, err := l.read(path)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", path, err)
	}
	rel := l.rel(p, path)
	src := string(data)
	blocks, jerr := scanBlocks(src)
	if jerr != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "%s: unbalanced Jinja at line %d: %s. dbt cannot compile this model either; close the block and import again.", filepath.Join(p.dir, rel), jerr.(*jinjaError).Line, jerr.(*jinjaError).Msg)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".sql")
	ro := &rawObject{
		obj: modeldoc.Object{
			UniqueID: "model." + p.name + "." + name,
			Type:     modeldoc.TypeModel,
			Name:     name,
			Package:  p.name,
			RawSQL:   src,
			FilePath: rel,
		},
		pkg: p,
	}
	if d := filepath.ToSlash(filepath.Dir(below)); d != "." {
		ro.relDirs = strings.Split(d, "/")
	}
	ro.calls, ro.sqlCfg, ro.sqlTags = blockCalls(blocks)
	l.register(ro)
	return nil
}

// blockCalls returns the ref/source calls of blocks, the literal arguments
// of their config() calls and the tags those calls give. dbt takes config
// both as keyword arguments and as one dict ({{ config({"enabled": false})
// }}); both forms land in the same map.
func blockCalls(blocks []jinjaBlock) ([]jinjaCall, map[string]string, []string) {
	var calls []jinjaCall
	var cfg map[string]string
	var tagList []string
	set := func(k, v string) {
		if k == "tags" {
			tagList = append(tagList, listLiteral(v)...)
			return
		}
		if cfg == nil {
			cfg = map[string]string{}
		}
		if k == "unique_key" && strings.HasPrefix(strings.TrimSpace(v), "[") {
			// A composite key: its names, comma-separated, as finish reads them.
			if l := listLiteral(v); len(l) > 0 {
				cfg[k] = strings.Join(l, ",")
			}
			return
		}
		if _, ok := literal(v); ok || !strings.ContainsAny(v, "()[]{}") {
			cfg[k] = v
		}
	}
	for _, b := range blocks {
		if !strings.Contains(b.Body, "(") {
			continue
		}
		for _, c := range callsIn(b.Body, b.Line, "ref", "source", "config", "simple_cte") {
			if c.Fn == "simple_cte" {
				calls = append(calls, simpleCTERefs(c)...)
				continue
			}
			if c.Fn == "config" {
				for _, a := range c.Args {
					for k, v := range dictLiteral(a) {
						set(k, v)
					}
				}
				for k, v := range c.Kwargs {
					set(k, v)
				}
				continue
			}
			calls = append(calls, c)
		}
	}
	return calls, cfg, tagList
}

// simpleCTERefs reads the refs of GitLab's simple_cte macro, a common
// import-CTE helper: simple_cte([('alias', 'model'), ...]) renders
// "alias AS (SELECT * FROM {{ ref('model') }})" for each pair, so each
// pair is a dependency dbt records.
func simpleCTERefs(c jinjaCall) []jinjaCall {
	if len(c.Args) != 1 {
		return nil
	}
	list := strings.TrimSpace(c.Args[0])
	if len(list) < 2 || list[0] != '[' || matchParen(list, 0) != len(list)-1 {
		return nil
	}
	var out []jinjaCall
	for _, item := range splitArgs(list[1 : len(list)-1]) {
		if len(item) < 2 || item[0] != '(' || matchParen(item, 0) != len(item)-1 {
			continue
		}
		pair := splitArgs(item[1 : len(item)-1])
		if len(pair) != 2 {
			continue
		}
		name, ok := literal(pair[1])
		if !ok || name == "" {
			continue
		}
		out = append(out, jinjaCall{Fn: "ref", Args: []string{name}, Line: c.Line})
	}
	return out
}

func (l *projectLoader) readSnapshots(p *pkg, path string) error {
	data, err := l.read(path)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", path, err)
	}
	src := string(data)
	rel := l.rel(p, path)
	blocks, jerr := scanBlocks(src)
	if jerr != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "%s: unbalanced Jinja at line %d: %s. dbt cannot compile this snapshot either; close the block and import again.", path, jerr.(*jinjaError).Line, jerr.(*jinjaError).Msg)
	}
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		if b.Kind != blockStmt || b.Tag() != "snapshot" {
			continue
		}
		end := -1
		for j := i + 1; j < len(blocks); j++ {
			if blocks[j].Kind == blockStmt && blocks[j].Tag() == "endsnapshot" {
				end = j
				break
			}
		}
		if end < 0 {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s: {%% snapshot %s %%} at line %d has no {%% endsnapshot %%}: close it and import again.", path, b.Arg(), b.Line)
		}
		name := strings.TrimSpace(b.Arg())
		ro := &rawObject{
			obj: modeldoc.Object{
				UniqueID:        "snapshot." + p.name + "." + name,
				Type:            modeldoc.TypeSnapshot,
				Name:            name,
				Package:         p.name,
				RawSQL:          strings.TrimSpace(src[b.End:blocks[end].Start]),
				FilePath:        rel,
				Materialization: "snapshot",
			},
			pkg: p,
		}
		ro.calls, ro.sqlCfg, ro.sqlTags = blockCalls(blocks[i+1 : end])
		l.register(ro)
		i = end
	}
	return nil
}

func (l *projectLoader) addSeed(p *pkg, name, rel string) *rawObject {
	id := "seed." + p.name + "." + name
	if ro, ok := l.byID[id]; ok {
		return ro
	}
	ro := &rawObject{
		obj: modeldoc.Object{
			UniqueID:        id,
			Type:            modeldoc.TypeSeed,
			Name:            name,
			Package:         p.name,
			FilePath:        rel,
			Materialization: "seed",
		},
		pkg: p,
	}
	l.register(ro)
	return ro
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML decodes data into v. A syntax error is an EINVALID error that
// names the file and the line; a value of the wrong type only loses that
// value, with a warning, as dbt would read the rest.
func decodeYAML(data []byte, v any, file string, l *projectLoader) error {
	var doc yaml.Node
	err := yaml.Unmarshal(data, &doc)
	if err == nil {
		dedupeKeys(&doc, file, l)
		err = doc.Decode(v)
	}
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, e := range te.Errors {
			l.warnf("%s: %s; that value is ignored.", file, strings.TrimPrefix(e, "yaml: "))
		}
		return nil
	}
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "%s: YAML syntax error at line %s: %s. Fix the file and %s again.", file, m[1], m[2], l.againVerb())
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "%s: invalid YAML: %s. Fix the file and %s again.", file, strings.TrimPrefix(msg, "yaml: "), l.againVerb())
}

func (l *projectLoader) againVerb() string {
	if l.again == "" {
		return "import"
	}
	return l.again
}

// dedupeKeys drops all but the last of a key repeated in one mapping. dbt
// reads YAML with PyYAML, where the last wins; yaml.v3 would reject the
// whole mapping, losing what dbt keeps.
func dedupeKeys(n *yaml.Node, file string, l *projectLoader) {
	if n.Kind == yaml.MappingNode && len(n.Content) >= 4 {
		last := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode {
				if _, dup := last[k.Value]; dup {
					l.warnf("%s: line %d: key %q repeats a key of the same mapping; the later value wins, as in dbt.", file, k.Line, k.Value)
				}
				last[k.Value] = i
			}
		}
		if len(last)*2 < len(n.Content) {
			kept := n.Content[:0:0]
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.ScalarNode && last[k.Value] != i {
					continue
				}
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
			n.Content = kept
		}
	}
	for _, c := range n.Content {
		dedupeKeys(c, file, l)
	}
}

func (l *projectLoader) readProps(p *pkg, path string) error {
	data, err := l.read(path)
	if err != nil {
		return modeldoc.Errorf(modeldoc.EINVALID, "Cannot read %s: %v.", path, err)
	}
	var pf propsFile
	if err := decodeYAML(data, &pf, path, l); err != nil {
		return err
	}
	rel := l.rel(p, path)
	for i := range pf.Models {
		l.patchModel(p, &pf.Models[i], rel)
	}
	for _, e := range pf.Exposures {
		l.addExposure(p, rel, e)
	}
	for i := range pf.Seeds {
		n := &pf.Seeds[i]
		if n.Name == "" {
			continue
		}
		// The datasets ship without data files, and a seed YAML declares
		// is one the project has: keep it so that refs to it resolve.
		ro := l.addSeed(p, n.Name, rel)
		l.applyPatch(ro, n, n.Columns, rel)
	}
	for i := range pf.Snapshots {
		n := &pf.Snapshots[i]
		ro := l.byID["snapshot."+p.name+"."+n.Name]
		if ro == nil {
			l.warnf("%s: snapshot %s is described in YAML but no {%% snapshot %s %%} block defines it.", rel, n.Name, n.Name)
			continue
		}
		l.applyPatch(ro, n, n.Columns, rel)
	}
	for _, s := range pf.Sources {
		if s.Name == "" {
			continue
		}
		for _, t := range s.Tables {
			if t.Name == "" {
				continue
			}
			schema := s.Schema
			if schema == "" {
				schema = s.Name
			}
			ro := &rawObject{
				obj: modeldoc.Object{
					UniqueID:    "source." + p.name + "." + s.Name + "." + t.Name,
					Type:        modeldoc.TypeSource,
					Name:        t.Name,
					Package:     p.name,
					Database:    s.Database,
					Schema:      schema,
					Description: l.resolveDocs(t.Description, p, rel),
					Tags:        append(tags(s.Tags), tags(t.Tags)...),
					Meta:        mergeMeta(s.Meta, t.Meta),
					FilePath:    rel,
				},
				pkg: p,
			}
			ro.obj.Columns = l.columns(t.Columns, p, rel, ro.obj.Name)
			ro.obj.SQLHash = modeldoc.HashSQL("", "")
			if !l.register(ro) {
				continue
			}
			if l.sources[p.name] == nil {
				l.sources[p.name] = map[[2]string]string{}
			}
			l.sources[p.name][[2]string{s.Name, t.Name}] = ro.obj.UniqueID
		}
	}
	return nil
}

// patchModel applies a models: entry, or the entries of its versions.
func (l *projectLoader) patchModel(p *pkg, n *propsNode, rel string) {
	if n.Name == "" {
		return
	}
	if len(n.Versions) == 0 {
		ro := l.byID["model."+p.name+"."+n.Name]
		if ro == nil {
			l.warnf("%s: model %s is described in YAML but has no .sql file in package %s.", rel, n.Name, p.name)
			return
		}
		if ro.ymlSeen {
			l.warnf("%s: model %s is described in YAML twice; the later entry wins.", rel, n.Name)
		}
		ro.ymlSeen = true
		l.applyPatch(ro, n, n.Columns, rel)
		return
	}
	latest := ""
	for _, v := range n.Versions {
		vs := scalarString(v.V)
		if vs == "" {
			continue
		}
		file := v.DefinedIn
		if file == "" {
			file = n.Name + "_v" + vs
		}
		ro := l.byID["model."+p.name+"."+file]
		if ro == nil && file != n.Name {
			ro = l.byID["model."+p.name+"."+n.Name]
		}
		if ro == nil {
			l.warnf("%s: version %s of model %s has no .sql file (looked for %s.sql).", rel, vs, n.Name, file)
			continue
		}
		// A versioned model takes the name of its YAML entry and an id
		// with the version, as in dbt's manifest.
		delete(l.byID, ro.obj.UniqueID)
		if m := l.refable[p.name]; m != nil && m[ro.obj.Name] == ro.obj.UniqueID {
			delete(m, ro.obj.Name)
		}
		ro.obj.Name = n.Name
		ro.obj.UniqueID = "model." + p.name + "." + n.Name + ".v" + vs
		ro.version = vs
		l.byID[ro.obj.UniqueID] = ro
		if l.versions[p.name] == nil {
			l.versions[p.name] = map[string]map[string]string{}
		}
		if l.versions[p.name][n.Name] == nil {
			l.versions[p.name][n.Name] = map[string]string{}
		}
		l.versions[p.name][n.Name][vs] = ro.obj.UniqueID
		cols := v.Columns
		if cols == nil {
			cols = n.Columns
		}
		ro.ymlSeen = true
		l.applyPatch(ro, n, cols, rel)
		if latest == "" || versionLess(latest, vs) {
			latest = vs
		}
	}
	if lv := scalarString(n.LatestVersion); lv != "" {
		latest = lv
	}
	if latest != "" {
		if l.latest[p.name] == nil {
			l.latest[p.name] = map[string]string{}
		}
		l.latest[p.name][n.Name] = latest
	}
}

func versionLess(a, b string) bool {
	fa, ea := strconv.ParseFloat(a, 64)
	fb, eb := strconv.ParseFloat(b, 64)
	if ea == nil && eb == nil {
		return fa < fb
	}
	return a < b
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func (l *projectLoader) applyPatch(ro *rawObject, n *propsNode, cols []propsColumn, rel string) {
	o := &ro.obj
	o.Description = l.resolveDocs(n.Description, ro.pkg, rel)
	o.Columns = l.columns(cols, ro.pkg, rel, o.Name)
	o.Meta = mergeMeta(o.Meta, n.Meta)
	o.Tags = append(o.Tags, tags(n.Tags)...)
	if n.Config != nil {
		ro.ymlCfg = n.Config
		if m, ok := n.Config["meta"].(map[string]any); ok {
			o.Meta = mergeMeta(o.Meta, m)
		}
		o.Tags = append(o.Tags, tags(n.Config["tags"])...)
	}
}

func (l *projectLoader) columns(cols []propsColumn, p *pkg, rel, owner string) []modeldoc.Column {
	var out []modeldoc.Column
	index := map[string]int{}
	for _, c := range cols {
		if c.Name == "" {
			continue
		}
		desc := l.resolveDocs(c.Description, p, rel)
		col := modeldoc.Column{
			Name:             c.Name,
			DataType:         c.DataType,
			Description:      desc,
			HumanDescription: desc != "",
			Declared:         true,
			Tests:            testNames(append(c.Tests, c.DataTests...)),
			TestArgs:         testArgs(append(c.Tests, c.DataTests...)),
		}
		// dbt keeps a project's columns in a map by name, so a column
		// declared twice is one column whose later entry wins.
		if i, dup := index[c.Name]; dup {
			l.warnf("%s: column %s of %s is declared twice; the later entry wins.", rel, c.Name, owner)
			col.Position = out[i].Position
			out[i] = col
			continue
		}
		col.Position = len(out) + 1
		index[c.Name] = len(out)
		out = append(out, col)
	}
	return out
}

// testNames reads a tests: list: "not_null", {"relationships": {...}},
// {"dbt_utils.expression_is_true": {...}} or {"test_name": ..., "name": ...}.
// Names lose their package namespace, as in the manifest's test_metadata.
func testNames(list []any) []string {
	var out []string
	for _, t := range list {
		name := ""
		switch x := t.(type) {
		case string:
			name = x
		case map[string]any:
			if tn, ok := x["test_name"].(string); ok {
				name = tn
			} else {
				for k := range x {
					if k != "name" && k != "config" {
						name = k
					}
				}
			}
		}
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		if name != "" {
			out = append(out, name)
		}
	}
	return sortUnique(out)
}

// testArgs reads the arguments of a tests: list's generic tests:
// {"accepted_values": {"values": [...]}}, the same with the arguments
// under arguments: (dbt 1.10), or {"test_name": "relationships", "to": ...}.
func testArgs(list []any) []modeldoc.ColumnTest {
	var out []modeldoc.ColumnTest
	for _, t := range list {
		x, ok := t.(map[string]any)
		if !ok {
			continue
		}
		if tn, ok := x["test_name"].(string); ok {
			if a := columnTest(tn, x); a != nil {
				out = append(out, *a)
			}
			continue
		}
		for k, v := range x {
			kw, ok := v.(map[string]any)
			if k == "name" || k == "config" || !ok {
				continue
			}
			if a := columnTest(k, kw); a != nil {
				out = append(out, *a)
			}
		}
	}
	return sortTestArgs(out)
}

// rawConfig reads the config a prompt shows from the merged configuration
// of a raw project's object (dbt_project.yml, YAML config:, config() in the
// SQL); contract is read from YAML config: only, where it is a mapping.
func rawConfig(cfg map[string]string, yml map[string]any) *modeldoc.ObjectConfig {
	var c modeldoc.ObjectConfig
	if k := cfg["unique_key"]; !strings.ContainsAny(k, "{}()[]") {
		for _, name := range strings.Split(k, ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.UniqueKey = append(c.UniqueKey, name)
			}
		}
	}
	if st := strings.TrimSpace(cfg["incremental_strategy"]); !strings.ContainsAny(st, "{}()") {
		c.IncrementalStrategy = st
	}
	if y := objectConfig(map[string]any{"contract": yml["contract"]}); y != nil {
		c.ContractEnforced = y.ContractEnforced
	}
	if c.Empty() {
		return nil
	}
	return &c
}

func tags(v any) []string {
	switch x := v.(type) {
	case string:
		if x != "" {
			return []string{x}
		}
	case []any:
		var out []string
		for _, t := range x {
			if s := scalarString(t); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func mergeMeta(a, b map[string]any) map[string]any {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// resolveDocs renders the doc() calls of a description. An unknown doc
// keeps the raw text and warns, so nothing the author wrote is lost.
func (l *projectLoader) resolveDocs(desc string, p *pkg, rel string) string {
	if !strings.Contains(desc, "{{") {
		return desc
	}
	blocks, err := scanBlocks(desc)
	if err != nil {
		l.warnf("%s: a description has unbalanced Jinja (%v); it is kept as written.", rel, err)
		return desc
	}
	var b strings.Builder
	last := 0
	for _, blk := range blocks {
		if blk.Kind != blockExpr {
			continue
		}
		if lit, ok := stringLiteral(blk.Body); ok {
			// dbt renders {{ ("text") }} as text: a doc( forgotten in
			// GitLab's YAML leaves exactly that.
			b.WriteString(desc[last:blk.Start])
			b.WriteString(lit)
			last = blk.End
			continue
		}
		calls := callsIn(blk.Body, blk.Line, "doc")
		if len(calls) != 1 || calls[0].Dynamic || len(calls[0].Args) == 0 {
			continue
		}
		args := calls[0].Args
		key := args[0]
		if len(args) == 2 {
			key = args[0] + "." + args[1]
		}
		text, ok := l.docs[p.name+"."+key]
		if !ok {
			text, ok = l.docs[key]
		}
		if !ok {
			l.warnf("%s: doc(%q) names no {%% docs %%} block in the project; the description is kept as written.", rel, strings.Join(args, "."))
			continue
		}
		b.WriteString(desc[last:blk.Start])
		b.WriteString(text)
		last = blk.End
	}
	if last == 0 {
		return desc
	}
	b.WriteString(desc[last:])
	return b.String()
}

// stringLiteral reads a Jinja expression that is only a string literal,
// in parentheses or not: ("text"), 'text'.
func stringLiteral(expr string) (string, bool) {
	e := strings.TrimSpace(expr)
	for len(e) >= 2 && e[0] == '(' && e[len(e)-1] == ')' {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	if len(e) < 2 || (e[0] != '"' && e[0] != '\'') || e[len(e)-1] != e[0] || strings.ContainsRune(e[1:len(e)-1], rune(e[0])) || strings.Contains(e, "\\") {
		return "", false
	}
	return e[1 : len(e)-1], true
}

// finish applies configuration (dbt_project.yml, then YAML config:, then
// config() in the SQL, the later winning), drops disabled objects and
// hashes the SQL.
func (l *projectLoader) finish() {
	kept := l.objects[:0]
	for _, ro := range l.objects {
		o := &ro.obj
		if o.Type == modeldoc.TypeSource {
			kept = append(kept, ro)
			continue
		}
		cfg := map[string]string{}
		section := map[modeldoc.ObjectType]func(projectYML) map[string]any{
			modeldoc.TypeModel:    func(y projectYML) map[string]any { return y.Models },
			modeldoc.TypeSeed:     func(y projectYML) map[string]any { return y.Seeds },
			modeldoc.TypeSnapshot: func(y projectYML) map[string]any { return y.Snapshots },
		}[o.Type]
		// A package's own dbt_project.yml first, the root's over it.
		projectConfig(cfg, section(ro.pkg.yml), ro.pkg.name, ro.relDirs, o.Name)
		if ro.pkg != l.root {
			projectConfig(cfg, section(l.root.yml), ro.pkg.name, ro.relDirs, o.Name)
		}
		for k, v := range ro.ymlCfg {
			if l, isList := v.([]any); isList && k == "unique_key" {
				var names []string
				for _, x := range l {
					names = append(names, scalarString(x))
				}
				cfg[k] = strings.Join(names, ",")
				continue
			}
			if s := scalarString(v); s != "" {
				cfg[k] = s
			}
		}
		for k, v := range ro.sqlCfg {
			cfg[k] = v
		}
		if strings.EqualFold(cfg["enabled"], "false") {
			l.warnf("%s: %s %s is disabled (enabled: false); it is left out, as dbt leaves it out.", filepath.ToSlash(filepath.Join(ro.pkg.name, o.FilePath)), o.Type, o.Name)
			delete(l.byID, o.UniqueID)
			if m := l.refable[o.Package]; m != nil && m[o.Name] == o.UniqueID {
				delete(m, o.Name)
			}
			continue
		}
		if m := cfg["materialized"]; m != "" && !strings.Contains(m, "{") {
			o.Materialization = m
		}
		if o.Materialization == "" {
			o.Materialization = "view"
		}
		if s := cfg["schema"]; s != "" && !strings.Contains(s, "{") {
			o.Schema = s
		}
		if d := cfg["database"]; d != "" && !strings.Contains(d, "{") {
			o.Database = d
		}
		o.Tags = sortUnique(append(o.Tags, ro.sqlTags...))
		if o.Type != modeldoc.TypeSeed {
			o.Config = rawConfig(cfg, ro.ymlCfg)
		}
		o.SQLHash = modeldoc.HashSQL(o.RawSQL, "")
		kept = append(kept, ro)
	}
	l.objects = kept
}

// isConfigKey lists the configs that dbt_project.yml may give without a
// + prefix; any other key without + is a package or folder name.
var isConfigKey = map[string]bool{"materialized": true, "enabled": true, "schema": true, "database": true, "alias": true, "tags": true}

func projectConfig(cfg map[string]string, tree map[string]any, pkgName string, dirs []string, name string) {
	node := tree
	apply := func(n map[string]any) {
		for k, v := range n {
			key, plus := strings.CutPrefix(k, "+")
			if !plus && !isConfigKey[k] {
				continue
			}
			if _, isMap := v.(map[string]any); isMap {
				continue
			}
			if s := scalarString(v); s != "" {
				cfg[key] = s
			}
		}
	}
	if node == nil {
		return
	}
	apply(node)
	path := append([]string{pkgName}, dirs...)
	path = append(path, name)
	for _, step := range path {
		next, ok := node[step].(map[string]any)
		if !ok {
			return
		}
		node = next
		apply(node)
	}
}

// edges resolves every ref() and source() into a lineage edge. A ref that
// names nothing is a warning: the project may use a package that is not
// installed, and the rest of the lineage is still worth having.
func (l *projectLoader) edges() []modeldoc.Edge {
	seen := map[modeldoc.Edge]bool{}
	warned := map[string]bool{}
	var out []modeldoc.Edge
	for _, ro := range l.objects {
		o := &ro.obj
		for _, c := range ro.calls {
			up, what := l.resolve(ro.pkg.name, c)
			if up == "" {
				key := o.FilePath + "\x00" + what
				if !warned[key] {
					warned[key] = true
					l.warnf("%s line %d: %s; the lineage edge is left out.", filepath.ToSlash(filepath.Join(ro.pkg.name, o.FilePath)), c.Line, what)
				}
				continue
			}
			if up == o.UniqueID {
				continue
			}
			e := modeldoc.Edge{Upstream: up, Downstream: o.UniqueID}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	sortEdges(out)
	return out
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + a + "'"
	}
	return strings.Join(q, ", ")
}

// resolve returns the unique id a call points at, or "" and why not. Like
// dbt, ref('x') looks in the calling package first, then in the root
// project, then in every other package.
func (l *projectLoader) resolve(from string, c jinjaCall) (string, string) {
	if c.Dynamic {
		return "", fmt.Sprintf("%s() with an argument that is not a literal cannot be resolved without dbt", c.Fn)
	}
	if c.Fn == "source" {
		if len(c.Args) != 2 {
			return "", fmt.Sprintf("source(%s) needs two arguments", quoteArgs(c.Args))
		}
		key := [2]string{c.Args[0], c.Args[1]}
		if id := l.sources[from][key]; id != "" {
			return id, ""
		}
		for _, p := range l.pkgs {
			if id := l.sources[p.name][key]; id != "" {
				return id, ""
			}
		}
		return "", fmt.Sprintf("source(%s) names no source table declared in YAML", quoteArgs(c.Args))
	}
	args := c.Args
	pkgName := c.Kwargs["package"]
	if len(args) == 2 {
		pkgName, args = args[0], args[1:]
	}
	if len(args) != 1 {
		return "", fmt.Sprintf("ref(%s) needs one or two arguments", quoteArgs(c.Args))
	}
	name := args[0]
	version := c.Kwargs["v"]
	if version == "" {
		version = c.Kwargs["version"]
	}
	lookup := func(p string) string {
		if vs := l.versions[p][name]; vs != nil {
			v := version
			if v == "" {
				v = l.latest[p][name]
			}
			if id := vs[v]; id != "" {
				return id
			}
		}
		return l.refable[p][name]
	}
	var order []string
	if pkgName != "" {
		order = []string{pkgName}
	} else {
		order = []string{from, l.root.name}
		for _, p := range l.pkgs {
			order = append(order, p.name)
		}
	}
	for _, p := range order {
		if id := lookup(p); id != "" {
			return id, ""
		}
	}
	return "", fmt.Sprintf("ref(%s) names no model, seed or snapshot in the project or its packages", quoteArgs(c.Args))
}
