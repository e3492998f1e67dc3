// Package all is the list of the services the panel serves: importing it
// registers every service's rules, backends and settings. A new service
// adds its import line here.
package all

import (
	_ "github.com/orchestra-panel/orchestra/internal/services/billing"
	_ "github.com/orchestra-panel/orchestra/internal/services/bills"
	_ "github.com/orchestra-panel/orchestra/internal/services/certificates"
	_ "github.com/orchestra-panel/orchestra/internal/services/cronjobs"
	_ "github.com/orchestra-panel/orchestra/internal/services/databases"
	_ "github.com/orchestra-panel/orchestra/internal/services/dns"
	_ "github.com/orchestra-panel/orchestra/internal/services/gitrepos"
	_ "github.com/orchestra-panel/orchestra/internal/services/mail"
	_ "github.com/orchestra-panel/orchestra/internal/services/resources"
	_ "github.com/orchestra-panel/orchestra/internal/services/sshkeys"
	_ "github.com/orchestra-panel/orchestra/internal/services/systemusers"
	_ "github.com/orchestra-panel/orchestra/internal/services/web"
)
