// Package quality measures generated documentation against what a data
// team wrote: a documented dbt project is its own answer key. Hide the human
// descriptions of about half the models, document the project, and compare
// the generated text with what was hidden (see docs/benchmarks.md).
package quality

import (
	"crypto/sha256"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/modeldoc/modeldoc"
)

// Hidden reports whether the benchmark hides the human descriptions of the
// object with this unique id: about half the models, chosen by a hash so
// that every run, on every machine, hides the same ones.
func Hidden(uniqueID string) bool {
	h := sha256.Sum256([]byte(uniqueID))
	return h[0]&1 == 0
}

// Truth is what the benchmark hid: by model unique id, the human
// description of each column (by lower-case name) and of the model.
type Truth struct {
	Columns map[string]map[string]string
	Models  map[string]string
}

// Hide blanks the human descriptions of the hidden models of cat (their
// columns stay, as the warehouse or YAML lists them) and returns what it
// blanked. Placeholder texts ("TBD", "N/A") are blanked but not kept as
// truth: nobody wants them back.
func Hide(cat *modeldoc.Catalog) *Truth {
	t := &Truth{Columns: map[string]map[string]string{}, Models: map[string]string{}}
	for i := range cat.Objects {
		o := &cat.Objects[i]
		if o.Type != modeldoc.TypeModel || !Hidden(o.UniqueID) {
			continue
		}
		if meaningful(o.Description) {
			t.Models[o.UniqueID] = o.Description
		}
		o.Description = ""
		cols := map[string]string{}
		for j := range o.Columns {
			c := &o.Columns[j]
			if c.HumanDescription && meaningful(c.Description) {
				cols[strings.ToLower(c.Name)] = c.Description
			}
			c.Description, c.HumanDescription = "", false
		}
		t.Columns[o.UniqueID] = cols
	}
	return t
}

// Generated is one object's generated documentation as the scorer reads
// it: its column texts by lower-case name, and every prose text of every
// layer (for leaks).
type Generated struct {
	Columns map[string]string
	// Inherited marks the columns whose text is an ancestor's human text
	// (the layer's inheritedFrom): not the writer's, so not a restatement.
	Inherited map[string]bool
	Texts     []string
	// Summary is the executive summary, to read (QUALITY_SAMPLES).
	Summary string
}

// Report is the score of one dataset.
type Report struct {
	Dataset string
	// Models and HiddenModels count the models and those hidden.
	Models, HiddenModels int
	// HiddenColumns counts the hidden columns that had a human text;
	// Described those of them that got any generated text.
	HiddenColumns, Described int
	// InheritCandidates are the hidden columns whose human text equals the
	// text of a same-named column of a still-documented ancestor;
	// InheritHits those that got exactly that text back.
	InheritCandidates, InheritHits int
	// InheritedHits are the InheritHits whose text the column layer marks
	// inherited: it came back before any writer was asked.
	InheritedHits int
	// ContentRecall is the mean share of a hidden text's content words
	// found in the generated text, over ContentColumns columns.
	ContentRecall  float64
	ContentColumns int
	// Leaks counts generated texts with a SQL comment or Jinja, out of
	// Texts.
	Leaks, Texts int
	// Restatements counts the column texts a writer wrote (not inherited)
	// for hidden models that say nothing beyond the column's name, out of
	// ColumnTexts.
	Restatements, ColumnTexts int
	// LeakSamples and RestatementSamples keep examples to read (up to 5
	// leaks and 200 restatements).
	LeakSamples, RestatementSamples []string
	// InheritMisses lists the inheritance candidates that did not get
	// their text back (up to 200), to read when the recall drops.
	InheritMisses []string
	// Generated is what was scored, by unique id (set by Run), to read.
	Generated map[string]*Generated
}

// InheritRecall is InheritHits / InheritCandidates (1 when there are none).
func (r *Report) InheritRecall() float64 { return ratio(r.InheritHits, r.InheritCandidates, 1) }

// LeakShare is Leaks / Texts.
func (r *Report) LeakShare() float64 { return ratio(r.Leaks, r.Texts, 0) }

// RestatementShare is Restatements / ColumnTexts.
func (r *Report) RestatementShare() float64 { return ratio(r.Restatements, r.ColumnTexts, 0) }

func ratio(a, b int, empty float64) float64 {
	if b == 0 {
		return empty
	}
	return float64(a) / float64(b)
}

// Score compares gen (by unique id) with truth. cat is the catalog as
// imported, after Hide: what is still documented in it is what an
// inheriting writer could have used.
func Score(dataset string, cat *modeldoc.Catalog, truth *Truth, gen map[string]*Generated) *Report {
	r := &Report{Dataset: dataset}
	byID := make(map[string]*modeldoc.Object, len(cat.Objects))
	for i := range cat.Objects {
		o := &cat.Objects[i]
		byID[o.UniqueID] = o
		if o.Type == modeldoc.TypeModel {
			r.Models++
		}
	}
	r.HiddenModels = len(truth.Columns)
	parents := map[string][]string{}
	for _, e := range cat.Edges {
		parents[e.Downstream] = append(parents[e.Downstream], e.Upstream)
	}
	for id, cols := range truth.Columns {
		g := gen[id]
		var anc []*modeldoc.Object
		if len(cols) > 0 {
			anc = ancestors(id, parents, byID)
		}
		for name, want := range cols {
			r.HiddenColumns++
			got := ""
			if g != nil {
				got = g.Columns[name]
			}
			if strings.TrimSpace(got) != "" {
				r.Described++
			}
			if inheritable(anc, name, want) {
				r.InheritCandidates++
				if flat(got) == flat(want) {
					r.InheritHits++
					if g != nil && g.Inherited[name] {
						r.InheritedHits++
					}
				} else if len(r.InheritMisses) < 200 {
					r.InheritMisses = append(r.InheritMisses, id+"."+name+": got "+clip(got, 100))
				}
			}
			if share, ok := ContentShare(name, want, got); ok {
				r.ContentRecall += share
				r.ContentColumns++
			}
		}
	}
	if r.ContentColumns > 0 {
		r.ContentRecall /= float64(r.ContentColumns)
	}
	team := teamCorpus(cat)
	for id, g := range gen {
		for _, t := range g.Texts {
			r.Texts++
			if leaksOwn(t, team) {
				r.Leaks++
				if len(r.LeakSamples) < 5 {
					r.LeakSamples = append(r.LeakSamples, id+": "+clip(t, 160))
				}
			}
		}
		if _, hidden := truth.Columns[id]; !hidden {
			continue
		}
		for name, t := range g.Columns {
			if strings.TrimSpace(t) == "" || g.Inherited[name] {
				continue
			}
			r.ColumnTexts++
			if Restates(name, t) {
				r.Restatements++
				if len(r.RestatementSamples) < 200 {
					r.RestatementSamples = append(r.RestatementSamples, id+"."+name+": "+clip(t, 160))
				}
			}
		}
	}
	return r
}

// ancestors lists every object upstream of id, nearest first.
func ancestors(id string, parents map[string][]string, byID map[string]*modeldoc.Object) []*modeldoc.Object {
	seen := map[string]bool{id: true}
	queue := []string{id}
	var out []*modeldoc.Object
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, p := range parents[cur] {
			if seen[p] {
				continue
			}
			seen[p] = true
			queue = append(queue, p)
			if o := byID[p]; o != nil {
				out = append(out, o)
			}
		}
	}
	return out
}

// inheritable reports whether a still-documented ancestor has a column
// called name whose human text is want.
func inheritable(anc []*modeldoc.Object, name, want string) bool {
	w := flat(want)
	for _, o := range anc {
		for _, c := range o.Columns {
			if c.HumanDescription && strings.EqualFold(c.Name, name) && flat(c.Description) == w {
				return true
			}
		}
	}
	return false
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	s = flat(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// teamCorpus is every text a person wrote that the writer may carry
// verbatim or shortened (descriptions and column texts still documented
// after Hide), flattened, one after another.
func teamCorpus(cat *modeldoc.Catalog) string {
	var b strings.Builder
	for i := range cat.Objects {
		o := &cat.Objects[i]
		if strings.TrimSpace(o.Description) != "" {
			b.WriteString(flat(o.Description) + "\x00")
		}
		for _, c := range o.Columns {
			if c.HumanDescription && strings.TrimSpace(c.Description) != "" {
				b.WriteString(flat(c.Description) + "\x00")
			}
		}
	}
	return b.String()
}

// leaksOwn reports whether t leaks (see Leaks) where the team's own text
// does not: a markdown table rule (|---|), a URL anchor (#a---b) or a SQL
// example in a description the writer quotes is the team's, not a leak.
// Each marker is looked up in team with a few characters of context on
// either side, so a quoted text that was flattened or shortened still
// counts as the team's.
func leaksOwn(t, team string) bool {
	if !Leaks(t) {
		return false
	}
	f := flat(t)
	literals := quoted.FindAllStringIndex(f, -1)
	for _, m := range []string{"--", "/*", "{{", "{%"} {
		for i := 0; ; {
			j := strings.Index(f[i:], m)
			if j < 0 {
				break
			}
			at := i + j
			i = at + len(m)
			if m == "--" && slices.ContainsFunc(literals, func(l []int) bool { return l[0] < at && at < l[1] }) {
				continue
			}
			left := f[max(0, at-15) : at+len(m)]
			right := f[at:min(len(f), at+len(m)+15)]
			if !strings.Contains(team, left) && !strings.Contains(team, right) {
				return true
			}
		}
	}
	return false
}

// quoted matches a SQL string literal quoted in prose ('1 -- Current'):
// a value the SQL compares with or sets, which may hold "--" without it
// being a comment. An apostrophe inside a word (the team's) opens none.
var quoted = regexp.MustCompile("(^|[\\s(`,;])'[^'\\n]*'")

// Leaks reports whether generated text carries what a reader must never
// see: a SQL comment or a Jinja tag.
func Leaks(s string) bool {
	for _, m := range []string{"{{", "{%", "/*"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return strings.Contains(quoted.ReplaceAllString(s, "$1"), "--")
}

// ContentShare is the share of want's content words (neither stopwords
// nor words of the column's own name) that got contains. ok is false when
// want has no content word, so the column says nothing to compare.
func ContentShare(column, want, got string) (share float64, ok bool) {
	own := set(nameWords(column))
	var content []string
	seen := map[string]bool{}
	for _, w := range words(want) {
		if stopwords[w] || own[w] || seen[w] {
			continue
		}
		seen[w] = true
		content = append(content, w)
	}
	if len(content) == 0 {
		return 0, false
	}
	have := set(words(got))
	n := 0
	for _, w := range content {
		if have[w] {
			n++
		}
	}
	return float64(n) / float64(len(content)), true
}

// Restates reports whether a column text carries no word beyond the
// column's name and filler: "Customer id: the customer id", or "Name:
// name. Taken unchanged from `stg.name`." Identifiers in backticks are
// lineage, not meaning, so they do not count as words.
func Restates(column, text string) bool {
	own := set(nameWords(column))
	for _, w := range words(stripCode(text)) {
		if !stopwords[w] && !filler[w] && !own[w] {
			return false
		}
	}
	return true
}

// stripCode removes `code spans`.
func stripCode(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		if r == '`' {
			in = !in
			b.WriteByte(' ')
			continue
		}
		if !in {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// words splits s into lower-case words of letters and digits, with a plural
// "s" dropped so that "orders" finds "order".
func words(s string) []string {
	f := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for i, w := range f {
		f[i] = stem(w)
	}
	return f
}

// stem drops a plural ending: orders → order, statuses → status; status,
// class and analysis stay.
func stem(w string) string {
	switch {
	case len(w) <= 3:
		return w
	case strings.HasSuffix(w, "ses") || strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is"):
		return w[:len(w)-1]
	}
	return w
}

// nameWords splits a column name at underscores, digits and camel case.
func nameWords(name string) []string {
	var parts []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			parts = append(parts, stem(strings.ToLower(string(cur))))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return parts
}

func set(ws []string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// stemSet is set for words compared after stem.
func stemSet(ws []string) map[string]bool {
	m := make(map[string]bool, len(ws))
	for _, w := range ws {
		m[stem(w)] = true
	}
	return m
}

// meaningful rejects the placeholders real projects carry.
func meaningful(s string) bool {
	t := strings.ToLower(strings.Trim(strings.TrimSpace(s), ".!-_ "))
	switch t {
	case "", "n/a", "na", "none", "tbd", "todo", "null", "description", "no description", "tba", "?":
		return false
	}
	return true
}

var stopwords = stemSet(strings.Fields(`a an the and or but if then else of to in on at by for from with without into onto
over under as is are was were be been being has have had do does did this that these those it its it's which who whom
whose what when where why how all any each every both either neither no not nor only own same so than too very can
will just should would could may might must shall there here such other another some more most less least per via
e g i.e eg ie etc also one s t`))

// filler is what a restatement pads the name with: lineage boilerplate
// and generic nouns that say nothing about this column.
var filler = stemSet(strings.Fields(`column field value identifier id key name record row data unique
taken unchanged renamed rename cast converted type model table upstream source inferred sql show comes come
derived passthrough selected selects select given contain contains holds hold stored stores store represent
represents indicating indicate indicates refers refer used use number text string flag`))
