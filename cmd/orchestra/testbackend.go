//go:build testbackend

package main

import _ "github.com/orchestra-panel/orchestra/internal/orchestration/testbackend" // end-to-end tests' backend
