package dbt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/modeldoc/modeldoc"
)

// Manifest is a manifest.json decoded as a stream: only its metadata, the
// nodes that become catalog objects and the generic tests that name a
// column are kept. Every other node (singular tests, analyses, operations,
// unit tests) and every other top-level section (macros, docs,
// the parent and child maps; exposures are kept) is read and dropped as it goes by, so memory
// follows what the catalog holds, not the size of the file. Make one with
// ReadManifest.
type Manifest struct {
	mf   manifestFile
	name string
}

// ReadManifest decodes a manifest.json from r as a stream. name is how
// errors refer to it. An error reading r itself is returned wrapped as it
// is (errors.Is/As see it); a file that is not a manifest gives EINVALID.
func ReadManifest(r io.Reader, name string) (*Manifest, error) {
	if name == "" {
		name = "manifest.json"
	}
	cr := &countingReader{r: r}
	m := &Manifest{name: name}
	if err := streamManifest(json.NewDecoder(cr), &m.mf); err != nil {
		if cr.err != nil {
			return nil, fmt.Errorf("read %s: %w", name, cr.err)
		}
		return nil, streamError(err, cr.n, name)
	}
	return m, nil
}

// Catalog builds the catalog from the manifest and catalog.json (nil when
// there is none).
func (m *Manifest) Catalog(catalog []byte) (*modeldoc.Catalog, error) {
	return buildCatalog(&m.mf, catalog, m.name)
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// errShape is a manifest whose JSON is valid but whose shape is not a
// manifest's (a section of the wrong kind).
type errShape struct{ where, got string }

func (e *errShape) Error() string { return e.where + " holds a JSON " + e.got }

// streamManifest decodes the top-level object of a manifest into mf,
// keeping only the nodes a catalog needs. Keys match case-insensitively,
// as encoding/json's Unmarshal matches struct fields.
func streamManifest(dec *json.Decoder, mf *manifestFile) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null: an empty manifest, as Unmarshal reads it
		return expectEOF(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &errShape{"the top level", jsonKind(tok)}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "metadata"):
			if err := dec.Decode(&mf.Metadata); err != nil {
				return err
			}
		case strings.EqualFold(key, "nodes"):
			if mf.Nodes == nil {
				mf.Nodes = map[string]*manifestNode{}
			}
			if err := streamNodes(dec, mf.Nodes, "nodes", false); err != nil {
				return err
			}
		case strings.EqualFold(key, "sources"):
			if mf.Sources == nil {
				mf.Sources = map[string]*manifestNode{}
			}
			if err := streamNodes(dec, mf.Sources, "sources", true); err != nil {
				return err
			}
		case strings.EqualFold(key, "exposures"):
			// Few and small: decoded whole.
			if err := dec.Decode(&mf.Exposures); err != nil {
				return err
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	return expectEOF(dec)
}

// streamNodes decodes one node at a time into the small manifestNode and
// keeps it only if the catalog will use it.
func streamNodes(dec *json.Decoder, into map[string]*manifestNode, section string, sources bool) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return &errShape{section, jsonKind(tok)}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		id, _ := tok.(string)
		var n *manifestNode
		if err := dec.Decode(&n); err != nil {
			return err
		}
		switch {
		case n == nil:
		case sources || modeldoc.ObjectType(n.ResourceType).Valid():
			into[id] = n
		case n.ResourceType == "test" && n.ColumnName != nil && *n.ColumnName != "" && n.TestMetadata != nil && n.TestMetadata.Name != "":
			// A generic test names its column: keep what attaching it
			// reads, not its SQL.
			n.RawCode, n.RawSQL, n.CompiledCode, n.CompiledSQL, n.Description = "", "", "", "", ""
			n.Columns, n.Tags, n.Meta = nil, nil, nil
			into[id] = n
		default:
			// Analyses, operations, singular tests, unit tests: dropped.
			// A later node of the same id replaces an earlier one, as
			// Unmarshal does.
			delete(into, id)
		}
	}
	_, err = dec.Token()
	return err
}

// skipValue reads one JSON value token by token, holding none of it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return &json.SyntaxError{}
		}
		return err
	}
	return nil
}

func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// streamError turns a decoding failure of a streamed manifest into an
// EINVALID error that names the file and the byte offset read so far.
func streamError(err error, offset int64, name string) error {
	var shape *errShape
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &shape):
		return modeldoc.Errorf(modeldoc.EINVALID, "%s does not have the shape of a dbt manifest: %s where an object belongs.", name, shape)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "a node"
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "%s does not have the shape of a dbt manifest: %s holds a JSON %s where a %s belongs (near byte %d).", name, field, te.Value, te.Type, offset)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if offset == 0 {
			return modeldoc.Errorf(modeldoc.EINVALID, "%s is empty: give the manifest.json that dbt writes into target/.", name)
		}
		return modeldoc.Errorf(modeldoc.EINVALID, "%s is truncated: the JSON ends early after %d bytes. Copy the whole file again or regenerate it with dbt.", name, offset)
	default:
		return modeldoc.Errorf(modeldoc.EINVALID, "%s is not valid JSON (%v, near byte %d): give the manifest.json that dbt writes into target/.", name, err, offset)
	}
}

// parseManifestBytes decodes manifest bytes as a stream, and on failure
// reads them whole once more for the message: with the bytes at hand it
// can name the line and column.
func parseManifestBytes(data []byte, name string) (*Manifest, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, decodeJSON(data, &manifestFile{}, name, "manifest")
	}
	m, err := ReadManifest(bytes.NewReader(data), name)
	if err == nil {
		return m, nil
	}
	if derr := decodeJSON(data, &manifestFile{}, name, "manifest"); derr != nil {
		return nil, derr
	}
	return nil, err
}
