package server

import "github.com/modeldoc/modeldoc"

func sampleCatalog() *modeldoc.Catalog {
	return &modeldoc.Catalog{ProjectName: "shop", Source: "manifest", Path: "test", Objects: []modeldoc.Object{
		{UniqueID: "model.shop.orders", Type: modeldoc.TypeModel, Name: "orders", Package: "shop", RawSQL: "select 1 as id",
			Columns: []modeldoc.Column{{Name: "id", DataType: "int"}}},
	}}
}
