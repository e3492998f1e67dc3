package billing_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/orchestra-panel/orchestra/internal/api/apitest"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/billing"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/domain"
	"github.com/orchestra-panel/orchestra/internal/store/ent/order"
	"github.com/orchestra-panel/orchestra/internal/store/storetest"
)

// TestOrdersSurviveKill: a process killed (SIGKILL) after an object was
// created and while the consumer is writing its order loses nothing: the
// half-written order is gone with the process, and the next consumer,
// resuming from the cursor, opens it once.
func TestOrdersSurviveKill(t *testing.T) {
	if url := os.Getenv("ORCHESTRA_KILL_CHILD_STORE"); url != "" {
		killChild(t, url)
		return
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := apitest.New(t, st)
		acct := e.MakeAccount("cust", "Cust-password-1", false)
		svc := e.Admin().Do("POST", "/services", map[string]any{"description": "Domain", "model": "Domain", "nominal_price": "10"}).
			Want(201).ID()
		consumeAll(t, st)

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a guard: the child signals when ready
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestOrdersSurviveKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), "ORCHESTRA_KILL_CHILD_STORE="+st.URL, "ORCHESTRA_KILL_CHILD_ACCOUNT="+strconv.Itoa(acct.ID))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		handled := false
		for !handled && lines.Scan() {
			if handled = strings.TrimSpace(lines.Text()) == "HANDLED"; !handled {
				t.Log("child:", lines.Text())
			}
		}
		if !handled {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the child ended before handling the change")
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		d, err := st.Domain.Query().Where(domain.Name("killed.example")).Only(sys)
		if err != nil {
			t.Fatalf("the domain the child created: %v", err)
		}
		count := func() int {
			n, err := st.Order.Query().Where(order.ServiceID(svc), order.ObjectID(d.ID)).Count(sys)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Fatalf("the killed consumer's uncommitted order is there (%d)", n)
		}
		consumeAll(t, st)
		if n := count(); n != 1 {
			t.Errorf("after resuming, the domain has %d orders, want 1", n)
		}
	})
}

// killChild creates a domain, commits it, then consumes it and stops
// within the consumer's transaction, its orders written, until killed.
func killChild(t *testing.T, url string) {
	raw := make([]byte, sealed.KeySize)
	rand.Read(raw)
	k, err := sealed.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	sealed.Use(k)
	st, err := store.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := strconv.Atoi(os.Getenv("ORCHESTRA_KILL_CHILD_ACCOUNT"))
	if err := st.Tx(sys, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Domain.Create().SetName("killed.example").SetAccountID(acct).Exec(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	orchestration.UnregisterConsumer(billing.ConsumerName)
	orchestration.RegisterConsumer(orchestration.Consumer{Name: billing.ConsumerName, Models: append(billing.Billable(), "Service"),
		Handle: func(ctx context.Context, tx *ent.Tx, changes []*ent.Change) error {
			if err := billing.HandleChanges(ctx, tx, changes); err != nil {
				return err
			}
			if n, err := tx.Order.Query().Count(ctx); err != nil || n != 1 {
				return fmt.Errorf("no order written (%d): %v", n, err)
			}
			fmt.Println("HANDLED")
			select {} // killed here, the transaction open
		}})
	if _, err := orchestration.Consume(sys, st, billing.ConsumerName); err != nil {
		t.Fatal(err)
	}
	t.Fatal("the consumer returned")
}
