package store

//go:generate go run entc.go apimodels.go
//go:generate go run ./cmd/migrationsgen
