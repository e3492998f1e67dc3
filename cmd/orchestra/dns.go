package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/services/dns"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/account"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// DNSCmd groups the DNS commands.
type DNSCmd struct {
	Import DNSImportCmd `cmd:"" help:"Add a domain, its subdomains and records from a zone file."`
	Zone   DNSZoneCmd   `cmd:"" help:"Print a domain's zone as the servers get it."`
}

// DNSImportCmd imports a zone file.
type DNSImportCmd struct {
	Name    string `arg:"" help:"The zone's domain name."`
	File    string `arg:"" help:"Zone file (- for standard input)."`
	Account string `help:"Username of the owning account (a subdomain of an existing domain takes its account)."`
}

// Run imports, checked as any write; the servers get the zone through the
// planning job the write queues.
func (c *DNSImportCmd) Run(cli *CLI) error {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	text, err := readFileOrStdin(c.File)
	if err != nil {
		return err
	}
	acc := 0
	if c.Account != "" {
		a, err := st.Account.Query().Where(account.Username(c.Account)).Only(ctx)
		if err != nil {
			return fmt.Errorf("account %q: %w", c.Account, err)
		}
		acc = a.ID
	}
	q, err := jobs.New(st, nil) // queues the planning job in the import's transaction
	if err != nil {
		return err
	}
	defer q.Stop(context.Background())
	var d *ent.Domain
	err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		d, err = dns.Import(ctx, tx, c.Name, acc, string(text))
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("imported %s (domain %d)\n", d.Name, d.ID)
	return nil
}

// DNSZoneCmd prints a zone.
type DNSZoneCmd struct {
	Name string `arg:"" help:"Domain name (a subdomain prints its top domain's zone)."`
}

// Run prints the zone.
func (c *DNSZoneCmd) Run(cli *CLI) error {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	d, err := st.Domain.Query().Where(domain.Name(c.Name)).Only(ctx)
	if ent.IsNotFound(err) {
		return fmt.Errorf("no domain %q", c.Name)
	}
	if err != nil {
		return err
	}
	if d.TopID != nil {
		if d, err = st.Domain.Get(ctx, *d.TopID); err != nil {
			return err
		}
	}
	z, err := dns.LoadZone(ctx, st.Client, d)
	if err != nil {
		return err
	}
	text, _ := z.Render()
	fmt.Print(text)
	return nil
}

func readFileOrStdin(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}
