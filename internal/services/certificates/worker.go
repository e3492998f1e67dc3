package certificates

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/orchestra-panel/orchestra/internal/jobs"
	"github.com/orchestra-panel/orchestra/internal/mailer"
	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/sealed"
	"github.com/orchestra-panel/orchestra/internal/services/web"
	"github.com/orchestra-panel/orchestra/internal/store"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/certificate"
)

// The worker: every panel that works jobs (serve) orders the certificates
// that are due, at most CERTIFICATES_CONCURRENCY at once: new ones and
// those whose names changed (next_attempt_at), those an automatic renewal
// is due for (CERTIFICATES_RENEW_BEFORE before they expire), and those
// waiting out a failure's pause, which doubles with each failure in a row
// (5 minutes, 10, 20… at most a day). A panel claims a certificate before
// it orders it, so that two panels never order one twice. A failed order
// keeps the certificate that serves, says why in last_error and mails
// staff; staff also hear once a day of certificates about to expire.
//
// It looks when a write makes a certificate due (in this process), and
// every CERTIFICATES_POLL_INTERVAL for the rest.

// claimFor bounds an order: a panel that died with a claim frees it then.
const claimFor = 15 * time.Minute

// maxBackoff is the longest pause after failures.
const maxBackoff = 24 * time.Hour

var kick = make(chan struct{}, 1)

// Kick makes the worker look now.
func Kick() {
	select {
	case kick <- struct{}{}:
	default:
	}
}

// kickOnCommit kicks once ctx's transaction commits.
func kickOnCommit(ctx context.Context) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		Kick()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				Kick()
			}
			return err
		})
	})
}

func init() {
	jobs.RegisterWorker(jobs.Worker{Name: "certificates", Run: Work})
}

// Work orders what is due until ctx ends.
func Work(ctx context.Context, st *store.Store, ex *orchestration.Executor) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
		if _, err := RunOnce(ctx, st, ex, time.Now()); err != nil && ctx.Err() == nil {
			slog.WarnContext(ctx, "certificates: a round failed", "err", err)
		}
		t.Reset(PollInterval.Get())
	}
}

// Round is what one RunOnce did.
type Round struct {
	Issued, Failed, Expired int
}

// RunOnce marks expired certificates, tells staff of those about to
// expire, and orders every certificate due at now; it returns once the
// orders are done.
func RunOnce(ctx context.Context, st *store.Store, ex *orchestration.Executor, now time.Time) (Round, error) {
	ctx = issued(ctx)
	var r Round
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		r.Expired, err = tx.Certificate.Update().Where(certificate.NotAfterLT(now), certificate.StateNEQ(Expired),
			certificate.StateNEQ(Renewing), certificate.ClaimedUntilIsNil()).SetState(Expired).Save(ctx)
		return err
	})
	if err != nil {
		return r, err
	}
	if err := expiryAlert(ctx, st, now); err != nil {
		slog.WarnContext(ctx, "certificates: expiry alert", "err", err)
	}
	due, err := st.Certificate.Query().Where(certificate.SourceNEQ(Upload),
		certificate.Or(certificate.ClaimedUntilIsNil(), certificate.ClaimedUntilLT(now)),
		certificate.Or(certificate.NextAttemptAtLTE(now),
			certificate.And(certificate.AutoRenew(true), certificate.NextAttemptAtIsNil(),
				certificate.NotAfterLTE(now.Add(RenewBefore.Get()))))).
		Order(ent.Asc(certificate.FieldNotAfter), ent.Asc(certificate.FieldID)).Limit(10000).All(ctx)
	if err != nil {
		return r, err
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, Concurrency.Get()))
	for _, c := range due {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok, err := orderOne(ctx, st, ex, c, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				slog.WarnContext(ctx, "certificates: order", "certificate", c.ID, "err", err)
			case ok:
				r.Issued++
			default:
				r.Failed++
			}
		}()
	}
	wg.Wait()
	return r, nil
}

// orderOne claims c and orders it; ok tells whether it was issued. err is
// only for what kept it from being tried (another panel claimed it…).
func orderOne(ctx context.Context, st *store.Store, ex *orchestration.Executor, c *ent.Certificate, now time.Time) (bool, error) {
	state := Pending
	if c.Certificate != "" {
		state = Renewing
	}
	var n int
	err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) (err error) {
		n, err = tx.Certificate.Update().Where(certificate.ID(c.ID), certificate.Version(c.Version),
			certificate.Or(certificate.ClaimedUntilIsNil(), certificate.ClaimedUntilLT(now))).
			SetClaimedUntil(time.Now().Add(claimFor)).SetState(state).Save(ctx)
		return err
	})
	if err != nil || n == 0 {
		return false, err // changed or claimed meanwhile: the next round sees it
	}
	res, orderErr := order(ctx, st, ex, c)
	if orderErr == nil {
		orderErr = st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			upd, err := issuedUpdate(tx.Certificate.UpdateOneID(c.ID), res.Certificate, res.PrivateKey)
			if err != nil {
				return err
			}
			return upd.Exec(ctx)
		})
	}
	if orderErr != nil {
		if ctx.Err() != nil { // the panel stops: the claim lapses, the next one tries
			return false, ctx.Err()
		}
		failures := c.Failures + 1
		msg := strings.TrimSpace(orderErr.Error())
		if len(msg) > 4000 {
			msg = msg[:4000] + "…"
		}
		err := st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
			return tx.Certificate.UpdateOneID(c.ID).SetState(Failed).SetLastError(msg).SetFailures(failures).
				SetNextAttemptAt(time.Now().Add(backoff(failures))).ClearClaimedUntil().Exec(ctx)
		})
		failureAlert(ctx, c, msg)
		return false, err
	}
	return true, nil
}

// issuedUpdate sets what an issued chain and its key say.
func issuedUpdate(u *ent.CertificateUpdateOne, chain, key []byte) (*ent.CertificateUpdateOne, error) {
	blk, _ := pem.Decode(chain)
	if blk == nil {
		return nil, fmt.Errorf("the CA's answer holds no certificate")
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	seal, err := sealed.Seal(web.CertificateKeyPurpose, key)
	if err != nil {
		return nil, err
	}
	return u.SetCertificate(string(chain)).SetPrivateKey(seal).SetNotBefore(leaf.NotBefore).SetNotAfter(leaf.NotAfter).
		SetIssuer(leaf.Issuer.String()).SetKeyType(keyTypeOf(leaf.PublicKey)).SetState(Valid).SetLastError("").
		SetFailures(0).ClearNextAttemptAt().ClearClaimedUntil().ClearAlertedAt(), nil
}

// backoff is the pause after failures orders failed in a row.
func backoff(failures int) time.Duration {
	d := 5 * time.Minute
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// failureAlert tells staff an order failed.
func failureAlert(ctx context.Context, c *ent.Certificate, msg string) {
	subject := fmt.Sprintf("[Orchestra] certificate %s: order failed", c.Name)
	body := fmt.Sprintf("The certificate %s (#%d, account #%d, names %s) could not be obtained over %s.\n\nThe certificate authority said:\n%s\n",
		c.Name, c.ID, c.AccountID, strings.Join(c.Names, ", "), c.Source, msg)
	if c.NotAfter != nil && c.Certificate != "" {
		body += fmt.Sprintf("\nThe current certificate keeps serving; it expires on %s.\n", c.NotAfter.UTC().Format(time.RFC3339))
	}
	mailer.Tell(ctx, subject, body)
}

// expiryAlert tells staff, once a day, of the certificates that expire
// within CERTIFICATES_ALERT_BEFORE.
func expiryAlert(ctx context.Context, st *store.Store, now time.Time) error {
	soon, err := st.Certificate.Query().Where(certificate.NotAfterLTE(now.Add(AlertBefore.Get())),
		certificate.Or(certificate.AlertedAtIsNil(), certificate.AlertedAtLT(now.Add(-24*time.Hour)))).
		Order(ent.Asc(certificate.FieldNotAfter)).Limit(1000).All(ctx)
	if err != nil || len(soon) == 0 {
		return err
	}
	var b strings.Builder
	ids := make([]int, len(soon))
	for i, c := range soon {
		ids[i] = c.ID
		fmt.Fprintf(&b, "- %s (#%d, account #%d, %s): %s %s\n", c.Name, c.ID, c.AccountID, c.State,
			map[bool]string{true: "expired on", false: "expires on"}[c.NotAfter.Before(now)], c.NotAfter.UTC().Format(time.RFC3339))
		if c.LastError != "" {
			fmt.Fprintf(&b, "  last error: %s\n", c.LastError)
		}
	}
	mailer.Tell(ctx, fmt.Sprintf("[Orchestra] %d certificates expire within %d days", len(soon), int(AlertBefore.Get().Hours()/24)), b.String())
	return st.Tx(ctx, func(ctx context.Context, tx *ent.Tx) error {
		return tx.Certificate.Update().Where(certificate.IDIn(ids...)).SetAlertedAt(now).Exec(ctx)
	})
}
