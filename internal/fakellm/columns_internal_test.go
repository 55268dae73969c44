package fakellm

import (
	"slices"
	"testing"
)

// TestHyphenatedColumnNames: a column listed under a Columns heading with
// hyphens in its name (HubSpot's quoted "property_hs_all-funky-a9384-syntax")
// is read whole, as a real model copies it; a cut name failed validation
// and left two HubSpot items partial in every calls report.
func TestHyphenatedColumnNames(t *testing.T) {
	text := "## Columns to describe (2)\n- property_hs_all-funky-a9384-syntax (text)\n- `plain_name` (int)\n"
	cols, _, heading := sections(text)
	if want := []string{"property_hs_all-funky-a9384-syntax", "plain_name"}; !heading || !slices.Equal(cols, want) {
		t.Errorf("columns %q (heading %v), want %q", cols, heading, want)
	}
}
