package sqlscan

import (
	"fmt"
	"math"
)

// Score is a model's complexity from 1 (a renaming select) to 5 (hard to
// review), with the reasons that raised it.
type Score struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
}

// Complexity scores a by its structure; dependencies is the model's number
// of upstream objects and columns its number of output columns.
//
// Every factor adds points; the score is 1 + ceil(points/2), capped at 5,
// and a recursive CTE is a 5 on its own. The weights keep dbt's usual
// "import CTEs then select" pattern at 1 or 2: one CTE per source is how
// dbt projects are written, so CTEs count only from the fourth on. The
// factors come from tokens, so a keyword in a comment or string literal
// ("-- join later", 'selected') never counts.
func Complexity(a *Analysis, dependencies, columns int) Score {
	if a == nil {
		a = Analyze("")
	}
	var points float64
	var reasons []string
	add := func(p float64, format string, args ...any) {
		points += p
		reasons = append(reasons, fmt.Sprintf(format, args...)+fmt.Sprintf(" (+%g)", p/2))
	}
	joins, cases, windows, aggregated := 0, 0, 0, 0
	for _, s := range a.Selects {
		for _, r := range s.From {
			if r.Join != "from" {
				joins++
			}
		}
		cases += len(s.Cases)
		windows += len(s.Windows)
		if s.GroupBy != "" || len(s.Aggregates) > 0 || s.Having != "" {
			aggregated++
		}
	}
	switch {
	case joins >= 6:
		add(4, "%d joins", joins)
	case joins >= 1:
		add(2, "%s", plural(joins, "join"))
	}
	switch n := len(a.CTEs); {
	case n >= 8:
		add(2, "%d CTEs", n)
	case n >= 4:
		add(1, "%d CTEs", n)
	}
	if a.Subqueries > 0 {
		add(2, "%s", plural(a.Subqueries, "subquery"))
	}
	if windows > 0 {
		add(2, "%s", plural(windows, "window function"))
	}
	switch {
	case cases >= 4:
		add(2, "%d CASE expressions", cases)
	case cases >= 1:
		add(1, "%s", plural(cases, "CASE expression"))
	}
	switch {
	case a.SetOps >= 4:
		add(2, "%d UNION/INTERSECT/EXCEPT operators", a.SetOps)
	case a.SetOps >= 1:
		add(1, "%s", plural(a.SetOps, "UNION/INTERSECT/EXCEPT operator"))
	}
	if aggregated > 0 {
		add(1, "aggregation in %s", plural(aggregated, "SELECT"))
	}
	switch {
	case dependencies > 10:
		add(2, "%d upstream dependencies", dependencies)
	case dependencies > 5:
		add(1, "%d upstream dependencies", dependencies)
	}
	if columns > 20 {
		add(1, "%d columns", columns)
	}
	score := 1 + int(math.Ceil(points/2))
	if a.Recursive {
		score = 5
		reasons = append(reasons, "recursive CTE (score 5)")
	}
	score = min(max(score, 1), 5)
	if len(reasons) == 0 {
		reasons = []string{"a single SELECT without joins, subqueries, window functions, CASE or aggregation"}
	}
	return Score{Score: score, Reasons: reasons}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	switch {
	case len(word) > 1 && word[len(word)-1] == 'y':
		return fmt.Sprintf("%d %sies", n, word[:len(word)-1])
	case word == "CASE expression":
		return fmt.Sprintf("%d CASE expressions", n)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
