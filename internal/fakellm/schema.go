package fakellm

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// prompt holds what the fake reads from the messages to make its answers
// look like they were written about the prompt: the subject (the model
// named in the user message), column names, SQL lines and other words.
type prompt struct {
	system, user string
	subject      string
	columns      []string // from a "Columns" section, in order
	upstream     []string // "### name" headings of an "Upstream" section
	sqlLines     []string
	words        []string
	seed         uint64 // a hash of the whole prompt: same prompt, same answer
}

var (
	reFence = regexp.MustCompile("(?s)```([A-Za-z]*)[ \t]*\r?\n(.*?)```")
	// Ways prompts name their subject, most explicit first.
	reModelName = []*regexp.Regexp{
		regexp.MustCompile("(?i)\\bmodel(?:\\s+name)?\\s*[:=]\\s*[`\"'*]*([A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_])"),
		regexp.MustCompile("(?i)\\bmodel\\s+[`\"'*]+([A-Za-z_][A-Za-z0-9_.]*[A-Za-z0-9_])"),
		regexp.MustCompile(`(?i)\bmodel\s+([A-Za-z_][A-Za-z0-9.]*_[A-Za-z0-9_.]*[A-Za-z0-9_])`),
	}
	reIdent       = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)
	reBulletIdent = regexp.MustCompile("(?m)^\\s*(?:[-*+]|\\d+[.)]|\\|)\\s*[`\"*]*([A-Za-z_][A-Za-z0-9_]*)")
	// reBulletColumn is a bulleted column name, which a quoted identifier
	// may spell with hyphens (HubSpot's "property_hs_all-funky-a9384-syntax"):
	// a real model copies the whole name, so the fake does too.
	reBulletColumn = regexp.MustCompile("(?m)^\\s*(?:[-*+]|\\d+[.)]|\\|)\\s*[`\"*]*([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")
)

// notWords are SQL keywords, Jinja and filler that make poor prose.
var notWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`select from where join left right inner outer full cross on and or not as with
		group order by having qualify limit case when then else end union all distinct over partition cast coalesce
		sum count avg min max null true false is in like between exists insert update delete create table view
		ref source config this that these those the for into your you are was were have has had will would should
		model models column columns describe description json schema answer write return only must each every
		about which what when where who why how their there them they its it's also using used use than then
		string integer number boolean object array type types properties required items text include includes
		following below above based given please field fields value values layer layers documentation document
		explain generate summarize list name names numeric varchar char bigint int integer decimal float double
		timestamp timestamptz date datetime time bool text json jsonb uuid nullable primary foreign key keys
		upstream downstream current version here more than less into onto upon within without`) {
		m[w] = true
	}
	return m
}()

func readPrompt(msgs []message) *prompt {
	p := &prompt{}
	h := fnv.New64a()
	for _, m := range msgs {
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.text))
		switch m.Role {
		case "system", "developer":
			p.system += m.text + "\n"
		case "user":
			p.user += m.text + "\n"
		}
	}
	p.seed = h.Sum64()
	text := p.user
	if strings.TrimSpace(text) == "" {
		text = p.system
	}

	for _, re := range reModelName {
		if m := re.FindStringSubmatch(text); m != nil && !notWords[strings.ToLower(m[1])] {
			p.subject = m[1]
			break
		}
	}
	for _, f := range reFence.FindAllStringSubmatch(text, -1) {
		if lang := strings.ToLower(f[1]); lang == "sql" || lang == "" && looksLikeSQL(f[2]) {
			for _, line := range strings.Split(f[2], "\n") {
				line = strings.TrimSpace(line)
				if line != "" && !strings.HasPrefix(line, "--") && len(line) < 200 {
					p.sqlLines = append(p.sqlLines, line)
				}
			}
		}
	}
	seen := map[string]bool{}
	var columnsHeading bool
	p.columns, p.upstream, columnsHeading = sections(text)
	if len(p.columns) == 0 && columnsHeading {
		// The prompt lists no columns: an honest answer takes the names
		// the SQL selects, never the prompt's other bullets.
		p.columns = sqlColumns(p.sqlLines)
	}
	if len(p.columns) == 0 && !columnsHeading { // no "Columns" heading: take every bulleted name
		for _, m := range reBulletIdent.FindAllStringSubmatch(text, -1) {
			if c := m[1]; !seen[c] && c != p.subject && !notWords[strings.ToLower(c)] {
				seen[c] = true
				p.columns = append(p.columns, c)
			}
		}
	}
	for _, c := range p.columns {
		seen[c] = true
	}
	var snake, plain []string
	for _, w := range reIdent.FindAllString(reFence.ReplaceAllString(text, " "), -1) {
		lw := strings.ToLower(w)
		if len(w) < 4 || notWords[lw] || seen[w] || seen[lw] {
			continue
		}
		seen[w], seen[lw] = true, true
		switch {
		case strings.Contains(w, "_"):
			snake = append(snake, w)
		case w == lw: // capitalized words are mostly sentence starts
			plain = append(plain, w)
		}
	}
	if p.subject == "" && len(snake) > 0 {
		p.subject = snake[0]
	}
	for _, w := range slices.Concat(p.columns, snake, plain) {
		if w != p.subject && len(p.words) < 200 {
			p.words = append(p.words, w)
		}
	}
	if p.subject == "" {
		p.subject = "this model"
	}
	if len(p.columns) == 0 {
		p.columns = slices.DeleteFunc(snake, func(s string) bool { return s == p.subject })
	}
	if len(p.words) == 0 {
		p.words = []string{"orders", "customers", "revenue", "accounts"}
	}
	return p
}

// sections reads a Markdown prompt: the bulleted names under a heading
// that mentions columns, and the "### name" headings under one that
// mentions upstream, which is how prompts list a model's columns and what
// it reads. Fenced blocks are skipped.
func sections(text string) (columns, upstream []string, columnsHeading bool) {
	var heading string
	inFence := false
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(t, "#") {
			level := len(t) - len(strings.TrimLeft(t, "#"))
			title := strings.TrimSpace(strings.TrimLeft(t, "#"))
			if level <= 2 {
				heading = strings.ToLower(title)
				columnsHeading = columnsHeading || strings.HasPrefix(heading, "column")
			} else if strings.Contains(heading, "upstream") {
				if name := reIdent.FindString(title); name != "" {
					upstream = append(upstream, name)
				}
			}
			continue
		}
		if strings.HasPrefix(heading, "column") {
			if m := reBulletColumn.FindStringSubmatch(line); m != nil && !seen[m[1]] {
				seen[m[1]] = true
				columns = append(columns, m[1])
			}
		}
	}
	return columns, upstream, columnsHeading
}

var (
	reAsAlias   = regexp.MustCompile(`(?i)\bas\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s*,?$`)
	reLoneIdent = regexp.MustCompile(`^,?\s*(?:[A-Za-z_][A-Za-z0-9_]*\.)?"?([A-Za-z_][A-Za-z0-9_]*)"?\s*,?$`)
)

// sqlColumns guesses the columns a query selects from its lines: aliases
// ("... as name") and lines that hold one column ("name," or "t.name").
func sqlColumns(lines []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lines {
		m := reAsAlias.FindStringSubmatch(l)
		if m == nil {
			m = reLoneIdent.FindStringSubmatch(l)
		}
		if m != nil && !notWords[strings.ToLower(m[1])] && !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

func looksLikeSQL(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "select") && strings.Contains(l, "from")
}

// fencedSchema finds a JSON Schema in a ```json block of the system or user
// message, which is how prompts for JSON mode describe the answer.
func (p *prompt) fencedSchema() any {
	for _, text := range []string{p.system, p.user} {
		for _, f := range reFence.FindAllStringSubmatch(text, -1) {
			if l := strings.ToLower(f[1]); l != "json" && l != "" {
				continue
			}
			var v map[string]any
			if json.Unmarshal([]byte(f[2]), &v) != nil {
				continue
			}
			for _, k := range []string{"$schema", "type", "properties", "anyOf", "oneOf", "$defs", "$ref"} {
				if _, ok := v[k]; ok {
					return v
				}
			}
		}
	}
	return nil
}

// rng returns a generator seeded by the prompt.
func (p *prompt) rng() *rand.Rand { return rand.New(rand.NewPCG(p.seed, 0x5eed)) }

func (p *prompt) word(r *rand.Rand) string {
	return strings.ReplaceAll(p.words[r.IntN(len(p.words))], "_", " ")
}

func (p *prompt) column(i int) string {
	if len(p.columns) == 0 {
		return fmt.Sprintf("%s_%d", strings.ReplaceAll(p.subject, " ", "_"), i+1)
	}
	return p.columns[i%len(p.columns)]
}

var (
	verbs     = []string{"combines", "cleans", "aggregates", "joins", "filters", "reshapes", "deduplicates", "enriches"}
	audiences = []string{"finance", "marketing", "operations", "analytics", "product", "sales"}
	outcomes  = []string{"report on it consistently", "reconcile totals", "track trends over time", "answer questions without rewriting the SQL", "trust one definition of the metric"}
	teams     = []string{"Finance", "Marketing", "Operations", "Analytics", "Product", "Sales"}
	freqs     = []string{"daily", "weekly", "monthly", "hourly"}
)

// sentence writes one sentence about the subject for a property.
func (p *prompt) sentence(r *rand.Rand, name string, i int) string {
	subj, w1, w2 := p.subject, p.word(r), p.word(r)
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	switch n := strings.ToLower(name); {
	case strings.Contains(n, "question"):
		return fmt.Sprintf("How does %s change %s by %s?", w1, pick(freqs[:3]), w2)
	case strings.Contains(n, "impact") || strings.Contains(n, "matter") || strings.Contains(n, "context"):
		return fmt.Sprintf("If %s is wrong, %s figures built on %s drift and %s teams lose a shared view of %s.", subj, w1, w2, pick(audiences), w1)
	case strings.Contains(n, "rule") || strings.Contains(n, "logic"):
		return fmt.Sprintf("Rows are kept only when %s is present, and %s is derived from %s.", w1, w2, w1)
	default:
		return fmt.Sprintf("%s %s %s and %s so that %s teams can %s.", subj, pick(verbs), w1, w2, pick(audiences), pick(outcomes))
	}
}

// text writes a string value for a property named name, the i-th in its array.
func (p *prompt) text(r *rand.Rand, name string, i int) string {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	n := strings.ToLower(name)
	switch {
	case n == "name" || n == "column" || strings.Contains(n, "columnname") || strings.Contains(n, "column_name"):
		return p.column(i)
	case strings.Contains(n, "model") && len(p.upstream) > 0:
		return p.upstream[i%len(p.upstream)]
	case strings.Contains(n, "upstream") || strings.Contains(n, "source"):
		return p.column(i)
	case strings.Contains(n, "team"):
		return teams[(i+r.IntN(len(teams)))%len(teams)]
	case strings.Contains(n, "frequency"):
		return pick(freqs)
	case strings.Contains(n, "code") || strings.Contains(n, "sql"):
		if len(p.sqlLines) > 0 {
			return p.sqlLines[(i+r.IntN(len(p.sqlLines)))%len(p.sqlLines)]
		}
		return fmt.Sprintf("select %s from %s", p.column(i), p.subject)
	case strings.Contains(n, "title"):
		return fmt.Sprintf("%s %s", capitalize(verbs[(i+r.IntN(len(verbs)))%len(verbs)]), p.word(r))
	case n == "input" || n == "output":
		return fmt.Sprintf("%s %s with %s", n, p.word(r), p.word(r))
	case strings.Contains(n, "description"):
		// One sentence, as models describe a column: two made wide models'
		// column layers outgrow their max tokens (44 Tuva columns: 4,160)
		// and come back cut with finish_reason "length" on every call.
		return p.sentence(r, n, i)
	case strings.Contains(n, "summary") || strings.Contains(n, "narrative") || strings.Contains(n, "does"):
		return p.sentence(r, n, i) + " " + p.sentence(r, "impact", i)
	}
	return p.sentence(r, n, i)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// generator builds a value valid against a JSON Schema (draft 2020-12 and
// draft 7 keywords) from a prompt. It covers what structured-output schemas
// use: object/properties/required/additionalProperties, array/items/
// prefixItems/minItems/maxItems/uniqueItems, string with enum/const/
// minLength/maxLength/format/pattern, integer and number bounds, boolean,
// null, anyOf/oneOf (the first branch), allOf (merged) and $ref to $defs or
// definitions. Recursion is cut at maxDepth by choosing the smallest valid
// value available (a null branch, minItems items, only required properties).
type generator struct {
	root any
	p    *prompt
	r    *rand.Rand
}

const maxDepth = 8

func newGenerator(root any, p *prompt) *generator { return &generator{root: root, p: p, r: p.rng()} }

func (g *generator) value(schema any, name string, idx, depth int) any {
	m, ok := schema.(map[string]any)
	if !ok { // true or a missing schema: anything goes
		return g.p.text(g.r, name, idx)
	}
	if ref, ok := m["$ref"].(string); ok && depth < 64 {
		if target := g.resolve(ref); target != nil {
			return g.value(target, name, idx, depth+1)
		}
	}
	if c, ok := m["const"]; ok {
		return c
	}
	if e, ok := m["enum"].([]any); ok && len(e) > 0 {
		return e[(idx+g.r.IntN(len(e)))%len(e)]
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		if alts, ok := m[k].([]any); ok && len(alts) > 0 {
			pick := alts[0]
			if depth >= maxDepth {
				for _, a := range alts {
					if am, ok := a.(map[string]any); ok && am["type"] == "null" {
						pick = a
					}
				}
			}
			return g.value(mergeSchemas(withoutKeys(m, k), pick), name, idx, depth+1)
		}
	}
	if all, ok := m["allOf"].([]any); ok {
		merged := withoutKeys(m, "allOf")
		for _, a := range all {
			if am, ok := a.(map[string]any); ok {
				if ref, ok := am["$ref"].(string); ok {
					if t, ok := g.resolve(ref).(map[string]any); ok {
						am = t
					}
				}
				merged = mergeSchemas(merged, am).(map[string]any)
			}
		}
		return g.value(merged, name, idx, depth+1)
	}
	switch schemaType(m, depth) {
	case "null":
		return nil
	case "boolean":
		return g.r.IntN(2) == 0
	case "integer":
		return g.integer(m, name, idx)
	case "number":
		return g.number(m, name, idx)
	case "array":
		return g.array(m, name, depth)
	case "object":
		return g.object(m, idx, depth)
	}
	return g.str(m, name, idx)
}

func (g *generator) resolve(ref string) any {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	var cur any = g.root
	for _, part := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[part]
		case []any:
			var i int
			if _, err := fmt.Sscanf(part, "%d", &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func withoutKeys(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// mergeSchemas combines a with b for generation: properties and required
// are united, other keywords of a win.
func mergeSchemas(a map[string]any, b any) any {
	bm, ok := b.(map[string]any)
	if !ok {
		return a
	}
	out := withoutKeys(bm)
	for k, v := range a {
		switch k {
		case "properties":
			props := map[string]any{}
			if bp, ok := bm["properties"].(map[string]any); ok {
				for pk, pv := range bp {
					props[pk] = pv
				}
			}
			if ap, ok := v.(map[string]any); ok {
				for pk, pv := range ap {
					props[pk] = pv
				}
			}
			out[k] = props
		case "required":
			req, _ := bm["required"].([]any)
			if av, ok := v.([]any); ok {
				req = append(slices.Clone(req), av...)
			}
			out[k] = req
		case "$defs", "definitions", "title", "description", "$schema", "$id":
		default:
			out[k] = v
		}
	}
	return out
}

func schemaType(m map[string]any, depth int) string {
	switch t := m["type"].(type) {
	case string:
		return t
	case []any:
		if depth >= maxDepth && slices.Contains(t, any("null")) {
			return "null"
		}
		for _, x := range t {
			if s, ok := x.(string); ok && s != "null" {
				return s
			}
		}
		if len(t) > 0 {
			return "null"
		}
	}
	has := func(keys ...string) bool {
		for _, k := range keys {
			if _, ok := m[k]; ok {
				return true
			}
		}
		return false
	}
	switch {
	case has("properties", "required", "additionalProperties", "minProperties", "patternProperties"):
		return "object"
	case has("items", "prefixItems", "minItems", "maxItems"):
		return "array"
	case has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"):
		return "number"
	}
	return "string"
}

func num(m map[string]any, k string) (float64, bool) {
	f, ok := m[k].(float64)
	return f, ok
}

// bounds returns the inclusive range allowed by minimum/maximum and the
// exclusive forms (numbers in draft 2020-12, booleans in draft 4).
func bounds(m map[string]any, step float64) (lo, hi float64, hasLo, hasHi bool) {
	if v, ok := num(m, "minimum"); ok {
		lo, hasLo = v, true
		if m["exclusiveMinimum"] == true {
			lo += step
		}
	}
	if v, ok := num(m, "exclusiveMinimum"); ok && (!hasLo || v+step > lo) {
		lo, hasLo = v+step, true
	}
	if v, ok := num(m, "maximum"); ok {
		hi, hasHi = v, true
		if m["exclusiveMaximum"] == true {
			hi -= step
		}
	}
	if v, ok := num(m, "exclusiveMaximum"); ok && (!hasHi || v-step < hi) {
		hi, hasHi = v-step, true
	}
	return
}

func (g *generator) integer(m map[string]any, name string, idx int) any {
	lo, hi, hasLo, hasHi := bounds(m, 1)
	lo, hi = math.Ceil(lo), math.Floor(hi)
	switch {
	case !hasLo && !hasHi:
		lo, hi = 1, 100
	case !hasLo:
		lo = hi - 99
	case !hasHi:
		hi = lo + 99
	}
	var v float64
	n := strings.ToLower(name)
	if strings.Contains(n, "step") || strings.Contains(n, "index") || strings.Contains(n, "position") || strings.Contains(n, "order") || strings.Contains(n, "rank") {
		v = lo + float64(idx) // sequences count up from their minimum
	} else {
		v = lo + float64(g.r.Int64N(int64(hi-lo)+1))
	}
	if mult, ok := num(m, "multipleOf"); ok && mult > 0 {
		v = math.Ceil(v/mult) * mult
	}
	return int64(math.Min(v, hi))
}

func (g *generator) number(m map[string]any, name string, idx int) any {
	lo, hi, hasLo, hasHi := bounds(m, 0.01)
	switch {
	case !hasLo && !hasHi:
		lo, hi = 0, 100
	case !hasLo:
		lo = hi - 100
	case !hasHi:
		hi = lo + 100
	}
	v := lo + g.r.Float64()*(hi-lo)
	if mult, ok := num(m, "multipleOf"); ok && mult > 0 {
		v = math.Ceil(lo/mult) * mult
		return v
	}
	return math.Round(v*100) / 100
}

func (g *generator) array(m map[string]any, name string, depth int) any {
	minItems, maxItems := 0, math.MaxInt
	if v, ok := num(m, "minItems"); ok {
		minItems = int(v)
	}
	if v, ok := num(m, "maxItems"); ok {
		maxItems = int(v)
	}
	prefix, _ := m["prefixItems"].([]any)
	items := m["items"]
	if tuple, ok := items.([]any); ok { // draft 7 tuple form
		prefix, items = tuple, m["additionalItems"]
	}
	n := 2 + g.r.IntN(3)
	if strings.Contains(strings.ToLower(name), "column") && len(g.p.columns) > 0 {
		n = len(g.p.columns) // one entry per column
	}
	if depth >= maxDepth {
		n = minItems
	}
	n = max(minItems, min(n, maxItems))
	if items == false {
		n = min(n, len(prefix))
	}
	unique := m["uniqueItems"] == true
	out := make([]any, 0, n)
	seen := map[string]bool{}
	for i := 0; len(out) < n && i < n*4+4; i++ {
		pos := len(out)
		var s any = items
		if pos < len(prefix) {
			s = prefix[pos]
		}
		v := g.value(s, singular(name), i, depth+1)
		if unique {
			k, _ := json.Marshal(v)
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
		}
		out = append(out, v)
	}
	return out
}

func singular(name string) string {
	if strings.HasSuffix(name, "ies") {
		return name[:len(name)-3] + "y"
	}
	return strings.TrimSuffix(name, "s")
}

func (g *generator) object(m map[string]any, idx, depth int) any {
	props, _ := m["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	out := map[string]any{}
	for _, k := range names {
		if depth >= maxDepth/2 && !required[k] {
			continue
		}
		out[k] = g.value(props[k], k, idx, depth+1)
	}
	for k := range required {
		if _, ok := out[k]; !ok {
			out[k] = g.value(m["additionalProperties"], k, idx, depth+1)
		}
	}
	extra := m["additionalProperties"]
	want := 0
	if v, ok := num(m, "minProperties"); ok {
		want = int(v)
	}
	if len(props) == 0 && extra != nil && extra != false && depth < maxDepth {
		want = max(want, min(2, len(g.p.columns)))
	}
	for i := 0; len(out) < want && extra != false && i < want*4+4; i++ {
		k := g.p.column(i)
		if _, ok := out[k]; !ok {
			out[k] = g.value(extra, k, i, depth+1)
		}
	}
	return out
}

// str writes a string honouring format, minLength, maxLength and, where a
// candidate fits it, pattern.
func (g *generator) str(m map[string]any, name string, idx int) string {
	var s string
	switch m["format"] {
	case "date-time":
		s = "2025-01-15T10:30:00Z"
	case "date":
		s = "2025-01-15"
	case "time":
		s = "10:30:00Z"
	case "email":
		s = "analytics@example.com"
	case "uri", "url", "iri":
		s = "https://example.com/models/" + strings.ReplaceAll(g.p.subject, " ", "_")
	case "uuid":
		s = "3f2c1a9e-7b4d-4e8a-9c1f-2a6b5d8e0f17"
	case "hostname":
		s = "warehouse.example.com"
	case "ipv4":
		s = "192.0.2.10"
	default:
		s = g.p.text(g.r, name, idx)
	}
	if pat, ok := m["pattern"].(string); ok {
		if re, err := regexp.Compile(pat); err == nil && !re.MatchString(s) {
			for _, c := range []string{g.p.subject, g.p.column(idx), "a", "A", "1", "a1", "abc", "ABC", "123", "a_b", "a-b"} {
				if re.MatchString(c) {
					s = c
					break
				}
			}
		}
	}
	if v, ok := num(m, "maxLength"); ok && utf8.RuneCountInString(s) > int(v) {
		s = string([]rune(s)[:int(v)])
	}
	if v, ok := num(m, "minLength"); ok {
		for utf8.RuneCountInString(s) < int(v) {
			s += " " + g.p.sentence(g.r, name, idx)
		}
		if mx, ok := num(m, "maxLength"); ok && utf8.RuneCountInString(s) > int(mx) {
			s = string([]rune(s)[:int(mx)])
		}
	}
	return s
}
