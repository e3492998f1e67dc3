package store

//go:generate go run entc.go
//go:generate go run ./cmd/migrationsgen
