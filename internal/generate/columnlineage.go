package generate

import (
	"github.com/modeldoc/modeldoc"
	"github.com/modeldoc/modeldoc/internal/collineage"
	"github.com/modeldoc/modeldoc/internal/sqlscan"
	"github.com/modeldoc/modeldoc/internal/writer"
)

// The column tracing lives in collineage, which the static site can
// import too; these names keep generate's inheritance code as it was.
type resolver = collineage.Resolver

// ColumnOrigin is where one column of a model comes from as its SQL shows
// it (collineage.ColumnOrigin).
type ColumnOrigin = collineage.ColumnOrigin

func newResolver(subj *writer.Subject, a *sqlscan.Analysis) *resolver {
	return collineage.NewResolver(subj, a)
}

func traceColumn(a *sqlscan.Analysis, res *resolver, name string) sqlscan.ColumnOrigin {
	return collineage.Trace(a, res, name)
}

func outputNames(subj *writer.Subject, a *sqlscan.Analysis, res *resolver) []string {
	return collineage.OutputNames(subj, a, res)
}

// ColumnOrigins traces each output column of obj to its direct upstream
// objects (collineage.ColumnOrigins).
func ColumnOrigins(obj modeldoc.Object, upstream []modeldoc.Object) []ColumnOrigin {
	return collineage.ColumnOrigins(obj, upstream)
}
