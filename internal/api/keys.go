package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/modeldoc/modeldoc"
)

// providers whose keys an organization may store: the ones a job can use.
var keyProviders = map[string]bool{modeldoc.ProviderOpenAI: true, modeldoc.ProviderAnthropic: true}

func providerOf(r *http.Request) (string, error) {
	p := strings.ToLower(strings.TrimSpace(r.PathValue("provider")))
	if !keyProviders[p] {
		return "", modeldoc.Errorf(modeldoc.EINVALID, "Unknown provider %q: keys are stored for openai or anthropic.", r.PathValue("provider"))
	}
	return p, nil
}

func (a *API) putKey(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	provider, err := providerOf(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var req keyRequest
	if err := a.decodeJSON(w, r, &req, false); err != nil {
		a.writeError(w, r, err)
		return
	}
	masked, err := a.keys.Put(r.Context(), p.orgID, provider, req.Key)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// The key itself appears in no log line: only who stored which
	// provider's key.
	a.log.Info("api: provider key stored", "org", p.orgID, "provider", provider, "token", p.tokenID)
	writeJSON(w, http.StatusOK, keyAnswer{Provider: provider, Masked: masked, UpdatedAt: time.Now().UTC()})
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	ks, err := a.keys.List(r.Context(), p.orgID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := mapSlice(ks, providerKeyInfoOf)
	if items == nil {
		items = []providerKeyInfo{}
	}
	writeJSON(w, http.StatusOK, list[providerKeyInfo]{Items: items, Total: len(items), Limit: len(items), Offset: 0})
}

func (a *API) deleteKey(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	provider, err := providerOf(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := a.keys.Delete(r.Context(), p.orgID, provider); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.Info("api: provider key deleted", "org", p.orgID, "provider", provider, "token", p.tokenID)
	w.WriteHeader(http.StatusNoContent)
}
