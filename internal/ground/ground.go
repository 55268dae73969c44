// Package ground checks an LLM's answer against what the model really is:
// every quoted SQL fragment (a business rule's codeReference, a code
// explanation's codeBlock) must be in the model's SQL, every identifier the
// prose puts in backticks must name something of the model or its lineage
// (a column, a CTE, the model, an upstream or downstream model, source or
// seed, their columns, or a name the SQL itself uses), and a column layer
// may describe only columns the model has.
//
// The checks run after schema validation (internal/prompt) on every answer
// of every writer (internal/generate calls Check); an answer with findings
// is asked again once with the findings, and one that still has them is
// stored with them and marked for review. The checks are deliberately
// lenient about form (whitespace, case outside string literals, an elided
// middle written "...") and strict about substance: a name that appears
// nowhere is a finding.
package ground

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// Error carries the findings of one answer, worded for the re-ask.
type Error struct {
	Layer    modeldoc.Layer
	Findings []modeldoc.Finding
}

// maxShown keeps the re-ask short.
const maxShown = 12

func (e *Error) Error() string {
	var parts []string
	for i, f := range e.Findings {
		if i == maxShown {
			parts = append(parts, fmt.Sprintf("and %d more", len(e.Findings)-maxShown))
			break
		}
		parts = append(parts, "at "+f.Path+": "+f.Message)
	}
	return fmt.Sprintf("the %s answer is not grounded in the model: %s. Quote SQL only as it appears in the model's SQL, and put in backticks only names of the model's columns, CTEs, upstream and downstream models, sources and seeds", e.Layer, strings.Join(parts, "; "))
}

// Check returns the grounding findings of content, a layer's answer that
// has passed schema validation, for subject s. A nil subject, or content
// that is not JSON, has none (validation reports the latter).
func Check(layer modeldoc.Layer, content string, s *writer.Subject) []modeldoc.Finding {
	if s == nil {
		return nil
	}
	var tree any
	if json.Unmarshal([]byte(content), &tree) != nil {
		return nil
	}
	k := newKnown(s)
	c := &checker{k: k}
	c.walk(tree, "", "")
	if layer == modeldoc.LayerColumnDescriptions {
		var out modeldoc.ColumnDescriptionsOut
		if json.Unmarshal([]byte(content), &out) == nil {
			c.columns(out.Columns)
		}
	}
	return c.findings
}

// codeKeys hold SQL quoted from the model.
var codeKeys = map[string]bool{"codeReference": true, "codeBlock": true}

// nameKeys hold names or enum values, checked (if at all) by columns.
var nameKeys = map[string]bool{"name": true, "lineage": true, "upstreamModel": true, "upstreamColumn": true,
	"inheritedFrom": true, "confidence": true}

type checker struct {
	k        *known
	findings []modeldoc.Finding
}

func (c *checker) add(path, kind, value, format string, args ...any) {
	c.findings = append(c.findings, modeldoc.Finding{Path: path, Kind: kind, Value: value, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) walk(v any, key, path string) {
	switch t := v.(type) {
	case string:
		switch {
		case codeKeys[key]:
			if len(c.k.sql) == 0 {
				// No SQL (a seed): nothing can be quoted, so a reference
				// is checked for the names it uses: those that look like
				// identifiers must be the object's or its lineage's.
				c.names(reComment.ReplaceAllString(t, " "), path, modeldoc.FindingCodeReference, looksLikeName)
			} else if !c.k.inSQL(t) {
				c.add(path, modeldoc.FindingCodeReference, t, "%q is not in the model's SQL; copy the fragment verbatim from the SQL", clip(t))
			}
		case nameKeys[key]:
		default:
			c.prose(t, path)
		}
	case []any:
		for i, x := range t {
			c.walk(x, key, fmt.Sprintf("%s/%d", path, i))
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.walk(t[k], k, path+"/"+pointerToken(k))
		}
	}
}

var reBackticked = regexp.MustCompile("`([^`\n]+)`")

// prose checks the backticked spans of a text: each is a name or a piece
// of SQL, and every identifier in it must be known.
func (c *checker) prose(text, path string) {
	for _, m := range reBackticked.FindAllStringSubmatch(text, -1) {
		span := strings.TrimSpace(m[1])
		if span == "" {
			continue
		}
		// A span the SQL holds verbatim is grounded whatever it names.
		if len(span) > 1 && c.k.inSQL(span) {
			continue
		}
		c.names(span, path, modeldoc.FindingIdentifier, nil)
	}
}

// names adds a finding when text uses an identifier that is not known;
// only words that pass only, when it is not nil, count.
func (c *checker) names(text, path, kind string, only func(string) bool) {
	var unknown []string
	for _, w := range identifiers(text) {
		if only != nil && !only(w) {
			continue
		}
		if !c.k.name(w) {
			unknown = append(unknown, w)
		}
	}
	if len(unknown) > 0 {
		c.add(path, kind, text, "`%s` names %s, which is not a column, CTE, model, source or seed of the model or its lineage", clip(text), quoteList(unknown))
	}
}

// columns checks a column layer: every entry names a column the model has,
// and the upstream model and column an entry names exist in the lineage.
func (c *checker) columns(cols []modeldoc.ColumnDescription) {
	for i, col := range cols {
		p := fmt.Sprintf("/columns/%d", i)
		if !c.k.column(col.Name) {
			c.add(p+"/name", modeldoc.FindingColumn, col.Name, "%q is not a column of the model: it is neither in its column list nor in its SQL; describe only the model's columns", col.Name)
		}
		for _, f := range []struct{ key, v string }{{"upstreamModel", col.UpstreamModel}, {"upstreamColumn", col.UpstreamColumn}} {
			for _, w := range identifiers(f.v) {
				if !c.k.name(w) {
					c.add(p+"/"+f.key, modeldoc.FindingIdentifier, f.v, "%q names nothing in the model's lineage or SQL", f.v)
					break
				}
			}
		}
	}
}

// known is everything an answer may name or quote.
type known struct {
	sql      []string        // normalised SQL texts (compiled, raw)
	names    map[string]bool // lower-case names of the model and its lineage
	words    map[string]bool // lower-case words of the SQL
	cols     map[string]bool // the model's columns, known or found in its SQL
	complete bool            // cols is the warehouse's whole list
}

var reWord = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_$]*`)

func newKnown(s *writer.Subject) *known {
	k := &known{names: map[string]bool{}, words: map[string]bool{}, cols: map[string]bool{}}
	o := &s.Object
	for _, sql := range []string{o.CompiledSQL, o.RawSQL} {
		if strings.TrimSpace(sql) == "" {
			continue
		}
		k.sql = append(k.sql, normalize(sql))
		// Fragments are often quoted from SQL read without its comments
		// (the offline writer's, a model that skips them).
		if bare := reComment.ReplaceAllString(sql, " "); bare != sql {
			k.sql = append(k.sql, normalize(bare))
		}
		// And as the offline writer quotes SQL that holds Jinja: a ref()
		// as the relation it names, {{ this }} as "this model".
		if strings.Contains(sql, "{{") || strings.Contains(sql, "{%") {
			readable := sqlscan.ReadableJinja(sql)
			k.sql = append(k.sql, normalize(readable), normalize(reComment.ReplaceAllString(readable, " ")))
		}
		for _, w := range reWord.FindAllString(sql, -1) {
			k.words[strings.ToLower(w)] = true
		}
		a := sqlscan.Analyze(sql)
		for _, cte := range a.CTEs {
			k.names[strings.ToLower(cte.Name)] = true
			for _, c := range cte.Columns {
				k.names[strings.ToLower(c)] = true
			}
		}
		for _, c := range a.FinalColumns() {
			if c.Name != "" {
				k.cols[strings.ToLower(c.Name)] = true
			}
		}
	}
	addObject := func(o *modeldoc.Object) {
		for _, n := range []string{o.Name, o.Identifier, o.Schema, o.Database, o.Package} {
			if n != "" {
				k.names[strings.ToLower(n)] = true
			}
		}
		// unique ids: model.pkg.name, source.pkg.source_name.table
		for _, part := range strings.Split(o.UniqueID, ".") {
			if part != "" {
				k.names[strings.ToLower(part)] = true
			}
		}
		k.docNames(o.Description)
		for _, c := range o.Columns {
			k.names[strings.ToLower(c.Name)] = true
			if c.HumanDescription || c.InheritedFrom != "" {
				k.docNames(c.Description)
			}
		}
	}
	addObject(o)
	// What the project's tests and config name is the project's word too:
	// a relationships target (often neither upstream nor downstream), an
	// accepted value, a unique_key.
	if o.Config != nil {
		for _, n := range o.Config.UniqueKey {
			k.docNames("`" + n + "`")
		}
	}
	for _, c := range o.Columns {
		for _, t := range c.TestArgs {
			for _, n := range append([]string{t.To, t.Field}, t.Values...) {
				if n != "" {
					k.docNames("`" + n + "`")
				}
			}
		}
	}
	for _, c := range o.Columns {
		k.cols[strings.ToLower(c.Name)] = true
		if c.DataType != "" || !c.Declared {
			k.complete = true
		}
	}
	for i := range s.Upstream {
		addObject(&s.Upstream[i].Object)
	}
	for i := range s.Downstream {
		addObject(&s.Downstream[i].Object)
	}
	// The rest of what the prompt shows is the lineage too: the objects a
	// few steps away, and the exposures built on the model (the writers
	// name them in the impact layer: "dashboard `revenue_dashboard`").
	for i := range s.Nearby {
		addObject(&s.Nearby[i].Object)
	}
	for _, e := range s.Exposures {
		k.names[strings.ToLower(e.Name)] = true
		for _, part := range strings.Split(e.UniqueID, ".") {
			if part != "" {
				k.names[strings.ToLower(part)] = true
			}
		}
		k.docNames(e.Description)
	}
	return k
}

// docNames adds the names the project's own (human) text uses: what it
// puts in backticks, and its snake_case words ("set the
// `hubspot__pass_through_columns` variable"). Its other words stay
// unknown, so that prose words cannot ground an invented name.
func (k *known) docNames(text string) {
	if text == "" {
		return
	}
	for _, m := range reBackticked.FindAllStringSubmatch(text, -1) {
		for _, w := range identifiers(m[1]) {
			k.names[strings.ToLower(w)] = true
		}
	}
	for _, w := range reWord.FindAllString(text, -1) {
		if looksLikeName(w) {
			k.names[strings.ToLower(w)] = true
		}
	}
}

// name reports whether w (one identifier, any case) names something of
// the model or its lineage, or is a word of its SQL or of SQL itself.
func (k *known) name(w string) bool {
	l := strings.ToLower(w)
	return k.names[l] || k.words[l] || keywords[l]
}

// column reports whether the model has a column called name: one it lists,
// one its final SELECT names, or, when its list is not the warehouse's
// whole one, a name its SQL uses (a SELECT * passes upstream columns on).
func (k *known) column(name string) bool {
	l := strings.ToLower(strings.TrimSpace(name))
	if k.cols[l] {
		return true
	}
	if k.complete {
		return false
	}
	return k.words[l] || k.names[l]
}

// inSQL reports whether frag is in the model's SQL. A fragment is read as
// the pieces of SQL it quotes, each of which must be in the SQL (compared
// after normalize), in any order:
//
//   - a leading locator ("Final SELECT, line 12: ") is not SQL;
//   - "...", "…" and comments mark an elided part;
//   - conditions joined by AND or OR, and the parts of a JOIN around its
//     ON, are quoted one by one ("where a = 1 and b = 2" holds when the SQL
//     has both conditions, perhaps with others between them);
//   - a leading keyword (WHERE, HAVING, QUALIFY, ON, AND, OR, a JOIN) may
//     have been added to say where the fragment sits.
func (k *known) inSQL(frag string) bool {
	if len(k.sql) == 0 {
		return false
	}
	pieces := quotedPieces(frag)
	if len(pieces) == 0 {
		// Only punctuation ("," or ")"): in the SQL if it is there.
		p := normalize(strings.TrimSpace(frag))
		return p != "" && k.contains(p)
	}
	for _, p := range pieces {
		if !k.contains(p) {
			return false
		}
	}
	return true
}

func (k *known) contains(p string) bool {
	for _, sql := range k.sql {
		if strings.Contains(sql, p) {
			return true
		}
	}
	return false
}

var (
	reLocator  = regexp.MustCompile(`(?i)^[^\n]{0,160}?\bline \d+:\s*`)
	reComment  = regexp.MustCompile(`--[^\n]*|/\*(?s:.*?)\*/`)
	reSplit    = regexp.MustCompile(`(?i)\.\.\.|…|\s(?:and|or|on)\s`)
	reLeadWord = regexp.MustCompile(`(?i)^(?:where|having|qualify|on|and|or|(?:(?:inner|left|right|full|cross)\s+(?:outer\s+)?)?join)\b\s*`)
)

// quotedPieces splits a quoted fragment into the normalised pieces of SQL
// it claims; see inSQL.
func quotedPieces(frag string) []string {
	frag = reLocator.ReplaceAllString(strings.TrimSpace(frag), "")
	frag = reComment.ReplaceAllString(frag, "...")
	var out []string
	for _, p := range reSplit.Split(frag, -1) {
		p = strings.TrimSpace(p)
		for {
			q := reLeadWord.ReplaceAllString(p, "")
			if q == p {
				break
			}
			p = q
		}
		p = strings.Trim(normalize(p), " ;,")
		if p != "" && strings.IndexFunc(p, isWord) >= 0 {
			out = append(out, p)
		}
	}
	return out
}

// normalize makes SQL comparable: whitespace runs become one space between
// two word characters and vanish elsewhere ("sum( x )" = "sum(x)"), and
// letters are lower-cased (keywords and unquoted names are
// case-insensitive; a literal differing only in case is let through).
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	var last rune
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space {
			if b.Len() > 0 && isWord(last) && isWord(r) {
				b.WriteByte(' ')
			}
			space = false
		}
		r = unicode.ToLower(r)
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

// looksLikeName is true for a word that can only be a name: snake_case or
// with digits, not an English word.
func looksLikeName(w string) bool {
	return strings.ContainsAny(w, "_$0123456789")
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

var reLiteral = regexp.MustCompile(`'[^']*'`)

// identifiers returns the names a backticked span uses: its words outside
// single-quoted literals, with Jinja and numbers left out.
func identifiers(span string) []string {
	span = reLiteral.ReplaceAllString(span, " ")
	var out []string
	seen := map[string]bool{}
	for _, w := range reWord.FindAllString(span, -1) {
		l := strings.ToLower(w)
		if seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, w)
	}
	return out
}

// keywords are SQL words and functions a backticked expression may use
// without the model's SQL using them.
var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`select from where join left right inner outer full cross on and or not as with
		group order by having qualify limit case when then else end union all distinct over partition cast coalesce
		sum count avg min max null true false is in like ilike between exists using asc desc nulls first last rows
		range unbounded preceding following current row lag lead row_number rank dense_rank first_value last_value
		nullif ifnull nvl iff if greatest least round floor ceil abs date_trunc datediff dateadd date_part extract
		current_date current_timestamp now lower upper trim concat length substring replace split_part md5
		to_date to_timestamp try_cast safe_cast interval day week month quarter year hour minute second
		int integer bigint numeric decimal float double varchar string text boolean date timestamp
		ref source var config this is_incremental subquery cte`) {
		m[w] = true
	}
	return m
}()

func pointerToken(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= 120 {
		return s
	}
	return string([]rune(s)[:117]) + "..."
}

func quoteList(ws []string) string {
	q := make([]string, len(ws))
	for i, w := range ws {
		q[i] = "`" + w + "`"
	}
	return strings.Join(q, ", ")
}
