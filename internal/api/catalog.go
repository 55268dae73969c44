package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/dbt"
	"github.com/modeldoc/modeldoc/internal/markdown"
	"github.com/modeldoc/modeldoc/internal/store"
)

// uploadProject imports a manifest.json (form field `manifest`) with an
// optional catalog.json (`catalog`) sent as multipart/form-data. The
// project is known by its name (the manifest's project_name, or the form
// field `name`): uploading it again updates it in place, keeping every
// object's id and documentation. 201 for a new project, 200 for an update.
func (a *API) uploadProject(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		a.writeError(w, r, errorf(codeUnsupportedMedia, "Upload the project as multipart/form-data with a file field `manifest` (manifest.json) and optionally `catalog` (catalog.json)."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.cfg.MaxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The multipart body cannot be read: %v.", err))
		return
	}
	var manifest *dbt.Manifest
	var archived *modeldoc.Catalog
	var catalog []byte
	var manifestName, name string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			a.writeError(w, r, uploadError(err, a.cfg.MaxUploadBytes))
			return
		}
		if part.FormName() == "manifest" {
			// Decoded as it arrives, keeping only what the catalog needs:
			// a manifest is mostly macros, tests and docs, tens of MB.
			if manifestName = part.FileName(); manifestName == "" {
				manifestName = "manifest.json"
			}
			checked := &utf8Reader{r: part}
			manifest, err = dbt.ReadManifest(checked, manifestName)
			if checked.bad {
				// encoding/json would store U+FFFD in place of each bad byte.
				a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The form field %q is not valid UTF-8: %s.", part.FormName(), textRule))
				return
			}
			if err != nil {
				if modeldoc.ErrorCode(err) != modeldoc.EINVALID {
					err = uploadError(err, a.cfg.MaxUploadBytes)
				}
				a.writeError(w, r, err)
				return
			}
			continue
		}
		if part.FormName() == "project" {
			// A raw dbt project folder, as the CLI reads one, zipped or tarred.
			if archived, err = a.projectFromArchive(part, part.FileName()); err != nil {
				a.writeError(w, r, err)
				return
			}
			continue
		}
		data, err := io.ReadAll(part)
		if err != nil {
			a.writeError(w, r, uploadError(err, a.cfg.MaxUploadBytes))
			return
		}
		if !utf8.Valid(data) {
			// encoding/json would store U+FFFD in place of each bad byte.
			a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The form field %q is not valid UTF-8: %s.", part.FormName(), textRule))
			return
		}
		switch part.FormName() {
		case "catalog":
			catalog = data
		case "name":
			name = strings.TrimSpace(string(data))
		default:
			a.writeError(w, r, errorf(codeUnknownField, fmt.Sprintf("The form has an unknown field %q: send `manifest` (with `catalog` optionally) or `project` (a .zip or .tar.gz of the dbt project folder), and optionally `name`.", part.FormName())))
			return
		}
	}
	var cat *modeldoc.Catalog
	switch {
	case manifest != nil && archived != nil:
		a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The form has both `manifest` and `project`: send one, the manifest.json or the project folder's archive."))
		return
	case archived != nil:
		if catalog != nil {
			a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "A `catalog` goes with a `manifest`, not with a project archive: put catalog.json and manifest.json in the archive's target/ folder, or send them as `manifest` and `catalog`."))
			return
		}
		cat = archived
	case manifest == nil:
		a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The form has no `manifest` field: attach the manifest.json that dbt writes into target/, or the dbt project folder as a .zip or .tar.gz in the field `project`."))
		return
	default:
		if cat, err = manifest.Catalog(catalog); err != nil {
			a.writeError(w, r, err)
			return
		}
		cat.Path = "upload:" + manifestName
	}
	if name != "" {
		cat.ProjectName = name
	}
	if cat.ProjectName == "" {
		a.writeError(w, r, modeldoc.Errorf(modeldoc.EINVALID, "The manifest names no project (metadata.project_name): send the project's name in the form field `name`."))
		return
	}
	// A \u0000 escape anywhere in the manifest, the catalog, a file name
	// or the name field would fail the import on PostgreSQL.
	if err := checkValueText("The upload", cat); err != nil {
		a.writeError(w, r, err)
		return
	}
	existed := false
	ps, err := a.st.ListProjects(r.Context(), p.orgID)
	if err != nil {
		a.writeError(w, r, err) // not a guess at 201 or 200
		return
	}
	for _, pr := range ps {
		existed = existed || pr.Name == cat.ProjectName
	}
	summary, err := a.st.ImportCatalog(r.Context(), p.orgID, cat)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	project, err := a.st.GetProject(r.Context(), p.orgID, summary.ProjectID)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/projects")
	pr := projectOf(*project)
	writeJSON(w, status, uploadAnswer{Project: &pr, Summary: importSummaryOf(summary)})
}

func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return modeldoc.Errorf(modeldoc.ETOOLARGE, "The upload is larger than %d bytes.", limit)
	}
	return modeldoc.Errorf(modeldoc.EINVALID, "The multipart body cannot be read: %v.", err)
}

// listObjects searches the organization's objects: q (a substring, or a
// glob with *), type (repeatable or comma-separated), schema, project_id,
// documented, stale, include_deleted; paginated, by name.
func (a *API) listObjects(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	f, pg, err := objectFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	objs, total, err := a.st.ListObjects(r.Context(), p.orgID, f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := mapSlice(objs, objectSummaryOf)
	if items == nil {
		items = []objectSummary{}
	}
	writeJSON(w, http.StatusOK, list[objectSummary]{Items: items, Total: total, Limit: pg.Limit, Offset: pg.Offset})
}

func objectFilter(r *http.Request) (store.ObjectFilter, page, error) {
	var f store.ObjectFilter
	pg, err := pageOf(r)
	if err != nil {
		return f, pg, err
	}
	f.Limit, f.Offset = pg.Limit, pg.Offset
	q := r.URL.Query()
	f.Match = q.Get("q")
	f.Schema = q.Get("schema")
	for _, v := range q["type"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.Types = append(f.Types, modeldoc.ObjectType(t))
			}
		}
	}
	if v := q.Get("project_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return f, pg, errorf(codeInvalidID, fmt.Sprintf("project_id %q is not an id: ids are positive integers.", v))
		}
		f.ProjectID = id
	}
	if f.Documented, err = queryBool(r, "documented"); err != nil {
		return f, pg, err
	}
	if f.Stale, err = queryBool(r, "stale"); err != nil {
		return f, pg, err
	}
	del, err := queryBool(r, "include_deleted")
	if err != nil {
		return f, pg, err
	}
	f.IncludeDeleted = del != nil && *del
	return f, pg, nil
}

func refs(objs []modeldoc.Object) []objectRef {
	out := make([]objectRef, 0, len(objs))
	for _, o := range objs {
		out = append(out, objectRef{ID: o.ID, UniqueID: o.UniqueID, Name: o.Name, Type: o.Type, Schema: o.Schema, Deleted: o.Deleted})
	}
	return out
}

func (a *API) getObject(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		ctx := r.Context()
		o, err := a.st.GetObject(ctx, p.orgID, id)
		if err != nil {
			return nil, err
		}
		if o.Columns == nil {
			o.Columns = []modeldoc.Column{}
		}
		d := objectDetail{object: objectOf(o), DescriptionDoc: markdownOf(markdown.Tree(o.Description))}
		for _, c := range o.Columns {
			if tree := markdown.Tree(c.Description); tree != nil {
				if d.ColumnDocs == nil {
					d.ColumnDocs = map[string][]markdownNode{}
				}
				d.ColumnDocs[c.Name] = markdownOf(tree)
			}
		}
		sums, _, err := a.st.ListObjects(ctx, p.orgID, store.ObjectFilter{IDs: []int64{id}, IncludeDeleted: true})
		if err != nil {
			return nil, err
		}
		if len(sums) == 1 {
			s := sums[0]
			d.Documented, d.Stale, d.CurrentVersion, d.ComplexityScore = s.Documented, s.Stale, s.CurrentVersion, s.ComplexityScore
			d.LastDocumentedAt = s.LastDocumentedAt
		}
		up, err := a.st.Upstream(ctx, p.orgID, id)
		if err != nil {
			return nil, err
		}
		down, err := a.st.Downstream(ctx, p.orgID, id)
		if err != nil {
			return nil, err
		}
		d.Upstream, d.Downstream = refs(up), refs(down)
		if d.ColumnLineage, d.ReadersTruncated, err = a.columnLineageOf(r, p.orgID, o, up, down); err != nil {
			return nil, err
		}
		if d.ColumnLineage == nil {
			d.ColumnLineage = []columnLineage{}
		}
		return d, nil
	})(w, r)
}

// getDocumentation answers the object's current documentation, or
// ?version=N.
func (a *API) getDocumentation(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		version := 0
		if v := r.URL.Query().Get("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, modeldoc.Errorf(modeldoc.EINVALID, "version must be a positive whole number (got %q).", v)
			}
			version = n
		}
		v, err := a.st.GetDocVersion(r.Context(), p.orgID, id, version)
		if err != nil {
			return nil, err
		}
		return withTextDocs(v), nil
	})(w, r)
}

func (a *API) listDocVersions(w http.ResponseWriter, r *http.Request) {
	a.withID(func(w http.ResponseWriter, r *http.Request, p *principal, id int64) (any, error) {
		pg, err := pageOf(r)
		if err != nil {
			return nil, err
		}
		vs, err := a.st.ListDocVersions(r.Context(), p.orgID, id)
		if err != nil {
			return nil, err
		}
		return paginate(mapSlice(vs, docVersionOf), pg), nil
	})(w, r)
}
