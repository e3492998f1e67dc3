package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/services/systemusers"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/systemuser"
	"github.com/orchestra-panel/orchestra/internal/viewer"
)

// SystemUserCmd groups the system user commands.
type SystemUserCmd struct {
	SetPassword SystemUserSetPasswordCmd `cmd:"" name:"set-password" help:"Set a system user's password (read from ORCHESTRA_PASSWORD or the first line of standard input)."`
}

// SystemUserSetPasswordCmd sets a password.
type SystemUserSetPasswordCmd struct {
	Username string `arg:"" help:"The system user."`
	Password string `help:"The new password (prefer the environment variable or standard input)." env:"ORCHESTRA_PASSWORD"`
}

// Run hashes the password and saves it; the servers get it through the
// planning job the write queues.
func (c *SystemUserSetPasswordCmd) Run(cli *CLI) error {
	ctx := viewer.System(context.Background(), viewer.ChannelCLI)
	pw := c.Password
	if pw == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return errors.New("no password: set ORCHESTRA_PASSWORD or write it on standard input")
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if msg := systemusers.PasswordProblem(ctx, pw, c.Username); msg != "" {
		return fmt.Errorf("password: %s", msg)
	}
	hash, err := systemusers.HashPassword(pw)
	if err != nil {
		return err
	}
	st, err := open(ctx, cli)
	if err != nil {
		return err
	}
	defer st.Close()
	q, err := jobs.New(st, nil) // queues the planning job in the write's transaction
	if err != nil {
		return err
	}
	defer q.Stop(context.Background())
	err = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		n, err := tx.SystemUser.Update().Where(systemuser.Username(c.Username)).SetPassword(hash).Save(ctx)
		if err == nil && n == 0 {
			return fmt.Errorf("no system user %q", c.Username)
		}
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("password of %s set\n", c.Username)
	return nil
}
