package api_test

import (
	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	_ "github.com/orchestra-panel/orchestra/internal/services/all" // every service's API
)

const adminPassword = apitest.AdminPassword

type (
	env    = apitest.Env
	client = apitest.Client
	resp   = apitest.Resp
)

var (
	newEnv      = apitest.New
	newEnvWith  = apitest.NewWith
	newExecutor = apitest.NewExecutor
)
