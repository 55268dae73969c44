package api

import (
	"strings"
	"testing"

	"github.com/modeldoc/modeldoc/internal/modeldoctest"
	"github.com/modeldoc/modeldoc/internal/store"
)

// seedSource is what newSeededFrom uploads as organization A's project,
// the model its seed job documents, and a second, different project (the
// one the matrix deletes).
type seedSource struct {
	// project is the dbt project's name, which the unique ids carry.
	name, project, model string
	upload, spare        func(t *testing.T) *form
}

func (s seedSource) uniqueID() string { return "model." + s.project + "." + s.model }

// otherProject is a project beside examples/shop's: the source's own
// upload, or its spare when the upload is examples/shop itself.
func (s seedSource) otherProject(t *testing.T) *form {
	if s.name == shopSeed.name {
		return s.spare(t)
	}
	return s.upload(t)
}

// shopSeed is the repository's examples/shop, so that the role matrix,
// organization isolation and bad inputs run on every clone; its spare is
// the same files under another project name, since the same name would
// update the seeded project in place.
var shopSeed = seedSource{
	name:    "shop",
	project: "shop",
	model:   "fct_orders",
	upload: func(t *testing.T) *form {
		return projectForm(t, "shop.zip", zipOf(t, shopEntries(t, "shop/")))
	},
	spare: func(t *testing.T) *form {
		entries := shopEntries(t, "shop/")
		renamed := false
		for i, e := range entries {
			if e.Name == "shop/dbt_project.yml" {
				entries[i].Body = strings.Replace(e.Body, "\nname: shop\n", "\nname: spare_shop\n", 1)
				renamed = entries[i].Body != e.Body
			}
		}
		if !renamed {
			t.Fatal("examples/shop/dbt_project.yml no longer says `name: shop`: rename the spare project another way")
		}
		return projectForm(t, "spare.zip", zipOf(t, entries))
	},
}

// jaffleSeed is jaffle_shop's manifest and catalog from the shared
// datasets: real artifacts, as dbt writes them (skipped without them).
var jaffleSeed = seedSource{
	name:    "jaffle",
	project: "jaffle_shop",
	model:   "orders",
	upload: func(t *testing.T) *form {
		m, c := jaffle(t)
		return newForm(t, map[string][]byte{"manifest": m, "catalog": c})
	},
	spare: shopSeed.upload,
}

// eachSeed runs fn as a subtest on an API seeded from each source.
func eachSeed(t *testing.T, tune func(*Config), fn func(t *testing.T, s *seeded)) {
	t.Helper()
	for _, src := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(src.name, func(t *testing.T) { fn(t, newSeededFrom(t, src, tune)) })
	}
}

// eachSeedOnBackends runs fn for each seed source on a fresh store of each
// backend (PostgreSQL skipped without MODELDOC_TEST_POSTGRES).
func eachSeedOnBackends(t *testing.T, fn func(t *testing.T, st *store.Store, src seedSource)) {
	t.Helper()
	for _, src := range []seedSource{shopSeed, jaffleSeed} {
		t.Run(src.name, func(t *testing.T) {
			modeldoctest.ForEachBackend(t, func(t *testing.T, st *store.Store) { fn(t, st, src) })
		})
	}
}
